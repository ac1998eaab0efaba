"""Compliance as a data-protection officer audits it (issue 13) and the
compliance screens (issue 16): every point through the paths users take,
XML-RPC and HTTP as the user concerned, the real cron for purges."""

import contextlib
import hashlib
import io
import json
import os
import zipfile
from datetime import date, datetime, timedelta
from unittest.mock import patch
from xmlrpc import client as xmlrpclib

from odoo import fields
from odoo.exceptions import UserError, ValidationError
from odoo.tests import Form, freeze_time, new_test_user, tagged
from odoo.tools import mute_logger

from odoo.addons.call_recording.lib.audio import synth_call_wav
from odoo.addons.call_recording.models import evidence

from .test_security import MUTED, AttackCommon

NEWS_LINE = "+3615550200"
SERVICE_LINE = "+3615550100"


class AuditCommon(AttackCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.admin = cls.env.ref("base.user_admin")
        cls.admin.company_ids |= cls.company
        cls.customer.write({"email": "gabor.toth@example.com", "tz": "Europe/Budapest"})

    def purge_logs(self, call_or_reference):
        reference = getattr(call_or_reference, "name", call_or_reference)
        return self.env["call.recording.purge.log"].search([("call_reference", "=", reference)])

    def run_cron(self, xmlid, user=None):
        """The suite's job as the scheduler runs it, or *Run Manually* by ``user``."""
        cron = self.env.ref(xmlid)
        cron.lastcall = False
        self.env.flush_all()
        if user:
            cron.with_user(user).method_direct_trigger()
        else:
            cron.method_direct_trigger()  # as the test's superuser: a scheduled run
        self.env.invalidate_all()


@tagged("post_install", "-at_install")
class TestPurgeLogNamesThePerson(AuditCommon):
    @freeze_time("2026-06-01")
    def test_run_manually_names_who_pressed_the_button(self):
        old = self._line_call(NEWS_LINE, start="2025-01-10 09:00:00")
        reference = old.name
        self.run_cron("call_recording.ir_cron_call_recording_purge", user=self.admin)
        logs = self.purge_logs(reference)
        self.assertEqual(set(logs.mapped("rule")), {"retention", "metadata"})
        self.assertEqual(logs.user_id, self.admin, "not the job's system user")
        # the scheduled run (nobody pressed a button) is the system's
        older = self._line_call(NEWS_LINE, start="2024-01-10 09:00:00")
        reference = older.name
        self.run_cron("call_recording.ir_cron_call_recording_purge")
        self.assertEqual(self.purge_logs(reference).user_id, self.env.ref("base.user_root"))

    def test_refusal_by_the_agent_and_deletion_by_hand(self):
        call = self._line_call(NEWS_LINE)
        self.rpc(self.agent_a, "call.recording", "action_consent_refused", call.ids)
        self.assertPurged(call, "consent", user_id=self.agent_a)
        # deleted by hand, where the rules allow it (an expired consent call)
        with freeze_time("2030-01-01"):
            old = self._line_call(NEWS_LINE, start="2026-01-10 09:00:00", audio=False)
            reference = old.name
            self.rpc(self.admin, "call.recording", "unlink", old.ids)
        self.assertPurged(reference, "manual", what="call", user_id=self.admin)

    def test_refusal_kept_by_a_hold_is_applied_at_its_release(self):
        """GDPR Art. 17(3)(e): the hold wins; the release applies the refusal, logged."""
        call = self.news_call
        hold = self.hold(call)
        self.rpc(self.agent_a, "call.recording", "action_consent_refused", call.ids)
        self.assertEqual((call.consent_state, call.recording_status), ("refused", "available"))
        self.assertFalse(self.purge_logs(call))
        wizard = self.rpc(
            self.manager,
            "call.recording.hold.release",
            "create",
            {"hold_ids": [(6, 0, hold.ids)], "reason": "Settled"},
        )
        self.rpc(self.manager, "call.recording.hold.release", "action_release", [wizard])
        self.assertEqual(call.recording_status, "refused")
        log = self.assertPurged(call, "consent", user_id=self.manager)
        self.assertIn(self.agent_a.name, log.note, "who noted the refusal")

    def test_a_replaced_recording_is_logged_with_its_replacer(self):
        call = self.service_call
        old_sha = call.audio_sha256
        call.with_user(self.admin).sudo()._set_audio_bytes(synth_call_wav(1, seed=901))
        self.assertPurged(call, "replaced", audio_sha256=old_sha, user_id=self.admin)

    def test_the_purge_log_is_evidence(self):
        call = self._line_call(NEWS_LINE)
        call.action_consent_refused()
        log = self.purge_logs(call)
        for user in (self.manager, self.suite_admin, self.admin):
            with self.subTest(user=user.login):
                self.assertRefused(
                    user, "call.recording.purge.log", "write", log.ids, {"user_id": user.id}
                )
                self.assertRefused(user, "call.recording.purge.log", "unlink", log.ids)
                self.assertRefused(
                    user,
                    "call.recording.purge.log",
                    "create",
                    {
                        "call_reference": "CR/FAKE/1",
                        "company_id": self.company.id,
                        "rule": "retention",
                        "what": "audio",
                    },
                )
        with self.assertRaises(Exception):  # noqa: B017 - any refusal will do
            self.env["call.recording.purge.log"].sudo().create(
                {
                    "call_reference": "CR/FAKE/2",
                    "company_id": self.company.id,
                    "rule": "retention",
                    "what": "audio",
                }
            )
        self.assertFalse(self.purge_logs("CR/FAKE/1") | self.purge_logs("CR/FAKE/2"))


@tagged("post_install", "-at_install")
class TestConsentAudit(AuditCommon):
    def test_standing_refusal_erases_earlier_consent_recordings(self):
        """Withdrawal of consent (Art. 7(3), 17(1)(b)): a button, the list, logged."""
        consent_a = self._line_call(NEWS_LINE, start="2026-01-10 09:00:00")
        consent_b = self._line_call(NEWS_LINE, start="2026-02-10 09:00:00", agent=self.agent_b)
        service = self.service_call
        self.rpc(
            self.manager,
            "res.partner",
            "write",
            self.customer.ids,
            {"call_recording_refused": True},
        )
        # the standing refusal applies to calls as they arrive only
        self.assertEqual(consent_a.recording_status, "available")
        # agents cannot erase
        self.assertRefused(
            self.agent_a, "res.partner", "action_erase_consent_recordings", self.customer.ids
        )
        self.assertRefused(
            self.agent_a,
            "call.recording.consent.erase",
            "create",
            {"partner_id": self.customer.id},
        )
        action = self.rpc(
            self.manager, "res.partner", "action_erase_consent_recordings", self.customer.ids
        )
        wizard_id = action["res_id"]
        listed = self.rpc(
            self.manager, "call.recording.consent.erase", "read", [wizard_id], ["call_ids"]
        )[0]["call_ids"]
        self.assertEqual(set(listed), set((consent_a | consent_b | self.news_call).ids))
        # the client cannot slip another call in: the list is the server's
        # (refused outright, or ignored: either way the list stays the server's)
        with mute_logger(*MUTED), contextlib.suppress(xmlrpclib.Fault):
            self.rpc(
                self.manager,
                "call.recording.consent.erase",
                "write",
                [wizard_id],
                {"call_ids": [(4, service.id)]},
            )
        self.rpc(self.manager, "call.recording.consent.erase", "action_erase", [wizard_id])
        for call in consent_a | consent_b | self.news_call:
            self.assertEqual(call.recording_status, "refused", call.name)
            log = self.assertPurged(call, "consent", user_id=self.manager)
            self.assertIn("withdrawn", log.note)
        self.assertEqual(service.recording_status, "available", "kept by legal obligation")
        note = self.customer.message_ids.filtered(lambda m: consent_a.name in (m.body or ""))
        self.assertTrue(note, "the erasure is noted on the customer")

    def test_consent_not_noted_in_time_loses_the_audio(self):
        self.news_line.consent_deadline_hours = 24
        with freeze_time("2026-03-02 10:00:00"):
            late = self._line_call(NEWS_LINE, start="2026-03-02 09:00:00")
            given = self._line_call(NEWS_LINE, start="2026-03-02 09:00:00")
            held = self._line_call(NEWS_LINE, start="2026-03-02 09:00:00", agent=self.agent_b)
            self.assertEqual(late.consent_deadline, datetime(2026, 3, 3, 9, 0))
            self.rpc(self.agent_a, "call.recording", "action_consent_given", given.ids)
            hold = self.hold(held)
        with freeze_time("2026-03-03 08:00:00"):
            self.run_cron("call_recording.ir_cron_call_recording_purge")
            self.assertEqual(late.recording_status, "available", "not yet")
        with freeze_time("2026-03-03 10:00:00"):
            self.run_cron("call_recording.ir_cron_call_recording_purge", user=self.admin)
            self.assertEqual(late.recording_status, "no_consent")
            self.assertFalse(late._get_audio_attachment())
            self.assertPurged(late, "consent_missing", user_id=self.admin)
            self.assertEqual(given.recording_status, "available")
            self.assertEqual(held.recording_status, "available", "the hold wins")
            # audio that comes late is not kept either
            with self.assertRaisesRegex(UserError, "consent"):
                late._set_audio_bytes(self.audio_bytes)
            self.assertFalse(late._may_keep_audio())
            hold.with_user(self.manager).action_release(reason="Done")
            self.run_cron("call_recording.ir_cron_call_recording_purge")
            self.assertEqual(held.recording_status, "no_consent")

    def test_unlisted_lines_follow_an_explicit_choice_shown_on_the_dashboard(self):
        company = self.company
        company.call_recording_default_policy = False
        call = self._line_call("+3615559999", start=fields.Datetime.to_string(datetime.now()))
        self.assertEqual(call.legal_basis, "legal", "kept until the choice is made")
        Report = self.env["call.recording.report"].with_user(self.manager)
        figures = Report.get_dashboard_data("month", 0)["compliance"]["unconfigured_lines"]
        self.assertEqual(figures["count"], 1)
        self.assertEqual(figures["numbers"], ["+36 1 555 9999"])
        self.assertFalse(figures["chosen"])
        # the administrator chooses it in the settings: who and when are kept
        settings = (
            self.env["res.config.settings"]
            .with_user(self.admin)
            .with_company(company)
            .create({"call_recording_default_policy": "consent"})
        )
        settings.execute()
        self.assertEqual(company.call_recording_default_policy, "consent")
        self.assertEqual(company.call_recording_default_policy_user_id, self.admin)
        self.assertTrue(company.call_recording_default_policy_date)
        later = self._line_call("+3615559999", start=fields.Datetime.to_string(datetime.now()))
        self.assertEqual(later.legal_basis, "consent")
        figures = Report.get_dashboard_data("month", 0)["compliance"]["unconfigured_lines"]
        self.assertEqual((figures["count"], figures["chosen"]), (1, True))
        self.assertEqual(figures["policy"], "With consent")
        # every active line configured: the figure goes (the calls keep what applied)
        self.env["call.recording.line"].create(
            {"name": "Új vonal", "number": "+36 1 555 9999", "company_id": company.id}
        )
        figures = Report.get_dashboard_data("month", 0)["compliance"]["unconfigured_lines"]
        self.assertEqual(figures["count"], 0)
        self.assertEqual(later.legal_basis, "consent")
        # managers cannot make the choice
        self.assertRefused(
            self.manager,
            "res.company",
            "write",
            company.ids,
            {"call_recording_default_policy": "none"},
        )


@tagged("post_install", "-at_install")
class TestMetadataRetention(AuditCommon):
    def test_per_line_with_its_purpose_default_as_the_recording(self):
        self.assertEqual(self.news_line.metadata_months_effective, 6, "as the recording")
        self.assertEqual(self.service_line.metadata_months_effective, 60)
        self.news_line.write(
            {"metadata_retention_months": 24, "metadata_purpose": "Sajtóhelyreigazítási ügyek"}
        )
        call = self._line_call(NEWS_LINE, start="2026-01-10 09:00:00")
        self.assertEqual(call.retention_date, date(2026, 7, 10))
        self.assertEqual(call.metadata_retention_date, date(2028, 1, 10))
        with self.assertRaises(ValidationError):
            self.news_line.metadata_retention_months = 3  # before the recording goes
        # the company may keep call data longer than the recordings
        self.company.write(
            {
                "call_recording_metadata_mode": "months",
                "call_recording_metadata_retention_months": 36,
            }
        )
        self.assertEqual(self.service_line.metadata_months_effective, 60)
        self.assertEqual(self.news_line.metadata_months_effective, 24, "the line's own")
        unlisted = self._line_call("+3615559998", start="2026-01-10 09:00:00")
        self.assertEqual(unlisted.metadata_retention_date, date(2031, 1, 10))
        # shown in the settings, with the purpose
        settings = (
            self.env["res.config.settings"]
            .with_user(self.admin)
            .with_company(self.company)
            .create({})
        )
        table = str(settings.call_recording_retention_table)
        self.assertIn("Sajtóhelyreigazítási ügyek", table)
        self.assertIn("Szerkesztőség", table)
        self.assertIn("24", table)
        # only administrators of the suite set it
        self.assertRefused(
            self.manager,
            "call.recording.line",
            "write",
            self.news_line.ids,
            {"metadata_retention_months": 600},
        )


@tagged("post_install", "-at_install")
class TestRequestAudit(AuditCommon):
    def _request(self, **vals):
        request_id = self.rpc(
            self.manager,
            "call.recording.request",
            "create",
            {"partner_id": self.customer.id, **vals},
        )
        return self.env["call.recording.request"].browse(request_id)

    def _customer_login(self):
        return new_test_user(
            self.env,
            login="cr_audit_customer",
            groups="base.group_portal",
            partner_id=self.customer.id,
        )

    def _extension(self, request, notified_date, months="1", reason="x"):
        """The manager's extension wizard for ``request``, created over RPC (its id)."""
        vals = {"months": months, "reason": reason, "notified_date": notified_date}
        vals["request_id"] = request.id
        return self.rpc(self.manager, "call.recording.request.extend", "create", vals)

    def test_one_calendar_month_and_the_extension(self):
        with freeze_time("2026-02-05"):
            request = self._request(received_date="2026-01-31")
            self.assertEqual(request.deadline_date, date(2026, 2, 28))
            # the extension: months, reason and the date the customer was told
            wizard = self._extension(
                request, "2026-02-05", months="2", reason="Sok kérés egyszerre"
            )
            self.rpc(self.manager, "call.recording.request.extend", "action_extend", [wizard])
            self.assertEqual(
                (request.extension_months, request.deadline_date, request.extension_notified_date),
                (2, date(2026, 4, 28), date(2026, 2, 5)),
            )
            self.assertEqual(request.extension_reason, "Sok kérés egyszerre")
            self.assertEqual(request.activity_ids.date_deadline, date(2026, 4, 28))
            # never more than two further months
            more = self._extension(request, "2026-02-05")
            fault = self.assertRefused(
                self.manager, "call.recording.request.extend", "action_extend", [more]
            )
            self.assertIn("two further months", fault)
            # the extension fields are evidence
            for vals in ({"extension_months": 0}, {"deadline_date": "2027-01-01"}):
                self.assertRefused(
                    self.manager, "call.recording.request", "write", request.ids, vals
                )
        with freeze_time("2026-03-05"):
            late = self._request(received_date="2026-02-01")
            wizard = self._extension(late, "2026-03-05")
            fault = self.assertRefused(
                self.manager, "call.recording.request.extend", "action_extend", [wizard]
            )
            self.assertIn("within one month", fault)
            self.assertFalse(late.extension_months)
            self.assertRefused(
                self.agent_a,
                "call.recording.request.extend",
                "create",
                {"request_id": late.id, "months": "1", "reason": "x"},
            )

    def test_link_needs_a_login_invites_and_reaches_the_customer(self):
        request = self._request()
        self.rpc(self.manager, "call.recording.request", "action_check_identity", request.ids)
        # no portal login: the link could not be opened, nothing is handed over
        fault = self.assertRefused(
            self.manager, "call.recording.request", "action_share_link", request.ids
        )
        self.assertIn("portal", fault)
        self.assertEqual(request.state, "identity_checked")
        self.assertFalse(request.link_expiry)
        # agents do not invite; managers invite the request's customer
        self.assertRefused(
            self.agent_a, "call.recording.request", "action_invite_to_portal", request.ids
        )
        self.rpc(self.manager, "call.recording.request", "action_invite_to_portal", request.ids)
        user = self.customer.user_ids
        self.assertEqual(len(user), 1)
        self.assertTrue(user.share and user._is_portal())
        self.assertEqual(request.customer_user_id, user)
        fault = self.assertRefused(
            self.manager, "call.recording.request", "action_invite_to_portal", request.ids
        )
        self.assertIn("already", fault)
        # never a portal login for an employee (a request naming a colleague)
        colleague = self.agent_b.partner_id
        colleague.email = "agent.b@example.com"
        staff_request = self._request(partner_id=colleague.id)
        fault = self.assertRefused(
            self.manager, "call.recording.request", "action_invite_to_portal", staff_request.ids
        )
        self.assertIn("employee", fault)
        self.assertFalse(self.agent_b.share)
        self.assertEqual(colleague.user_ids, self.agent_b)
        # the mail server refuses the e-mail: not handed over, the link does not open
        MailServer = type(self.env["ir.mail_server"])
        with (
            # e-mails are really sent here (tests skip them), to a server that refuses
            patch.object(MailServer, "_disable_send", return_value=False),
            patch.object(MailServer, "_connect__", side_effect=ConnectionRefusedError("SMTP down")),
            mute_logger("odoo.addons.mail.models.mail_mail"),
        ):
            answer = self.rpc(
                self.manager, "call.recording.request", "action_share_link", request.ids
            )
        self.assertEqual(answer["params"]["type"], "danger")
        self.assertEqual(request.state, "identity_checked")
        self.assertFalse(request.link_expiry)
        self.assertFalse(request._check_token(request._make_token()))
        # sent: handed over, the expiry in the customer's time with its zone
        with freeze_time("2026-03-02 10:00:00"):
            self.rpc(self.manager, "call.recording.request", "action_share_link", request.ids)
        self.assertEqual(request.state, "delivered")
        self.assertEqual(request.link_expiry, datetime(2026, 3, 9, 10, 0))
        # the latest message carries the link that was sent (the failed one before it)
        sent = request.message_ids.filtered(lambda m: "/download?token=" in (m.body or ""))[:1]
        self.assertIn("2026-03-09 11:00 CET (UTC+01:00)", sent.body)
        self.assertIn(user.login, sent.body)
        self.assertEqual(sent.notification_ids.res_partner_id, self.customer)
        failed = request.message_ids.filtered(lambda m: "SMTP down" in (m.body or ""))
        self.assertTrue(failed, "the failure is noted on the request")

    def test_link_lifetime_capped_by_the_company(self):
        self.assertEqual(self.company.call_recording_link_max_days, 7)
        fault = self.assertRefused(
            self.manager,
            "call.recording.request",
            "create",
            {"partner_id": self.customer.id, "link_days": 30},
        )
        self.assertIn("7", fault)
        request = self._request(link_days=3)
        for vals in ({"link_days": 8}, {"link_days": 0}, {"link_expiry": "2099-01-01 00:00:00"}):
            with self.subTest(vals=vals):
                self.assertRefused(
                    self.manager, "call.recording.request", "write", request.ids, vals
                )
        for vals in ({"call_recording_link_max_days": 365},):
            self.assertRefused(self.manager, "res.company", "write", self.company.ids, vals)
            self.assertRefused(self.suite_admin, "res.company", "write", self.company.ids, vals)
        self.assertRefused(
            self.manager, "res.config.settings", "create", {"call_recording_link_max_days": 365}
        )
        self.assertEqual(self.company.call_recording_link_max_days, 7)
        self._customer_login()
        self.rpc(self.manager, "call.recording.request", "action_check_identity", request.ids)
        with freeze_time("2026-03-02 10:00:00"):
            self.rpc(self.manager, "call.recording.request", "action_share_link", request.ids)
        self.assertEqual(request.link_expiry, datetime(2026, 3, 5, 10, 0))

    def test_handover_metadata_and_package_lifetime(self):
        self._customer_login()
        # a call reserved (announced) at its start, delivered by a PBX
        evidence.writer(self.service_call).write(
            {"external_id": "1763627400.17", "reserved_date": "2026-01-10 08:59:58"}
        )
        request = self._request()
        self.rpc(self.manager, "call.recording.request", "action_check_identity", request.ids)
        with freeze_time("2026-03-02 10:00:00"):
            self.rpc(self.manager, "call.recording.request", "action_share_link", request.ids)
        with zipfile.ZipFile(io.BytesIO(request.package_id.raw)) as archive:
            rows = json.loads(archive.read("metadata.json"))["recordings"]
            sheet = archive.read("metadata.csv").decode()
        row = next(r for r in rows if r["reference"] == self.service_call.name)
        self.assertEqual(row["provider_call_id"], "1763627400.17")
        self.assertEqual(row["announced_reference"], self.service_call.name)
        self.assertEqual(row["time_zone"], "Europe/Budapest")
        start = self.service_call.start_datetime
        self.assertEqual(
            row["date"], (start + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S+01:00")
        )
        self.assertIn("provider_call_id", sheet.splitlines()[0])
        other = next(r for r in rows if r["reference"] == self.call_a.name)
        self.assertEqual(other["announced_reference"], "")
        sha = request.package_sha256
        package = request.package_id
        self.assertEqual(request.package_delete_date, request.link_expiry)
        content = [json.loads(line) for line in request.package_content.splitlines()]
        self.assertIn(
            {
                "reference": self.service_call.name,
                "provider_call_id": "1763627400.17",
                "sha256": self.service_call.audio_sha256,
            },
            content,
        )
        # the link expires: the next run of the purge job deletes the package
        with freeze_time("2026-03-09 09:00:00"):
            self.run_cron("call_recording.ir_cron_call_recording_purge")
            self.assertTrue(package.exists(), "still valid")
        with freeze_time("2026-03-09 11:00:00"):
            self.run_cron("call_recording.ir_cron_call_recording_purge")
        self.assertFalse(package.exists())
        self.assertFalse(request.package_id)
        self.assertEqual(request.package_sha256, sha, "the request keeps its SHA-256")
        self.assertTrue(request.package_content)
        self.assertTrue(request.package_deleted_date)

    def test_no_package_outlives_its_recordings(self):
        request = self._request()
        self.rpc(self.manager, "call.recording.request", "action_check_identity", request.ids)
        self.rpc(self.manager, "call.recording.request", "action_send_by_email", request.ids)
        self.assertEqual(request.state, "delivered")
        package = request.package_id
        mail = request.message_ids.filtered(lambda m: package in m.attachment_ids)
        self.assertTrue(mail, "the e-mail carried the package")
        path = package._full_path(package.store_fname)
        # a consent recording in it is refused: the package goes with it, now
        news = request.call_ids.filtered(lambda c: c.legal_basis == "consent")[:1]
        self.assertTrue(news)
        news.with_user(self.agent_a).action_consent_refused()
        self.assertFalse(package.exists())
        self.assertFalse(mail.attachment_ids, "nor on the e-mail")
        self.assertTrue(request.package_sha256)
        self.env.cr.postcommit.run()  # what happens when the deletion is committed
        self.assertFalse(os.path.exists(path), "nor in the filestore")

    def test_email_package_deleted_after_the_company_days(self):
        self.company.call_recording_package_keep_days = 2
        request = self._request()
        self.rpc(self.manager, "call.recording.request", "action_check_identity", request.ids)
        with freeze_time("2026-03-02 10:00:00"):
            self.rpc(self.manager, "call.recording.request", "action_send_by_email", request.ids)
        self.assertEqual(request.package_delete_date, datetime(2026, 3, 4, 10, 0))
        body = request.message_ids.filtered(lambda m: request.package_id in m.attachment_ids).body
        self.assertIn("2026-03-04 11:00 CET (UTC+01:00)", body)
        with freeze_time("2026-03-04 10:30:00"):
            self.run_cron("call_recording.ir_cron_call_recording_purge")
        self.assertFalse(request.package_id)
        self.assertTrue(request.package_deleted_date)


@tagged("post_install", "-at_install")
class TestLegalHoldOnTheCard(AuditCommon):
    def test_marker_button_and_the_calls_it_covers(self):
        self.assertFalse(self.customer.with_user(self.agent_a).call_recording_on_hold)
        action = self.rpc(self.manager, "res.partner", "action_legal_hold", self.customer.ids)
        self.assertEqual(action["context"]["default_partner_id"], self.customer.id)
        self.assertFalse(action.get("res_id"))
        # the form, opened as the button opens it, is prefilled and lists the calls
        form = Form(
            self.env["call.recording.hold"]
            .with_user(self.manager)
            .with_context(**action["context"])
        )
        self.assertEqual(form.partner_id, self.customer)
        listed = {form.call_ids[index].id for index in range(len(form.call_ids))}
        self.assertEqual(
            listed, set((self.call_a | self.call_b | self.service_call | self.news_call).ids)
        )
        form.name = "Fogyasztóvédelmi panasz"
        hold = form.save()
        self.assertEqual(hold.partner_id, self.customer)
        self.assertIn(self.call_a, hold.call_ids)
        # the marker, for everyone who sees the customer
        self.customer.invalidate_recordset(["call_recording_on_hold"])
        self.assertTrue(self.customer.with_user(self.agent_a).call_recording_on_hold)
        read = self.rpc(
            self.agent_a, "res.partner", "read", self.customer.ids, ["call_recording_on_hold"]
        )
        self.assertTrue(read[0]["call_recording_on_hold"])
        # not for those who do not work with calls (nor the customer's own login)
        for user in (self.internal, self.portal):
            self.assertRefused(
                user, "res.partner", "read", self.customer.ids, ["call_recording_on_hold"]
            )
        # the button now opens that hold
        action = self.rpc(self.manager, "res.partner", "action_legal_hold", self.customer.ids)
        self.assertEqual(action["res_id"], hold.id)
        self.assertRefused(self.agent_a, "res.partner", "action_legal_hold", self.customer.ids)


@tagged("post_install", "-at_install")
class TestHandoverSha(AuditCommon):
    def test_package_content_matches_the_recordings(self):
        request = (
            self.env["call.recording.request"]
            .with_user(self.manager)
            .create({"partner_id": self.customer.id})
        )
        request.action_check_identity()
        request.action_prepare_package()
        rows = [json.loads(line) for line in request.package_content.splitlines()]
        by_reference = {row["reference"]: row["sha256"] for row in rows}
        for call in request.call_ids.filtered("has_audio"):
            self.assertEqual(by_reference[call.name], call.audio_sha256)
        self.assertEqual(request.package_sha256, hashlib.sha256(request.package_id.raw).hexdigest())


@tagged("post_install", "-at_install")
class TestHandoverTour(AuditCommon):
    def test_manager_link_refused_without_a_reachable_customer(self):
        """In Chromium: *Send Download Link* to a customer the link cannot reach."""
        customer_user = new_test_user(
            self.env,
            login="cr_tour_customer",
            groups="base.group_portal",
            partner_id=self.customer.id,
        )
        self.customer.email = False
        request = (
            self.env["call.recording.request"]
            .with_user(self.manager)
            .create({"partner_id": self.customer.id})
        )
        request.action_check_identity()
        self.assertEqual(request.customer_user_id, customer_user)
        self.start_tour(
            f"/odoo/action-call_recording.call_recording_request_action/{request.id}",
            "call_recording_handover_refused_tour",
            login=self.manager.login,
        )
        self.assertEqual(request.state, "identity_checked")
        self.assertFalse(request.link_expiry)
        self.assertFalse(request.delivered_date)
