import os
import sys

import pytest
from threadpoolctl import threadpool_limits

# Let test modules in any sub-folder import the shared helpers (`_gradcheck`).
sys.path.insert(0, os.path.dirname(__file__))


@pytest.fixture(autouse=True, scope="session")
def _one_blas_thread_per_xdist_worker():
    """Under `pytest -n N`, give each worker one BLAS thread.

    N workers each running a multi-threaded BLAS on N cores oversubscribe the
    machine, and OpenBLAS's spinning threads then slow small GEMMs many times over.
    """
    if os.environ.get("PYTEST_XDIST_WORKER") is None:
        yield
        return
    with threadpool_limits(limits=1, user_api="blas"):
        yield
