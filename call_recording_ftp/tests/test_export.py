import csv
import io
import json
from datetime import timedelta

from odoo import fields
from odoo.exceptions import AccessError
from odoo.tests import tagged

from .common import FtpExportCommon


@tagged("post_install", "-at_install")
class TestExport(FtpExportCommon):
    def test_export_to_each_protocol(self):
        calls = self.call_a | self.call_b
        for target in self.targets:
            with self.subTest(protocol=target.protocol):
                run = target._run()
                self.assertEqual(run.state, "done", run.log)
                self.assertEqual(run.file_count, 2)
                self.assertEqual(run.byte_count, sum(calls.mapped("audio_size")))
                exports = target.export_ids
                self.assertEqual(exports.call_id, calls, "only the company's calls")
                for call in calls:
                    # ProFTPD computes the SHA-256 (HASH); vsftpd and OpenSSH tell the size
                    export = self.assertExported(call, target, verified=target == self.target_ftp)
                    self.assertTrue(
                        export.remote_path.startswith(
                            f"archive/{call.start_datetime:%Y/%m/%d}/{call.name.replace('/', '-')}"
                        ),
                        export.remote_path,
                    )
                # the manifest, JSON and CSV, with each call's checksum
                json_path, csv_path = run.manifest_paths.split()
                manifest = json.loads(self.on_server(target, json_path).read_text())
                self.assertEqual(
                    {f["reference"]: f["sha256"] for f in manifest["files"]},
                    {c.name: c.audio_sha256 for c in calls},
                )
                rows = list(
                    csv.DictReader(io.StringIO(self.on_server(target, csv_path).read_text()))
                )
                self.assertEqual(
                    {r["remote_path"] for r in rows}, set(exports.mapped("remote_path"))
                )
                # no temporary file left behind
                leftovers = [
                    p for p in self.on_server(target, "archive").rglob(".*.part") if p.is_file()
                ]
                self.assertFalse(leftovers)
                # idempotent: a second run sends nothing again
                again = target._run()
                self.assertEqual(again.file_count, 0)
                self.assertEqual(len(target.export_ids), 2)
                target.invalidate_recordset(["exported_count"])
                self.assertEqual(target.exported_count, 2)

    def test_new_call_goes_in_next_run_only(self):
        self.target_ftp._run()
        late = self._call(self.agent_a, "+36301112233", audio=True)
        run = self.target_ftp._run()
        self.assertEqual(run.file_count, 1)
        self.assertExported(late, self.target_ftp)

    def test_scope_by_line(self):
        line = self.env["call.recording.line"].create(
            {"name": "Support", "number": "+3615550100", "company_id": self.company.id}
        )
        on_line = self._call(self.agent_a, "+36301112233", audio=True)
        self.assertEqual(on_line.line_id, line)
        self.target_ftp.write({"call_scope": "lines", "line_ids": [(6, 0, line.ids)]})
        run = self.target_ftp._run()
        self.assertEqual(self.target_ftp.export_ids.call_id, on_line)
        self.assertEqual(run.file_count, 1)

    def test_cron_runs_due_targets_on_schedule(self):
        now = fields.Datetime.now()
        self.target_ftp.next_run_date = now - timedelta(minutes=1)
        self.target_ftps.next_run_date = now + timedelta(hours=1)
        self.target_sftp.active = False
        self.cron_export()
        self.assertEqual(len(self.target_ftp.run_ids), 1)
        self.assertEqual(self.target_ftp.run_ids.trigger, "cron")
        self.assertFalse(self.target_ftps.run_ids)
        self.assertGreater(self.target_ftp.next_run_date, now + timedelta(minutes=59))
        self.target_ftp.schedule = "weekly"
        self.target_ftp.next_run_date = now
        self.cron_export()
        self.assertGreater(self.target_ftp.next_run_date, now + timedelta(days=6))

    def test_export_now_and_test_connection(self):
        for target in self.targets:
            with self.subTest(protocol=target.protocol):
                result = target.with_user(self.admin).action_test_connection()
                self.assertEqual(result["params"]["type"], "success")
                self.assertFalse(
                    list(self.on_server(target, "archive").glob(".call-recording-test*"))
                )
                action = target.with_user(self.admin).action_export_now()
                run = self.env["call.recording.export.run"].browse(action["res_id"])
                self.assertEqual(run.file_count, 2)
                self.assertEqual(run.trigger, "manual")

    def test_access(self):
        Target = self.env["call.recording.export.target"]
        # managers read targets and the transfer log, but not the secrets
        run = self.target_ftp._run()
        self.assertTrue(run.with_user(self.manager).read(["file_count"]))
        as_manager = self.target_ftp.with_user(self.manager)
        self.assertEqual(as_manager.name, "FTP")
        with self.assertRaises(Exception):  # noqa: B017 AccessError on a group-protected field
            as_manager.read(["password"])
        with self.assertRaises(Exception):  # noqa: B017
            as_manager.write({"host": "evil.example.com"})
        for action in ("action_export_now", "action_test_connection", "action_resume"):
            with self.subTest(action=action), self.assertRaises(AccessError):
                getattr(as_manager, action)()
        with self.assertRaises(Exception):  # noqa: B017
            Target.with_user(self.agent_a).search([])
        # another company's manager sees nothing of it
        self.assertFalse(self.env["call.recording.export.run"].with_user(self.manager_b).search([]))
