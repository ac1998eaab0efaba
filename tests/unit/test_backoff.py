from datetime import timedelta

from call_recording_lib.backoff import next_attempt_delay


def test_one_back_off_for_downloads_and_exports():
    """5, 10, 20 … minutes after each failure, never more than a day."""
    assert [next_attempt_delay(n) for n in (0, 1, 2, 3)] == [
        timedelta(minutes=5),
        timedelta(minutes=5),
        timedelta(minutes=10),
        timedelta(minutes=20),
    ]
    assert next_attempt_delay(9) == timedelta(minutes=1280)
    assert next_attempt_delay(10) == timedelta(days=1)
    assert next_attempt_delay(500) == timedelta(days=1)
