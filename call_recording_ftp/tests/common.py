import shutil
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
from fakes.sftp_server import start_sftp_server  # noqa: E402


class FtpExportCommon(CallRecordingCommon):
    """Real FTP, FTPS and SFTP servers on loopback, and a target for each."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.ftp = start_ftp_server()
        cls.addClassCleanup(cls.ftp.stop)
        cls.ftps = start_ftp_server(tls=True)
        cls.addClassCleanup(cls.ftps.stop)
        cls.sftp = start_sftp_server()
        cls.addClassCleanup(cls.sftp.stop)
        cls.admin = cls._user(
            "cr_ftp_admin", "call_recording.group_call_recording_admin,base.group_system"
        )
        Target = cls.env["call.recording.export.target"]
        common = {
            "company_id": cls.company.id,
            "call_scope": "company",
            "timeout": 5,
            "connect_tries": 2,
            "retry_delay": 0,
            "base_folder": "archive",
        }
        cls.target_ftp = Target.create(
            {
                **common,
                "name": "FTP",
                "protocol": "ftp",
                "host": cls.ftp.host,
                "port": cls.ftp.port,
                "username": cls.ftp.user,
                "password": cls.ftp.password,
            }
        )
        cls.target_ftps = Target.create(
            {
                **common,
                "name": "FTPS",
                "protocol": "ftps",
                "host": cls.ftps.host,
                "port": cls.ftps.port,
                "username": cls.ftps.user,
                "password": cls.ftps.password,
                "tls_verify": False,  # the test server's certificate is self-signed
            }
        )
        cls.target_sftp = Target.create(
            {
                **common,
                "name": "SFTP",
                "protocol": "sftp",
                "host": cls.sftp.host,
                "port": cls.sftp.port,
                "username": cls.sftp.user,
                "password": cls.sftp.password,
                "host_key_fingerprint": cls.sftp.fingerprint,
            }
        )
        cls.targets = cls.target_ftp | cls.target_ftps | cls.target_sftp
        cls.servers = {"ftp": cls.ftp, "ftps": cls.ftps, "sftp": cls.sftp}

    def setUp(self):
        super().setUp()
        # The servers outlive each test's rolled-back transaction: start
        # every test with empty, well-behaved servers.
        for server in self.servers.values():
            server.faults.quota_bytes = None
            server.faults.stall_after = None
            server.faults.stall_skip = 0
            server.faults.opened.clear()
            if hasattr(server.faults, "wrong_hash"):
                server.faults.wrong_hash = False
            for child in Path(server.root).iterdir():
                if child.name == "readonly":
                    continue
                if child.is_dir():
                    shutil.rmtree(child)
                else:
                    child.unlink()

    @contextmanager
    def no_commit(self):
        """Cron code commits its progress; tests must not."""
        with patch.object(
            self.registry["ir.cron"], "_commit_progress", lambda self, *a, **kw: float("inf")
        ):
            yield

    def on_server(self, target, remote_path):
        return Path(self.servers[target.protocol].root) / remote_path
