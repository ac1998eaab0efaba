import re
import socket
from datetime import timedelta

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from odoo import fields
from odoo.exceptions import UserError
from odoo.tests import tagged

from .common import FtpExportCommon, OpenSSHServer, VsftpdServer


def closed_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@tagged("post_install", "-at_install")
class TestFailures(FtpExportCommon):
    def assertNothingExported(self, target):
        self.assertFalse(target.export_ids.filtered(lambda e: e.state == "done"))

    def test_connection_refused_suspends_and_alerts(self):
        target = self.target_sftp
        target.write({"port": closed_port(), "max_failures": 2})
        # the system administrator keeps the key when moving the target
        target = target.with_user(self.admin)
        run = target._run()
        self.assertEqual(run.state, "failed")
        self.assertIn("could not be reached", run.log)
        self.assertEqual(target.failure_count, 1)
        self.assertEqual(target.state, "active")
        self.assertNothingExported(target)
        self.assertFalse(target.activity_ids)
        target._run()
        self.assertEqual(target.state, "suspended")
        self.assertIn(self.admin, target.activity_ids.user_id)
        self.assertIn(self.admin.partner_id, target.message_ids[:1].partner_ids)
        self.assertIn("suspended", target.message_ids[:1].body)
        # a suspended target is skipped by the cron and refuses Export now
        target.next_run_date = fields.Datetime.now() - timedelta(hours=1)
        self.cron_export()
        self.assertEqual(len(target.run_ids), 2)
        with self.assertRaises(UserError):
            target.action_export_now()
        # fixed and resumed: it works and the alert is done
        target.port = self.openssh.port
        target.action_resume()
        self.assertFalse(target.activity_ids)
        self.assertEqual(target._run().file_count, 2)
        self.assertEqual(target.failure_count, 0)

    def test_connection_refused_test_connection(self):
        self.target_ftp.port = closed_port()
        with self.assertRaisesRegex(UserError, "could not be reached.*connection refused"):
            self.target_ftp.action_test_connection()

    def test_bad_credentials(self):
        self.target_ftp.password = "wrong"
        self.fake_sftp.password = "wrong"
        self.target_sftp.private_key = (
            ed25519.Ed25519PrivateKey.generate()
            .private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.OpenSSH,
                serialization.NoEncryption(),
            )
            .decode()
        )  # a key the server does not know
        for target in self.target_ftp | self.target_sftp | self.fake_sftp:
            with self.subTest(target=target.name):
                run = target._run()
                self.assertEqual(run.state, "failed")
                self.assertIn("refused the user name", target.last_error)
                self.assertNothingExported(target)
                with self.assertRaisesRegex(UserError, "refused the user name"):
                    target.action_test_connection()

    def test_host_key_mismatch(self):
        target = self.target_sftp
        target.host_key_fingerprint = "SHA256:" + "A" * 43
        run = target._run()
        self.assertEqual(run.state, "failed")
        self.assertIn("not the pinned one", run.log)
        self.assertIn(self.openssh.fingerprints["ed25519"], run.log)
        self.assertNothingExported(target)
        # a possible attack: the administrators hear of it at once
        self.assertIn(self.admin, target.activity_ids.user_id)
        with self.assertRaisesRegex(UserError, re.escape(self.openssh.fingerprints["rsa"])):
            target.action_test_connection()
        self.assertFalse(list(self.on_server(target, ".").rglob("*.wav")))
        # and no password or key was offered to the impostor
        self.fake_sftp.host_key_fingerprint = self.openssh.fingerprint
        self.fake_sftp._run()
        self.assertEqual(self.sftp.faults.auth_attempts, 0)

    def test_certificate_not_trusted_is_said_so(self):
        """A failed certificate check is not "could not be reached"; it alerts at once."""
        target = self.target_ftps
        target.tls_fingerprint = False
        run = target._run()
        self.assertEqual(run.state, "failed")
        self.assertIn("TLS certificate is not trusted", run.log)
        self.assertNotIn("could not be reached", run.log)
        self.assertIn(self.admin, target.activity_ids.user_id)
        self.assertNothingExported(target)
        # pinned by its fingerprint, or trusted as its own authority: it works
        target.tls_ca_cert = (self.vsftpd.workdir / "tls" / "cert.pem").read_text()
        with self.assertRaisesRegex(UserError, "not trusted"):
            # the certificate names 127.0.0.1, the target says localhost
            target.host = "localhost"
            target.action_test_connection()
        target.host = "127.0.0.1"
        self.assertEqual(target._run().file_count, 2)

    def test_disk_full_then_retry(self):
        """The fakes answer a full disk as ProFTPD (452) and OpenSSH (bare Failure) do."""
        for target in self.fakes:
            with self.subTest(protocol=target.protocol):
                server = self.server(target)
                server.faults.quota_bytes = server.faults.written + 1000
                run = target._run()
                self.assertEqual(run.state, "failed")
                self.assertEqual(run.error_count, 2)
                self.assertIn("The server has no space left", run.log)
                exports = target.export_ids
                self.assertEqual(set(exports.mapped("state")), {"failed"})
                self.assertEqual(exports.mapped("attempt_count"), [1, 1])
                self.assertTrue(all(e.next_attempt_date > fields.Datetime.now() for e in exports))
                self.assertFalse(list(self.on_server(target, "archive").rglob("*.wav")))
                # the space is back, but the calls wait for their next attempt
                server.faults.quota_bytes = None
                self.assertEqual(target._run().file_count, 0)
                exports.write({"next_attempt_date": fields.Datetime.now() - timedelta(seconds=1)})
                run = target._run()
                self.assertEqual(run.file_count, 2)
                self.assertEqual(set(exports.mapped("state")), {"done"})

    def test_export_now_retries_failed_files_at_once(self):
        server = self.sftp
        server.faults.quota_bytes = server.faults.written + 1000
        self.fake_sftp._run()
        exports = self.fake_sftp.export_ids
        self.assertEqual(set(exports.mapped("state")), {"failed"})
        server.faults.quota_bytes = None
        # the administrator fixed the server: Export Now does not wait for the back-off
        action = self.fake_sftp.with_user(self.admin).action_export_now()
        run = self.env["call.recording.export.run"].browse(action["res_id"])
        self.assertEqual(run.file_count, 2)
        self.assertEqual(set(exports.mapped("state")), {"done"})

    def test_failed_write_on_real_servers_is_said_plainly(self):
        """vsftpd answers "451 Failure writing to local file", OpenSSH a bare "Failure"."""
        vsftpd = VsftpdServer(tls="explicit", write_limit=1000).start()
        self.addCleanup(vsftpd.stop)
        openssh = OpenSSHServer(write_limit=1000).start()
        self.addCleanup(openssh.stop)
        self.target_ftps.write({"port": vsftpd.port, "tls_fingerprint": vsftpd.cert_fingerprint})
        self.target_sftp.write(
            {
                "port": openssh.port,
                "host_key_fingerprint": openssh.keyscan(),
                "private_key": openssh.private_key,
            }
        )
        for target in self.target_ftps | self.target_sftp:
            with self.subTest(protocol=target.protocol):
                run = target._run()
                self.assertEqual(run.state, "failed")
                self.assertIn("could not write the file: no space left or a quota", run.log)
                self.assertNotIn("The transfer failed", run.log)
                self.assertNothingExported(target)

    def test_permission_denied(self):
        for target in self.target_ftp | self.fake_sftp:
            with self.subTest(protocol=target.protocol):
                target.base_folder = "readonly"
                run = target._run()
                self.assertEqual(run.state, "failed")
                self.assertIn("does not allow writing", run.log)
                self.assertNothingExported(target)
                with self.assertRaisesRegex(UserError, "does not allow writing"):
                    target.action_test_connection()

    def test_dropped_connection_says_so(self):
        for target in self.fakes:
            with self.subTest(protocol=target.protocol):
                self.server(target).faults.drop_after = 10_000
                run = target._run()
                self.assertIn("The server closed the connection. (", run.log)
                self.assertIn("the server closed the connection", run.log)
                failed = target.export_ids.filtered(lambda e: e.state == "failed")
                self.assertEqual(len(failed), 1)
                self.assertIn("closed the connection", failed.last_error)

    def test_timeout_mid_file_then_resume(self):
        self._call(self.agent_a, "+36301112233", audio=True)
        for target in self.fakes:
            with self.subTest(protocol=target.protocol):
                server = self.server(target)
                server.faults.opened.clear()
                server.faults.stall_after = 10_000
                server.faults.stall_skip = 1  # the first file passes, the second stalls
                server.faults.stall_seconds = 2.5
                target.timeout = 1
                run = target._run()
                self.assertEqual(run.state, "partial")
                self.assertIn("stopped answering", run.log)
                first, second, third = target.export_ids.sorted("id")
                self.assertExported(first.call_id, target)
                self.assertEqual(second.state, "failed")
                self.assertEqual(third.state, "pending")
                self.assertFalse(second.remote_path)
                # the manifest lists what was sent, on a fresh connection
                self.assertEqual(len(run.manifest_paths.split()), 2)
                # resume: the third goes now, the second when its retry is due
                server.faults.stall_after = None
                target.timeout = 5
                self.assertEqual(target._run().file_count, 1)
                second.next_attempt_date = fields.Datetime.now() - timedelta(seconds=1)
                self.assertEqual(target._run().file_count, 1)
                self.assertEqual(set(target.export_ids.mapped("state")), {"done"})
                # the first call was sent once, never again
                name = first.remote_path.split("/")[-1]
                self.assertEqual(len([p for p in server.faults.opened if name in p]), 1)

    def test_parallel_uploads_never_send_a_file_twice(self):
        for _n in range(6):
            self._call(self.agent_a, "+36301112233", audio=True)
        target = self.target_ftp
        target.upload_connections = 3
        run = target._run()
        self.assertEqual(run.state, "done", run.log)
        self.assertEqual(run.file_count, 8)
        paths = target.export_ids.mapped("remote_path")
        self.assertEqual(len(set(paths)), 8)
        for call in target.export_ids.call_id:
            self.assertExported(call, target, verified=True)

    def test_unreadable_local_audio_fails_only_that_call(self):
        attachment = self.call_a._get_audio_attachment().sudo()
        self.env.cr.execute(
            "UPDATE ir_attachment SET store_fname = 'ab/missing-file' WHERE id = %s",
            [attachment.id],
        )
        attachment.invalidate_recordset(["store_fname"])
        run = self.target_ftp._run()
        self.assertEqual(run.state, "partial")
        self.assertEqual(run.file_count, 1)
        failed = self.target_ftp.export_ids.filtered(lambda e: e.call_id == self.call_a)
        self.assertEqual(failed.state, "failed")
        self.assertIn("reading the audio", failed.last_error)
        self.assertIn(failed.call_reference, run.log)
