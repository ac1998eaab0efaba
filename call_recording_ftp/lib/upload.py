"""The verified upload: temporary name, check, rename into place.

A file only ever appears under its final name complete and checked, so the
customer's own jobs on the server never pick up half a recording, and a
call is marked exported only after this returned.
"""

import hashlib
import io
import posixpath
import time
from dataclasses import dataclass

from .errors import TransferError


@dataclass
class UploadResult:
    remote_path: str
    size: int
    sha256: str
    sha256_verified_by_server: bool
    seconds: float


def temporary_name(remote_path):
    """``folder/.name.part``: hidden, and the same on every try (a re-run replaces it)."""
    folder, name = posixpath.split(remote_path)
    return posixpath.join(folder, f".{name}.part")


class _Hashing:
    """Wrap a stream and hash what is read from it (when no checksum is known)."""

    def __init__(self, stream):
        self.stream = stream
        self.digest = hashlib.sha256()
        self.size = 0

    def read(self, size=-1):  # pylint: disable=method-required-super
        chunk = self.stream.read(size)
        self.digest.update(chunk)
        self.size += len(chunk)
        return chunk


def upload_verified(transport, stream, remote_path, size=None, sha256=None):
    """Upload ``stream`` to ``remote_path`` and return an :class:`UploadResult`.

    ``size`` and ``sha256`` are the recording's known fingerprints (Odoo
    keeps both); when missing they are computed while sending.  Raises
    :class:`TransferError` (kind ``verify``) when the server's copy differs,
    after removing the temporary file.
    """
    started = time.perf_counter()
    temp = temporary_name(remote_path)
    source = stream if size is not None and sha256 else _Hashing(stream)
    try:
        transport.upload(source, temp)
    except TransferError as exc:
        if not exc.breaks_connection:
            cleanup(transport, temp)
        raise
    if isinstance(source, _Hashing):
        size, sha256 = source.size, source.digest.hexdigest()
    return verify_and_rename(transport, temp, remote_path, size, sha256, started=started)


def verify_and_rename(transport, temp, remote_path, size, sha256, *, started=None):
    """Check the uploaded ``temp`` file, then move it to ``remote_path``.

    Removes ``temp`` and raises :class:`TransferError` when it is not the
    recording.
    """
    started = started if started is not None else time.perf_counter()
    try:
        # A SHA-256 of the whole file computed by the server covers its size
        # too; without one, the size is what can be checked.
        server_hash = transport.sha256(temp)
        if server_hash is not None and server_hash != sha256:
            raise TransferError(
                "verify", f"{remote_path}: the server's SHA-256 differs from the recording's"
            )
        if server_hash is None:
            remote = transport.stat(temp)
            if remote is None or remote.size != size:
                raise TransferError(
                    "verify",
                    f"{remote_path}: the server holds {remote.size if remote else 'no'} "
                    f"bytes instead of {size}",
                )
        transport.rename(temp, remote_path)
    except TransferError as exc:
        if not exc.breaks_connection:
            cleanup(transport, temp)
        raise
    return UploadResult(
        remote_path=remote_path,
        size=size,
        sha256=sha256,
        sha256_verified_by_server=server_hash is not None,
        seconds=time.perf_counter() - started,
    )


def cleanup(transport, remote_path):
    """Remove a leftover file, ignoring failures (the next run replaces it)."""
    try:
        transport.delete(remote_path)
    except TransferError:
        return False
    return True


def upload_bytes(transport, data, remote_path):
    """Verified upload of a small file held in memory (manifests, test files)."""
    return upload_verified(
        transport, io.BytesIO(data), remote_path, len(data), hashlib.sha256(data).hexdigest()
    )
