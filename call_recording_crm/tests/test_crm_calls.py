from xmlrpc import client as xmlrpclib

from odoo.exceptions import AccessError, UserError
from odoo.tests import HttpCase, tagged
from odoo.tools import mute_logger

from odoo.addons.call_recording.tests.common import CallRecordingCommon

MUTED = ("odoo.addons.rpc.controllers.xmlrpc", "odoo.http")
SALESMAN_GROUPS = "sales_team.group_sale_salesman,call_recording.group_call_recording_user"


@tagged("post_install", "-at_install")
class TestCrmCalls(CallRecordingCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.salesman = cls._user("cr_salesman", SALESMAN_GROUPS, name="Tour Salesman")
        cls.company_partner = cls.env["res.partner"].create(
            {"name": "Napfény Bt.", "is_company": True, "phone": "+36 52 911 456"}
        )
        cls.contact = cls.env["res.partner"].create(
            {"name": "Nagy Ildikó", "parent_id": cls.company_partner.id, "phone": "+36 30 765 4321"}
        )
        cls.lead = cls.env["crm.lead"].create(
            {
                "name": "Napelem ajánlat",
                "partner_id": cls.company_partner.id,
                "user_id": cls.salesman.id,
                "company_id": cls.company.id,
                "type": "opportunity",
            }
        )

    def test_call_of_customer_goes_to_lead(self):
        """A call with a contact of the lead's customer lands on the lead."""
        call = self._call(self.salesman, "06 30 765 4321", audio=True)
        self.assertEqual(call.partner_id, self.contact)
        self.assertEqual(call.lead_id, self.lead)
        self.assertEqual(self.lead.call_recording_ids, call)
        self.assertEqual(self.lead.with_user(self.salesman).call_recording_count, 1)
        notes = self.lead.message_ids.filtered(lambda m: call.name in (m.body or ""))
        self.assertEqual(len(notes), 1, "the lead's chatter tells about the call")
        linked = call.message_ids.filtered(lambda m: self.lead.name in (m.body or ""))
        self.assertEqual(len(linked), 1, "the call's chatter tells about the lead")

    def test_lead_without_partner_matched_by_phone(self):
        lead = self.env["crm.lead"].create(
            {"name": "Web form", "phone": "06 70 911 8080", "company_id": self.company.id}
        )
        self.assertEqual(lead.phone_sanitized, "+36709118080")
        call = self._call(self.salesman, "+36709118080")
        self.assertFalse(call.partner_id)
        self.assertEqual(call.lead_id, lead)

    def test_new_lead_collects_earlier_calls(self):
        call = self._call(self.salesman, "+36 1 911 7070")
        self.assertFalse(call.lead_id)
        lead = self.env["crm.lead"].create(
            {"name": "Callback", "phone": "+3619117070", "company_id": self.company.id}
        )
        self.assertEqual(call.lead_id, lead)

    def test_new_lead_posts_one_summary_of_earlier_calls(self):
        """A lead that collects 3 earlier calls says so once, listing them."""
        customer = self.env["res.partner"].create(
            {"name": "Sok Hívás Kft.", "is_company": True, "phone": "+36 1 911 6060"}
        )
        calls = self.env["call.recording"]
        for offset in range(3):
            calls |= self._call(
                self.salesman, "+3619116060", start_datetime=f"2026-03-0{offset + 1} 10:00:00"
            )
        self.assertFalse(calls.lead_id)
        lead = self.env["crm.lead"].create(
            {"name": "Many calls", "partner_id": customer.id, "company_id": self.company.id}
        )
        self.assertEqual(calls.lead_id, lead)
        about_calls = lead.message_ids.filtered(
            lambda m: any(call.name in (m.body or "") for call in calls)
        )
        self.assertEqual(len(about_calls), 1, "one summary message, not one per call")
        for call in calls:
            self.assertIn(call.name, about_calls.body)
            linked = call.message_ids.filtered(lambda m: "Many calls" in (m.body or ""))
            self.assertEqual(len(linked), 1, "each call notes its lead once")
        self.assertIn("3 calls", about_calls.body)

    def test_create_lead_from_unknown_number(self):
        call = self._call(self.salesman, "06 30 911 4545")
        self.assertEqual(call.partner_match, "unknown")
        action = call.with_user(self.salesman).action_create_lead()
        lead = self.env["crm.lead"].browse(action["res_id"])
        self.assertEqual(lead.phone_sanitized, "+36309114545")
        self.assertEqual(lead.user_id, self.salesman)
        self.assertEqual(lead.company_id, self.company)
        self.assertIn("+36 30 911 4545", lead.name)
        self.assertEqual(call.lead_id, lead)
        with self.assertRaises(UserError):
            call.with_user(self.salesman).action_create_lead()

    def test_create_lead_needs_crm_rights(self):
        call = self._call(self.agent_a, "06 30 911 4546")
        with self.assertRaises(AccessError):
            call.with_user(self.agent_a).action_create_lead()
        with self.assertRaises(AccessError):
            self._call(self.agent_b, "06 30 911 4547").with_user(self.salesman).action_create_lead()
        self.assertFalse(call.lead_id)

    def test_closed_leads_not_used(self):
        self.lead.action_set_lost()
        call = self._call(self.salesman, "06 30 765 4321")
        self.assertFalse(call.lead_id)

    def test_other_customer_not_linked(self):
        call = self._call(self.salesman, "+36 30 911 0000")
        self.assertFalse(call.lead_id)

    def test_agent_links_call_to_lead_by_hand(self):
        call = self._call(self.salesman, "+36 30 911 0001")
        call.with_user(self.salesman).lead_id = self.lead
        self.assertEqual(call.lead_id, self.lead)

    def test_lead_shows_only_visible_calls(self):
        self._call(self.salesman, "06 30 765 4321")
        self._call(self.agent_b, "06 30 765 4321")
        self.assertEqual(self.lead.with_user(self.salesman).call_recording_count, 1)
        self.assertEqual(self.lead.with_user(self.manager).call_recording_count, 2)
        action = self.lead.with_user(self.salesman).action_view_call_recordings()
        self.assertEqual(action["domain"], [("lead_id", "=", self.lead.id)])


@tagged("post_install", "-at_install")
class TestCrmTour(HttpCase, CallRecordingCommon):
    def test_salesperson_plays_lead_call(self):
        salesman = self._user("cr_tour_sales", SALESMAN_GROUPS, name="Tour Salesman")
        partner = self.env["res.partner"].create(
            {"name": "Lead Customer", "phone": "+36 30 911 5555"}
        )
        lead = self.env["crm.lead"].create(
            {
                "name": "Tour Lead",
                "partner_id": partner.id,
                "user_id": salesman.id,
                "company_id": self.company.id,
                "type": "opportunity",
            }
        )
        self._call(salesman, "06 30 911 5555", audio=True)
        self._call(self.agent_b, "06 30 911 5555", audio=True)  # not the salesman's
        self.start_tour(
            f"/odoo/crm/{lead.id}", "call_recording_crm_lead_tour", login=salesman.login
        )


@tagged("post_install", "-at_install")
class TestCrmAttacks(HttpCase, CallRecordingCommon):
    """Issue 11, hole 15: leads through XML-RPC, as a salesperson would."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        groups = "sales_team.group_sale_salesman,call_recording.group_call_recording_user"
        cls.salesman = cls._user("cr_sec_sales", groups)
        cls.other_salesman = cls._user("cr_sec_sales_2", groups)

    def test_agent_links_only_leads_they_may_read(self):
        """An agent linked their call to any lead and read its name in the
        chatter note posted as superuser."""
        secret_lead = self.env["crm.lead"].create(
            {
                "name": "Takeover of Másik Cég (confidential)",
                "user_id": self.other_salesman.id,
                "company_id": self.company.id,
                "type": "opportunity",
            }
        )
        with self.assertRaises(AccessError):
            secret_lead.with_user(self.salesman).read(["name"])
        call = self._call(self.salesman, "+36 30 911 4242")
        with mute_logger(*MUTED), self.assertRaises(xmlrpclib.Fault):
            self.rpc(
                self.salesman, "call.recording", "write", call.ids, {"lead_id": secret_lead.id}
            )
        self.assertFalse(call.lead_id)
        self.assertFalse(call.message_ids.filtered(lambda m: "Takeover" in (m.body or "")))
        own_lead = self.env["crm.lead"].create(
            {"name": "Own lead", "user_id": self.salesman.id, "company_id": self.company.id}
        )
        self.rpc(self.salesman, "call.recording", "write", call.ids, {"lead_id": own_lead.id})
        self.assertEqual(call.lead_id, own_lead)

    def test_lead_without_company_stays_in_its_companies(self):
        """A lead without a company pulled in the calls of every company."""
        other_company_call = self._call(
            self.manager_b, "+36 70 911 6060", company=self.company_b, audio=True
        )
        ours = self._call(self.salesman, "+36 70 911 6060")
        lead_id = self.rpc(
            self.salesman,
            "crm.lead",
            "create",
            {"name": "Web form", "phone": "+36 70 911 6060", "company_id": False},
        )
        lead = self.env["crm.lead"].browse(lead_id)
        self.assertFalse(lead.company_id)
        self.assertEqual(ours.lead_id, lead)
        self.assertFalse(other_company_call.lead_id)
        self.assertFalse(
            lead.message_ids.filtered(lambda m: other_company_call.name in (m.body or ""))
        )
        # Nor does a call of the other company arriving later go to it.
        later = self._call(self.manager_b, "+36 70 911 6060", company=self.company_b)
        self.assertFalse(later.lead_id)
