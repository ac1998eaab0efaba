import sys
from contextlib import contextmanager
from pathlib import Path
from unittest.mock import patch

from odoo.addons.call_recording.tests.common import CallRecordingCommon

# The loopback servers live in the repository's tests/fakes package.
_TESTS = str(Path(__file__).resolve().parents[2] / "tests")
if _TESTS not in sys.path:
    sys.path.insert(0, _TESTS)

from fakes.ftp_server import start_ftp_server  # noqa: E402
from fakes.real_servers import OpenSSHServer, ProFTPDServer, VsftpdServer  # noqa: E402
from fakes.sftp_server import start_sftp_server  # noqa: E402


class FtpExportCommon(CallRecordingCommon):
    """The servers customers run, on loopback, a target for each; and fakes for faults.

    ``target_ftp``: ProFTPD, plain FTP, SHA-256 checked by the server
    (``HASH``); ``target_ftps``: Debian's vsftpd with its stock TLS settings
    (explicit FTPS, session reuse required), its self-signed certificate
    pinned; ``target_sftp``: OpenSSH's sshd and sftp-server, a private key,
    the server's keys pinned as ``ssh-keyscan`` prints them.
    ``fake_ftp`` and ``fake_sftp`` point to the pyftpdlib and paramiko
    servers of ``tests/fakes``, which make faults on demand.
    """

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.proftpd = cls._serve(ProFTPDServer().start())
        cls.vsftpd = cls._serve(VsftpdServer(tls="explicit").start())
        cls.openssh = cls._serve(OpenSSHServer().start())
        cls.ftp = start_ftp_server()
        cls.addClassCleanup(cls.ftp.stop)
        cls.sftp = start_sftp_server()
        cls.addClassCleanup(cls.sftp.stop)
        cls.admin = cls._user(
            "cr_ftp_admin", "call_recording.group_call_recording_admin,base.group_system"
        )
        common = {
            "company_id": cls.company.id,
            "call_scope": "company",
            "timeout": 5,
            "connect_tries": 2,
            "retry_delay": 0,
            "base_folder": "archive",
            "tz": "UTC",
        }
        Target = cls.env["call.recording.export.target"]
        cls.target_ftp = Target.create(
            {
                **common,
                "name": "FTP",
                "protocol": "ftp",
                "host": cls.proftpd.host,
                "port": cls.proftpd.port,
                "username": cls.proftpd.user,
                "password": cls.proftpd.password,
            }
        )
        cls.target_ftps = Target.create(
            {
                **common,
                "name": "FTPS",
                "protocol": "ftps",
                "host": cls.vsftpd.host,
                "port": cls.vsftpd.port,
                "username": cls.vsftpd.user,
                "tls_fingerprint": cls.vsftpd.cert_fingerprint,
            }
        )
        cls.target_sftp = Target.create(
            {
                **common,
                "name": "SFTP",
                "protocol": "sftp",
                "host": cls.openssh.host,
                "port": cls.openssh.port,
                "username": cls.openssh.user,
                "auth_method": "key",
                "private_key": cls.openssh.private_key,
                "host_key_fingerprint": cls.openssh.keyscan(),
            }
        )
        cls.fake_ftp = Target.create(
            {
                **common,
                "name": "FTP (faults)",
                "protocol": "ftp",
                "host": cls.ftp.host,
                "port": cls.ftp.port,
                "username": cls.ftp.user,
                "password": cls.ftp.password,
                "upload_connections": 1,
            }
        )
        cls.fake_sftp = Target.create(
            {
                **common,
                "name": "SFTP (faults)",
                "protocol": "sftp",
                "host": cls.sftp.host,
                "port": cls.sftp.port,
                "username": cls.sftp.user,
                "password": cls.sftp.password,
                "host_key_fingerprint": cls.sftp.fingerprint,
                "upload_connections": 1,
            }
        )
        cls.targets = cls.target_ftp | cls.target_ftps | cls.target_sftp
        cls.fakes = cls.fake_ftp | cls.fake_sftp
        cls.servers = {
            cls.target_ftp.id: cls.proftpd,
            cls.target_ftps.id: cls.vsftpd,
            cls.target_sftp.id: cls.openssh,
            cls.fake_ftp.id: cls.ftp,
            cls.fake_sftp.id: cls.sftp,
        }

    @classmethod
    def _serve(cls, server):
        cls.addClassCleanup(server.stop)
        return server

    def setUp(self):
        super().setUp()
        # The servers outlive each test's rolled-back transaction: start
        # every test with empty, well-behaved servers.
        for server in self.servers.values():
            server.reset()

    def cron_export(self):
        """The export cron.  With call_recording_ftp_queue installed it enqueues a
        job per target: queue_job's no-delay key runs them here, in this test's
        transaction (without queue_job the key means nothing)."""
        with self.enter_registry_test_mode():
            Target = self.env["call.recording.export.target"]
            Target.with_context(queue_job__no_delay=True)._cron_export()

    def server(self, target):
        return self.servers[target.id]

    @contextmanager
    def no_commit(self):
        """Cron code commits its progress; tests must not."""
        with patch.object(
            self.registry["ir.cron"], "_commit_progress", lambda self, *a, **kw: float("inf")
        ):
            yield

    def on_server(self, target, remote_path):
        return Path(self.server(target).root) / remote_path
