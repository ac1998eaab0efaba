import re
import socket
from datetime import timedelta

from odoo import fields
from odoo.exceptions import UserError
from odoo.tests import tagged

from .common import FtpExportCommon


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
        with self.no_commit():
            self.env["call.recording.export.target"]._cron_export()
        self.assertEqual(len(target.run_ids), 2)
        with self.assertRaises(UserError):
            target.action_export_now()
        # fixed and resumed: it works and the alert is done
        target.port = self.sftp.port
        target.action_resume()
        self.assertFalse(target.activity_ids)
        self.assertEqual(target._run().file_count, 2)
        self.assertEqual(target.failure_count, 0)

    def test_connection_refused_test_connection(self):
        self.target_ftp.port = closed_port()
        with self.assertRaisesRegex(UserError, "could not be reached.*connection refused"):
            self.target_ftp.action_test_connection()

    def test_bad_credentials(self):
        for target in self.targets:
            with self.subTest(protocol=target.protocol):
                target.password = "wrong"
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
        self.assertIn(self.sftp.fingerprint, run.log)
        self.assertNothingExported(target)
        # a possible attack: the administrators hear of it at once
        self.assertIn(self.admin, target.activity_ids.user_id)
        with self.assertRaisesRegex(UserError, re.escape(self.sftp.fingerprint)):
            target.action_test_connection()
        self.assertFalse(self.sftp.faults.opened)

    def test_disk_full_then_retry(self):
        for target in self.targets:
            with self.subTest(protocol=target.protocol):
                server = self.servers[target.protocol]
                server.faults.quota_bytes = server.faults.written + 1000
                run = target._run()
                self.assertEqual(run.state, "failed")
                self.assertEqual(run.error_count, 2)
                self.assertIn("no space left", run.log)
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

    def test_permission_denied(self):
        for target in self.targets:
            with self.subTest(protocol=target.protocol):
                target.base_folder = "readonly"
                run = target._run()
                self.assertEqual(run.state, "failed")
                self.assertIn("does not allow writing", run.log)
                self.assertNothingExported(target)
                with self.assertRaisesRegex(UserError, "does not allow writing"):
                    target.action_test_connection()

    def test_timeout_mid_file_then_resume(self):
        self._call(self.agent_a, "+36301112233", audio=True)
        for target in self.targets:
            with self.subTest(protocol=target.protocol):
                server = self.servers[target.protocol]
                server.faults.opened.clear()
                server.faults.stall_after = 10_000
                server.faults.stall_skip = 1  # the first file passes, the second stalls
                server.faults.stall_seconds = 2.5
                target.timeout = 1
                run = target._run()
                self.assertEqual(run.state, "partial")
                self.assertIn("stopped answering", run.log)
                first, second, third = target.export_ids.sorted("id")
                self.assertEqual(first.state, "done")
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
