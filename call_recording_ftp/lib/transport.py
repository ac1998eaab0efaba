"""The one interface the models use to talk to an export server.

:class:`Transport` is implemented for FTP and FTPS (``ftp.py``, stdlib
``ftplib``) and SFTP (``sftp.py``, paramiko); ``factory.open_transport``
picks one.  Every method raises :class:`~.errors.TransferError` and
nothing else, so callers need no protocol knowledge.  This module imports
none of its implementations.
"""

import posixpath
from dataclasses import dataclass

DEFAULT_PORTS = {"ftp": 21, "ftps": 21, "ftps_implicit": 990, "sftp": 22}
CHUNK_SIZE = 256 * 1024


@dataclass
class TargetConfig:
    """Where and how to connect; built by the model from the target record."""

    protocol: str  # "ftp", "ftps" (explicit TLS), "ftps_implicit" or "sftp"
    host: str
    port: int = 0
    username: str = ""
    password: str = ""
    private_key: str = ""  # PEM / OpenSSH text, SFTP only
    passphrase: str = ""
    #: accepted SSH host keys, one a line: "SHA256:..." fingerprints as
    #: ``ssh-keygen -l`` prints them, ``known_hosts`` lines or ``ssh-keyscan`` output
    host_key_fingerprint: str = ""
    timeout: float = 30.0
    #: FTPS: check the server's certificate (the safe default)
    verify_tls: bool = True
    #: FTPS: the authority (or the server's own self-signed certificate) to trust, PEM
    tls_ca_cert: str = ""
    #: FTPS: SHA-256 fingerprint(s) of the server's certificate to accept, whatever signed it
    tls_fingerprint: str = ""

    def __post_init__(self):
        self.port = int(self.port or DEFAULT_PORTS.get(self.protocol, 21))


@dataclass
class RemoteStat:
    size: int


class Transport:
    """Connect, upload, inspect and remove files on one server."""

    #: whether :meth:`sha256` asks the server (otherwise it returns None)
    can_hash = False

    def __init__(self, config):
        self.config = config

    def __enter__(self):
        self.connect()
        return self

    def __exit__(self, *exc):
        self.close()

    def connect(self):
        raise NotImplementedError

    def close(self):
        raise NotImplementedError

    def upload(self, stream, remote_path):
        """Write ``stream`` (binary file object) to ``remote_path``, creating folders.

        Returns only once the server confirmed every byte.
        """
        raise NotImplementedError

    def stat(self, remote_path):
        """:class:`RemoteStat` of the file, or None when it does not exist."""
        raise NotImplementedError

    def sha256(self, remote_path):
        """Hex SHA-256 computed by the server, or None when it cannot say."""
        return None

    def rename(self, source, destination):
        """Move ``source`` to ``destination``, replacing it."""
        raise NotImplementedError

    def delete(self, remote_path):
        """Remove the file; a missing file is not an error."""
        raise NotImplementedError

    def download(self, remote_path, stream):
        """Copy the remote file into ``stream``."""
        raise NotImplementedError

    @staticmethod
    def parents(remote_path):
        """The folders leading to ``remote_path``, outermost first."""
        folder = posixpath.dirname(remote_path)
        found = []
        while folder and folder not in ("/", "."):
            found.append(folder)
            folder = posixpath.dirname(folder)
        return list(reversed(found))
