"""The export's test kit: the file servers customers run, a target on each,
and the domain assertion ``assertExported``."""

from pathlib import Path

from odoo.addons.call_recording.tests.common import CallRecordingCommon, import_fake, sha256

# The loopback servers live in the repository's tests/fakes package.
real_servers = import_fake("real_servers")
OpenSSHServer = real_servers.OpenSSHServer
ProFTPDServer = real_servers.ProFTPDServer
VsftpdServer = real_servers.VsftpdServer
start_ftp_server = import_fake("ftp_server").start_ftp_server
start_sftp_server = import_fake("sftp_server").start_sftp_server


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
        cls.ftp = cls._serve(start_ftp_server())
        cls.sftp = cls._serve(start_sftp_server())
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
        # the export's runs and its job commit their progress; tests may not
        self.cron_progress = self.switch_off_cron_commits()

    def cron_export(self):
        """The export cron.  With call_recording_ftp_queue installed it enqueues a
        job per target: queue_job's no-delay key runs them here, in this test's
        transaction (without queue_job the key means nothing)."""
        with self.enter_registry_test_mode():
            Target = self.env["call.recording.export.target"]
            Target.with_context(queue_job__no_delay=True)._cron_export()

    def server(self, target):
        return self.servers[target.id]

    def on_server(self, target, remote_path):
        return Path(self.server(target).root) / remote_path

    def assertExported(self, call, target, verified=None, **values):
        """``call``'s recording is on ``target``'s server, whole, and known to be.

        One export of the call to the target, ``done``, its file on the
        server byte for byte the recording (its SHA-256 the call's and the
        export's); ``verified``: whether the server itself vouched for it
        (SHA-256 by ``HASH``), when given; ``values``: other fields of the
        export. Returns the export.
        """
        export = call.export_ids.filtered(lambda e: e.target_id == target)
        self.assertEqual(len(export), 1, f"one export of {call.name} to {target.name}")
        self.assertEqual(export.state, "done", export.last_error)
        self.assertTrue(call.audio_sha256)
        self.assertEqual(export.sha256, call.audio_sha256)
        data = self.on_server(target, export.remote_path).read_bytes()
        self.assertEqual(sha256(data), call.audio_sha256, export.remote_path)
        if verified is not None:
            self.assertEqual(export.server_verified, verified)
        for name, value in values.items():
            self.assertEqual(export[name], value, f"{call.name}: {name}")
        return export
