"""An FTP / explicit FTPS server on loopback (pyftpdlib) for faults a real server will not make.

The export is tested against ProFTPD and vsftpd themselves
(``real_servers.py``); this server stands in where a fault must be made on
demand.  ``start_ftp_server(root)`` serves ``root`` in a background thread
and returns a handle with ``host``, ``port``, ``reset()`` and ``stop()``
(usable in a ``with`` block).
Besides plain FTP it can: speak explicit TLS (self-signed certificate),
announce and answer ``HASH`` (SHA-256, as ProFTPD's mod_digest does),
refuse writes under a read-only folder, run out of space after a quota
(``452``), stall a transfer after some bytes, drop the connection in the
middle of a file, or report a wrong hash.  Every fault is an attribute of
the handle's ``faults`` and can be switched while the server runs.
"""

import errno
import hashlib
import logging
import os
import shutil
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field

from pyftpdlib.authorizers import DummyAuthorizer
from pyftpdlib.filesystems import AbstractedFS
from pyftpdlib.handlers import DTPHandler, FTPHandler
from pyftpdlib.handlers.ftp.data import _FileReadWriteError
from pyftpdlib.ioloop import IOLoop
from pyftpdlib.servers import ThreadedFTPServer

from .folders import ServedFolder

_logger = logging.getLogger("fake_ftp")
logging.getLogger("pyftpdlib").setLevel(logging.WARNING)
USER = "export"
PASSWORD = "s3cret-ftp"


@dataclass
class Faults:
    quota_bytes: int | None = None  # writes beyond this total fail with ENOSPC
    stall_after: int | None = None  # a transfer stops after this many bytes
    stall_seconds: float = 5.0
    stall_skip: int = 0  # files written normally before the stall applies
    drop_after: int | None = None  # the connections are cut after this many bytes of a file
    opened: list = field(default_factory=list)  # files opened for writing, in order
    wrong_hash: bool = False
    hash_supported: bool = True
    written: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def reset(self):
        """Well-behaved again: no quota, stall, drop or wrong hash; counters back to zero."""
        self.quota_bytes = self.stall_after = self.drop_after = None
        self.stall_seconds, self.stall_skip = 5.0, 0
        self.opened.clear()
        self.wrong_hash, self.hash_supported = False, True
        self.written = 0


class _FaultyFile:
    """A file opened for writing that obeys the server's faults."""

    def __init__(self, raw, faults, stall_after, drop):
        self._raw = raw
        self._faults = faults
        self._stall_after = stall_after
        self._drop = drop
        self._sent = 0
        self.name = raw.name
        self.closed = False

    def write(self, data):
        faults = self._faults
        if self._stall_after is not None and self._sent + len(data) > self._stall_after:
            # The server goes quiet: the client's timeout must notice.
            self._stall_after = None
            time.sleep(faults.stall_seconds)
        if faults.drop_after is not None and self._sent + len(data) > faults.drop_after:
            faults.drop_after = None
            self._drop()
            raise OSError(errno.ECONNABORTED, "connection dropped")
        with faults.lock:
            if faults.quota_bytes is not None and faults.written + len(data) > faults.quota_bytes:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            faults.written += len(data)
        self._sent += len(data)
        return self._raw.write(data)

    def close(self):
        self.closed = True
        return self._raw.close()

    def __getattr__(self, name):
        return getattr(self._raw, name)


class _FaultyFS(AbstractedFS):
    faults = None

    def open(self, filename, mode):
        raw = super().open(filename, mode)
        if "w" in mode or "a" in mode:
            faults = self.faults
            with faults.lock:
                faults.opened.append(self.fs2ftp(filename))
                stall = faults.stall_after if faults.stall_skip <= 0 else None
                faults.stall_skip -= 1
            return _FaultyFile(raw, faults, stall, self.cmd_channel.close)
        return raw


class _DiskFullReply:
    """Answer a full disk with 452, as ProFTPD and most servers do, not 426."""

    def handle_error(self):
        try:
            raise  # noqa: PLE0704 re-raise the error being handled
        except _FileReadWriteError as err:
            cause = err.__cause__
            if isinstance(cause, OSError) and cause.errno == errno.ENOSPC:
                self._resp = ("452 No space left on device; transfer aborted.", _logger.info)
                self.close()
                return
        except Exception:  # noqa: S110 the base class handles the rest
            pass
        super().handle_error()


class _HashCommand:
    """``HASH <path>`` (draft-bryan-ftpext-hash) with SHA-256 only."""

    faults = None
    proto_cmds = {
        **FTPHandler.proto_cmds,
        "HASH": {"perm": "r", "auth": True, "arg": True, "help": "Syntax: HASH <SP> file"},
    }

    def ftp_FEAT(self, line):
        self._extra_feats = ["HASH SHA-256*"] if self.faults.hash_supported else []
        return super().ftp_FEAT(line)

    def ftp_OPTS(self, line):
        if line.upper().startswith("HASH"):
            self.respond("200 SHA-256")
            return
        super().ftp_OPTS(line)

    def ftp_HASH(self, path):
        if not self.faults.hash_supported:
            self.respond('500 Command "HASH" not understood.')
            return
        digest = hashlib.sha256()
        try:
            with open(path, "rb") as fp:
                size = 0
                for chunk in iter(lambda: fp.read(1 << 20), b""):
                    digest.update(chunk)
                    size += len(chunk)
        except OSError as exc:
            self.respond(f"550 {exc.strerror}.")
            return
        value = digest.hexdigest()
        if self.faults.wrong_hash:
            value = "0" * 64
        self.respond(f"213 SHA-256 0-{size} {value} {self.fs.fs2ftp(path)}")


class FTPServerHandle(ServedFolder):
    def __init__(self, server, thread, root, faults, tls):
        self.server = server
        self.thread = thread
        self.root = root
        self.faults = faults
        self.tls = tls
        self.host, self.port = server.address[:2]
        self.user, self.password = USER, PASSWORD

    def stop(self):
        self._stop.set()
        self.thread.join(10)
        self.server.close_all()
        for folder in self.own_folders:
            shutil.rmtree(folder, ignore_errors=True)


def start_ftp_server(
    root=None, *, tls=False, port=0, readonly=("readonly",), faults=None, host="127.0.0.1"
):
    """Serve ``root`` (a new temp folder if None) on ``host:port`` (0: any free port)."""
    own_folders = [] if root else [tempfile.mkdtemp(prefix="fake-ftp-")]
    root = root or own_folders[0]
    os.makedirs(root, exist_ok=True)
    faults = faults or Faults()
    authorizer = DummyAuthorizer()
    authorizer.add_user(USER, PASSWORD, root, perm="elradfmwMT")
    for folder in readonly:
        path = os.path.join(root, folder)
        os.makedirs(path, exist_ok=True)
        authorizer.override_perm(USER, path, perm="elr", recursive=True)

    fs_class = type("FS", (_FaultyFS,), {"faults": faults})
    if tls:
        from pyftpdlib.handlers import TLS_DTPHandler, TLS_FTPHandler  # noqa: PLC0415

        from .certs import self_signed_cert  # noqa: PLC0415

        base, dtp_base = TLS_FTPHandler, TLS_DTPHandler
        own_folders.append(tempfile.mkdtemp(prefix="fake-ftp-tls-"))
        certfile, keyfile = self_signed_cert(os.path.join(own_folders[-1], "tls"))
        extra = {"certfile": certfile, "keyfile": keyfile, "tls_control_required": True}
    else:
        base, dtp_base, extra = FTPHandler, DTPHandler, {}
    dtp = type("DTP", (_DiskFullReply, dtp_base), {})
    handler = type(
        "Handler",
        (_HashCommand, base),
        {
            "authorizer": authorizer,
            "abstracted_fs": fs_class,
            "dtp_handler": dtp,
            "faults": faults,
            "banner": "fake export server ready",
            "timeout": 60,
            "auth_failed_timeout": 0.05,
            **extra,
        },
    )
    handler.proto_cmds = {**base.proto_cmds, **_HashCommand.proto_cmds}
    # Its own IOLoop: pyftpdlib's default is one per process, shared by all servers.
    server = ThreadedFTPServer((host, port), handler, ioloop=IOLoop())
    stop = threading.Event()

    def serve():
        while not stop.is_set():
            server.serve_forever(timeout=0.05, blocking=False)

    thread = threading.Thread(target=serve, name="fake-ftp", daemon=True)
    handle = FTPServerHandle(server, thread, root, faults, tls)
    handle.readonly = tuple(readonly)
    handle._stop = stop
    handle.own_folders = own_folders
    thread.start()
    return handle


def main():
    """``python -m fakes.ftp_server ROOT PORT [--tls]``: serve until killed."""
    root, port = sys.argv[1], int(sys.argv[2])
    handle = start_ftp_server(root, tls="--tls" in sys.argv, port=port, readonly=())
    print(f"serving {root} on ftp://{handle.host}:{handle.port}", flush=True)
    handle.thread.join()


if __name__ == "__main__":
    main()
