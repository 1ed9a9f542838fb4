"""Every script in ``examples/`` runs to completion (the gallery the docs build).

Each example runs in its own interpreter, as a reader would run it, with
matplotlib's non-interactive Agg backend so that ``plt.show()`` returns at once.
"""

import os
import subprocess
import sys
from pathlib import Path

import matplotlib  # noqa: F401  (the scripts plot: the test extra installs it)
import pytest

EXAMPLES_DIR = Path(__file__).resolve().parent.parent / "examples"
EXAMPLES = sorted(EXAMPLES_DIR.glob("*.py"))


@pytest.mark.slow
@pytest.mark.parametrize("script", EXAMPLES, ids=[path.name for path in EXAMPLES])
def test_example_runs(script, tmp_path):
    env = dict(os.environ, MPLBACKEND="Agg")
    # Under `pytest -n 2` two examples run at once on two cores: one BLAS thread
    # each, or OpenBLAS's spinning threads oversubscribe the cores and the
    # small matrix products of these networks run several times slower.
    env.setdefault("OMP_NUM_THREADS", "1")
    env.setdefault("OPENBLAS_NUM_THREADS", "1")
    # Run from a scratch directory so that nothing an example writes lands in
    # the repository.
    result = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, (
        f"{script.name} exited with code {result.returncode}.\n"
        f"--- stdout ---\n{result.stdout[-3000:]}\n"
        f"--- stderr ---\n{result.stderr[-3000:]}"
    )


def test_examples_found():
    # A glob that finds nothing would make the parametrized test vanish silently.
    assert EXAMPLES, f"no example scripts found in {EXAMPLES_DIR}"
