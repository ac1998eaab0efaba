"""One error type for every transfer failure, with a kind the models act on.

The kind decides what happens next: a broken connection ends the batch
(the next run resumes), a refused file is retried later, a host key
mismatch is never retried by hand-waving.
"""

import errno
import socket
import ssl

#: kind -> whether trying again later may help
KINDS = {
    "connection": True,  # refused, reset, unreachable, DNS
    "timeout": True,  # the server stopped answering, even mid-file
    "auth": False,  # bad user name, password or key
    "host_key": False,  # the server's key is not the pinned one
    "disk_full": True,  # quota or disk full on the server (452, ENOSPC)
    "permission": False,  # the folder or file is not writable
    "verify": True,  # the uploaded file differs from the recording
    "config": False,  # the target itself is wrong (template, key)
    "other": True,
}
#: kinds after which the connection cannot be used for the next file
FATAL_FOR_CONNECTION = frozenset({"connection", "timeout", "auth", "host_key"})


class TransferError(Exception):
    """A transfer failed; ``kind`` is one of :data:`KINDS`."""

    def __init__(self, kind, message):
        super().__init__(message)
        self.kind = kind if kind in KINDS else "other"
        self.message = message

    @property
    def retryable(self):
        return KINDS[self.kind]

    @property
    def breaks_connection(self):
        return self.kind in FATAL_FOR_CONNECTION

    def __str__(self):
        return f"{self.kind}: {self.message}"


def from_os_error(exc, what):  # noqa: PLR0911 one return per kind
    """Translate a socket or OS error into a :class:`TransferError`."""
    if isinstance(exc, TransferError):
        return exc
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return TransferError("timeout", f"{what}: the server did not answer in time")
    if isinstance(exc, ssl.SSLError):
        return TransferError("connection", f"{what}: TLS failed ({exc})")
    if isinstance(exc, ConnectionRefusedError):
        return TransferError("connection", f"{what}: connection refused")
    if isinstance(exc, socket.gaierror):
        return TransferError("connection", f"{what}: unknown host ({exc})")
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        return TransferError("disk_full", f"{what}: no space left on the server")
    if isinstance(exc, PermissionError) or (
        isinstance(exc, OSError) and exc.errno in (errno.EACCES, errno.EPERM)
    ):
        return TransferError("permission", f"{what}: permission denied")
    if isinstance(exc, (ConnectionError, EOFError, OSError)):
        return TransferError("connection", f"{what}: {exc or type(exc).__name__}")
    return TransferError("other", f"{what}: {exc}")
