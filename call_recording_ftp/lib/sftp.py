"""SFTP with paramiko's Transport and SFTPClient (never pysftp).

The server's host key must match the pinned SHA-256 fingerprint before a
password or key is sent: there is no "trust on first use".  Files are
written with pipelined requests (what ``putfo`` does), which is what makes
paramiko fast enough on a long transfer.
"""

import base64
import contextlib
import errno
import hashlib
import io
import socket

import paramiko

from .errors import TransferError, from_os_error
from .transport import CHUNK_SIZE, RemoteStat, Transport

KEY_CLASSES = (paramiko.Ed25519Key, paramiko.ECDSAKey, paramiko.RSAKey)


def fingerprint(key):
    """``SHA256:...`` of a paramiko public key, as ``ssh-keygen -l`` prints it."""
    digest = hashlib.sha256(key.asbytes()).digest()
    return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")


def load_private_key(text, passphrase=None):
    """A paramiko key from its PEM/OpenSSH text, whatever its type."""
    last = None
    for cls in KEY_CLASSES:
        try:
            return cls.from_private_key(io.StringIO(text), password=passphrase or None)
        except paramiko.PasswordRequiredException as exc:
            raise TransferError("config", "the private key needs its passphrase") from exc
        except (paramiko.SSHException, ValueError, IndexError, TypeError) as exc:
            last = exc
    raise TransferError("config", f"the private key could not be read ({last})")


def _sftp_error(exc, what):  # noqa: PLR0911 one return per kind
    if isinstance(exc, TransferError):
        return exc
    if isinstance(exc, paramiko.AuthenticationException):
        return TransferError("auth", f"{what}: authentication failed ({exc})")
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return TransferError("timeout", f"{what}: the server did not answer in time")
    if isinstance(exc, paramiko.SSHException):
        if "timeout" in str(exc).lower():
            return TransferError("timeout", f"{what}: {exc}")
        return TransferError("connection", f"{what}: {exc}")
    if isinstance(exc, OSError) and exc.errno is None and exc.args:
        text = str(exc.args[0])
        lowered = text.lower()
        if "space" in lowered or "quota" in lowered:
            return TransferError("disk_full", f"{what}: {text}")
        if "closed" in lowered or "eof" in lowered:
            return TransferError("connection", f"{what}: {text}")
        return TransferError("other", f"{what}: the server reported {text!r}")
    return from_os_error(exc, what)


class SFTPTransport(Transport):
    def __init__(self, config):
        super().__init__(config)
        self.transport = None
        self.sftp = None
        self._folders = set()

    def connect(self):
        cfg = self.config
        what = f"connecting to {cfg.host}:{cfg.port}"
        try:
            sock = socket.create_connection((cfg.host, cfg.port), timeout=cfg.timeout)
            self.transport = paramiko.Transport(sock)
            self.transport.banner_timeout = cfg.timeout
            self.transport.auth_timeout = cfg.timeout
            self.transport.start_client(timeout=cfg.timeout)
            self.check_host_key(self.transport.get_remote_server_key())
            if cfg.private_key:
                key = load_private_key(cfg.private_key, cfg.passphrase)
                self.transport.auth_publickey(cfg.username, key)
            else:
                self.transport.auth_password(cfg.username, cfg.password or "")
            self.sftp = paramiko.SFTPClient.from_transport(self.transport)
            self.sftp.get_channel().settimeout(cfg.timeout)
        except Exception as exc:
            self.close()
            raise _sftp_error(exc, what) from exc

    def check_host_key(self, key):
        found = fingerprint(key)
        pinned = (self.config.host_key_fingerprint or "").strip()
        if not pinned:
            raise TransferError(
                "host_key", f"no host key is pinned; the server presents {key.get_name()} {found}"
            )
        if pinned.rstrip("=") != found:
            raise TransferError(
                "host_key",
                f"the server's host key {found} is not the pinned {pinned}: "
                "the server was replaced or someone is in between",
            )

    def close(self):
        for closable in (self.sftp, self.transport):
            if closable is not None:
                with contextlib.suppress(Exception):  # closing a broken connection
                    closable.close()
        self.sftp = self.transport = None

    def _mkdirs(self, remote_path):
        for folder in self.parents(remote_path):
            if folder in self._folders:
                continue
            try:
                self.sftp.stat(folder)
            except FileNotFoundError:
                self.sftp.mkdir(folder)
            self._folders.add(folder)

    def upload(self, stream, remote_path):
        remote = None
        try:
            self._mkdirs(remote_path)
            remote = self.sftp.file(remote_path, "wb", bufsize=CHUNK_SIZE)
            remote.set_pipelined(True)
            while chunk := stream.read(CHUNK_SIZE):
                remote.write(chunk)
            remote.flush()
            self._confirm_writes(remote)
            remote.close()
        except Exception as exc:
            if remote is not None:
                # The connection is no longer trusted: do not let paramiko
                # flush or close this file again later (from __del__).
                remote._closed = True
            raise _sftp_error(exc, f"uploading {remote_path}") from exc

    def _confirm_writes(self, remote):
        """Read the server's answer to every pipelined write.

        paramiko drops the status of pipelined writes that are still
        pending when the file is closed, so a full disk or a refused write
        near the end would pass unnoticed; here each one is read and an
        error status raised.
        """
        pending = remote._reqs
        while pending:
            self.sftp._read_response(pending.popleft())

    def stat(self, remote_path):
        try:
            return RemoteStat(size=self.sftp.stat(remote_path).st_size)
        except FileNotFoundError:
            return None
        except Exception as exc:
            raise _sftp_error(exc, f"checking {remote_path}") from exc

    def rename(self, source, destination):
        try:
            self._mkdirs(destination)
            try:
                self.sftp.posix_rename(source, destination)
            except OSError:
                # Without the posix-rename extension a rename does not replace.
                if self.stat(destination) is not None:
                    self.sftp.remove(destination)
                self.sftp.rename(source, destination)
        except Exception as exc:
            raise _sftp_error(exc, f"renaming {source} to {destination}") from exc

    def delete(self, remote_path):
        try:
            self.sftp.remove(remote_path)
        except FileNotFoundError:
            return
        except OSError as exc:
            if exc.errno == errno.ENOENT:
                return
            raise _sftp_error(exc, f"deleting {remote_path}") from exc
        except Exception as exc:
            raise _sftp_error(exc, f"deleting {remote_path}") from exc

    def download(self, remote_path, stream):
        try:
            self.sftp.getfo(remote_path, stream)
        except Exception as exc:
            raise _sftp_error(exc, f"downloading {remote_path}") from exc
