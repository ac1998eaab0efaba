"""What the providers really do, through the import: legs, short downloads, rate limits.

Each provider is a fake server on loopback that follows the provider's
documentation (``tests/fakes``); the accounts are configured through their
fields only.
"""

import io
import time
from datetime import timedelta
from unittest.mock import patch

from odoo import fields
from odoo.tests import HttpCase, freeze_time, tagged

from odoo.addons.call_recording.lib.audio import synth_call_wav
from odoo.addons.call_recording.lib.providers import http as http_lib
from odoo.addons.call_recording.models import evidence

from .common import sha256
from .provider_common import CREDENTIALS, ProviderCommon

#: the path of each provider's recording downloads on its fake
MEDIA = {"twilio": "/Recordings/", "aircall": "/s3/", "zadarma": "/download/"}


class ImportCase(ProviderCommon):
    def setUp(self):
        super().setUp()
        # quick retries against the fakes (the backoff is no part of these tests)
        patcher = patch.object(http_lib, "DEFAULT_BACKOFF", 0.001)
        patcher.start()
        self.addCleanup(patcher.stop)
        self.audio = synth_call_wav(3, seed=21)

    def add(self, code, **values):
        """A call whose recording is ``audio`` (3 s) unless ``values`` say otherwise."""
        return self.add_call(code, **{"audio": self.audio, **values})

    def make_due(self, provider):
        """What the next scheduled runs would find due (the backoff has passed)."""
        evidence.writer(self.calls_of(provider)).write({"import_next_try": False})

    def softphone_call(self):
        """Twilio: agent alice calls the customer from her softphone through the line."""
        values = {"direction": "outbound", "caller": "+3615550100", "callee": "+36309012345"}
        return self.add("twilio", agent_id="alice", **values)

    def assert_failed_then_whole(self, provider, ext, reason):
        """The download of ``ext`` failed for ``reason`` and waits; the next run
        (its back-off passed) stores the recording whole."""
        call = self.call_of(provider, ext)
        self.assertEqual(call.recording_status, "pending")
        self.assertIn(reason, call.import_error)
        self.make_due(provider)
        self.sync(provider)
        self.assertCallImported(call, provider=provider, audio=self.audio)

    def assert_only_whole_recordings(self, provider, expected):
        """No call is ``available`` unless its file is byte-identical to the provider's."""
        for call in self.calls_of(provider).filtered(lambda c: c.recording_status == "available"):
            attachment = call.sudo()._get_audio_attachment()
            self.assertEqual(attachment.raw, expected[call.external_id], call.external_id)
            self.assertEqual(call.audio_sha256, sha256(expected[call.external_id]))


@tagged("post_install", "-at_install")
class TestTwilioLegs(ImportCase):
    def test_softphone_outbound_call_is_one_outbound_call(self):
        """Point 2: parent leg from client:alice, <Dial> child to the customer."""
        provider, fake = self.providers["twilio"], self.fakes["twilio"]
        line = self.env["call.recording.line"].create(
            {
                "name": "Sales",
                "number": "+3615550100",
                "policy": "legal",
                "company_id": self.company.id,
            }
        )
        provider.line_ids = line
        self._map_agent(provider, "alice", self.agent_a)
        ext = self.softphone_call()
        log = self.sync(provider)
        self.assertEqual(log.state, "done", log.error)
        # one call: the <Dial> leg is no call of its own
        self.assertCallImported(
            self.calls_of(provider),
            provider=provider,
            audio=self.audio,
            external_id=ext,
            direction="outbound",
            external_number_e164="+36309012345",
            line_number_e164="+3615550100",
            partner_id=self.customer,
            user_id=self.agent_a,
            line_id=line,
            legal_basis="legal",
        )
        # the recording status callback names the parent: the same call
        self.assertEqual(fake.webhook_payload(ext)["CallSid"], ext)

    def test_inbound_call_put_through_to_an_agent(self):
        provider = self.providers["twilio"]
        self._map_agent(provider, "bob", self.agent_b)
        ext = self.add("twilio", agent_id="bob")
        self.sync(provider)
        call = self.calls_of(provider)
        self.assertEqual(call.external_id, ext)
        self.assertEqual((call.direction, call.user_id), ("inbound", self.agent_b))
        self.assertEqual(call.external_number_e164, "+36309012345")

    def test_withheld_number_is_anonymous(self):
        """Point 5: Twilio's +266696687 is no caller number."""
        provider = self.providers["twilio"]
        self.add("twilio", caller=None)
        self.sync(provider)
        call = self.calls_of(provider)
        self.assertFalse(call.caller_number)
        self.assertFalse(call.external_number_e164)
        self.assertFalse(call.partner_id)


@tagged("post_install", "-at_install")
class TestShortDownloads(ImportCase):
    """Point 3: a recording cut short is a failed download, never ``available``."""

    def test_connection_lost_mid_body(self):
        for code, provider in self.providers.items():
            with self.subTest(provider=code):
                fake = self.fakes[code]
                ext = self.add(code)
                fake.truncate_next(count=1, path_contains=MEDIA[code], keep=0.6)
                log = self.sync(provider)
                call = self.call_of(provider, ext)
                self.assertEqual(call.recording_status, "pending")
                self.assertFalse(call.sudo()._get_audio_attachment())
                self.assertIn("ended after", call.import_error)
                self.assertEqual(call.import_attempts, 1)
                self.assertTrue(call.import_next_try, "retried with back-off")
                self.assertEqual(log.audio_failed, 1)
                self.assertIn("incomplete", call.message_ids[:1].body)
                self.make_due(provider)
                self.sync(provider)
                self.assertCallImported(call, provider=provider, audio=self.audio)
                self.assertFalse(call.import_error)

    def test_short_body_with_a_matching_length(self):
        """A partial object served as whole: the WAV header and the provider's
        duration tell."""
        for code, provider in self.providers.items():
            with self.subTest(provider=code):
                fake = self.fakes[code]
                ext = self.add(code)
                fake.short_next(count=1, path_contains=MEDIA[code], keep=0.5)
                self.sync(provider)
                self.assert_failed_then_whole(provider, ext, "incomplete")

    def test_twilio_duration_is_checked(self):
        """A whole, valid file, but shorter than the recording Twilio reports."""
        provider, fake = self.providers["twilio"], self.fakes["twilio"]
        ext = self.add("twilio")
        fake.fail_next(
            status=200,
            body=synth_call_wav(1, seed=5),
            headers={"Content-Type": "audio/x-wav"},
            path_contains=f"/Recordings/RE{ext[2:]}.mp3",
        )
        self.sync(provider)
        self.assertEqual(self.call_of(provider, ext).provider_recording_duration, 3)
        self.assert_failed_then_whole(provider, ext, "3 s")

    def test_retry_download_completes_a_short_stored_copy(self):
        """A copy cut short before downloads were checked: Retry Download fixes it."""
        provider = self.providers["twilio"]
        ext = self.add("twilio")
        same = self.add("twilio", start=self.ago(hours=2))
        other = self.add("twilio", start=self.ago(hours=3))
        self.sync(provider)
        short, whole, changed = (self.call_of(provider, e) for e in (ext, same, other))
        short.sudo()._set_audio_stream(io.BytesIO(self.audio[: len(self.audio) // 2]))
        changed.sudo()._set_audio_stream(io.BytesIO(synth_call_wav(3, seed=99)))
        changed_sha = changed.audio_sha256
        calls = short | whole | changed
        calls.with_user(self.manager).action_retry_download()
        self.assertTrue(all(calls.mapped("import_verify")))
        self.assertEqual(set(calls.mapped("recording_status")), {"available"})
        self.sync(provider)
        self.assertEqual(short.audio_sha256, sha256(self.audio))
        self.assertIn("cut short", short.message_ids[:1].body)
        self.assertEqual(whole.audio_sha256, sha256(self.audio))
        self.assertIn("identical", whole.message_ids[:1].body)
        self.assertEqual(changed.audio_sha256, changed_sha, "a different copy is not replaced")
        self.assertIn("differs", changed.import_error)
        self.assertFalse(any(calls.mapped("import_verify")))


@tagged("post_install", "-at_install")
class TestRateLimit(ImportCase):
    """Point 4: the provider's quota is waited for by the job, not by a click."""

    def setUp(self):
        super().setUp()
        fake = self.fakes["aircall"]
        self.addCleanup(setattr, fake, "rate_limit_per_minute", fake.rate_limit_per_minute)
        self.addCleanup(setattr, fake, "time_source", None)

    def test_sync_now_returns_and_leaves_the_rest_to_the_job(self):
        provider, fake = self.providers["aircall"], self.fakes["aircall"]
        fake.rate_limit_per_minute = 4
        ids = [self.add("aircall", start=self.ago(minutes=10 * i)) for i in range(1, 7)]
        sleeps = []
        with patch("time.sleep", side_effect=sleeps.append):
            result = provider.action_sync_now()
        self.assertFalse([s for s in sleeps if s >= 1], "the click waited for the quota")
        log = provider.sync_log_ids[:1]
        self.assertEqual(log.state, "limited")
        self.assertEqual(result["params"]["type"], "warning")
        self.assertIn("quota", result["params"]["message"])
        self.assertEqual(provider.state, "ok")
        cron = self.env.ref("call_recording.ir_cron_call_recording_provider_sync")
        trigger = self.env["ir.cron.trigger"].search([("cron_id", "=", cron.id)])
        self.assertTrue(trigger, "the job is woken for when the quota is back")
        calls = self.calls_of(provider)
        # nothing was given up or put off by minutes: still due for the job
        self.assertFalse(calls.filtered(lambda c: c.recording_status == "failed"))
        self.assertFalse(calls.filtered("import_next_try"))
        # the quota is renewed: the next run of the job takes the rest
        fake.reset_faults()
        fake._reset_limits()
        fake.rate_limit_per_minute = 1000
        log = self.sync(provider)
        self.assertEqual(log.state, "done", log.error)
        self.assertEqual(set(self.calls_of(provider).mapped("external_id")), set(ids))
        self.assertEqual(set(self.calls_of(provider).mapped("recording_status")), {"available"})

    def test_the_job_waits_for_the_reset_in_every_thread(self):
        """Quota used up mid-run: every download waits for X-AircallApi-Reset."""
        provider, fake = self.providers["aircall"], self.fakes["aircall"]
        fake.rate_limit_per_minute = 5
        ids = [self.add("aircall", start=self.ago(minutes=5 * i)) for i in range(1, 13)]
        waited = []
        real_sleep = time.sleep
        with freeze_time(fields.Datetime.now()) as frozen:

            def sleep(seconds):
                # a thread that waits really waits (a little), and the minute
                # passes only when it is over: the other threads are still in it
                waited.append(seconds)
                real_sleep(min(seconds, 60) / 400)
                frozen.tick(timedelta(seconds=seconds))

            with patch("time.sleep", side_effect=sleep):
                log = self.sync(provider)
        self.assertEqual(log.state, "done", log.error)
        calls = self.calls_of(provider)
        self.assertEqual(set(calls.mapped("external_id")), set(ids))
        self.assertEqual(set(calls.mapped("recording_status")), {"available"})
        self.assertEqual(log.audio_downloaded, len(ids))
        self.assertFalse(calls.filtered("import_attempts"), "a recording was postponed")
        # at most the requests already on their way when the quota ran out
        self.assertLessEqual(fake.refused, 4 * (len(ids) // 5 + 1))
        self.assertGreater(sum(waited), 30, "never waited for the reset")


@tagged("post_install", "-at_install")
class TestSmallerPoints(ImportCase):
    def test_region_from_the_lines_when_the_company_has_no_country(self):
        """Point 5: national 06 numbers of a company without a country, lines +36."""
        company = self.env["res.company"].create({"name": "Új Kft."})
        self.assertFalse(company.country_id)
        line = self.env["call.recording.line"].create(
            {"name": "Main", "number": "+3615550777", "company_id": company.id}
        )
        provider = self.providers["zadarma"]
        provider.write({"company_id": company.id, "line_ids": [fields.Command.set(line.ids)]})
        self.add("zadarma", caller="06 30 901 2345", callee="06 1 555 0777")
        self.sync(provider)
        call = self.calls_of(provider)
        self.assertEqual(call.external_number_e164, "+36309012345")
        self.assertEqual(call.line_number_e164, "+3615550777")
        self.assertEqual(call.line_id, line)

    def test_aircall_recording_still_processing_is_read_again(self):
        """Point 5: the recording comes after the call left the overlap."""
        provider, fake = self.providers["aircall"], self.fakes["aircall"]
        ext = self.add("aircall", start=self.ago(hours=4), recording_ready=False)
        self.sync(provider)
        call = self.calls_of(provider)
        self.assertEqual(call.recording_status, "none")
        self.assertTrue(call.import_recheck_until)
        # the provider finishes it later; the call is out of the next runs' windows
        fake.set_recording_ready(ext, audio=self.audio)
        self.make_due(provider)
        self.sync(provider)
        self.assertCallImported(call, provider=provider, audio=self.audio)
        self.assertFalse(call.import_recheck_until)

    def test_aircall_recording_that_never_comes_is_let_go(self):
        provider = self.providers["aircall"]
        self.add("aircall", start=self.ago(hours=4), audio=None)
        self.sync(provider)
        call = self.calls_of(provider)
        self.assertTrue(call.import_recheck_until)
        evidence.writer(call).import_recheck_until = fields.Datetime.now()
        self.make_due(provider)
        self.sync(provider)
        self.assertFalse(call.import_recheck_until)
        self.assertEqual(call.recording_status, "none")
        # a missed call is not awaited at all
        missed = self.add("aircall", start=self.ago(hours=3), audio=None, state="missed")
        self.sync(provider)
        self.assertFalse(self.call_of(provider, missed).import_recheck_until)


@tagged("post_install", "-at_install")
class TestTwilioWebhookLegs(HttpCase, ImportCase):
    def test_recording_callback_of_a_softphone_call_signed_by_the_sdk(self):
        """The recordingStatusCallback names the parent leg: one outbound call."""
        from twilio.request_validator import RequestValidator  # noqa: PLC0415

        provider, fake = self.providers["twilio"], self.fakes["twilio"]
        ext = self.softphone_call()
        url = f"{self.base_url()}/call_recording/webhook/twilio/{provider.sudo().webhook_key}"
        form = fake.webhook_payload(ext)
        signature = RequestValidator(CREDENTIALS["twilio"]["secret"]).compute_signature(url, form)
        response = self.url_open(url, data=form, headers={"X-Twilio-Signature": signature})
        self.assertEqual(response.status_code, 200)
        provider._sync(trigger="webhook")
        call = self.calls_of(provider)
        self.assertCallImported(
            call,
            provider=provider,
            audio=self.audio,
            external_id=ext,
            direction="outbound",
            external_number_e164="+36309012345",
        )
        # a forged signature is refused, as the SDK refuses it
        forged = dict(form, CallSid=fake.child_sid(ext))
        self.assertFalse(
            RequestValidator(CREDENTIALS["twilio"]["secret"]).validate(url, forged, signature)
        )
        response = self.url_open(url, data=forged, headers={"X-Twilio-Signature": signature})
        self.assertEqual(response.status_code, 403)
