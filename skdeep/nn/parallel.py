"""Threads for data-parallel training: the trainer's parts run side by side.

numpy's element-wise loops and BLAS release the GIL, so Python threads computing
on separate arrays run on separate cores. The trainer splits a batch into parts
(see :mod:`skdeep.nn.trainer`) and runs their forward and backward passes on
the threads of a :class:`PartThreads`, each with a one-thread BLAS: on a
2-core machine this keeps both cores busy through the element-wise passes
(activations, pooling, im2col, the loss) that one BLAS call cannot spread,
where a two-thread BLAS only shares the matrix products.

How many threads a fit uses is read from BLAS (:func:`blas_threads`): a
process whose BLAS runs one thread (a ``loky`` worker of a parallel search, or
``threadpool_limits(1)``) trains on one, as it did before.
"""

import contextvars
import queue
import threading
from contextlib import contextmanager

_controller = None
_controller_lock = threading.Lock()


def blas_controller():
    """The process's ``threadpoolctl.ThreadpoolController``, created on first use.

    Creating one inspects every shared library the process has loaded (a few
    milliseconds), so the process keeps one. It sees the BLAS libraries
    loaded by then; numpy's is loaded before anything trains.
    """
    global _controller
    with _controller_lock:
        if _controller is None:
            # threadpoolctl is a dependency of scikit-learn; imported here so
            # that importing skdeep.nn does not pay for it.
            from threadpoolctl import ThreadpoolController

            _controller = ThreadpoolController()
    return _controller


def blas_threads():
    """The number of threads BLAS would use now (the largest over the BLAS
    libraries loaded; 1 if none is known)."""
    counts = [
        info["num_threads"]
        for info in blas_controller().info()
        if info["user_api"] == "blas"
    ]
    return max(counts, default=1)


# BLAS's thread count is one setting for the whole process. Fits running in
# several Python threads at once (a threading-backend search) share one
# limit: the first epoch to need it sets it, the last to end restores the
# count it found; a limiter per epoch would restore another epoch's limit.
_limit_lock = threading.Lock()
_limit_users = 0
_limiter = None


def _limit_blas():
    global _limit_users, _limiter
    with _limit_lock:
        if _limit_users == 0:
            _limiter = blas_controller().limit(limits=1, user_api="blas")
        _limit_users += 1


def _unlimit_blas():
    global _limit_users, _limiter
    with _limit_lock:
        _limit_users -= 1
        if _limit_users == 0:
            limiter, _limiter = _limiter, None
            limiter.restore_original_limits()


@contextmanager
def one_blas_thread():
    """Limit BLAS to one thread while open (shared with the trainer's parts),
    for threads that each run their own matrix products."""
    _limit_blas()
    try:
        yield
    finally:
        _unlimit_blas()


class _Helper:
    """A thread that runs the task lists it is handed, one list at a time."""

    def __init__(self, name):
        self._inbox = queue.SimpleQueue()
        self._outbox = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._serve, name=name, daemon=True)
        self._thread.start()

    def _serve(self):
        while (job := self._inbox.get()) is not None:
            context, tasks = job
            self._outbox.put(context.run(_run_tasks, tasks))

    def submit(self, tasks):
        # The tasks run in a copy of the caller's context: numpy's errstate
        # (e.g. the epoch loop's over="ignore") is a context variable, which a
        # new thread would otherwise not see.
        self._inbox.put((contextvars.copy_context(), tasks))

    def result(self):
        """``(index, exception)`` of the first task that raised, or None."""
        return self._outbox.get()

    def close(self):
        self._inbox.put(None)
        self._thread.join()


def _run_tasks(tasks):
    for index, task in tasks:
        try:
            task()
        except BaseException as exc:  # re-raised in the caller's thread
            return index, exc
    return None


class PartThreads:
    """Run lists of tasks on up to ``n_threads`` threads, while open.

    The caller's thread is one of them; ``n_threads - 1`` helper threads are
    started on entering the context and joined on leaving it, and in between
    BLAS is limited to one thread (with threadpoolctl), so that the threads'
    matrix products do not compete for the cores. With ``n_threads=1`` the
    context starts nothing and limits nothing: tasks run in turn in the
    caller's thread.

    Parameters
    ----------
    n_threads : int
        Threads to run tasks on, the caller's included.

    Examples
    --------
    >>> from skdeep.nn.parallel import PartThreads
    >>> done = []
    >>> with PartThreads(2) as threads:
    ...     threads.run([lambda: done.append("a"), lambda: done.append("b")])
    >>> sorted(done)
    ['a', 'b']
    """

    def __init__(self, n_threads):
        self.n_threads = max(1, int(n_threads))
        self._helpers = []
        self._limited = False

    def __enter__(self):
        if self.n_threads == 1:
            return self
        try:
            _limit_blas()
            self._limited = True
            for k in range(1, self.n_threads):
                self._helpers.append(_Helper(f"skdeep-part-{k}"))
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc_info):
        helpers, self._helpers = self._helpers, []
        for helper in helpers:
            helper.close()
        if self._limited:
            self._limited = False
            _unlimit_blas()

    @property
    def threaded(self):
        """Whether tasks run on more than one thread now."""
        return bool(self._helpers)

    def run(self, tasks):
        """Call every function of ``tasks`` and return once all have returned.

        Task ``k`` runs on thread ``k % n_threads``, thread 0 being the
        caller's. If tasks raise, the exception of the first of them (in the
        order of ``tasks``) is raised here, after every thread has stopped
        (a thread skips the rest of its tasks after one raises).
        """
        n_threads = len(self._helpers) + 1
        if n_threads == 1 or len(tasks) == 1:
            for task in tasks:
                task()
            return
        indexed = list(enumerate(tasks))
        busy = []
        for k, helper in enumerate(self._helpers, start=1):
            if indexed[k::n_threads]:
                helper.submit(indexed[k::n_threads])
                busy.append(helper)
        try:
            errors = [_run_tasks(indexed[::n_threads])]
        finally:
            # Even if this thread was interrupted: no task outlives run().
            errors += [helper.result() for helper in busy]
        errors = [error for error in errors if error is not None]
        if errors:
            raise min(errors, key=lambda error: error[0])[1]


__all__ = ["PartThreads", "blas_controller", "blas_threads", "one_blas_thread"]
