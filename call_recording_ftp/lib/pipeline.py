"""Send the next file while the previous one is checked and renamed.

Per file, a verified upload costs more than the bytes: the server's
checksum (or size), then the rename, each a round trip and, for ``HASH``,
a read of the whole file by the server.  With a second connection to the
same server those steps run while the next file is being sent, so a run
goes about as fast as plain uploads.  Nothing changes in what is
guaranteed: a result is reported only after its file was verified and
renamed into place.
"""

import queue
import threading
import time

from .errors import TransferError
from .upload import cleanup, temporary_name, verify_and_rename


class VerifyingPipeline:
    """Uploads on ``uploader``; a thread verifies and renames on ``verifier``.

    ``submit()`` sends one file (and raises the upload's
    :class:`TransferError`, as :func:`~.upload.upload_verified` does);
    ``results()`` and ``close()`` hand back ``(key, UploadResult or None,
    TransferError or None)`` for the files verified since.
    """

    def __init__(self, uploader, verifier=None, depth=8):
        """Without ``verifier`` each file is checked on ``uploader`` right after it is sent."""
        self.uploader = uploader
        self.verifier = verifier
        self._jobs = queue.Queue(maxsize=depth)
        self._done = queue.Queue()
        self._thread = None
        if verifier is not None:
            self._thread = threading.Thread(target=self._work, name="export-verifier", daemon=True)
            self._thread.start()

    def _work(self):
        while True:
            job = self._jobs.get()
            if job is None:
                return
            self._check(self.verifier, job)

    def _check(self, transport, job):
        key, temp, remote_path, size, sha256, started = job
        try:
            result = verify_and_rename(transport, temp, remote_path, size, sha256, started=started)
        except TransferError as exc:
            self._done.put((key, None, exc))
        except Exception as exc:  # reported with the file, never lost
            self._done.put((key, None, TransferError("other", f"{remote_path}: {exc}")))
        else:
            self._done.put((key, result, None))

    def submit(self, key, stream, remote_path, size, sha256):
        """Send ``stream`` under its temporary name and queue its check."""
        started = time.perf_counter()
        temp = temporary_name(remote_path)
        try:
            self.uploader.upload(stream, temp)
        except TransferError as exc:
            if not exc.breaks_connection:
                cleanup(self.uploader, temp)
            raise
        job = (key, temp, remote_path, size, sha256, started)
        if self._thread is None:
            self._check(self.uploader, job)
        else:
            self._jobs.put(job)

    def results(self):
        """The files checked so far (without waiting)."""
        found = []
        while True:
            try:
                found.append(self._done.get_nowait())
            except queue.Empty:
                return found

    def close(self):
        """Wait for the files still being checked; return their results."""
        if self._thread is not None:
            self._jobs.put(None)
            self._thread.join()
            self._thread = None
        return self.results()
