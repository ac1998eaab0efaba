"""Send files on some connections while others check and rename the ones already sent.

Per file, a verified upload costs more than the bytes: the server's
checksum (or size), then the rename, each a round trip and, for ``HASH``,
a read of the whole file by the server.  On a second connection to the
same server those steps run while the next file is being sent (the check
of file N while N+1 goes), and with more than one upload connection the
files themselves go side by side, so a verified run goes about as fast as
plain uploads.  Nothing changes in what is guaranteed: a result is
reported only after its file was verified and renamed into place.

Plain Python and threads; no ORM: a job carries an ``opener`` (a callable
returning a binary stream) and a key, and outcomes are collected by the
caller's thread, which alone writes to the database.
"""

import queue
import threading
import time
from dataclasses import dataclass

from .errors import TransferError, describe
from .upload import cleanup, temporary_name, verify_and_rename


@dataclass
class Outcome:
    """What became of one file: ``result`` (verified, in place) or ``error``.

    Neither means the file was never tried (the connections broke first):
    it stays waiting for the next run.
    """

    key: object
    result: object = None
    error: TransferError | None = None

    @property
    def skipped(self):
        return self.result is None and self.error is None


@dataclass
class _Job:
    key: object
    opener: object
    remote_path: str
    size: int
    sha256: str
    started: float = 0.0
    temp: str = ""


class TransferPipeline:
    """Uploads on ``uploaders`` (a thread each); checks and renames on ``verifiers``.

    Without verifiers each file is checked on the connection that sent it,
    right after sending.  ``submit()`` queues a file (waiting while
    ``depth`` files are queued); ``results()`` returns the outcomes ready
    so far; ``close()`` waits for all and returns the rest.  After an error
    that breaks a connection, that connection takes no more files; when no
    upload connection is left, the files still queued come back skipped.
    """

    def __init__(self, uploaders, verifiers=(), depth=4):
        self.uploaders = list(uploaders)
        self.verifiers = list(verifiers)
        self._uploads = queue.Queue(maxsize=depth)
        self._checks = queue.Queue(maxsize=depth)
        self._done = queue.Queue()
        self._alive = len(self.uploaders)
        self._lock = threading.Lock()
        self.broken = None  # the first error that broke an upload connection
        self._threads = [
            threading.Thread(target=self._upload_loop, args=(t,), name="export-upload", daemon=True)
            for t in self.uploaders
        ]
        self._check_threads = [
            threading.Thread(target=self._check_loop, args=(t,), name="export-check", daemon=True)
            for t in self.verifiers
        ]
        for thread in self._threads + self._check_threads:
            thread.start()

    # -- the caller's side ---------------------------------------------------------

    def submit(self, key, opener, remote_path, size, sha256):
        """Queue one file: ``opener()`` gives its bytes; ``size`` and ``sha256`` are known."""
        job = _Job(key, opener, remote_path, size, sha256)
        while True:
            if self._alive <= 0:
                self._done.put(Outcome(key))
                return
            try:
                self._uploads.put(job, timeout=0.2)
                return
            except queue.Full:
                continue

    def results(self):
        """The outcomes ready so far (without waiting)."""
        found = []
        while True:
            try:
                found.append(self._done.get_nowait())
            except queue.Empty:
                return found

    def cancel(self):
        """Send nothing more of what is queued (it comes back skipped); files under way finish."""
        self._drain()

    def close(self):
        """Wait for every queued file; return the outcomes not yet handed back."""
        for _thread in self._threads:
            self._put_stop(self._uploads)
        for thread in self._threads:
            thread.join()
        for _thread in self._check_threads:
            self._checks.put(None)
        for thread in self._check_threads:
            thread.join()
        self._threads = self._check_threads = []
        # Files queued after every upload connection broke.
        while True:
            try:
                job = self._uploads.get_nowait()
            except queue.Empty:
                break
            if job is not None:
                self._done.put(Outcome(job.key))
        return self.results()

    def _put_stop(self, jobs):
        while True:
            try:
                jobs.put(None, timeout=0.2)
                return
            except queue.Full:
                if self._alive <= 0:
                    return

    # -- the workers -------------------------------------------------------------

    def _upload_loop(self, transport):
        while True:
            job = self._uploads.get()
            if job is None:
                return
            error = self._send(transport, job)
            if error is None:
                if self.verifiers:
                    self._checks.put(job)
                else:
                    self._check(transport, job)
                continue
            self._done.put(Outcome(job.key, error=error))
            if error.breaks_connection:
                with self._lock:
                    self._alive -= 1
                    self.broken = self.broken or error
                    alone = self._alive <= 0
                if alone:
                    self._drain()
                return

    def _drain(self):
        """No connection is left to send: hand back what waits as skipped."""
        while True:
            try:
                job = self._uploads.get_nowait()
            except queue.Empty:
                return
            if job is not None:
                self._done.put(Outcome(job.key))

    def _send(self, transport, job):
        job.started = time.perf_counter()
        job.temp = temporary_name(job.remote_path)
        try:
            stream = job.opener()
        except OSError as exc:
            # The local file cannot be read: this file fails, the others go on.
            return TransferError("other", f"reading the audio: {describe(exc)}")
        try:
            with stream:
                transport.upload(stream, job.temp)
        except TransferError as exc:
            if not exc.breaks_connection:
                cleanup(transport, job.temp)
            return exc
        except Exception as exc:  # reported with the file, never lost
            return TransferError("other", f"{job.remote_path}: {describe(exc)}")
        return None

    def _check_loop(self, transport):
        while True:
            job = self._checks.get()
            if job is None:
                return
            self._check(transport, job)

    def _check(self, transport, job):
        try:
            result = verify_and_rename(
                transport, job.temp, job.remote_path, job.size, job.sha256, started=job.started
            )
        except TransferError as exc:
            self._done.put(Outcome(job.key, error=exc))
        except Exception as exc:  # reported with the file, never lost
            self._done.put(
                Outcome(
                    job.key, error=TransferError("other", f"{job.remote_path}: {describe(exc)}")
                )
            )
        else:
            self._done.put(Outcome(job.key, result=result))
