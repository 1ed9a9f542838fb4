"""PartThreads: tasks on threads, errors in order, the BLAS limit and its undoing."""

import threading
import time

import numpy as np
import pytest
from threadpoolctl import threadpool_info, threadpool_limits

from skdeep.nn.parallel import PartThreads, blas_threads


def _blas_counts():
    return [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]


def _part_threads_alive():
    return [t.name for t in threading.enumerate() if t.name.startswith("skdeep-part")]


def test_every_task_runs_once_on_its_thread_with_a_one_thread_blas():
    """Task k runs on thread k % 2, BLAS has one thread while the context is
    open and its own count again after, and no helper outlives the context;
    catches a dropped or repeated task, a helper never joined, a limit never
    undone."""
    seen = []
    with threadpool_limits(limits=2, user_api="blas"):
        with PartThreads(2) as threads:
            assert threads.threaded and blas_threads() == 1
            caller = threading.current_thread().name

            def task(k):
                return lambda: seen.append((k, threading.current_thread().name))

            threads.run([task(k) for k in range(5)])
        assert _blas_counts() and set(_blas_counts()) == {2}
    assert sorted(k for k, _ in seen) == [0, 1, 2, 3, 4]
    on_caller = {k for k, name in seen if name == caller}
    assert on_caller == {0, 2, 4}
    assert {name for k, name in seen if k % 2} == {"skdeep-part-1"}
    assert _part_threads_alive() == []


def test_one_thread_runs_tasks_in_turn_and_limits_nothing():
    order = []
    with threadpool_limits(limits=2, user_api="blas"):
        with PartThreads(1) as threads:
            assert not threads.threaded and blas_threads() == 2
            threads.run([lambda: order.append(0), lambda: order.append(1)])
    assert order == [0, 1]


def test_the_first_failing_task_is_raised_once_every_thread_has_stopped():
    """The error of the earliest task (in list order) is raised, and only
    after the helper's slow task has finished: catches an error raised while
    a part still writes its buffers, or the later task's error winning."""
    finished = []

    def slow_then_fail():
        time.sleep(0.05)
        finished.append("helper")
        raise ValueError("part 1")

    def fail():
        raise KeyError("part 2")

    with PartThreads(2) as threads:
        with pytest.raises(ValueError, match="part 1"):
            threads.run([lambda: None, slow_then_fail, fail])
        assert finished == ["helper"]
        # The threads still work after an error.
        done = []
        threads.run([lambda: done.append(0), lambda: done.append(1)])
        assert sorted(done) == [0, 1]
    assert _part_threads_alive() == []


def test_keyboard_interrupt_in_a_helper_reaches_the_caller():
    def interrupt():
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        with PartThreads(2) as threads:
            threads.run([lambda: None, interrupt])
    assert _part_threads_alive() == []


def test_helpers_see_the_callers_numpy_error_state():
    """np.errstate is a context variable: a helper started without the
    caller's context would warn where the epoch loop ignores overflows."""
    big = np.array([1e38], dtype=np.float32)
    with PartThreads(2) as threads, np.errstate(over="raise"):
        with pytest.raises(FloatingPointError):
            threads.run([lambda: None, lambda: big * big])


def test_overlapping_contexts_restore_the_blas_count_they_found():
    """Two fits in two Python threads share the process's BLAS setting: the
    count comes back only when the last context closes, and to its value
    before the first; catches each context restoring what it saw on entry
    (the second would then restore the first's limit of 1)."""
    with threadpool_limits(limits=2, user_api="blas"):
        first, second = PartThreads(2), PartThreads(2)
        first.__enter__()
        second.__enter__()
        first.__exit__(None, None, None)
        assert blas_threads() == 1  # the second is still running
        second.__exit__(None, None, None)
        assert set(_blas_counts()) == {2}
