from unittest.mock import patch

from odoo.tests import HttpCase, tagged

from odoo.addons.call_recording.lib.audio import synth_call_wav
from odoo.addons.call_recording.models.call_recording_provider import SYNC_LOCK_KEY
from odoo.addons.call_recording.models.call_recording_provider_sink import ProviderSink
from odoo.addons.call_recording.tests.common import sha256
from odoo.addons.call_recording.tests.provider_common import ProviderCommon
from odoo.addons.call_recording_queue.models.call_recording_provider import DOWNLOAD_LOCK_KEY
from odoo.addons.call_recording_queue.tests.common import (
    Killed,
    KilledJobMixin,
    advisory_lock_elsewhere,
)
from odoo.addons.queue_job.exception import RetryableJobError
from odoo.addons.queue_job.job import Job
from odoo.addons.queue_job.tests.common import trap_jobs


@tagged("post_install", "-at_install")
class TestQueuedImport(KilledJobMixin, ProviderCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.Provider = cls.env["call.recording.provider"]
        cls.twilio = cls.providers["twilio"]
        cls.providers["zadarma"].sync_enabled = False

    def add_calls(self, count, code="twilio"):
        audio = {}
        for index in range(count):
            data = synth_call_wav(0.2, seed=100 + index)
            ext = self.fakes[code].add_call(
                start=self.ago(hours=30, minutes=-index),
                direction="inbound",
                caller=f"+3630{9100000 + index}",
                callee="+3615550100",
                duration=1,
                audio=data,
            )
            audio[ext] = sha256(data)
        return audio

    def assert_imported_once(self, provider, audio):
        self.env.invalidate_all()
        calls = self.calls_of(provider)
        self.assertEqual(sorted(calls.mapped("external_id")), sorted(audio), "missing or twice")
        for call in calls:
            self.assertEqual(call.recording_status, "available", call.external_id)
            self.assertEqual(call.audio_sha256, audio[call.external_id])
        attachments = self.env["ir.attachment"].search_count(
            [
                ("res_model", "=", "call.recording"),
                ("res_field", "=", "audio"),
                ("res_id", "in", calls.ids),
            ]
        )
        self.assertEqual(attachments, len(calls), "a recording stored twice")

    def locked_elsewhere(self, key):
        """``key`` of the account's advisory lock held by another session."""
        return advisory_lock_elsewhere(self.env, key, self.twilio.id)

    def perform(self, trap):
        """Run the trapped jobs as the job runner would (each in its own cursor)."""
        with self.enter_registry_test_mode():
            trap.perform_enqueued_jobs()

    def test_cron_enqueues_one_import_job_per_account_on_its_channel(self):
        with trap_jobs() as trap:
            self.Provider._cron_sync()
            trap.assert_jobs_count(2)
            for code in ("twilio", "aircall"):
                trap.assert_enqueued_job(self.providers[code]._job_import)
        # nothing was imported by the cron itself
        self.assertFalse(self.calls_of(self.twilio))

    def test_a_second_cron_run_adds_no_job_while_one_waits(self):
        self.Provider._cron_sync()
        self.Provider._cron_sync()
        jobs = self.env["queue.job"].search([("method_name", "=", "_job_import")])
        self.assertEqual(
            sorted(job.records.id for job in jobs),
            sorted([self.twilio.id, self.providers["aircall"].id]),
        )
        self.assertEqual(set(jobs.mapped("channel")), {"root.call_recording.import"})

    def test_import_job_lists_and_the_download_job_fetches(self):
        audio = self.add_calls(3)
        result = self.twilio._job_import()
        log = self.twilio.sync_log_ids[:1]
        self.assertEqual((log.trigger, log.state), ("job", "done"))
        self.assertEqual((log.calls_created, log.audio_downloaded), (3, 0))
        self.assertEqual(result, log.summary)
        self.assertEqual(self.fakes["twilio"].audio_downloads, 0)
        # one download job for the account, however many pages brought recordings
        job = self.env["queue.job"].search([("method_name", "=", "_job_download")])
        self.assertEqual(len(job), 1)
        self.assertEqual((job.records, job.channel), (self.twilio, "root.call_recording.download"))
        self.assertEqual(job.job_function_id.allow_commit, True)
        with self.enter_registry_test_mode():
            Job.load(self.env, job.uuid).perform()
        self.assert_imported_once(self.twilio, audio)
        self.assertEqual(self.fakes["twilio"].audio_downloads, 3)

    def test_import_killed_mid_way_then_retried_without_duplicates(self):
        audio = self.add_calls(12)
        Provider = type(self.twilio)
        adapter_config = Provider._adapter_config
        self.patch(Provider, "_adapter_config", lambda p: dict(adapter_config(p), page_size=5))
        store_calls = ProviderSink.store_calls
        pages = []

        def dies_on_second_page(sink, calls, errors):
            if calls:  # (windows without calls store empty pages)
                pages.append(len(calls))
            if len(pages) == 2:
                raise Killed
            return store_calls(sink, calls, errors)

        with patch.object(ProviderSink, "store_calls", dies_on_second_page), trap_jobs():
            self.run_killed(self.twilio._job_import)
        self.assertEqual(len(self.calls_of(self.twilio)), 5, "the first page was committed")
        # the job queue starts the job again: it resumes, nothing twice
        with trap_jobs() as trap:
            self.twilio._job_import()
            self.perform(trap)
        self.assert_imported_once(self.twilio, audio)
        self.assertEqual(self.fakes["twilio"].audio_downloads, 12)

    def test_download_killed_mid_way_then_retried_without_duplicates(self):
        audio = self.add_calls(40)
        with trap_jobs():
            self.twilio._job_import()
        store = ProviderSink.store_audio_batch
        batches = []

        def dies_on_second_batch(sink, items):
            batches.append(len(items))
            if len(batches) == 2:
                raise Killed
            return store(sink, items)

        with patch.object(ProviderSink, "store_audio_batch", dies_on_second_batch):
            self.run_killed(self.twilio._job_download)
        stored = self.calls_of(self.twilio).filtered(lambda c: c.recording_status == "available")
        self.assertEqual(len(stored), batches[0])
        self.assertLess(len(stored), 40)
        # the lock is free again (a dead worker's session releases it): the
        # retry takes it and fetches only what is still due
        self.assertTrue(self.twilio._try_download_lock())
        self.twilio._download_unlock()
        downloads = self.fakes["twilio"].audio_downloads
        with trap_jobs():
            self.twilio._job_download()
        self.assert_imported_once(self.twilio, audio)
        self.assertLessEqual(self.fakes["twilio"].audio_downloads - downloads, 40 - len(stored))

    def test_download_job_waits_while_another_run_downloads(self):
        audio = self.add_calls(2)
        with self.locked_elsewhere(DOWNLOAD_LOCK_KEY):
            with self.assertRaises(RetryableJobError) as caught:
                self.twilio._job_download()
            self.assertTrue(caught.exception.ignore_retry)
            # a run by hand lists, and leaves the downloads to the job
            with trap_jobs() as trap:
                log = self.twilio._sync(trigger="manual")
                self.assertEqual((log.calls_created, log.audio_downloaded), (2, 0))
                trap.assert_jobs_count(1, only=self.twilio._job_download)
        self.assertEqual(self.fakes["twilio"].audio_downloads, 0)
        with trap_jobs():
            self.twilio._job_download()
        self.assert_imported_once(self.twilio, audio)

    def test_run_by_hand_downloads_itself_when_no_job_does(self):
        audio = self.add_calls(2)
        with trap_jobs() as trap:
            log = self.twilio._sync(trigger="manual")
            trap.assert_jobs_count(0)
        self.assertEqual(log.audio_downloaded, 2)
        self.assert_imported_once(self.twilio, audio)

    def test_import_job_while_the_account_syncs_ends_at_once(self):
        with self.locked_elsewhere(SYNC_LOCK_KEY), trap_jobs() as trap:
            self.assertIn("running already", self.twilio._job_import())
            trap.assert_jobs_count(0)
        self.assertFalse(self.twilio.sync_log_ids)

    def test_a_slice_out_of_time_enqueues_the_rest(self):
        self.add_calls(3)
        self.env["ir.config_parameter"].sudo().set_param("call_recording_queue.job_seconds", "5")
        with (
            patch.object(ProviderSink, "out_of_time", lambda sink: True),
            trap_jobs() as trap,
        ):
            self.twilio._job_import()
            self.assertEqual(self.twilio.sync_log_ids[:1].state, "partial")
            trap.assert_jobs_count(1, only=self.twilio._job_import)


@tagged("post_install", "-at_install")
class TestJobsOverRpc(HttpCase):
    def test_job_methods_are_not_callable_remotely(self):
        """A user reaches jobs only through what enqueues them."""
        provider = self.env["call.recording.provider"].create(
            {"name": "RPC", "provider_type": "twilio", "login": "AC1", "secret": "s"}
        )
        user = self.env["res.users"].create(
            {
                "name": "CR queue manager",
                "login": "cr_queue_manager",
                "password": "cr_queue_manager",
                "group_ids": [
                    (6, 0, [self.env.ref("call_recording.group_call_recording_manager").id])
                ],
            }
        )
        self.authenticate(user.login, user.login)
        for method in ("_job_import", "_job_download", "_enqueue_download", "_download_due"):
            with self.subTest(method=method), self.assertRaises(Exception) as caught:
                self.make_jsonrpc_request(
                    "/web/dataset/call_kw",
                    {
                        "model": "call.recording.provider",
                        "method": method,
                        "args": [[provider.id]],
                        "kwargs": {},
                    },
                )
            self.assertIn("AccessError", str(caught.exception))
        jobs = self.env["queue.job"].search([("model_name", "=", "call.recording.provider")])
        self.assertFalse(jobs)
