"""FTP and explicit FTPS (AUTH TLS, protected data channel) with stdlib ftplib.

ftplib is small, maintained with Python and does all the protocol needs;
files are streamed in 256 KiB blocks.  A SHA-256 is asked of the server
only when it announces the ``HASH`` command (FEAT), as some servers do.
"""

import contextlib
import ftplib
import ssl

from .errors import TransferError, from_os_error
from .transport import CHUNK_SIZE, RemoteStat, Transport


def _ftp_error(exc, what):  # noqa: PLR0911 one return per reply class
    """Map an ftplib reply (or socket error) to a :class:`TransferError`."""
    if isinstance(exc, TransferError):
        return exc
    if isinstance(exc, ftplib.Error):
        text = str(exc).strip()
        code = text[:3]
        if code == "530":
            return TransferError("auth", f"{what}: login refused ({text})")
        if code in ("452", "552"):
            return TransferError("disk_full", f"{what}: no space on the server ({text})")
        if code in ("550", "553", "532"):
            return TransferError("permission", f"{what}: refused by the server ({text})")
        if code == "426" and "space" in text.lower():
            return TransferError("disk_full", f"{what}: no space on the server ({text})")
        if code in ("421", "425", "426"):
            return TransferError("connection", f"{what}: {text}")
        return TransferError("other", f"{what}: {text}")
    return from_os_error(exc, what)


class FTPTransport(Transport):
    def __init__(self, config):
        super().__init__(config)
        self.ftp = None
        self.can_hash = False
        self._folders = set()

    def connect(self):
        cfg = self.config
        what = f"connecting to {cfg.host}:{cfg.port}"
        try:
            if cfg.protocol == "ftps":
                context = ssl.create_default_context()
                if not cfg.verify_tls:
                    context.check_hostname = False
                    context.verify_mode = ssl.CERT_NONE
                self.ftp = ftplib.FTP_TLS(context=context, timeout=cfg.timeout)  # noqa: S321
            else:
                # Plain FTP only when the administrator chose it for this target.
                self.ftp = ftplib.FTP(timeout=cfg.timeout)  # noqa: S321
            self.ftp.connect(cfg.host, cfg.port, timeout=cfg.timeout)
            self.ftp.login(cfg.username or "anonymous", cfg.password or "")
            if cfg.protocol == "ftps":
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
        if not any(line.strip().upper().startswith("HASH") for line in features.splitlines()):
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
            # (452 disk full, 550 permission...), when it still answers.
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
        # 213 SHA-256 0-1234 0123abcd... path
        parts = reply.split()
        if len(parts) >= 4 and parts[1].upper() == "SHA-256":
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
