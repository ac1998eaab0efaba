"""Retries with exponential backoff, for connecting and for calls left behind."""

import time
from datetime import timedelta

from .errors import TransferError

#: Minutes before a failed call is tried again: 5, 10, 20... capped at a day.
BASE_DELAY_MINUTES = 5
MAX_DELAY_MINUTES = 24 * 60


def next_attempt_delay(attempts):
    """How long to wait after the ``attempts``-th failure of one call."""
    minutes = BASE_DELAY_MINUTES * 2 ** max(attempts - 1, 0)
    return timedelta(minutes=min(minutes, MAX_DELAY_MINUTES))


def with_retries(action, tries=3, delay=1.0, factor=2.0, sleep=time.sleep):
    """Run ``action()``; retry retryable :class:`TransferError` s with backoff.

    Errors that a retry cannot fix (bad password, host key mismatch) are
    raised at once.
    """
    attempt = 0
    while True:
        attempt += 1
        try:
            return action()
        except TransferError as exc:
            if not exc.retryable or attempt >= tries:
                raise
            sleep(delay * factor ** (attempt - 1))
