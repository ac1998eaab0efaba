"""When a failed transfer is tried again: the one back-off of downloads and exports.

A recording whose download failed (the import) and a file whose upload
failed (``call_recording_ftp``'s export) wait 5, 10, 20 … minutes after
their first, second, third … failure, never more than a day.
"""

from datetime import timedelta

FIRST_DELAY_MINUTES = 5
MAX_DELAY_MINUTES = 24 * 60


def next_attempt_delay(attempts):
    """How long to wait after the ``attempts``-th failure of one transfer."""
    minutes = FIRST_DELAY_MINUTES * 2 ** max(attempts - 1, 0)
    return timedelta(minutes=min(minutes, MAX_DELAY_MINUTES))
