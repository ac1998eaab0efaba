"""A whole simulated day and night of each provider, run by the import job as installed.

The clock is Odoo's ``freeze_time``, moved by 15 minutes from one run of
the job to the next (the job's interval), so the fakes' "now" moves with
it: a call appears once it has started, is in progress until it ends, and
its recording is ready some minutes (sometimes hours) after.  Sleeps
(retries, rate limits) move the clock instead of waiting.
"""

import random
from datetime import UTC, datetime, timedelta
from unittest.mock import patch
from zoneinfo import ZoneInfo

from odoo import SUPERUSER_ID
from odoo.tests import freeze_time, tagged

from odoo.addons.call_recording.lib.audio import synth_call_wav

from .common import sha256
from .provider_common import CREDENTIALS
from .test_import_providers import MEDIA, ImportCase

BUDAPEST = ZoneInfo("Europe/Budapest")
#: the listing request of each provider's fake
LISTING = {"twilio": "/Calls.json", "aircall": "/v1/calls", "zadarma": "/v1/statistics/pbx/"}


class SimulatedClock(ImportCase):
    """Runs of the import job at a controlled "now"; sleeps move the clock."""

    def run_job(self, frozen, moment):
        frozen.move_to(moment)
        cron = self.env.ref("call_recording.ir_cron_call_recording_provider_sync")
        # the job's own code, as the scheduler runs it (as its user). With
        # call_recording_queue installed it enqueues a job per account:
        # queue_job's no-delay key runs them here, in this test's transaction
        # (without queue_job the key means nothing).
        action = cron.ir_actions_server_id.with_user(cron.user_id or SUPERUSER_ID)
        with self.enter_registry_test_mode():
            action.with_context(queue_job__no_delay=True).run()
        self.env.invalidate_all()

    def patch_sleep(self, frozen):
        patcher = patch("time.sleep", side_effect=lambda s: frozen.tick(timedelta(seconds=s)))
        patcher.start()
        self.addCleanup(patcher.stop)

    def assert_each_call_once_and_whole(self, provider, expected, with_audio):
        calls = self.calls_of(provider)
        ids = calls.mapped("external_id")
        self.assertEqual(len(ids), len(set(ids)), "a call was imported twice")
        self.assertEqual(set(ids), set(expected), "a call is missing")
        for call in calls:
            if call.external_id in with_audio:
                self.assertEqual(call.recording_status, "available", call.external_id)
                data = call.sudo()._get_audio_attachment().raw
                self.assertEqual(data, expected[call.external_id], call.external_id)
                self.assertEqual(call.audio_sha256, sha256(expected[call.external_id]))
            else:
                self.assertNotEqual(call.recording_status, "available", call.external_id)


@tagged("post_install", "-at_install")
class TestADayAndANight(SimulatedClock):
    def test_every_call_of_a_day_and_night_exactly_once_with_its_recording(self):
        # Budapest's 27 November (from 23:00 UTC the day before) and UTC's,
        # with a call in every hour of both
        start = datetime(2026, 11, 26, 23, 0, tzinfo=UTC)
        end = datetime(2026, 11, 28, 0, 0, tzinfo=UTC)
        self.assertEqual(start.astimezone(BUDAPEST).hour, 0)
        rng = random.Random(12)
        expected = {code: {} for code in self.providers}
        with_audio = {code: set() for code in self.providers}
        for code, provider in self.providers.items():
            provider.write({"sync_start": start.replace(tzinfo=None), "sync_cursor": False})
            fake = self.fakes[code]
            moment, index = start, 0
            while moment < end:
                for minute, second in ((0, 0), (rng.randint(1, 58), rng.randint(0, 59))):
                    begin = moment + timedelta(minutes=minute, seconds=second)
                    index += 1
                    direction = "inbound" if index % 3 else "outbound"
                    customer = f"+3630{1000000 + index:07d}"
                    answered = index % 7 != 0
                    audio = synth_call_wav(1, seed=index) if answered else None
                    # ready a few minutes after the end; now and then hours later
                    delay = rng.choice([0, 60, 300, 900]) if index % 11 else 3 * 3600
                    ext = fake.add_call(
                        start=begin,
                        direction=direction,
                        caller=customer if direction == "inbound" else "+3615550100",
                        callee="+3615550100" if direction == "inbound" else customer,
                        duration=rng.randint(20, 600) if answered else 0,
                        state="answered" if answered else "missed",
                        audio=audio,
                        recording_delay=delay,
                        agent_id=f"{100 + index % 4}",
                        agent_email=f"agent{index % 4}@example.com",
                    )
                    expected[code][ext] = audio
                    if audio is not None:
                        with_audio[code].add(ext)
                moment += timedelta(hours=1)
            self.assertGreaterEqual(len(expected[code]), 2 * 25)
        with freeze_time(start) as frozen:
            self.patch_sleep(frozen)
            moment = start
            while moment <= end + timedelta(hours=8):
                self.run_job(frozen, moment)
                moment += timedelta(minutes=15)
        for code, provider in self.providers.items():
            with self.subTest(provider=code):
                self.assert_each_call_once_and_whole(provider, expected[code], with_audio[code])
                # at every hour, in both time zones
                starts = self.calls_of(provider).mapped("start_datetime")
                hours_utc = {s.replace(tzinfo=UTC).hour for s in starts}
                hours_local = {s.replace(tzinfo=UTC).astimezone(BUDAPEST).hour for s in starts}
                self.assertEqual(hours_utc, set(range(24)))
                self.assertEqual(hours_local, set(range(24)))
                self.assertFalse(provider.issue_ids, provider.issue_ids.mapped("reason"))


@tagged("post_install", "-at_install")
class TestProviderFaults(SimulatedClock):
    """Each fault, each provider: nothing stored short, nothing lost after the next runs."""

    FAULTS = (
        "server_error",
        "429_with_retry_after",
        "429_without_retry_after",
        "quota_used_up_mid_run",
        "malformed_page",
        "truncated_body",
        "dropped_connection",
        "expired_link",
    )

    def inject(self, fault, code, fake):
        """Arm ``fault``; return what undoes it for the next runs (or None)."""
        if fault == "server_error":
            fake.fail_next(status=500, count=6, path_contains=LISTING[code])
            fake.fail_next(status=503, count=6, path_contains=MEDIA[code])
        elif fault == "429_with_retry_after":
            fake.fail_next(status=429, count=2, headers={"Retry-After": "3"})
        elif fault == "429_without_retry_after":
            fake.fail_next(status=429, count=8, path_contains=LISTING[code])
        elif fault == "quota_used_up_mid_run":
            if code == "twilio":
                return "skip"  # Twilio sends no quota headers (its 429s are above)
            old = fake.rate_limit_per_minute
            fake.rate_limit_per_minute = 3
            return lambda: setattr(fake, "rate_limit_per_minute", old)
        elif fault == "malformed_page":
            fake.malformed_next(count=1, path_contains=LISTING[code])
        elif fault == "truncated_body":
            fake.truncate_next(count=2, path_contains=MEDIA[code], keep=0.4)
        elif fault == "dropped_connection":
            fake.drop_next(count=3, path_contains=LISTING[code])
            fake.drop_next(count=3, path_contains=MEDIA[code])
        elif fault == "expired_link":
            if code == "twilio":
                return "skip"  # Twilio's media URLs do not expire
            fake.expire_links_after(0)
            return lambda: fake.expire_links_after(600)
        return None

    def test_faults_of_each_provider(self):
        now = datetime.now(UTC).replace(microsecond=0)
        for code, template in self.providers.items():
            fake = self.fakes[code]
            for fault in self.FAULTS:
                with self.subTest(provider=code, fault=fault):
                    fake.reset()
                    provider = template.copy(
                        {
                            "name": f"{code} {fault}",
                            "sync_start": (now - timedelta(hours=6)).replace(tzinfo=None),
                            **CREDENTIALS[code],
                        }
                    )
                    self.providers_in_job(provider)
                    expected, with_audio = {}, set()
                    for index in range(4):
                        audio = synth_call_wav(1, seed=100 + index)
                        ext = fake.add_call(
                            start=now - timedelta(hours=3) + timedelta(minutes=20 * index),
                            direction="inbound",
                            caller=f"+3630777{index:04d}",
                            callee="+3615550100",
                            duration=40,
                            audio=audio,
                        )
                        expected[ext] = audio
                        with_audio.add(ext)
                    undo = self.inject(fault, code, fake)
                    if undo == "skip":
                        provider.active = False
                        continue
                    with freeze_time(now) as frozen:
                        self.patch_sleep(frozen)
                        self.run_job(frozen, now)
                        # whatever the fault did, nothing is kept short
                        self.assert_only_whole_recordings(provider, expected)
                        fake.reset_faults()
                        if undo:
                            undo()
                        for later in (20, 40, 80):
                            self.run_job(frozen, now + timedelta(minutes=later))
                    self.assert_each_call_once_and_whole(provider, expected, with_audio)
                    provider.active = False

    def providers_in_job(self, provider):
        """Only ``provider`` is synced by the job during the sub-test."""
        self.env["call.recording.provider"].search([("id", "!=", provider.id)]).write(
            {"sync_enabled": False}
        )
        provider.sync_enabled = True
