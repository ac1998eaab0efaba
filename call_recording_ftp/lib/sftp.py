"""SFTP with paramiko's Transport and SFTPClient (never pysftp).

Chosen by measurement against OpenSSH's own ``sshd`` and ``sftp-server``
(``bench/bench_ftp_export.py``, figures in ``bench/README.rst``), among
paramiko, asyncssh, ssh2-python and ssh-python: paramiko reaches about
half of OpenSSH's ``sftp`` on one connection (the export uses two) and
keeps its writes pipelined, which matters more than any loopback figure
once the server is far away; asyncssh is faster but needs a
``cryptography`` that Odoo 19's own pins exclude, ssh2-python was little
faster for more CPU, and ssh-python waits for each write's answer before
the next.

What it guarantees:

* the server's host key must be one of the target's accepted keys
  (:mod:`.hostkeys`) before a password or key is sent, and the negotiation
  asks for the accepted key types first; there is no "trust on first use";
* files are written with pipelined requests (what ``putfo`` does) and
  :meth:`SFTPTransport.upload` reads the server's answer to every one of
  them, so a refused write anywhere in the file (a full disk, a quota)
  fails the upload: no file with a hole or a short end passes as complete;
* a bare ``Failure`` (OpenSSH's answer to a full disk) is checked against
  the server's free space (``statvfs@openssh.com``) to say which it is.
"""

import contextlib
import errno
import io
import logging
import socket
import struct

import paramiko
from paramiko.sftp import CMD_EXTENDED, CMD_EXTENDED_REPLY

from .errors import TransferError, describe, from_os_error
from .hostkeys import KEY_TYPE_ALGORITHMS, fingerprint_of_blob, parse_host_keys
from .transport import CHUNK_SIZE, RemoteStat, Transport

KEY_CLASSES = (paramiko.Ed25519Key, paramiko.ECDSAKey, paramiko.RSAKey)
#: paramiko's transport thread logs what each call then raises (and the run
#: reports, in the administrator's words); its own lines are kept quiet.
LOG_CHANNEL = "call_recording_ftp.sftp.paramiko"
if logging.getLogger(LOG_CHANNEL).level == logging.NOTSET:
    logging.getLogger(LOG_CHANNEL).setLevel(logging.CRITICAL)
#: Host key algorithms asked for when no accepted key says its type.
DEFAULT_HOST_KEY_ALGORITHMS = (
    "ssh-ed25519",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "rsa-sha2-512",
    "rsa-sha2-256",
)


def fingerprint(key):
    """``SHA256:...`` of a paramiko public key, as ``ssh-keygen -l`` prints it."""
    return fingerprint_of_blob(key.asbytes())


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
        return TransferError("auth", f"{what}: authentication failed ({describe(exc)})")
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return TransferError("timeout", f"{what}: the server did not answer in time")
    if isinstance(exc, EOFError):
        return TransferError("dropped", f"{what}: the server closed the connection")
    if isinstance(exc, paramiko.SSHException):
        text = describe(exc)
        lowered = text.lower()
        if "timeout" in lowered:
            return TransferError("timeout", f"{what}: {text}")
        if "dropped" in lowered or "closed" in lowered or "eof" in lowered:
            return TransferError("dropped", f"{what}: the server closed the connection ({text})")
        return TransferError("connection", f"{what}: {text}")
    if isinstance(exc, OSError) and exc.errno is None and exc.args:
        text = str(exc.args[0])
        lowered = text.lower()
        if "space" in lowered or "quota" in lowered:
            return TransferError("disk_full", f"{what}: no space on the server ({text})")
        if "closed" in lowered or "eof" in lowered or "dropped" in lowered:
            return TransferError("dropped", f"{what}: the server closed the connection ({text})")
        return TransferError("other", f"{what}: the server reported {text!r}")
    return from_os_error(exc, what)


def _supported_host_key_algorithms():
    """Our preferred host key algorithms that paramiko supports, best first."""
    known = set(paramiko.Transport._preferred_keys) | set(paramiko.Transport._key_info)
    return [alg for alg in (*DEFAULT_HOST_KEY_ALGORITHMS, "ssh-rsa") if alg in known]


class _Transport(paramiko.Transport):
    """paramiko's client transport, noting the host key algorithms the server offers."""

    offered_host_key_algorithms = ()

    def _really_parse_kex_init(self, *args, **kwargs):
        parsed = super()._really_parse_kex_init(*args, **kwargs)
        self.offered_host_key_algorithms = tuple(parsed["server_key_algo_list"])
        return parsed


class SFTPTransport(Transport):
    def __init__(self, config):
        super().__init__(config)
        self.transport = None
        self.sftp = None
        self._folders = set()

    # -- connection -----------------------------------------------------------

    def connect(self):
        cfg = self.config
        what = f"connecting to {cfg.host}:{cfg.port}"
        pins = parse_host_keys(cfg.host_key_fingerprint)
        algorithms = pins.algorithms(_supported_host_key_algorithms())
        refused, tried = [], set()
        try:
            while True:
                key = self._negotiate(algorithms)
                found = fingerprint(key)
                if pins.accepts(found):
                    break
                refused.append(f"{key.get_name()} {found}")
                tried.update(KEY_TYPE_ALGORITHMS.get(key.get_name(), (key.get_name(),)))
                offered = self.transport.offered_host_key_algorithms
                self.close()
                # An accepted key given only by its fingerprint may be of
                # another type the server has: ask for that one.
                algorithms = [
                    alg
                    for alg in algorithms
                    if alg in offered and alg not in tried and pins.worth_trying(alg)
                ]
                if not pins or not algorithms:
                    raise self._host_key_error(pins, refused)
            # Only now, the server being the right one, the credentials.
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

    def _negotiate(self, algorithms):
        """Open the SSH connection asking for ``algorithms``; the server's host key."""
        cfg = self.config
        sock = socket.create_connection((cfg.host, cfg.port), timeout=cfg.timeout)
        self.transport = _Transport(sock)
        self.transport.set_log_channel(LOG_CHANNEL)
        self.transport.banner_timeout = cfg.timeout
        self.transport.auth_timeout = cfg.timeout
        self.transport.get_security_options().key_types = tuple(algorithms)
        self.transport.start_client(timeout=cfg.timeout)
        return self.transport.get_remote_server_key()

    @staticmethod
    def _host_key_error(pins, refused):
        shown = ", ".join(refused)
        if not pins:
            return TransferError(
                "host_key", f"no host key is pinned; the server presents {shown or 'no key'}"
            )
        return TransferError(
            "host_key",
            f"the server's host key ({shown or 'none of the pinned types'}) is not the "
            f"pinned one ({', '.join(pins.fingerprints)}): the server was replaced or "
            "someone is in between",
        )

    def close(self):
        for closable in (self.sftp, self.transport):
            if closable is not None:
                with contextlib.suppress(Exception):  # closing a broken connection
                    closable.close()
        self.sftp = self.transport = None

    # -- files ------------------------------------------------------------------

    def _mkdirs(self, remote_path):
        for folder in self.parents(remote_path):
            if folder in self._folders:
                continue
            try:
                self.sftp.stat(folder)
            except FileNotFoundError:
                try:
                    self.sftp.mkdir(folder)
                except OSError as refused:
                    # Made meanwhile by another connection? Otherwise, why not.
                    if self.stat(folder) is None:
                        raise refused from None
            self._folders.add(folder)

    def upload(self, stream, remote_path):
        what = f"uploading {remote_path}"
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
            error = _sftp_error(exc, what)
            if error.kind == "other" and isinstance(exc, OSError):
                error = self._explain_failure(exc, remote_path, error)
            raise error from exc

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

    def _free_bytes(self, folder):
        """Free space for the user in ``folder`` (``statvfs@openssh.com``), or None."""
        try:
            kind, msg = self.sftp._request(CMD_EXTENDED, "statvfs@openssh.com", folder)
        except Exception:
            return None
        if kind != CMD_EXTENDED_REPLY:
            return None
        try:
            fields = struct.unpack(">11Q", msg.get_bytes(88))
        except struct.error:
            return None
        bsize, frsize, _blocks, _bfree, bavail = fields[:5]
        return bavail * (frsize or bsize)

    def _explain_failure(self, exc, remote_path, error):
        """A bare ``Failure`` on a write: no space left, or another refusal."""
        what = f"uploading {remote_path}"
        folder = remote_path.rsplit("/", 1)[0] if "/" in remote_path else "."
        free = self._free_bytes(folder)
        if free is None:
            return TransferError(
                "write_failed", f"{what}: the server reported {describe(exc)!r} while writing"
            )
        if free < CHUNK_SIZE:
            return TransferError(
                "disk_full",
                f"{what}: no space left on the server ({free} bytes free; "
                f"it answered {describe(exc)!r})",
            )
        return TransferError(
            "write_failed",
            f"{what}: the server refused the write ({describe(exc)!r}) with "
            f"{free // 1_000_000} MB free: a quota or a file size limit, most often",
        )

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
