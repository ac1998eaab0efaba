"""FTP and FTPS (explicit AUTH TLS or implicit, protected data channel) with stdlib ftplib.

ftplib is small, maintained with Python and does all the protocol needs;
files are streamed in 256 KiB blocks.  Two things it does not do that real
servers need:

* the data connections of FTPS resume the control connection's TLS session
  (vsftpd's default ``require_ssl_reuse=YES`` and ProFTPD's default refuse
  a data connection that does not: ``522 SSL connection failed: session
  reuse required``);
* implicit FTPS (TLS from the first byte, port 990).

The server's certificate is checked against the system's authorities, or
against one authority (or self-signed certificate) pasted on the target,
or pinned by its SHA-256 fingerprint.  A SHA-256 is asked of the server
only when it announces the ``HASH`` command (FEAT), as ProFTPD does with
``mod_digest``.
"""

import contextlib
import ftplib
import hashlib
import re
import socket
import ssl

from .errors import TransferError, describe, from_os_error
from .transport import CHUNK_SIZE, RemoteStat, Transport

_HEX = re.compile(r"^[0-9a-f]{64}$")
#: words of a refusal that says the server wants TLS
_TLS_REQUIRED = re.compile(r"\b(ssl|tls|encryption|encrypted)\b", re.IGNORECASE)
_MUST = re.compile(r"requir|must", re.IGNORECASE)


def parse_cert_fingerprints(text):
    """The SHA-256 certificate fingerprints in ``text`` (hex, lower case).

    One or more, separated by lines, commas or spaces, in the forms
    ``openssl x509 -noout -fingerprint -sha256`` prints
    (``sha256 Fingerprint=AB:CD:...``) or plain hex.  Raises
    :class:`TransferError` (``config``) for anything else.
    """
    found = []
    for raw in re.split(r"[\n,;]+", text or ""):
        item = raw.strip()
        if not item:
            continue
        if "=" in item:
            item = item.split("=", 1)[1]
        value = re.sub(r"[\s:]", "", item).lower()
        if value.startswith("sha256"):
            value = value[len("sha256") :]
        if not _HEX.match(value):
            raise TransferError(
                "config",
                f"{raw.strip()!r} is not a SHA-256 certificate fingerprint "
                "(64 hexadecimal digits, colons allowed)",
            )
        found.append(value)
    return found


def _ftp_error(exc, what):  # noqa: PLR0911 one return per reply class
    """Map an ftplib reply (or socket error) to a :class:`TransferError`."""
    if isinstance(exc, TransferError):
        return exc
    if isinstance(exc, ftplib.Error):
        text = describe(exc)
        code = text[:3]
        if code in ("522", "534"):
            return TransferError("tls", f"{what}: the server refused the TLS connection ({text})")
        if code.startswith("5") and _TLS_REQUIRED.search(text):
            if _MUST.search(text):
                return TransferError("config", f"{what}: the server requires FTPS ({text})")
            return TransferError("tls", f"{what}: the server refused the TLS connection ({text})")
        if code == "530":
            return TransferError("auth", f"{what}: login refused ({text})")
        if code in ("452", "552") or (code in ("426", "451") and "space" in text.lower()):
            return TransferError("disk_full", f"{what}: no space on the server ({text})")
        if code == "451":
            # vsftpd: "451 Failure writing to local file." for a full disk or quota.
            return TransferError("write_failed", f"{what}: the server could not write ({text})")
        if code in ("550", "553", "532"):
            return TransferError("permission", f"{what}: refused by the server ({text})")
        if code in ("421", "425", "426"):
            return TransferError("dropped", f"{what}: {text}")
        return TransferError("other", f"{what}: {text}")
    return from_os_error(exc, what)


class _FTP_TLS(ftplib.FTP_TLS):
    """``FTP_TLS`` that resumes its TLS session on data connections, and speaks implicit TLS."""

    implicit = False

    def connect(self, host="", port=0, timeout=-999, source_address=None):
        if not self.implicit:
            return super().connect(host, port, timeout, source_address)
        # As ftplib.FTP.connect, with TLS from the first byte.
        self.host, self.port = host, port
        if timeout != -999:
            self.timeout = timeout
        sock = socket.create_connection((host, port), self.timeout, source_address=source_address)
        self.af = sock.family
        self.sock = self.context.wrap_socket(sock, server_hostname=host)
        self.file = self.sock.makefile("r", encoding=self.encoding)
        self.welcome = self.getresp()
        return self.welcome

    def ntransfercmd(self, cmd, rest=None):
        conn, size = ftplib.FTP.ntransfercmd(self, cmd, rest)  # noqa: S321 wrapped in TLS below
        if self._prot_p:
            conn = self.context.wrap_socket(
                conn, server_hostname=self.host, session=self.sock.session
            )
        return conn, size


class FTPTransport(Transport):
    def __init__(self, config):
        super().__init__(config)
        self.ftp = None
        self.can_hash = False
        self._folders = set()

    # -- connection ---------------------------------------------------------------

    def _tls_context(self):
        cfg = self.config
        if cfg.tls_fingerprint or not cfg.verify_tls:
            # Pinned: the certificate's fingerprint is compared after the
            # handshake, whoever signed it; or no check, as the administrator chose.
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            return context
        if cfg.tls_ca_cert:
            try:
                return ssl.create_default_context(cadata=cfg.tls_ca_cert)
            except (ssl.SSLError, ValueError) as exc:
                raise TransferError(
                    "config", f"the CA certificate could not be read ({describe(exc)})"
                ) from exc
        return ssl.create_default_context()

    def _check_pinned_certificate(self):
        pinned = parse_cert_fingerprints(self.config.tls_fingerprint)
        if not pinned:
            return
        der = self.ftp.sock.getpeercert(binary_form=True)
        found = hashlib.sha256(der).hexdigest()
        if found not in pinned:
            pretty = ":".join(found[i : i + 2] for i in range(0, 64, 2)).upper()
            raise TransferError(
                "certificate",
                f"the server's certificate (SHA-256 {pretty}) is not the pinned one: "
                "the certificate was replaced or someone is in between",
            )

    def connect(self):
        cfg = self.config
        what = f"connecting to {cfg.host}:{cfg.port}"
        try:
            if cfg.protocol in ("ftps", "ftps_implicit"):
                self.ftp = _FTP_TLS(context=self._tls_context(), timeout=cfg.timeout)
                self.ftp.implicit = cfg.protocol == "ftps_implicit"
                self.ftp.connect(cfg.host, cfg.port, timeout=cfg.timeout)
                if not self.ftp.implicit:
                    self.ftp.auth()
                # before any credential is sent
                self._check_pinned_certificate()
            else:
                # Plain FTP only when the administrator chose it for this target.
                self.ftp = ftplib.FTP(timeout=cfg.timeout)  # noqa: S321
                self.ftp.connect(cfg.host, cfg.port, timeout=cfg.timeout)
            self.ftp.login(cfg.username or "anonymous", cfg.password or "")
            if cfg.protocol in ("ftps", "ftps_implicit"):
                self.ftp.prot_p()
            self.ftp.voidcmd("TYPE I")
            self.can_hash = self._negotiate_hash()
        except Exception as exc:
            self.close()
            raise _ftp_error(exc, what) from exc

    def _negotiate_hash(self):
        try:
            features = self.ftp.sendcmd("FEAT")
        except ftplib.Error:
            return False
        hashes = [
            line.strip()[4:].upper()
            for line in features.splitlines()
            if line.strip().upper().startswith("HASH")
        ]
        if not any("SHA-256" in line for line in hashes):
            return False
        try:
            self.ftp.sendcmd("OPTS HASH SHA-256")
        except ftplib.Error:
            return False
        return True

    def close(self):
        if self.ftp is None:
            return
        try:
            self.ftp.quit()
        except Exception:
            self.ftp.close()
        self.ftp = None

    # -- files --------------------------------------------------------------------

    def _mkdirs(self, remote_path):
        for folder in self.parents(remote_path):
            if folder in self._folders:
                continue
            # It may exist already; if it cannot be made, the upload says why.
            with contextlib.suppress(ftplib.error_perm):
                self.ftp.mkd(folder)
            self._folders.add(folder)

    def upload(self, stream, remote_path):
        what = f"uploading {remote_path}"
        try:
            self._mkdirs(remote_path)
            self.ftp.storbinary(f"STOR {remote_path}", stream, blocksize=CHUNK_SIZE)
        except (ConnectionError, OSError) as exc:
            if isinstance(exc, TimeoutError):
                raise _ftp_error(exc, what) from exc
            # The server closed the data connection: its reply says why
            # (452 disk full, 451 write failure, 550 permission...), when it still answers.
            raise self._reply_after_abort(exc, what) from exc
        except Exception as exc:
            raise _ftp_error(exc, what) from exc

    def _reply_after_abort(self, exc, what):
        try:
            self.ftp.sock.settimeout(min(self.config.timeout, 5))
            reply = self.ftp.getresp()
        except ftplib.Error as reply_error:
            return _ftp_error(reply_error, what)
        except Exception:
            return _ftp_error(exc, what)
        return _ftp_error(exc, f"{what} ({reply})")

    def stat(self, remote_path):
        try:
            size = self.ftp.size(remote_path)
        except ftplib.error_perm:
            return None
        except Exception as exc:
            raise _ftp_error(exc, f"checking {remote_path}") from exc
        return RemoteStat(size=int(size)) if size is not None else None

    def sha256(self, remote_path):
        if not self.can_hash:
            return None
        try:
            reply = self.ftp.sendcmd(f"HASH {remote_path}")
        except ftplib.error_perm:
            return None
        except Exception as exc:
            raise _ftp_error(exc, f"hashing {remote_path}") from exc
        # "213 SHA-256 0-1234 0123abcd... path", after "213-Computing..." lines (ProFTPD)
        parts = reply.splitlines()[-1].split()
        if len(parts) >= 4 and parts[1].upper() == "SHA-256" and _HEX.match(parts[3].lower()):
            return parts[3].lower()
        return None

    def rename(self, source, destination):
        try:
            self._mkdirs(destination)
            try:
                self.ftp.rename(source, destination)
            except ftplib.error_perm:
                # Servers that will not replace a file: remove the old one first.
                if self.stat(destination) is None:
                    raise
                self.ftp.delete(destination)
                self.ftp.rename(source, destination)
        except Exception as exc:
            raise _ftp_error(exc, f"renaming {source} to {destination}") from exc

    def delete(self, remote_path):
        try:
            self.ftp.delete(remote_path)
        except ftplib.error_perm as exc:
            if self.stat(remote_path) is not None:
                raise _ftp_error(exc, f"deleting {remote_path}") from exc
        except Exception as exc:
            raise _ftp_error(exc, f"deleting {remote_path}") from exc

    def download(self, remote_path, stream):
        try:
            self.ftp.retrbinary(f"RETR {remote_path}", stream.write, blocksize=CHUNK_SIZE)
        except Exception as exc:
            raise _ftp_error(exc, f"downloading {remote_path}") from exc
