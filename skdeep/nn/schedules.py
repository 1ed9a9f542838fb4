"""Learning-rate schedules: the step size of each epoch (notes 二.9-10).

The names and meanings are scikit-learn's ``MLPClassifier(learning_rate=...)``
ones; a callable is Keras' ``LearningRateScheduler``.
"""

# scikit-learn's 'adaptive': divide by this factor after this many epochs in a
# row without improvement.
_ADAPTIVE_FACTOR = 5.0
_ADAPTIVE_PATIENCE = 2
# scikit-learn's 'invscaling' exponent (its default power_t).
_POWER_T = 0.5


class LearningRateSchedule:
    """Sets the learning rate of every epoch.

    Parameters
    ----------
    schedule : {'constant', 'invscaling', 'adaptive'} or callable
        - 'constant': the initial rate throughout.
        - 'invscaling': ``initial / (t + 1) ** 0.5`` where ``t`` is the number of
          samples seen in earlier epochs (scikit-learn's ``power_t=0.5``).
        - 'adaptive': the rate is kept while the monitored loss improves; each
          time it fails to improve by ``tol`` for 2 epochs in a row, the rate is
          divided by 5 (scikit-learn's 'adaptive').
        - a callable ``schedule(epoch, rate) -> new rate``, called before each
          epoch with the number of epochs already run (0 before the first, as
          Keras' ``LearningRateScheduler``) and the current rate.
    initial_rate : float
        The rate of the first epoch (the estimator's ``learning_rate``, or the
        optimizer object's).

    Examples
    --------
    >>> from skdeep.nn.schedules import LearningRateSchedule
    >>> schedule = LearningRateSchedule("adaptive", 0.1)
    >>> rates = []
    >>> for epoch, improved in enumerate([True, False, False, False, False]):
    ...     rates.append(schedule.rate(epoch, samples_seen=0))
    ...     schedule.end_epoch(improved)
    >>> [round(r, 4) for r in rates]  # divided by 5 after 2 epochs without gain
    [0.1, 0.1, 0.1, 0.02, 0.02]
    >>> LearningRateSchedule("invscaling", 1.0).rate(1, samples_seen=99)
    0.1
    """

    def __init__(self, schedule, initial_rate):
        self.schedule = schedule
        self.initial_rate = float(initial_rate)
        self.current = float(initial_rate)
        self.wait = 0

    def rate(self, epoch, samples_seen):
        """The rate of the epoch after ``epoch`` epochs and ``samples_seen`` rows."""
        if callable(self.schedule):
            rate = self.schedule(epoch, self.current)
            try:
                rate = float(rate)
            except (TypeError, ValueError):
                rate = None
            if rate is None or not rate > 0 or rate == float("inf"):
                raise ValueError(
                    "`learning_rate_schedule` must return a positive finite "
                    f"learning rate; received {rate!r} for epoch {epoch}."
                )
            self.current = rate
        elif self.schedule == "invscaling":
            self.current = self.initial_rate / (samples_seen + 1) ** _POWER_T
        return self.current

    def end_epoch(self, improved):
        """Record whether the monitored loss improved in the epoch just run."""
        if self.schedule != "adaptive":
            return
        self.wait = 0 if improved else self.wait + 1
        if self.wait >= _ADAPTIVE_PATIENCE:
            self.current /= _ADAPTIVE_FACTOR
            self.wait = 0


__all__ = ["LearningRateSchedule"]
