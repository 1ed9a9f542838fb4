import os
import sys

# Let test modules in any sub-folder import the shared helpers (`_gradcheck`).
sys.path.insert(0, os.path.dirname(__file__))
