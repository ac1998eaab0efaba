"""A call as a work item: outcome, tags, follow-up, callback, contact, timed comments."""

from datetime import timedelta

from odoo import fields
from odoo.exceptions import AccessError, UserError
from odoo.tests import HttpCase, freeze_time, tagged

from odoo.addons.call_recording.models import evidence

from .common import CallRecordingCommon


@tagged("post_install", "-at_install")
class TestCallWork(CallRecordingCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.outcome = cls.env["call.recording.outcome"].create({"name": "Resolved"})
        cls.outcome_b = cls.env["call.recording.outcome"].create(
            {"name": "Other company's", "company_id": cls.company_b.id}
        )
        cls.tag = cls.env["call.recording.tag"].create({"name": "Invoice"})

    # -- outcome and tags ------------------------------------------------

    def test_agent_sets_outcome_and_tags_on_own_call(self):
        call = self.call_a.with_user(self.agent_a)
        call.write({"outcome_id": self.outcome.id, "tag_ids": [(4, self.tag.id)]})
        self.assertEqual(self.call_a.outcome_id, self.outcome)
        self.assertEqual(self.call_a.tag_ids, self.tag)
        with self.assertRaises(AccessError):
            self.call_b.with_user(self.agent_a).write({"outcome_id": self.outcome.id})

    def test_agent_creates_tags_but_configures_no_outcome(self):
        tag = self.env["call.recording.tag"].with_user(self.agent_a).create({"name": "VIP"})
        self.assertTrue(tag)
        with self.assertRaises(AccessError):
            tag.with_user(self.agent_a).write({"name": "Renamed"})
        with self.assertRaises(AccessError):
            self.env["call.recording.outcome"].with_user(self.agent_a).create({"name": "Mine"})
        with self.assertRaises(AccessError):
            self.outcome.with_user(self.manager).write({"name": "Renamed"})

    def test_outcomes_stay_in_their_company(self):
        visible = self.env["call.recording.outcome"].with_user(self.agent_a).search([])
        self.assertIn(self.outcome, visible)
        self.assertNotIn(self.outcome_b, visible)
        with self.assertRaises(UserError):
            self.call_a.write({"outcome_id": self.outcome_b.id})

    def test_team_of_the_agent(self):
        team = self.env["crm.team"].create(
            {
                "name": "Front desk",
                "company_id": self.company.id,
                "member_ids": [(6, 0, self.agent_a.ids)],
            }
        )
        call = self._call(self.agent_a, "+36301112222")
        self.assertEqual(call.team_id, team)
        self.assertFalse(self._call(self.agent_b, "+36301112222").team_id)

    # -- missed calls to return ---------------------------------------------

    def _missed(self, agent, number, when, **vals):
        return self._call(agent, number, state="missed", duration=0, start_datetime=when, **vals)

    def test_callback_list(self):
        now = fields.Datetime.now().replace(microsecond=0)
        waiting = self._missed(self.agent_a, "+36301110001", now - timedelta(hours=3))
        returned = self._missed(self.agent_a, "+36301110002", now - timedelta(hours=3))
        # agent B calls the second number back: agent A's missed call is done
        self._call_out(self.agent_b, "+36301110002", now - timedelta(hours=1))
        reached = self._missed(self.agent_a, "+36301110003", now - timedelta(hours=3))
        self._call(self.agent_b, "+36301110003", start_datetime=now - timedelta(hours=2))
        # an outbound call before the missed one does not count
        self._call_out(self.agent_a, "+36301110004", now - timedelta(hours=5))
        before = self._missed(self.agent_a, "+36301110004", now - timedelta(hours=3))
        # a call back in another company does not count
        other = self._missed(self.agent_a, "+36301110005", now - timedelta(hours=3))
        self._call_out(
            self.manager_b, "+36301110005", now - timedelta(hours=1), company=self.company_b
        )
        ours = waiting | returned | reached | before | other
        Call = self.env["call.recording"].with_user(self.agent_a)
        found = Call.search([("id", "in", ours.ids), ("callback_needed", "=", True)])
        self.assertEqual(found, waiting | before | other)
        not_found = Call.search([("id", "in", ours.ids), ("callback_needed", "=", False)])
        self.assertEqual(not_found, returned | reached)
        self.assertEqual(
            [c.callback_needed for c in ours.with_user(self.agent_a)],
            [True, False, False, True, True],
        )
        # answered and outbound calls never wait for a callback
        self.assertFalse(self.call_a.callback_needed)
        # the agent sees only their own calls to return, the manager all
        self.assertFalse(
            self.env["call.recording"]
            .with_user(self.agent_b)
            .search([("id", "in", ours.ids), ("callback_needed", "=", True)])
        )

    # -- follow-up -------------------------------------------------------------

    def test_schedule_follow_up_creates_an_activity(self):
        action = self.call_a.with_user(self.agent_a).action_schedule_follow_up()
        self.assertEqual(action["res_model"], "mail.activity.schedule")
        wizard = (
            self.env["mail.activity.schedule"]
            .with_user(self.agent_a)
            .with_context(**action["context"])
            .create({})
        )
        self.assertEqual(wizard.activity_type_id, self.env.ref("mail.mail_activity_data_call"))
        wizard.action_schedule_activities()
        activity = self.call_a.activity_ids
        self.assertEqual(len(activity), 1)
        self.assertEqual(activity.user_id, self.agent_a)
        self.assertIn(self.customer.name, activity.summary)
        with self.assertRaises(AccessError):
            self.call_b.with_user(self.agent_a).action_schedule_follow_up()

    # -- a contact for an unknown number -------------------------------------------

    def test_create_contact_from_unknown_number(self):
        call = self._call(self.agent_a, "06 30 555 0177")
        self.assertEqual(call.partner_match, "unknown")
        action = call.with_user(self.agent_a).action_create_partner()
        self.assertEqual(action["res_model"], "res.partner")
        self.assertEqual(action["context"]["default_phone"], "+36 30 555 0177")
        partner = (
            self.env["res.partner"]
            .with_user(self.agent_a)
            .with_context(**action["context"])
            .create({"name": "Új Ügyfél"})
        )
        self.assertEqual(partner.phone_sanitized, "+36305550177")
        self.assertEqual(call.partner_id, partner)
        self.assertEqual(call.partner_match, "matched")
        with self.assertRaises(UserError):
            call.with_user(self.agent_a).action_create_partner()
        with self.assertRaises(AccessError):
            self._call(self.agent_b, "06 30 555 0178").with_user(
                self.agent_a
            ).action_create_partner()

    # -- comments pinned to a moment ---------------------------------------------

    def test_timed_comment(self):
        call = self.call_a.with_user(self.agent_a)
        message_id = call.post_timed_comment(75, "Asks <b>the price</b>")
        message = self.env["mail.message"].browse(message_id)
        self.assertEqual(message.subtype_id, self.env.ref("mail.mt_note"))
        self.assertEqual(message.author_id, self.agent_a.partner_id)
        self.assertIn(f'href="/odoo/call.recording/{self.call_a.id}#t=75"', message.body)
        self.assertIn(">1:15</a>", message.body)
        self.assertIn("Asks &lt;b&gt;the price&lt;/b&gt;", message.body, "text is escaped")
        for position, text in ((-1, "x"), ("soon", "x"), (10, "  "), (10, "x" * 2001)):
            with self.assertRaises(UserError):
                call.post_timed_comment(position, text)
        with self.assertRaises(AccessError):
            self.call_b.with_user(self.agent_a).post_timed_comment(1, "not my call")

    # -- where agents land -----------------------------------------------------

    def test_home_action(self):
        my_calls = self.env.ref("call_recording.call_recording_action_my_calls")
        self.assertEqual(self.agent_a._call_recording_home_action(), my_calls)
        self.assertIsNone(self.manager._call_recording_home_action())
        self.assertIsNone(self.internal._call_recording_home_action())
        self.agent_a.action_id = self.env.ref("call_recording.call_recording_action").id
        self.assertIsNone(self.agent_a._call_recording_home_action())

    def test_demo_languages(self):
        """The demo's Hungarian staff speak Hungarian, admin English (when both are loaded)."""
        # the suite is always tested with its demo data
        agent = self.env.ref("call_recording.user_demo_agent1")
        self.env["res.lang"]._activate_lang("en_US")
        self.env["res.lang"]._activate_lang("hu_HU")
        self.assertTrue(self.env["call.recording"]._demo_set_languages())
        self.assertEqual(agent.lang, "hu_HU")
        self.assertEqual(self.env.ref("call_recording.user_demo_manager").lang, "hu_HU")
        self.assertEqual(self.env.ref("base.user_admin").lang, "en_US")
        self.assertEqual(self.env.ref("call_recording.partner_demo_berlin").lang, "en_US")


@tagged("post_install", "-at_install")
class TestAgentWorkTour(HttpCase, CallRecordingCommon):
    def test_agent_work_tour(self):
        """In Chromium: an agent's day with calls, player, comments, contacts and callbacks."""
        agent = self._user(
            "cr_work_agent", "call_recording.group_call_recording_user", name="Work Agent"
        )
        now = fields.Datetime.now().replace(microsecond=0)
        customer = self.env["res.partner"].create(
            {"name": "Work Customer", "phone": "+36 30 222 3333"}
        )
        old_customer = self.env["res.partner"].create(
            {"name": "Yesterday Customer", "phone": "+36 30 222 4444"}
        )
        recorded = self._call(agent, "06 30 222 3333", audio=True, start_datetime=now)
        self.assertEqual(recorded.partner_id, customer)
        unknown = self._call(agent, "06 30 555 0199", start_datetime=now - timedelta(seconds=30))
        self.assertEqual(unknown.partner_match, "unknown")
        self._call(agent, "06 30 222 4444", start_datetime=now - timedelta(days=3))
        self.assertTrue(old_customer)
        for number, days in (("+36301110001", 1), ("+36301110002", 2)):
            self._call(
                agent, number, state="missed", duration=0, start_datetime=now - timedelta(days=days)
            )
        self._call_out(self.agent_b, "+36301110002", now - timedelta(days=1))
        self.start_tour("/odoo", "call_recording_agent_work_tour", login=agent.login)
        self.assertEqual(unknown.partner_id.name, "Új Ügyfél")
        note = recorded.message_ids.filtered(lambda m: "Asks for the price here" in (m.body or ""))
        self.assertEqual(len(note), 1)
        self.assertIn(f"/odoo/call.recording/{recorded.id}#t=1", note.body)
        plays = self.env["call.recording.access.log"].search(
            [("call_id", "=", recorded.id), ("access_type", "=", "play")]
        )
        self.assertEqual(len(plays), 1, "the waveform and the playback are one logged play")


@tagged("post_install", "-at_install")
class TestManagerMonthToDateTour(HttpCase, CallRecordingCommon):
    def test_month_to_date(self):
        """In Chromium: the 10th of March compares 10 days with February's first 10."""
        line = self.env["call.recording.line"].create(
            {
                "name": "Dashboard Service Line",
                "number": "+36 1 555 0100",
                "company_id": self.company.id,
            }
        )
        self.assertTrue(line)
        self.manager.tz = "UTC"
        # when the calls took place is a fact only the system changes
        evidence.writer(self.call_a | self.call_b).write({"start_datetime": "2026-02-25 10:00:00"})
        for start in ("2026-03-02 10:00:00", "2026-03-05 10:00:00", "2026-03-09 10:00:00"):
            self._call(self.agent_a, "+36301112222", duration=120, start_datetime=start)
        self._call(self.agent_a, "+36301112222", duration=60, start_datetime="2026-02-05 10:00:00")
        with freeze_time("2026-03-10 12:00:00", tick=True):
            self.start_tour(
                "/odoo/action-call_recording.call_recording_dashboard_action",
                "call_recording_manager_month_to_date_tour",
                login=self.manager.login,
            )


@tagged("post_install", "-at_install")
class TestHomeActionHttp(HttpCase, CallRecordingCommon):
    def test_session_home_action(self):
        """The web client gets the agent's landing action with the session."""
        my_calls = self.env.ref("call_recording.call_recording_action_my_calls")
        self.authenticate(self.agent_a.login, self.agent_a.login)
        info = self.make_jsonrpc_request("/web/session/get_session_info")
        self.assertEqual(info["home_action_id"], my_calls.id)
        self.authenticate(self.manager.login, self.manager.login)
        info = self.make_jsonrpc_request("/web/session/get_session_info")
        self.assertFalse(info["home_action_id"])
