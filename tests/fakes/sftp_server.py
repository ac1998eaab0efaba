"""An SFTP server on loopback (paramiko, in a thread) for faults a real sshd will not make.

The export is tested against OpenSSH itself (``real_servers.py``); this
server stands in where a fault must be made on demand.  ``start_sftp_server(root)``
serves ``root`` over SSH/SFTP with a fresh host key and returns a handle
with ``host``, ``port``, ``host_key``, ``fingerprint``, ``reset()`` and
``stop()``.  It accepts a password or an authorised public key (and
counts the attempts, to prove none came before the host key check),
refuses writes under a read-only folder (permission denied), runs out of
space after a quota (a bare ``Failure``, as OpenSSH's sftp-server answers
a full disk, with ``statvfs@openssh.com`` telling the free space;
``quota_message`` words it as ProFTPD does), stalls a transfer after some
bytes, or drops the connection in the middle of a file.
"""

import base64
import hashlib
import logging
import os
import shutil
import socket
import struct
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field

import paramiko
from paramiko.common import DEBUG
from paramiko.message import Message
from paramiko.sftp import (
    CMD_EXTENDED,
    CMD_EXTENDED_REPLY,
    CMD_INIT,
    CMD_VERSION,
    SFTP_FAILURE,
    SFTP_OK,
    SFTP_PERMISSION_DENIED,
    SFTPError,
)

from .folders import ServedFolder

USER = "export"
PASSWORD = "s3cret-sftp"
#: The server side's own log, quiet: a client hanging up is what tests do.
LOG_CHANNEL = "fakes.sftp_server"
logging.getLogger(LOG_CHANNEL).setLevel(logging.CRITICAL)


@dataclass
class Faults:
    quota_bytes: int | None = None
    quota_message: str | None = None  # None: a bare "Failure", as OpenSSH answers
    stall_after: int | None = None
    stall_seconds: float = 5.0
    stall_skip: int = 0  # files written normally before the stall applies
    drop_after: int | None = None  # the connection is cut after this many bytes of a file
    opened: list = field(default_factory=list)  # files opened for writing, in order
    written: int = 0
    disk_full_hit: bool = False
    auth_attempts: int = 0  # passwords and keys offered to the server
    lock: threading.Lock = field(default_factory=threading.Lock)

    def reset(self):
        """Well-behaved again: no quota, stall or drop; counters back to zero."""
        self.quota_bytes = self.quota_message = None
        self.stall_after = self.drop_after = None
        self.stall_seconds, self.stall_skip = 5.0, 0
        self.opened.clear()
        self.written, self.disk_full_hit, self.auth_attempts = 0, False, 0


def _fingerprint(key):
    digest = hashlib.sha256(key.asbytes()).digest()
    return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")


class _Auth(paramiko.ServerInterface):
    def __init__(self, handle):
        self.handle = handle

    def get_allowed_auths(self, username):
        return "password,publickey"

    def check_auth_password(self, username, password):
        self.handle.faults.auth_attempts += 1
        if username == USER and password == self.handle.password:
            return paramiko.AUTH_SUCCESSFUL
        return paramiko.AUTH_FAILED

    def check_auth_publickey(self, username, key):
        self.handle.faults.auth_attempts += 1
        allowed = self.handle.authorized_keys
        if username == USER and any(k.asbytes() == key.asbytes() for k in allowed):
            return paramiko.AUTH_SUCCESSFUL
        return paramiko.AUTH_FAILED

    def check_channel_request(self, kind, chanid):
        if kind == "session":
            return paramiko.OPEN_SUCCEEDED
        return paramiko.OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED


class _Handle(paramiko.SFTPHandle):
    faults = None
    stall_after = None
    drop = None  # closes the connection

    def write(self, offset, data):
        faults = self.faults
        if self.stall_after is not None and offset + len(data) > self.stall_after:
            self.stall_after = None
            time.sleep(faults.stall_seconds)
        if faults.drop_after is not None and offset + len(data) > faults.drop_after:
            faults.drop_after = None
            self.drop()
            return SFTP_FAILURE
        with faults.lock:
            if faults.quota_bytes is not None and faults.written + len(data) > faults.quota_bytes:
                faults.disk_full_hit = True
                return SFTP_FAILURE
            faults.written += len(data)
        return super().write(offset, data)


class _SFTPServer(paramiko.SFTPServer):
    """Answers a full disk as OpenSSH does, and its free space through ``statvfs@openssh.com``."""

    def _send_server_version(self):
        t, data = self._read_packet()
        if t != CMD_INIT:
            raise SFTPError("Incompatible sftp protocol")
        msg = Message()
        msg.add_int(3)
        msg.add("posix-rename@openssh.com", "1", "statvfs@openssh.com", "2")
        self._send_packet(CMD_VERSION, msg)
        return struct.unpack(">I", data[:4])[0]

    def _send_status(self, request_number, code, desc=None):
        faults = self.server.handle.faults
        if code == SFTP_FAILURE and desc is None and faults.disk_full_hit:
            faults.disk_full_hit = False
            # OpenSSH's sftp-server says only "Failure" for ENOSPC.
            desc = faults.quota_message or "Failure"
        return super()._send_status(request_number, code, desc)

    def _process(self, t, request_number, msg):
        if t != CMD_EXTENDED:
            return super()._process(t, request_number, msg)
        tag = msg.get_text()
        if tag != "statvfs@openssh.com":
            msg.rewind()
            msg.get_int()  # the request number, read before
            return super()._process(t, request_number, msg)
        self._log(DEBUG, "statvfs")
        faults = self.server.handle.faults
        blocks = 1 << 20
        free = blocks
        if faults.quota_bytes is not None:
            free = max(faults.quota_bytes - faults.written, 0) // 4096
        reply = Message()
        reply.add_int(request_number)
        # bsize, frsize, blocks, bfree, bavail, files, ffree, favail, fsid, flag, namemax
        for value in (4096, 4096, blocks, free, free, 1000, 1000, 1000, 1, 0, 255):
            reply.add_int64(value)
        self._send_packet(CMD_EXTENDED_REPLY, reply)
        return None


class _Files(paramiko.SFTPServerInterface):
    """The server's files: ``root`` on disk, one folder read-only."""

    def __init__(self, server, *args, **kwargs):
        super().__init__(server, *args, **kwargs)
        self.auth = server
        self.handle = server.handle

    def _path(self, path):
        root = self.handle.root
        full = os.path.realpath(os.path.join(root, path.lstrip("/")))
        if not (full + "/").startswith(root.rstrip("/") + "/"):
            full = root
        return full

    def _readonly(self, full):
        return any(
            (full + "/").startswith(os.path.join(self.handle.root, ro) + "/")
            for ro in self.handle.readonly
        )

    def canonicalize(self, path):
        relative = os.path.relpath(self._path(path), self.handle.root)
        return "/" if relative == "." else "/" + relative

    def list_folder(self, path):
        full = self._path(path)
        try:
            return [
                paramiko.SFTPAttributes.from_stat(os.stat(os.path.join(full, n)), n)
                for n in os.listdir(full)
            ]
        except OSError as exc:
            return paramiko.SFTPServer.convert_errno(exc.errno)

    def stat(self, path):
        try:
            return paramiko.SFTPAttributes.from_stat(os.stat(self._path(path)))
        except OSError as exc:
            return paramiko.SFTPServer.convert_errno(exc.errno)

    lstat = stat

    def open(self, path, flags, attr):
        full = self._path(path)
        writing = flags & (os.O_WRONLY | os.O_RDWR)
        if writing and self._readonly(full):
            return SFTP_PERMISSION_DENIED
        try:
            fd = os.open(full, flags | getattr(os, "O_BINARY", 0), 0o644)
        except OSError as exc:
            return paramiko.SFTPServer.convert_errno(exc.errno)
        mode = "wb" if writing and not flags & os.O_RDWR else ("r+b" if writing else "rb")
        if flags & os.O_APPEND:
            mode = "ab"
        handle = _Handle(flags)
        faults = handle.faults = self.handle.faults
        handle.drop = self.auth.transport.close
        if writing:
            with faults.lock:
                faults.opened.append("/" + os.path.relpath(full, self.handle.root))
                handle.stall_after = faults.stall_after if faults.stall_skip <= 0 else None
                faults.stall_skip -= 1
        fobj = os.fdopen(fd, mode)
        handle.filename = full
        handle.readfile = fobj if "r" in mode else None
        handle.writefile = fobj if writing else None
        return handle

    def remove(self, path):
        full = self._path(path)
        if self._readonly(full):
            return SFTP_PERMISSION_DENIED
        return _status(os.remove, full)

    def rename(self, oldpath, newpath):
        new = self._path(newpath)
        if os.path.exists(new):
            return SFTP_FAILURE
        return self.posix_rename(oldpath, newpath)

    def posix_rename(self, oldpath, newpath):
        old, new = self._path(oldpath), self._path(newpath)
        if self._readonly(old) or self._readonly(new):
            return SFTP_PERMISSION_DENIED
        return _status(os.replace, old, new)

    def mkdir(self, path, attr):
        full = self._path(path)
        if self._readonly(full):
            return SFTP_PERMISSION_DENIED
        return _status(os.mkdir, full)

    def rmdir(self, path):
        return _status(os.rmdir, self._path(path))


def _status(operation, *paths):
    """The SFTP status of a file operation: OK, or its error as OpenSSH reports it."""
    try:
        operation(*paths)
    except OSError as exc:
        return paramiko.SFTPServer.convert_errno(exc.errno)
    return SFTP_OK


class SFTPServerHandle(ServedFolder):
    def __init__(self, root, host_key, readonly, faults):
        self.root = os.path.realpath(root)
        self.host_key = host_key
        self.fingerprint = _fingerprint(host_key)
        self.readonly = readonly
        self.faults = faults
        self.user, self.password = USER, PASSWORD
        self.authorized_keys = []
        self._stop = threading.Event()
        self._transports = []
        self.own_root = False
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)

    def serve(self):
        self.sock.settimeout(0.2)
        while not self._stop.is_set():
            try:
                conn, _addr = self.sock.accept()
            except (TimeoutError, OSError):
                continue
            conn.settimeout(None)
            transport = paramiko.Transport(conn)
            transport.set_log_channel(LOG_CHANNEL)
            transport.add_server_key(self.host_key)
            transport.set_subsystem_handler("sftp", _SFTPServer, _Files)
            server = _Auth(self)
            server.transport = transport
            try:
                transport.start_server(server=server)
            except (paramiko.SSHException, EOFError, OSError):
                transport.close()
                continue
            self._transports.append(transport)

    def stop(self):
        self._stop.set()
        self.thread.join(5)
        self.sock.close()
        for transport in self._transports:
            transport.close()
        if self.own_root:
            shutil.rmtree(self.root, ignore_errors=True)


def start_sftp_server(root=None, port=0, host_key=None, readonly=("readonly",), host="127.0.0.1"):
    """Serve ``root`` (a new temp folder if None) on ``host:port`` (0: a free port)."""
    own_root = not root
    root = root or tempfile.mkdtemp(prefix="fake-sftp-")
    os.makedirs(root, exist_ok=True)
    for folder in readonly:
        os.makedirs(os.path.join(root, folder), exist_ok=True)
    host_key = host_key or paramiko.RSAKey.generate(2048)
    handle = SFTPServerHandle(root, host_key, readonly, Faults())
    handle.own_root = own_root
    handle.sock.bind((host, port))
    handle.sock.listen(16)
    handle.host, handle.port = handle.sock.getsockname()[:2]
    handle.thread = threading.Thread(target=handle.serve, name="fake-sftp", daemon=True)
    handle.thread.start()
    return handle


def load_or_create_host_key(path):
    """A host key kept in ``path`` (so the demo's pinned fingerprint stays valid)."""
    if os.path.exists(path):
        return paramiko.RSAKey.from_private_key_file(path)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    key = paramiko.RSAKey.generate(2048)
    key.write_private_key_file(path)
    return key


def main():
    """``python -m fakes.sftp_server ROOT PORT KEYFILE``: serve until killed."""
    root, port, keyfile = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    handle = start_sftp_server(root, port=port, host_key=load_or_create_host_key(keyfile))
    print(f"serving {root} on sftp://{handle.host}:{handle.port} {handle.fingerprint}", flush=True)
    handle.thread.join()


if __name__ == "__main__":
    main()
