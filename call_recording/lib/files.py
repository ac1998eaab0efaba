"""Recording files on their way in and out: spooled, fingerprinted, copied in chunks.

Plain Python (no ORM), used by the one home of recording files
(``models/call_recording_file.py``): a stream is copied in chunks into a
temporary file beside the storage, with its size, SHA-1 (the storage key)
and SHA-256 (the checksum the suite keeps and hands out) computed on the
way, so the data is read once and never held whole in memory.
"""

import contextlib
import hashlib
import os
import tempfile
import time
from dataclasses import dataclass

CHUNK_SIZE = 1024 * 1024
#: how many first bytes a spooled file keeps to recognise its type
HEAD_BYTES = 16


class FileRefused(ValueError):
    """The data cannot be kept: empty, over the size limit, or of a refused type."""


@dataclass(frozen=True)
class Spooled:
    """Data copied to a temporary file, with its fingerprints.

    ``mimetype`` is what the caller's ``sniff`` recognised (None without
    one).  The file is the caller's until it is stored or :meth:`discard` ed.
    """

    path: str
    size: int
    mimetype: str | None
    sha1: str
    sha256: str

    def discard(self):
        """Remove the temporary file (nothing happens when it was moved away)."""
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.discard()


class Reading:
    """A stream read in chunks (iterate over it), with its size and first bytes so far.

    Past ``max_size`` bytes, ``too_large`` is raised (reading stops there);
    ``head`` keeps the first ``head_size`` bytes, to recognise the type.
    """

    def __init__(
        self,
        stream,
        max_size=None,
        head_size=HEAD_BYTES,
        too_large=FileRefused,
        chunk_size=CHUNK_SIZE,
    ):
        self.stream = stream
        self.max_size = max_size
        self.head_size = head_size
        self.too_large = too_large
        self.chunk_size = chunk_size
        self.size = 0
        self.head = b""

    def __iter__(self):
        while chunk := self.stream.read(self.chunk_size):
            if len(self.head) < self.head_size:
                self.head += chunk[: self.head_size - len(self.head)]
            self.size += len(chunk)
            if self.max_size and self.size > self.max_size:
                raise self.too_large(f"recording is larger than the limit of {self.max_size} bytes")
            yield chunk


def spool(stream, directory, max_size=None, chunk_size=CHUNK_SIZE, sniff=None):
    """Copy ``stream`` into a new file under ``directory`` in chunks.

    The file is removed again, and :class:`FileRefused` raised, if the data
    is empty or larger than ``max_size`` bytes (reading stops at the limit).
    ``sniff(head)`` gets the first :data:`HEAD_BYTES` bytes and returns the
    mimetype, or raises :class:`FileRefused` (a subclass) to refuse the data.
    """
    os.makedirs(directory, exist_ok=True)
    fd, path = tempfile.mkstemp(prefix="call-audio-", suffix=".part", dir=directory)
    # SHA-1 only because it names files in the storage (Odoo's key).
    sha1, sha256 = hashlib.sha1(usedforsecurity=False), hashlib.sha256()
    reading = Reading(stream, max_size, chunk_size=chunk_size)
    try:
        with os.fdopen(fd, "wb") as out:
            for chunk in reading:
                sha1.update(chunk)
                sha256.update(chunk)
                out.write(chunk)
        if not reading.size:
            raise FileRefused("recording is empty")
        mimetype = sniff(reading.head) if sniff else None
    except BaseException:
        os.unlink(path)
        raise
    return Spooled(path, reading.size, mimetype, sha1.hexdigest(), sha256.hexdigest())


def same_content(path_a, path_b):
    """Whether two files hold the same bytes (compared in chunks)."""
    if os.path.getsize(path_a) != os.path.getsize(path_b):
        return False
    with open(path_a, "rb") as a, open(path_b, "rb") as b:
        while True:
            chunk = a.read(CHUNK_SIZE)
            if chunk != b.read(CHUNK_SIZE):
                return False
            if not chunk:
                return True


def copy(source, target, chunk_size=CHUNK_SIZE):
    """Copy one binary file object into another in chunks; returns the bytes copied."""
    size = 0
    while chunk := source.read(chunk_size):
        target.write(chunk)
        size += len(chunk)
    return size


def sha256_of(fileobj, chunk_size=CHUNK_SIZE):
    """SHA-256 (hex) of what is left to read in ``fileobj``, read in chunks."""
    digest = hashlib.sha256()
    while chunk := fileobj.read(chunk_size):
        digest.update(chunk)
    return digest.hexdigest()


def place(spooled_path, target):
    """Move a spooled file to ``target`` (same file system: an atomic rename)."""
    os.makedirs(os.path.dirname(target), exist_ok=True)
    os.replace(spooled_path, target)


def touch(path):
    """Create an empty file at ``path`` (and its folder) unless it exists."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    open(path, "ab").close()


def remove_stale_parts(directory, older_than_seconds=3600, now=None):
    """Delete temporary files that a killed process left in ``directory``.

    :func:`spool` removes its file on any error, but not when the process
    is killed mid-download.  Only files untouched for ``older_than_seconds``
    go, so a download in progress elsewhere is safe.  Returns the number of
    files removed.
    """
    if not os.path.isdir(directory):
        return 0
    limit = (now if now is not None else time.time()) - older_than_seconds
    removed = 0
    for entry in os.scandir(directory):
        if entry.name.endswith(".part") and entry.is_file() and entry.stat().st_mtime < limit:
            with contextlib.suppress(FileNotFoundError):  # cleaned by another process
                os.unlink(entry.path)
                removed += 1
    return removed
