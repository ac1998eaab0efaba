from odoo import fields
from odoo.exceptions import AccessError
from odoo.sql_db import db_connect
from odoo.tests import tagged

from odoo.addons.call_recording.models import evidence

from .provider_common import ProviderCommon


@tagged("post_install", "-at_install")
class TestProviderImport(ProviderCommon):
    sync_trigger = "manual"

    def test_each_provider_imports_calls_with_audio(self):
        self.agent_a.email = "cr_agent_a@example.com"
        for code, provider in self.providers.items():
            with self.subTest(provider=code):
                with_audio, no_audio = self._add_calls(code)
                log = self.sync(provider)
                self.assertEqual(log.state, "done", log.error)
                self.assertEqual((log.calls_created, log.audio_downloaded), (2, 1))
                self.assertEqual(len(self.calls_of(provider)), 2)
                self.assertCallImported(
                    self.call_of(provider, with_audio),
                    provider=provider,
                    audio=self.audio_1,
                    direction="inbound",
                    external_number_e164="+36309012345",
                    partner_id=self.customer,
                    company_id=self.company,
                    duration=61,
                )
                self.assertCallImported(
                    self.call_of(provider, no_audio),
                    provider=provider,
                    audio=False,
                    direction="outbound",
                )
                self.assertEqual(provider.state, "ok")
                self.assertTrue(provider.sync_cursor)

    def test_agent_mapped_by_login(self):
        """The provider's e-mail is the agent's login (which only administrators set)."""
        self.agent_a.login = "CR_Agent_A@example.com"
        provider = self.providers["aircall"]
        self._add_calls("aircall")
        self.sync(provider)
        call = self.calls_of(provider).filtered("provider_recording_ref")
        self.assertEqual(call.user_id, self.agent_a)
        entry = provider.user_map_ids
        self.assertEqual(len(entry), 1)
        self.assertEqual(entry.user_id, self.agent_a)
        self.assertFalse(entry.match_note)

    def test_second_run_changes_nothing(self):
        for code, provider in self.providers.items():
            with self.subTest(provider=code):
                self._add_calls(code)
                self.sync(provider)
                downloads = self.fakes[code].audio_downloads
                with self.assert_no_new_calls(provider):
                    log = self.sync(provider)
                self.assertEqual(log.calls_created, 0)
                self.assertEqual(log.audio_downloaded, 0)
                self.assertEqual(self.fakes[code].audio_downloads, downloads)

    def test_late_recording_fetched_on_a_later_run(self):
        for code, provider in self.providers.items():
            with self.subTest(provider=code):
                fake = self.fakes[code]
                ext = self.add_call(code, audio=self.audio_2, recording_ready=False)
                self.sync(provider)
                call = self.calls_of(provider)
                self.assertEqual(call.external_id, ext)
                self.assertIn(call.recording_status, ("pending", "none"))
                fake.set_recording_ready(ext, audio=self.audio_2)
                # the retry is due at once
                evidence.writer(call).import_next_try = False
                self.sync(provider)
                self.assertCallImported(call, provider=provider, audio=self.audio_2)

    def test_overlap_catches_late_arrivals(self):
        provider = self.providers["twilio"]
        self.sync(provider)
        cursor = provider.sync_cursor
        self.assertTrue(cursor)
        # reported by the provider after the run, but started before its end
        ext = self.add_call("twilio", start=self.ago(minutes=30), duration=5)
        self.sync(provider)
        self.assertEqual(self.calls_of(provider).external_id, ext)

    def test_auth_failure_is_clear_and_alerts_admins(self):
        provider = self.providers["aircall"]
        provider.secret = "wrong"
        self._add_calls("aircall")
        log = self.sync(provider)
        self.assertEqual(log.state, "failed")
        self.assertEqual(provider.state, "auth")
        self.assertIn("credentials", provider.last_error.lower())
        self.assertFalse(self.calls_of(provider))
        self.assertFalse(provider.sync_cursor)
        self.assertEqual(len(provider.activity_ids), 1)
        # a second failure does not alert again
        self.sync(provider)
        self.assertEqual(len(provider.activity_ids), 1)

    def test_outage_keeps_cursor_and_next_run_catches_up(self):
        provider = self.providers["twilio"]
        fake = self.fakes["twilio"]
        self._add_calls("twilio")
        fake.fail_next(status=503, count=50, path_contains="Calls.json")
        log = self.sync(provider)
        self.assertEqual(log.state, "failed")
        self.assertEqual(provider.state, "error")
        self.assertFalse(provider.sync_cursor)
        self.assertFalse(self.calls_of(provider))
        fake.reset_faults()
        log = self.sync(provider)
        self.assertEqual(log.state, "done")
        self.assertEqual(len(self.calls_of(provider)), 2)
        self.assertEqual(provider.state, "ok")

    def test_server_error_then_success_within_a_run(self):
        provider = self.providers["zadarma"]
        fake = self.fakes["zadarma"]
        self._add_calls("zadarma")
        fake.fail_next(status=500, count=1)
        fake.fail_next(status=429, count=1, headers={"Retry-After": "0"})
        log = self.sync(provider)
        self.assertEqual(log.state, "done", log.error)
        self.assertEqual(len(self.calls_of(provider)), 2)

    def test_malformed_call_logged_and_read_again(self):
        provider = self.providers["aircall"]
        fake = self.fakes["aircall"]
        good, bad = self._add_calls("aircall")
        fake.corrupt_call(bad)
        log = self.sync(provider)
        self.assertEqual(log.calls_created, 1)
        self.assertEqual(log.calls_failed, 1)
        self.assertEqual(self.calls_of(provider).external_id, good)
        issue = provider.issue_ids
        self.assertEqual(issue.external_id, bad)
        self.assertTrue(issue.reason)
        # once the provider serves it right, the next run reads it again
        fake.corrupt_call(bad, corrupt=False)
        self.sync(provider)
        self.assertEqual(set(self.calls_of(provider).mapped("external_id")), {good, bad})
        self.assertEqual(issue.state, "resolved")

    def test_audio_over_the_size_limit(self):
        big = self.audio_1[:44] + b"\0" * (1024 * 1024 + 10)
        self.env["ir.config_parameter"].sudo().set_param("call_recording.max_audio_mb", 1)
        for code, provider in self.providers.items():
            with self.subTest(provider=code):
                ext = self.add_call(code, start=self.ago(hours=2), duration=100, audio=big)
                log = self.sync(provider)
                call = self.calls_of(provider)
                self.assertEqual(call.external_id, ext)
                self.assertEqual(call.recording_status, "failed")
                self.assertIn("limit", call.import_error)
                self.assertEqual(log.audio_failed, 1)
                self.assertFalse(call._get_audio_attachment())
                # a failed recording is said in the chatter too
                self.assertIn("limit", call.message_ids[:1].body)

    def test_expired_link_retried_later(self):
        provider = self.providers["aircall"]
        fake = self.fakes["aircall"]
        self._add_calls("aircall")
        fake.expire_links_after(0)
        log = self.sync(provider)
        call = self.calls_of(provider).filtered("provider_recording_ref")
        self.assertEqual(call.recording_status, "pending")
        self.assertTrue(call.import_error)
        self.assertTrue(call.import_next_try)
        self.assertEqual(log.audio_failed, 1)
        fake.expire_links_after(600)
        evidence.writer(call).import_next_try = fields.Datetime.now()
        self.sync(provider)
        self.assertEqual(call.recording_status, "available")

    def test_download_failure_gives_up_after_attempts(self):
        provider = self.providers["twilio"]
        fake = self.fakes["twilio"]
        self._add_calls("twilio")
        fake.fail_next(status=500, count=1000, path_contains="/Recordings/")
        call = None
        for _attempt in range(8):
            self.sync(provider)
            call = self.calls_of(provider).filtered("provider_recording_ref")
            evidence.writer(call).import_next_try = False
        self.assertEqual(call.recording_status, "failed")
        self.assertEqual(call.import_attempts, 8)
        fake.reset_faults()
        call.with_user(self.manager).action_retry_download()
        self.assertEqual(call.recording_status, "pending")
        self.sync(provider)
        self.assertEqual(call.recording_status, "available")

    def test_timeout_is_an_outage(self):
        provider = self.providers["twilio"]
        provider.write({"timeout": 1, "max_retries": 0})
        self._add_calls("twilio")
        self.fakes["twilio"].stall_next(3, count=5, path_contains="Calls.json")
        log = self.sync(provider)
        self.assertEqual(log.state, "failed")
        self.assertTrue(log.error)
        self.assertFalse(provider.sync_cursor)

    def test_two_syncs_never_run_at_once(self):
        provider = self.providers["twilio"]
        other = db_connect(self.env.cr.dbname).cursor()
        try:
            other.execute("SELECT pg_advisory_lock(%s, %s)", (0x43525359, provider.id))
            self.assertFalse(provider._sync(trigger="cron"))
            other.execute("SELECT pg_advisory_unlock(%s, %s)", (0x43525359, provider.id))
        finally:
            other.close()
        self.assertTrue(provider._sync(trigger="cron"))

    def test_interrupted_log_is_closed_by_next_run(self):
        provider = self.providers["twilio"]
        stale = self.env["call.recording.sync.log"].create(
            {"provider_id": provider.id, "trigger": "cron"}
        )
        self.sync(provider)
        self.assertEqual(stale.state, "interrupted")

    def test_line_decides_company_and_policy(self):
        line = self.env["call.recording.line"].create(
            {
                "name": "Not recorded",
                "number": "+3615550999",
                "policy": "none",
                "company_id": self.company_b.id,
            }
        )
        provider = self.providers["twilio"]
        provider.line_ids = line
        ext = self.add_call("twilio", start=self.ago(hours=2), callee="+3615550999", duration=10)
        log = self.sync(provider)
        call = self.calls_of(provider)
        self.assertEqual(call.external_id, ext)
        self.assertEqual(call.company_id, self.company_b)
        self.assertEqual(call.legal_basis, "none")
        self.assertEqual(call.recording_status, "none")
        self.assertEqual(log.audio_downloaded, 0)
        self.assertEqual(self.fakes["twilio"].audio_downloads, 0)

    def test_refused_recording_never_downloaded_again(self):
        line = self.env["call.recording.line"].create(
            {"name": "Newsroom", "number": "+3615550888", "policy": "consent"}
        )
        provider = self.providers["twilio"]
        provider.line_ids = line
        self.add_call("twilio", start=self.ago(hours=2), callee="+3615550888", duration=10)
        self.sync(provider)
        call = self.calls_of(provider)
        self.assertCallImported(call, provider=provider, audio=self.audio_1)
        call.action_consent_refused()
        self.assertEqual(call.recording_status, "refused")
        downloads = self.fakes["twilio"].audio_downloads
        self.sync(provider)
        self.assertEqual(call.recording_status, "refused")
        self.assertEqual(self.fakes["twilio"].audio_downloads, downloads)

    def test_cron_syncs_enabled_accounts(self):
        for code in self.providers:
            self._add_calls(code)
        self.providers["zadarma"].sync_enabled = False
        # With call_recording_queue installed the cron enqueues a job per
        # account: queue_job's no-delay key runs them here, in this test's
        # transaction (without queue_job the key means nothing).
        with self.enter_registry_test_mode():
            self.env["call.recording.provider"].with_context(queue_job__no_delay=True)._cron_sync()
        self.assertEqual(len(self.calls_of(self.providers["twilio"])), 2)
        self.assertEqual(len(self.calls_of(self.providers["aircall"])), 2)
        self.assertFalse(self.calls_of(self.providers["zadarma"]))

    def test_test_connection(self):
        provider = self.providers["twilio"]
        result = provider.action_test_connection()
        self.assertEqual(result["params"]["type"], "success")
        provider.secret = "wrong"
        result = provider.action_test_connection()
        self.assertEqual(result["params"]["type"], "danger")
        self.assertEqual(provider.state, "auth")

    def test_credentials_readable_by_system_only(self):
        provider = self.providers["twilio"]
        as_manager = provider.with_user(self.manager)
        self.assertEqual(as_manager.name, provider.name)
        with self.assertRaises(AccessError):
            as_manager.read(["secret"])
        self.assertNotIn("secret", as_manager.fields_get())

    def test_only_account_writers_replace_the_webhook_key(self):
        provider = self.providers["aircall"]
        key = provider.sudo().webhook_key
        with self.assertRaises(AccessError):
            provider.with_user(self.manager).action_regenerate_webhook_key()
        self.assertEqual(provider.sudo().webhook_key, key)
        provider.action_regenerate_webhook_key()
        self.assertNotEqual(provider.sudo().webhook_key, key)
