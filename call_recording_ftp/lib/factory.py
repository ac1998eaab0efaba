"""The transport for a target's protocol: the one place that knows the implementations."""

from .errors import TransferError


def open_transport(config):
    """The transport for ``config.protocol`` (not yet connected)."""
    if config.protocol in ("ftp", "ftps", "ftps_implicit"):
        from .ftp import FTPTransport  # noqa: PLC0415 only the one in use is loaded

        return FTPTransport(config)
    if config.protocol == "sftp":
        from .sftp import SFTPTransport  # noqa: PLC0415 paramiko is loaded only for SFTP

        return SFTPTransport(config)
    raise TransferError("config", f"unknown protocol {config.protocol!r}")
