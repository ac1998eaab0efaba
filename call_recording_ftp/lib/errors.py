"""One error type for every transfer failure, with a kind the models act on.

The kind decides what happens next: a broken connection ends the batch
(the next run resumes), a refused file is retried later, a host key or
certificate mismatch is never retried by hand-waving.  The models turn
each kind into one sentence for the administrator (one table, see
``call.recording.export.run._error_messages``); ``message`` carries the
server's own words.
"""

import errno
import socket
import ssl

#: kind -> whether trying again later may help
KINDS = {
    "connection": True,  # refused, unreachable, unknown host
    "dropped": True,  # the server closed an open connection
    "timeout": True,  # the server stopped answering, even mid-file
    "auth": False,  # bad user name, password or key
    "host_key": False,  # the server's SSH key is not a pinned one
    "certificate": False,  # the server's TLS certificate is not trusted or not the pinned one
    "tls": True,  # the TLS negotiation failed (not the certificate)
    "disk_full": True,  # no space (or quota) on the server: 452, 552, ENOSPC, statvfs
    "write_failed": True,  # the server could not write (vsftpd 451, SFTP "Failure")
    "permission": False,  # the folder or file is not writable
    "verify": True,  # the uploaded file differs from the recording
    "config": False,  # the target itself is wrong (template, key, protocol)
    "other": True,
}
#: kinds after which the connection cannot be used for the next file
FATAL_FOR_CONNECTION = frozenset(
    {"connection", "dropped", "timeout", "auth", "host_key", "certificate", "tls"}
)
#: kinds that may mean someone is between us and the server: alert at once
SUSPICIOUS = frozenset({"host_key", "certificate"})


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

    @property
    def suspicious(self):
        return self.kind in SUSPICIOUS

    def __str__(self):
        return f"{self.kind}: {self.message}"


def describe(exc):
    """The exception's own words, or its type when it has none (``EOFError()``)."""
    text = str(exc).strip()
    return text or type(exc).__name__


def from_os_error(exc, what):  # noqa: PLR0911 one return per kind
    """Translate a socket, TLS or OS error into a :class:`TransferError`."""
    if isinstance(exc, TransferError):
        return exc
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return TransferError("timeout", f"{what}: the server did not answer in time")
    if isinstance(exc, ssl.SSLCertVerificationError):
        return TransferError(
            "certificate",
            f"{what}: the server's TLS certificate is not trusted ({exc.verify_message})",
        )
    if isinstance(exc, (ssl.SSLEOFError, ssl.SSLZeroReturnError)):
        return TransferError("dropped", f"{what}: the server closed the encrypted connection")
    if isinstance(exc, ssl.SSLError):
        return TransferError("tls", f"{what}: TLS failed ({describe(exc)})")
    if isinstance(exc, ConnectionRefusedError):
        return TransferError("connection", f"{what}: connection refused")
    if isinstance(exc, socket.gaierror):
        return TransferError("connection", f"{what}: unknown host ({describe(exc)})")
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        return TransferError("disk_full", f"{what}: no space left on the server")
    if isinstance(exc, PermissionError) or (
        isinstance(exc, OSError) and exc.errno in (errno.EACCES, errno.EPERM)
    ):
        return TransferError("permission", f"{what}: permission denied")
    if isinstance(exc, (EOFError, ConnectionResetError, ConnectionAbortedError, BrokenPipeError)):
        return TransferError("dropped", f"{what}: the server closed the connection")
    if isinstance(exc, (ConnectionError, OSError)):
        return TransferError("connection", f"{what}: {describe(exc)}")
    return TransferError("other", f"{what}: {describe(exc)}")
