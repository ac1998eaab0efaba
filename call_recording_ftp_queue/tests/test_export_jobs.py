from datetime import timedelta
from unittest.mock import patch

from odoo import fields
from odoo.exceptions import UserError
from odoo.tests import tagged

from odoo.addons.call_recording_ftp.models.call_recording_export_sink import ExportRunSink
from odoo.addons.call_recording_ftp.tests.common import FtpExportCommon
from odoo.addons.call_recording_ftp_queue.models.call_recording_export_target import (
    EXPORT_LOCK_KEY,
)
from odoo.addons.call_recording_queue.tests.common import (
    Killed,
    KilledJobMixin,
    advisory_lock_elsewhere,
)
from odoo.addons.queue_job.job import Job
from odoo.addons.queue_job.tests.common import trap_jobs


@tagged("post_install", "-at_install")
class TestExportJobs(KilledJobMixin, FtpExportCommon):
    def setUp(self):
        super().setUp()
        now = fields.Datetime.now()
        self.Target = self.env["call.recording.export.target"]
        self.Target.search([]).next_run_date = now + timedelta(hours=1)
        self.target = self.fake_ftp
        self.target.next_run_date = now - timedelta(minutes=1)

    def locked_elsewhere(self, target):
        return advisory_lock_elsewhere(self.env, EXPORT_LOCK_KEY, target.id)

    def test_cron_enqueues_a_job_per_due_target_on_the_export_channel(self):
        with trap_jobs() as trap:
            self.Target._cron_export()
            trap.assert_jobs_count(1)
            trap.assert_enqueued_job(self.target._job_export, kwargs={"deletions_only": False})
        self.assertFalse(self.target.run_ids, "the cron itself sends nothing")
        # stored: one job per target, however often the cron runs while it waits
        self.Target._cron_export()
        self.Target._cron_export()
        job = self.env["queue.job"].search([("method_name", "=", "_job_export")])
        self.assertEqual(len(job), 1)
        self.assertEqual((job.records, job.channel), (self.target, "root.call_recording.export"))
        with self.enter_registry_test_mode():
            Job.load(self.env, job.uuid).perform()
        self.assertEqual(self.target.run_ids.file_count, 2)
        self.assertEqual(set(self.target.export_ids.mapped("state")), {"done"})

    def test_a_run_killed_mid_way_is_resumed_without_duplicates(self):
        server = self.server(self.target)
        server.faults.opened.clear()
        sent = ExportRunSink.sent
        files = []

        def dies_on_second_file(sink, item, result):
            files.append(item)
            if len(files) == 2:
                raise Killed  # uploaded and verified, not recorded yet
            return sent(sink, item, result)

        with patch.object(ExportRunSink, "sent", dies_on_second_file):
            self.run_killed(self.target._job_export)
        first = self.target.export_ids.filtered(lambda e: e.state == "done")
        self.assertEqual(len(first), 1)
        # the job queue starts it again: what was not recorded is sent again,
        # to the same path (replaced there), nothing else twice
        self.target._job_export()
        exports = self.target.export_ids
        self.assertEqual(len(exports), 2, "one export per call")
        self.assertEqual(set(exports.mapped("state")), {"done"})
        self.assertEqual(len(set(exports.mapped("remote_path"))), 2)
        name = first.remote_path.split("/")[-1]
        self.assertEqual(len([p for p in server.faults.opened if name in p]), 1)
        for export in exports:
            self.assertTrue(self.on_server(self.target, export.remote_path).is_file())
        audio_files = [
            p
            for p in self.on_server(self.target, "archive").rglob("*")
            if p.is_file() and "manifests" not in p.parts
        ]
        self.assertEqual(len(audio_files), 2, audio_files)

    def test_runs_of_a_target_never_overlap(self):
        with self.locked_elsewhere(self.target):
            self.assertIn("running already", self.target._job_export())
            with self.assertRaises(UserError):
                self.target.with_user(self.admin).action_export_now()
        self.assertFalse(self.target.run_ids)
        # another target is not held up
        with self.locked_elsewhere(self.target):
            self.target_ftp._job_export()
        self.assertEqual(self.target_ftp.run_ids.file_count, 2)
