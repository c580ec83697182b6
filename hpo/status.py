"""What a training can end as, and the error a failed or diverged one counts as.

The engine (the tuner, the searchers) and the trainer both speak of it, so it lives on the
ground floor, below both.
"""

__all__ = ["STATUS_DIVERGED", "STATUS_FAILED", "STATUS_OK", "WORST_ERROR"]

#: The error given to a diverged training: worse than any real classifier (chance is 0.9).
WORST_ERROR = 1.0

STATUS_OK = "ok"
STATUS_DIVERGED = "diverged"
STATUS_FAILED = "failed"  # the training raised, or its worker died, twice
