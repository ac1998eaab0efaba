"""The sync engine against the real Twilio adapter and fake, with an in-memory sink.

The sink here is the simplest storage that honours the contract (upsert by
external id, a cursor, downloads with retries), so the engine's own rules
are what is tested: windows, overlap, cursor only past stored windows,
failures of one call never stopping the run.
"""

import hashlib
import itertools
import os
import time
from datetime import UTC, datetime, timedelta

import pytest
from call_recording_lib.audio import AudioError, store_stream, synth_call_wav
from call_recording_lib.providers import (
    IncompleteDownload,
    ProviderAuthError,
    ProviderError,
    ProviderRateLimited,
    get_adapter,
)
from call_recording_lib.sync_engine import SyncEngine, SyncSink, windows
from fakes.aircall import FakeAircall

AUDIO = synth_call_wav(0.5, seed=3)


class MemorySink(SyncSink):
    def __init__(self, tmp_path, max_size=None, budget=None):
        self.tmp_path = tmp_path
        self.max_size = max_size
        self.calls = {}
        self.audio = {}
        self.failures = {}
        self.issues = {}
        self.cursor = None
        self.cursor_moves = []
        self.budget = budget  # stores allowed before "out of time"

    def store_calls(self, calls, errors):
        counts = {"created": 0, "updated": 0, "skipped": 0, "failed": len(errors)}
        for call in calls:
            key = "updated" if call.external_id in self.calls else "created"
            self.calls[call.external_id] = call
            self.issues.pop(call.external_id, None)
            counts[key] += 1
        for external_id, reason in errors:
            self.issues[external_id] = reason
        if self.budget is not None:
            self.budget -= 1
        return counts

    def save_cursor(self, until):
        self.cursor = until
        self.cursor_moves.append(until)

    def calls_to_retry(self, limit):
        return list(self.issues)[:limit]

    def pending_audio(self, limit):
        due = [
            (ext, call)
            for ext, call in self.calls.items()
            if call.recording_ref and ext not in self.audio and ext not in self.failures
        ]
        return due[:limit]

    def store_audio(self, key, stream):
        try:
            stored = store_stream(stream, str(self.tmp_path), self.max_size)
        except AudioError as exc:
            raise ValueError(str(exc)) from exc
        os.replace(stored.path, self.tmp_path / stored.sha256)
        self.audio[key] = stored.sha256

    def audio_failed(self, key, error, retry):
        self.failures[key] = (str(error), retry)

    def out_of_time(self):
        return self.budget is not None and self.budget <= 0


@pytest.fixture
def adapter(twilio_fake, quick_config):
    return get_adapter("twilio", quick_config(twilio_fake, page_size=2))


def add(fake, start, audio=AUDIO, **kwargs):
    return fake.add_call(
        start=start, caller="+36309998877", callee="+3615550100", audio=audio, **kwargs
    )


def test_windows_cover_the_range_without_gaps(now):
    parts = list(windows(now - timedelta(hours=50), now, timedelta(days=1)))
    assert parts[0][0] == now - timedelta(hours=50)
    assert parts[-1][1] == now
    assert all(a[1] == b[0] for a, b in itertools.pairwise(parts))
    assert len(parts) == 3


def test_imports_every_call_and_audio_then_moves_cursor(twilio_fake, adapter, now, tmp_path):
    ids = [add(twilio_fake, now - timedelta(hours=h)) for h in (30, 20, 10, 5, 1)]
    no_audio = add(twilio_fake, now - timedelta(hours=2), audio=None)
    sink = MemorySink(tmp_path)
    stats = SyncEngine(adapter, sink).run(now - timedelta(days=2), now, overlap=timedelta(0))
    assert stats.complete
    assert set(sink.calls) == {*ids, no_audio}
    assert stats.created == 6 and stats.audio_downloaded == 5
    assert set(sink.audio) == set(ids)
    assert all(sha == hashlib.sha256(AUDIO).hexdigest() for sha in sink.audio.values())
    assert sink.cursor == now
    # one move per day window, in order
    assert sink.cursor_moves == sorted(sink.cursor_moves) and len(sink.cursor_moves) == 2


def test_overlap_reads_back_before_the_cursor(twilio_fake, adapter, now, tmp_path):
    late = add(twilio_fake, now - timedelta(minutes=90))
    sink = MemorySink(tmp_path)
    SyncEngine(adapter, sink).run(now - timedelta(minutes=30), now, overlap=timedelta(hours=2))
    assert late in sink.calls


def test_outage_keeps_the_cursor_and_fetches_what_was_stored(twilio_fake, adapter, now, tmp_path):
    first = add(twilio_fake, now - timedelta(hours=40))
    add(twilio_fake, now - timedelta(hours=2))
    sink = MemorySink(tmp_path)
    # the first day's window works, every later listing fails
    twilio_fake.fail_next(status=503, count=100, path_contains=f"{now:%Y-%m-%d}")
    with pytest.raises(ProviderError):
        SyncEngine(adapter, sink).run(now - timedelta(hours=48), now, overlap=timedelta(0))
    assert first in sink.calls and first in sink.audio
    assert sink.cursor is not None and sink.cursor < now


def test_auth_failure_is_raised_and_nothing_moves(twilio_fake, quick_config, now, tmp_path):
    add(twilio_fake, now - timedelta(hours=1))
    adapter = get_adapter("twilio", quick_config(twilio_fake, secret="wrong"))
    sink = MemorySink(tmp_path)
    with pytest.raises(ProviderAuthError):
        SyncEngine(adapter, sink).run(now - timedelta(days=1), now, overlap=timedelta(0))
    assert sink.cursor is None and not sink.calls


def test_refused_and_failed_downloads_do_not_stop_the_run(twilio_fake, adapter, now, tmp_path):
    big = add(twilio_fake, now - timedelta(hours=3), audio=AUDIO + b"\0" * 20_000)
    broken = add(twilio_fake, now - timedelta(hours=2))
    good = add(twilio_fake, now - timedelta(hours=1))
    twilio_fake.fail_next(status=500, count=10, path_contains=f"Recordings/RE{broken[2:]}")
    sink = MemorySink(tmp_path, max_size=len(AUDIO) + 100)
    stats = SyncEngine(adapter, sink).run(now - timedelta(days=1), now, overlap=timedelta(0))
    assert good in sink.audio
    assert sink.failures[big][1] is False  # over the limit: no retry
    assert "limit" in sink.failures[big][0]
    assert sink.failures[broken][1] is True  # server error: retried later
    assert stats.audio_failed == 2 and stats.audio_downloaded == 1
    assert not list(tmp_path.glob("*.part")), "a refused download left a file"


def test_unreadable_call_is_read_again_on_the_next_run(twilio_fake, adapter, now, tmp_path):
    bad = add(twilio_fake, now - timedelta(hours=2))
    twilio_fake.corrupt_call(bad)
    sink = MemorySink(tmp_path)
    stats = SyncEngine(adapter, sink).run(now - timedelta(days=1), now, overlap=timedelta(0))
    assert bad in sink.issues and bad not in sink.calls and stats.failed >= 1
    twilio_fake.corrupt_call(bad, corrupt=False)
    # the cursor is past the call: only the retry of the issue finds it
    SyncEngine(adapter, sink).run(now, now + timedelta(minutes=1), overlap=timedelta(0))
    assert bad in sink.calls and bad not in sink.issues and bad in sink.audio


def test_out_of_time_stops_between_pages_without_moving_past_them(
    twilio_fake, adapter, now, tmp_path
):
    for minutes in range(10, 70, 10):
        add(twilio_fake, now - timedelta(minutes=minutes))
    sink = MemorySink(tmp_path, budget=1)
    stats = SyncEngine(adapter, sink).run(now - timedelta(hours=2), now, overlap=timedelta(0))
    assert not stats.complete
    assert len(sink.calls) == 2  # one page of two
    assert sink.cursor is None  # the window was not finished
    sink.budget = None
    stats = SyncEngine(adapter, sink).run(now - timedelta(hours=2), now, overlap=timedelta(0))
    assert stats.complete and len(sink.calls) == 6 and len(sink.audio) == 6


# -- whole recordings only, and the provider's quota -------------------------------


@pytest.mark.parametrize("fault", ["truncate_next", "short_next", "drop_next"])
def test_a_recording_cut_short_is_never_stored(twilio_fake, adapter, now, tmp_path, fault):
    ext = add(twilio_fake, now - timedelta(hours=1))
    # a dropped connection is retried within the request (three tries); a
    # body that came is not, it is the next run's
    getattr(twilio_fake, fault)(
        count=3 if fault == "drop_next" else 1, path_contains="/Recordings/RE"
    )
    sink = MemorySink(tmp_path)
    stats = SyncEngine(adapter, sink).run(now - timedelta(hours=2), now, overlap=timedelta(0))
    assert ext not in sink.audio, "a short file was stored"
    reason, retry = sink.failures[ext]
    assert retry is True
    assert stats.audio_failed == 1 and stats.audio_downloaded == 0
    if fault != "drop_next":
        assert "incomplete" in reason or "ended after" in reason
    # the next run gets the whole file
    sink.failures.clear()
    SyncEngine(adapter, sink).run(now - timedelta(hours=2), now, overlap=timedelta(0))
    assert sink.audio[ext] == hashlib.sha256(AUDIO).hexdigest()


def test_content_length_is_compared_with_what_came(twilio_fake, adapter, now):
    """urllib3 1.26 returns a body cut off by the server as if it were whole."""
    ext = add(twilio_fake, now - timedelta(hours=1))
    call = adapter.refresh_call(ext)
    twilio_fake.truncate_next(path_contains="/Recordings/RE", keep=0.3)
    stream = adapter.open_audio(call)
    with pytest.raises(IncompleteDownload) as info:
        while stream.read(1000):
            pass
    assert f"of {len(AUDIO)} bytes" in str(info.value)
    assert info.value.retryable is True


def test_download_threads_share_the_quota_and_wait_for_its_reset(quick_config, clock, tmp_path):
    """Aircall: once Remaining is 0, every thread waits for X-AircallApi-Reset."""
    now = datetime.fromtimestamp(clock.now, UTC)

    def sleep(seconds):
        # a thread that waits really waits (a little), and the minute passes
        # only when it is over: meanwhile the other threads are still in it
        time.sleep(min(seconds, 60) / 400)
        clock.sleep(seconds)

    with FakeAircall("id", "token", rate_limit_per_minute=5) as fake:
        fake.time_source = clock.time
        ids = [add(fake, now - timedelta(minutes=5 * i)) for i in range(1, 17)]
        adapter = get_adapter("aircall", quick_config(fake, max_retries=2, sleep=sleep))
        sink = MemorySink(tmp_path)
        stats = SyncEngine(adapter, sink, download_workers=4).run(
            now - timedelta(hours=3), now, overlap=timedelta(0)
        )
        refused = fake.refused
    assert stats.complete and not sink.failures, sink.failures
    assert set(sink.audio) == set(ids)
    assert stats.audio_downloaded == len(ids)
    # at most the requests already on their way when the quota ran out
    assert refused <= 4 * (len(ids) // 5 + 1), f"{refused} requests sent into a spent quota"


def _run_into_a_spent_quota(quick_config, clock, tmp_path, **engine_options):
    """8 Aircall calls with recordings, 4 API requests a minute, no waiting
    allowed: the run stops with ProviderRateLimited; ``(call ids, sink)``."""
    now = datetime.fromtimestamp(clock.now, UTC)
    with FakeAircall("id", "token", rate_limit_per_minute=4) as fake:
        fake.time_source = clock.time
        ids = [add(fake, now - timedelta(minutes=5 * i)) for i in range(1, 9)]
        adapter = get_adapter("aircall", quick_config(fake, rate_limit_max_wait=0))
        sink = MemorySink(tmp_path)
        with pytest.raises(ProviderRateLimited):
            SyncEngine(adapter, sink, **engine_options).run(
                now - timedelta(hours=3), now, overlap=timedelta(0)
            )
    return ids, sink


def test_a_quota_beyond_the_longest_wait_postpones_nothing(quick_config, clock, tmp_path):
    """A run that may not wait stops downloading; what is left stays due, uncounted."""
    ids, sink = _run_into_a_spent_quota(quick_config, clock, tmp_path)
    assert clock.sleeps == [] or max(clock.sleeps) < 1
    assert not sink.failures, "a rate-limited download was counted as failed"
    assert set(sink.calls) == set(ids)
    assert 0 < len(sink.audio) < len(ids)


def test_presigned_links_are_not_held_back_by_the_api_quota(quick_config, clock, tmp_path):
    """Aircall's recordings are presigned S3 links: its API quota does not apply.

    One download at a time, 4 API requests a minute: the listing and three
    fresh links, each recording fetched from S3 after its link, even the
    one whose link used the last request of the quota.  The S3 fetch once
    waited for the API's quota too: the third recording was left for later,
    and with several threads a run could store none at all.
    """
    ids, sink = _run_into_a_spent_quota(quick_config, clock, tmp_path, download_workers=1)
    assert set(sink.calls) == set(ids)
    assert len(sink.audio) == 3, sorted(sink.audio)
    assert not sink.failures


def test_download_due_fetches_only_the_recordings_without_listing(
    twilio_fake, adapter, now, tmp_path
):
    """The downloads as a run of their own (a queued job): nothing is listed."""
    ids = [add(twilio_fake, now - timedelta(hours=h)) for h in (3, 2, 1)]
    sink = MemorySink(tmp_path)
    SyncEngine(adapter, sink).run(now - timedelta(hours=4), now, overlap=timedelta(0))
    sink.audio.clear()
    twilio_fake.requests.clear()
    stats = SyncEngine(adapter, sink).download_due()
    assert stats.complete and stats.audio_downloaded == 3 and stats.created == 0
    assert set(sink.audio) == set(ids)
    assert not any("Calls.json" in path for _method, path, *_rest in twilio_fake.requests)
    # nothing due: nothing asked
    twilio_fake.requests.clear()
    assert SyncEngine(adapter, sink).download_due().audio_downloaded == 0
    assert not twilio_fake.requests
