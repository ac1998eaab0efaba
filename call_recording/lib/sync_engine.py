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

Downloads run in a few threads from the first stored page on, while the
listing goes on: the provider's latency and the hashing overlap the
database work instead of adding to it.  What a thread downloaded whole is
handed to the sink's :meth:`SyncSink.prepare_audio` in that thread (no
database there), and stored by this thread, several at once, in the
order the downloads were started.
"""

import contextlib
import itertools
import logging
import tempfile
from collections import deque
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import timedelta

from .audio import HEAD_SIZE, incomplete_reason
from .files import Reading
from .providers.base import AudioNotReady, IncompleteDownload, ProviderError, ProviderRateLimited

_logger = logging.getLogger(__name__)

#: Recordings up to this size wait in memory, larger ones on disk.
SPOOL_MEMORY = 1024 * 1024
CHUNK_SIZE = 256 * 1024
#: Downloads started ahead of the storing, per download thread.
AHEAD_PER_WORKER = 16
#: Recordings stored together: the storing waits for this many (or for all
#: on their way, if fewer), while the threads go on with the next ones.
STORE_BATCH = 32
#: Due recordings asked of the sink at once, per download thread.
DUE_PER_WORKER = 32


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

    def prepare_audio(self, key, spool):
        """Turn a whole download into what :meth:`store_audio` takes.

        Runs in a download thread: no database here.  ``spool`` is a file
        object at its start, closed by the engine afterwards unless it is
        what this returns.  The default hands the spool on.  Raising
        ValueError refuses the recording (not tried again).
        """
        return spool

    def store_audio(self, key, stream):
        """Store the recording read from ``stream``; raise ValueError if refused."""
        raise NotImplementedError

    def store_audio_batch(self, items):
        """Store several prepared recordings ``[(key, prepared)]``, in this order.

        Returns ``{key: ValueError}`` for the recordings refused (the others
        are stored); an error with a true ``retryable`` attribute means not
        stored now but due again.  The default stores them one by one.
        """
        refused = {}
        for key, prepared in items:
            try:
                self.store_audio(key, prepared)
            except ValueError as exc:
                refused[key] = exc
        return refused

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
        self._pool = None
        self._in_flight = deque()  # (key, future), in the order started
        self._due = deque()  # (key, call) due, not started yet
        self._seen = set()  # keys started or due in this run (never twice)

    def run(self, cursor, now, overlap=None):
        """List calls since ``cursor - overlap`` up to ``now``, fetching audio meanwhile.

        Returns :class:`SyncStats`; ``complete`` is false when the run was
        stopped by the time budget.  Provider-level failures are raised
        after the audio of what was already stored has been fetched.
        """
        if overlap is None:
            overlap = timedelta(minutes=self.adapter.default_overlap_minutes)
        listing_error = None
        with ThreadPoolExecutor(
            max_workers=self.download_workers, thread_name_prefix="call-audio"
        ) as pool:
            self._pool = pool
            try:
                try:
                    finished = self.import_calls(cursor - overlap, now)
                    if finished:
                        self.retry_unreadable()
                        self.recheck_recordings()
                except ProviderError as exc:
                    listing_error = exc
                    finished = False
                audio_done = self.fetch_audio()
            finally:
                self._abandon_downloads()
                self._pool = None
        self.stats.complete = finished and audio_done
        if listing_error is not None:
            raise listing_error
        if self.rate_limited is not None:
            raise self.rate_limited
        return self.stats

    def download_due(self):
        """Only fetch the due recordings, without listing calls (a run of its own).

        For installations where the listing and the downloads are separate
        jobs.  Returns :class:`SyncStats`; ``complete`` is false when stopped
        by the time budget; the provider's rate limit is raised, as by
        :meth:`run`, after what was already downloaded is stored.
        """
        with ThreadPoolExecutor(
            max_workers=self.download_workers, thread_name_prefix="call-audio"
        ) as pool:
            self._pool = pool
            try:
                self.stats.complete = self.fetch_audio()
            finally:
                self._abandon_downloads()
                self._pool = None
        if self.rate_limited is not None:
            raise self.rate_limited
        return self.stats

    def import_calls(self, since, until):
        """Store the calls of ``[since, until)``; False if stopped by the budget.

        After each page, downloads of what is due start in the threads and
        those already done are stored: the listing never waits for them.
        The next page of the listing is read (in a thread of its own) while
        the sink stores the last one; pages stay in order, one at a time.
        """
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="call-list") as lister:
            for start, end in windows(since, until, self.window):
                page = self.adapter.list_calls(start, end, None)
                while True:
                    # the next page is read while this one is stored
                    following = (
                        lister.submit(self.adapter.list_calls, start, end, page.next_cursor)
                        if page.next_cursor
                        else None
                    )
                    self.stats.pages += 1
                    self.stats.add(self.sink.store_calls(page.calls, page.errors))
                    self._pump_audio()
                    if following is None:
                        break
                    if self.sink.out_of_time():
                        following.cancel()
                        return False
                    page = following.result()
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
        """Download every due recording; False if stopped by the budget or the rate limit.

        At most ``AHEAD_PER_WORKER`` downloads per thread wait for the
        storing, each in a spooled temporary file (memory up to 1 MB, then
        disk) until the sink has prepared it.
        """
        max_size = self.sink.max_audio_size()
        while True:
            if not self._stopping():
                self._start_downloads(max_size)
            if not self._in_flight:
                return not self._stopping()
            self._store_ready(block=True)

    def _stopping(self):
        return self.rate_limited is not None or self.sink.out_of_time()

    def _pump_audio(self):
        """Between two pages: store the downloads that are done, start new ones."""
        self._store_ready(block=False)
        if not self._stopping():
            self._start_downloads(self.sink.max_audio_size())

    def _start_downloads(self, max_size):
        """Start downloads of due recordings until the threads have enough ahead.

        The due recordings are asked of the sink a few hundred at a time,
        and again only once those are started.
        """
        room = self.download_workers * AHEAD_PER_WORKER - len(self._in_flight)
        while room > 0:
            if not self._due and not self._ask_due():
                return
            key, call = self._due.popleft()
            future = self._pool.submit(self._download_prepared, key, call, max_size)
            self._in_flight.append((key, future))
            room -= 1

    def _ask_due(self):
        """Fill the queue of due recordings from the sink; False if none is new."""
        # the due list still holds those on their way: ask for that many more
        limit = max(self.audio_batch, self.download_workers * DUE_PER_WORKER)
        for key, call in self.sink.pending_audio(limit + len(self._in_flight)):
            if key not in self._seen:
                self._seen.add(key)
                self._due.append((key, call))
        return bool(self._due)

    def _store_ready(self, block):
        """Store the downloads at the head of the queue that are done (one batch).

        ``block``: wait for the first :data:`STORE_BATCH` (or all on their
        way, if fewer) to be done.  The order of the queue is kept.
        """
        if not self._in_flight:
            return
        if block:
            wait([future for _key, future in itertools.islice(self._in_flight, STORE_BATCH)])
        batch = []
        while self._in_flight and len(batch) < STORE_BATCH and self._in_flight[0][1].done():
            batch.append(self._in_flight.popleft())
        if batch:
            self.store_batch(batch)

    def _abandon_downloads(self):
        """Leaving the run (an error): downloads not stored are dropped, still due."""
        while self._in_flight:
            _key, future = self._in_flight.popleft()
            future.cancel()
            with contextlib.suppress(BaseException):
                prepared = future.result()
                _close(prepared)

    def _download_prepared(self, key, call, max_size):
        """In a download thread: download whole, then let the sink prepare it."""
        spool = self.download(call, max_size)
        try:
            prepared = self.sink.prepare_audio(key, spool)
        except ValueError as exc:
            spool.close()
            return _Refused(exc)
        except BaseException:
            spool.close()
            raise
        if prepared is not spool:
            spool.close()
        return prepared

    def download(self, call, max_size=None):
        """Read one recording into a spooled temporary file (runs in a worker thread)."""
        stream = self.adapter.open_audio(call)
        spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_MEMORY)  # noqa: SIM115 - returned
        try:
            reading = Reading(stream, max_size, HEAD_SIZE, AudioTooLarge, CHUNK_SIZE)
            for chunk in reading:
                spool.write(chunk)
            reason = incomplete_reason(
                reading.head,
                reading.size,
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

    def store_batch(self, items):
        """Store downloads ``[(key, done future)]``: failures noted, the rest at once."""
        ready = []
        for key, future in items:
            prepared = self._outcome(key, future)
            if prepared is not None:
                ready.append((key, prepared))
        if not ready:
            return
        try:
            refused = self.sink.store_audio_batch(ready)
        finally:
            for _key, prepared in ready:
                _close(prepared)
        for key, _prepared in ready:
            if key in refused:
                # refused by the sink: wrong type, too large, not allowed; or
                # not stored now (its storage unreachable): tried again later
                error = refused[key]
                self.stats.audio_failed += 1
                self.sink.audio_failed(key, error, retry=getattr(error, "retryable", False))
            else:
                self.stats.audio_downloaded += 1

    def _outcome(self, key, future):
        """What a finished download gives: the prepared recording, or None (noted)."""
        try:
            prepared = future.result()
        except ProviderRateLimited as exc:
            # not the recording's fault: left due, and no more downloads now
            self.stats.audio_waiting += 1
            self.rate_limited = self.rate_limited or exc
            self.sink.audio_postponed(key, exc)
            return None
        except AudioNotReady as exc:
            self.stats.audio_waiting += 1
            self.sink.audio_failed(key, exc, retry=True)
            return None
        except (ProviderError, AudioTooLarge) as exc:
            error, retry = exc, getattr(exc, "retryable", False)
        except Exception as exc:
            # The connection broke off mid-download (urllib3 and socket
            # errors have no common base): try again on a later run.
            _logger.warning("Download of %s interrupted", key, exc_info=True)
            error, retry = ProviderError(f"download interrupted: {exc}"), True
        else:
            if not isinstance(prepared, _Refused):
                return prepared
            error, retry = prepared.error, False
        self.stats.audio_failed += 1
        self.sink.audio_failed(key, error, retry=retry)
        return None


class _Refused:
    """A download the sink refused while preparing it (in its thread)."""

    def __init__(self, error):
        self.error = error


def _close(prepared):
    close = getattr(prepared, "close", None)
    if close is not None:
        close()
