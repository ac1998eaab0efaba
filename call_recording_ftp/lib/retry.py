"""Retries with exponential backoff while connecting.

A file that failed waits for a later run: its delay is the suite's one
back-off, ``call_recording/lib/backoff.py``.
"""

import time

from .errors import TransferError


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
