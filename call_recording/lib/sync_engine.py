"""The provider-agnostic import loop: list calls window by window, then fetch audio.

Plain Python: the engine drives a :class:`~.providers.base.ProviderAdapter`
and hands what it reads to a *sink*, the object that stores it (the Odoo
provider record in production, a list in unit tests).  The engine decides
*what* to ask the provider and *when* progress may be saved; the sink
decides how calls are stored and commits them.

Guarantees the engine gives, whatever the provider:

* the sync cursor moves only past a window whose every page was stored
  (and committed) by the sink, so a crash or a timeout re-reads at most
  one window, and the sink's idempotent upsert absorbs the repeat;
* each run starts ``overlap`` before the cursor, to catch calls and
  recordings the provider reports late;
* a failure of one call (unreadable, audio refused, download error) is
  reported to the sink and never stops the run; a failure of the provider
  itself (outage, credentials) stops the listing, keeps the cursor, and
  is raised for the run's log;
* a recording is stored only whole: a body shorter than its
  ``Content-Length``, than the size or duration the provider announced,
  or than its own WAV header says, is a failed download, tried again;
* the provider's rate limit postpones nothing: a download it stops is
  left due (no attempt counted) and the run ends there, for the next one.
"""

import itertools
import logging
import tempfile
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta

from .audio import HEAD_SIZE, incomplete_reason
from .providers.base import AudioNotReady, IncompleteDownload, ProviderError, ProviderRateLimited

_logger = logging.getLogger(__name__)

#: Recordings up to this size wait in memory, larger ones on disk.
SPOOL_MEMORY = 1024 * 1024
CHUNK_SIZE = 256 * 1024


class AudioTooLarge(ValueError):
    """The recording is over the size limit: downloading it again will not help."""


@dataclass
class SyncStats:
    """What one run did; the sink's counters are added up here."""

    created: int = 0
    updated: int = 0
    skipped: int = 0
    failed: int = 0
    audio_downloaded: int = 0
    audio_failed: int = 0
    audio_waiting: int = 0
    pages: int = 0
    errors: list = field(default_factory=list)
    complete: bool = False

    def add(self, counts):
        for key, value in counts.items():
            setattr(self, key, getattr(self, key) + value)


class SyncSink:
    """The storage side of a sync, implemented by the Odoo model.

    Every method that stores something also commits it before returning,
    so that what the engine reports as done is durable.
    """

    def store_calls(self, calls, errors):
        """Create or update ``calls``, record ``errors``; return counters."""
        raise NotImplementedError

    def save_cursor(self, until):
        """Every call started before ``until`` is stored (and committed)."""
        raise NotImplementedError

    def calls_to_retry(self, limit):
        """External ids of calls that could not be read, to read again."""
        return []

    def calls_to_recheck(self, limit):
        """External ids of calls whose recording may still come, due for a re-read."""
        return []

    def recheck_done(self, external_id, call):
        """A call of :meth:`calls_to_recheck` was read again (``call``: None if gone)."""

    def pending_audio(self, limit):
        """Up to ``limit`` (key, ProviderCall-like) whose audio is due for a download."""
        raise NotImplementedError

    def store_audio(self, key, stream):
        """Store the recording read from ``stream``; raise ValueError if refused."""
        raise NotImplementedError

    def audio_failed(self, key, error, retry):
        """Note a failed download; ``retry`` says whether to try again later."""
        raise NotImplementedError

    def audio_postponed(self, key, error):
        """The provider's rate limit stopped this download: leave it due, count nothing."""

    def out_of_time(self):
        """Whether the run must stop now (cron time budget, manual run limit)."""
        return False

    def max_audio_size(self):
        """The largest recording accepted, in bytes (None: no limit)."""
        return None


def windows(since, until, size):
    """Split ``[since, until)`` into consecutive windows of at most ``size``."""
    start = since
    while start < until:
        end = min(start + size, until)
        yield start, end
        start = end


class SyncEngine:
    """One run of one provider account."""

    def __init__(self, adapter, sink, window=timedelta(days=1), audio_batch=50, download_workers=4):
        self.adapter = adapter
        self.sink = sink
        max_window = getattr(adapter, "max_window", None)
        self.window = min(window, max_window) if max_window else window
        self.audio_batch = audio_batch
        self.download_workers = max(1, download_workers)
        self.stats = SyncStats()
        #: the ProviderRateLimited that stopped the downloads, if one did
        self.rate_limited = None

    def run(self, cursor, now, overlap=None):
        """List calls since ``cursor - overlap`` up to ``now``, then fetch audio.

        Returns :class:`SyncStats`; ``complete`` is false when the run was
        stopped by the time budget.  Provider-level failures are raised
        after the audio of what was already stored has been fetched.
        """
        if overlap is None:
            overlap = timedelta(minutes=self.adapter.default_overlap_minutes)
        listing_error = None
        try:
            finished = self.import_calls(cursor - overlap, now)
            if finished:
                self.retry_unreadable()
                self.recheck_recordings()
        except ProviderError as exc:
            listing_error = exc
            finished = False
        audio_done = self.fetch_audio()
        self.stats.complete = finished and audio_done
        if listing_error is not None:
            raise listing_error
        if self.rate_limited is not None:
            raise self.rate_limited
        return self.stats

    def import_calls(self, since, until):
        """Store the calls of ``[since, until)``; False if stopped by the budget."""
        for start, end in windows(since, until, self.window):
            cursor = None
            while True:
                page = self.adapter.list_calls(start, end, cursor)
                self.stats.pages += 1
                self.stats.add(self.sink.store_calls(page.calls, page.errors))
                cursor = page.next_cursor
                if not cursor:
                    break
                if self.sink.out_of_time():
                    return False
            self.sink.save_cursor(end)
            if self.sink.out_of_time():
                return False
        return True

    def retry_unreadable(self, limit=100):
        """Read again, one by one, calls that were malformed on an earlier run."""
        for external_id in self.sink.calls_to_retry(limit):
            try:
                call = self.adapter.refresh_call(external_id)
            except ProviderError as exc:
                if exc.retryable:
                    raise  # the provider is failing: the run stops here
                # still unreadable: counted again, read again next run
                self.stats.add(self.sink.store_calls([], [(external_id, str(exc))]))
                continue
            if call is not None:
                self.stats.add(self.sink.store_calls([call], []))

    def recheck_recordings(self, limit=100):
        """Read again calls whose recording the provider may still be processing."""
        for external_id in self.sink.calls_to_recheck(limit):
            try:
                call = self.adapter.refresh_call(external_id)
            except ProviderError as exc:
                if exc.retryable:
                    raise
                call = None
            if call is not None:
                self.stats.add(self.sink.store_calls([call], []))
            self.sink.recheck_done(external_id, call)

    def fetch_audio(self):
        """Download due recordings in batches; False if stopped by the budget.

        Downloads run in a few threads ahead of the storing, which stays in
        this thread (and its database cursor) and in the order of the batch:
        the provider's latency overlaps the database work instead of adding
        to it.  At most ``2 * download_workers`` recordings wait, each in a
        spooled temporary file (memory up to 1 MB, then disk).
        """
        seen = set()
        max_size = self.sink.max_audio_size()
        with ThreadPoolExecutor(
            max_workers=self.download_workers, thread_name_prefix="call-audio"
        ) as pool:
            while True:
                batch = [
                    (key, call)
                    for key, call in self.sink.pending_audio(self.audio_batch)
                    if key not in seen
                ]
                if not batch:
                    return True
                seen.update(key for key, _call in batch)
                waiting = deque()
                todo = iter(batch)
                for key, call in itertools.islice(todo, 2 * self.download_workers):
                    waiting.append((key, pool.submit(self.download, call, max_size)))
                while waiting:
                    key, future = waiting.popleft()
                    self.store_one(key, future)
                    if self.rate_limited is not None:
                        continue  # no new download into a spent quota
                    for next_key, call in itertools.islice(todo, 1):
                        waiting.append((next_key, pool.submit(self.download, call, max_size)))
                if self.rate_limited is not None or self.sink.out_of_time():
                    return False

    def download(self, call, max_size=None):
        """Read one recording into a spooled temporary file (runs in a worker thread)."""
        stream = self.adapter.open_audio(call)
        spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_MEMORY)  # noqa: SIM115 - returned
        try:
            size = 0
            head = b""
            while chunk := stream.read(CHUNK_SIZE):
                if len(head) < HEAD_SIZE:
                    head += chunk[: HEAD_SIZE - len(head)]
                size += len(chunk)
                if max_size and size > max_size:
                    raise AudioTooLarge(f"recording is larger than the limit of {max_size} bytes")
                spool.write(chunk)
            reason = incomplete_reason(
                head,
                size,
                expected_duration=getattr(stream, "expected_duration", None)
                or getattr(call, "recording_duration", None),
                expected_size=getattr(stream, "expected_size", None)
                or getattr(call, "recording_size", None),
            )
            if reason:
                raise IncompleteDownload(
                    f"The recording came incomplete ({reason}); it will be tried again."
                )
            spool.seek(0)
        except BaseException:
            spool.close()
            raise
        finally:
            close = getattr(stream, "close", None)
            if close:
                close()
        return spool

    def store_one(self, key, future):
        try:
            spool = future.result()
        except ProviderRateLimited as exc:
            # not the recording's fault: left due, and no more downloads now
            self.stats.audio_waiting += 1
            self.rate_limited = self.rate_limited or exc
            self.sink.audio_postponed(key, exc)
            return
        except AudioNotReady as exc:
            self.stats.audio_waiting += 1
            self.sink.audio_failed(key, exc, retry=True)
            return
        except ProviderError as exc:
            self.stats.audio_failed += 1
            self.sink.audio_failed(key, exc, retry=exc.retryable)
            return
        except AudioTooLarge as exc:
            self.stats.audio_failed += 1
            self.sink.audio_failed(key, exc, retry=False)
            return
        except Exception as exc:
            # The connection broke off mid-download (urllib3 and socket
            # errors have no common base): try again on a later run.
            _logger.warning("Download of %s interrupted", key, exc_info=True)
            self.stats.audio_failed += 1
            self.sink.audio_failed(key, ProviderError(f"download interrupted: {exc}"), retry=True)
            return
        try:
            self.sink.store_audio(key, spool)
        except ValueError as exc:
            # refused by the sink: wrong type, too large, not allowed
            self.stats.audio_failed += 1
            self.sink.audio_failed(key, exc, retry=False)
        else:
            self.stats.audio_downloaded += 1
        finally:
            spool.close()
