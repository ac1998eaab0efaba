from odoo.tests import Form, tagged

from .common import CallRecordingCommon

# (number as a provider or a person writes it, E.164 expected in Hungary)
NUMBER_TABLE = [
    ("06 30 123 4567", "+36301234567"),
    ("06-30-123-4567", "+36301234567"),
    ("+36 (30) 123-4567", "+36301234567"),
    ("0036 30 123 4567", "+36301234567"),
    ("0036301234567", "+36301234567"),
    ("36301234567", "+36301234567"),
    ("+36301234567", "+36301234567"),
    ("tel:+36-30-123-4567", "+36301234567"),
    ("sip:+36301234567@pbx.example.com", "+36301234567"),
    ("06 1 234 5678", "+3612345678"),
    ("(06-1) 234-5678", "+3612345678"),
    ("+36 1 234 5678 ext. 12", "+3612345678"),
    ("06 1 234 5678 mellék 12", "+3612345678"),
    ("06 52 123 456", "+3652123456"),
    ("+49 30 901820", "+4930901820"),
    ("0049 30 901820", "+4930901820"),
    ("+1 (415) 555-2671", "+14155552671"),
    ("+44 20 7946 0958", "+442079460958"),
]


@tagged("post_install", "-at_install")
class TestPartnerMatching(CallRecordingCommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.hu = cls.env.ref("base.hu")

    def _inbound(self, number, **vals):
        return self._call(self.agent_a, number, **vals)

    def test_number_table(self):
        """Every written form of a number normalises to the same E.164."""
        for raw, expected in NUMBER_TABLE:
            with self.subTest(raw=raw):
                call = self._inbound(raw)
                self.assertEqual(call.external_number_e164, expected)
                self.assertEqual(call.external_number, raw)
                self.assertEqual(call.line_number_e164, "+3615550100")

    def test_match_on_every_format(self):
        """A partner's phone in one format matches calls in all others."""
        partner = self.env["res.partner"].create(
            {"name": "Kiss Éva", "phone": "+36 20 911 6543", "country_id": self.hu.id}
        )
        for raw in ("06 20 911 6543", "0036209116543", "36209116543", "+36-20-911-6543"):
            with self.subTest(raw=raw):
                call = self._inbound(raw)
                self.assertEqual(call.partner_id, partner)
                self.assertEqual(call.partner_match, "matched")

    def test_partner_phone_formats(self):
        """Hungarian ways of writing a contact's phone are sanitized too."""
        for raw, expected in NUMBER_TABLE:
            with self.subTest(raw=raw):
                partner = self.env["res.partner"].create(
                    {"name": "P", "phone": raw, "country_id": self.hu.id}
                )
                self.assertEqual(partner.phone_sanitized, expected)

    def test_outbound_matches_callee(self):
        partner = self.env["res.partner"].create({"name": "Out", "phone": "+36 70 911 3344"})
        call = self._call(
            self.agent_a,
            "+3615550100",
            direction="outbound",
            callee_number="06 70 911 3344",
        )
        self.assertEqual(call.external_number_e164, "+36709113344")
        self.assertEqual(call.line_number_e164, "+3615550100")
        self.assertEqual(call.partner_id, partner)

    def test_contact_of_company(self):
        """The contact that matched is linked; its company is the customer."""
        company = self.env["res.partner"].create(
            {"name": "Napfény Bt.", "is_company": True, "phone": "+36 52 911 456"}
        )
        contact = self.env["res.partner"].create(
            {"name": "Nagy Ildikó", "parent_id": company.id, "phone": "+36 30 765 4321"}
        )
        call = self._inbound("06307654321")
        self.assertEqual(call.partner_id, contact)
        self.assertEqual(call.commercial_partner_id, company)
        self.assertEqual(self._inbound("0652911456").partner_id, company)

    def test_switchboard_shared_within_customer(self):
        """Contacts of one customer sharing a number link to the customer."""
        company = self.env["res.partner"].create(
            {"name": "Duna Zrt.", "is_company": True, "phone": "+36 96 911 010"}
        )
        self.env["res.partner"].create(
            [
                {"name": "A", "parent_id": company.id, "phone": "06 96 911 010"},
                {"name": "B", "parent_id": company.id, "phone": "0036 96 911 010"},
            ]
        )
        call = self._inbound("+3696911010")
        self.assertEqual(call.partner_id, company)
        self.assertEqual(call.partner_match, "matched")

    def test_ambiguous_number(self):
        """Two customers with one number: unmatched, flagged, still searchable."""
        self.env["res.partner"].create(
            [
                {"name": "Varga Kft.", "is_company": True, "phone": "+36 1 911 8899"},
                {"name": "Varga Szerviz", "is_company": True, "phone": "06 1 911 8899"},
            ]
        )
        call = self._inbound("0619118899")
        self.assertFalse(call.partner_id)
        self.assertEqual(call.partner_match, "ambiguous")
        self.assertEqual(call.partner_match_count, 2)
        Call = self.env["call.recording"]
        for term in ("06 1 911 8899", "+3619118899", "9118899", "0619118899"):
            with self.subTest(term=term):
                self.assertIn(call, Call.search([("phone_search", "ilike", term)]))

    def test_unknown_number(self):
        call = self._inbound("+36 30 911 0199")
        self.assertFalse(call.partner_id)
        self.assertEqual(call.partner_match, "unknown")
        found = self.env["call.recording"].search([("phone_search", "ilike", "06 30 911 0199")])
        self.assertEqual(found, call)

    def test_no_number(self):
        for raw in ("anonymous", "Private", "", "101"):
            with self.subTest(raw=raw):
                call = self._inbound(raw)
                self.assertFalse(call.external_number_e164)
                self.assertEqual(call.partner_match, "none")
        self.assertEqual(self._inbound("101").external_extension, "101")

    def test_partner_of_other_company_not_matched(self):
        self.env["res.partner"].create(
            {"name": "Elsewhere", "phone": "+36 30 999 8877", "company_id": self.company_b.id}
        )
        call = self._inbound("06309998877")
        self.assertFalse(call.partner_id)
        self.assertEqual(call.partner_match, "unknown")

    def test_archived_partner_not_matched(self):
        self.env["res.partner"].create(
            {"name": "Gone", "phone": "+36 30 999 1111", "active": False}
        )
        self.assertFalse(self._inbound("06309991111").partner_id)

    def test_rematch_when_phone_changes(self):
        call = self._inbound("06 30 444 5566")
        self.assertEqual(call.partner_match, "unknown")
        partner = self.env["res.partner"].create({"name": "Later", "phone": "+36 1 111 2222"})
        self.assertFalse(call.partner_id)
        partner.phone = "+36 30 444 5566"
        self.assertEqual(call.partner_id, partner)
        self.assertEqual(call.partner_match, "matched")

    def test_rematch_when_partner_created(self):
        call = self._inbound("06 30 444 7788")
        partner = self.env["res.partner"].create({"name": "New", "phone": "+36304447788"})
        self.assertEqual(call.partner_id, partner)

    def test_ambiguity_resolved_when_phone_changes(self):
        first, second = self.env["res.partner"].create(
            [
                {"name": "First", "is_company": True, "phone": "+36 1 333 4455"},
                {"name": "Second", "is_company": True, "phone": "+36 1 333 4455"},
            ]
        )
        call = self._inbound("0613334455")
        self.assertEqual(call.partner_match, "ambiguous")
        second.phone = "+36 1 333 9999"
        self.assertEqual(call.partner_id, first)

    def test_matched_calls_keep_their_partner(self):
        """History is history: a phone change does not move matched calls."""
        call = self.call_a
        self.assertEqual(call.partner_id, self.customer)
        self.customer.phone = "+36 30 000 1111"
        self.assertEqual(call.partner_id, self.customer)

    def test_manual_link_kept(self):
        call = self._inbound("+36 30 111 2233")
        other = self.env["res.partner"].create({"name": "Picked by hand"})
        call.partner_id = other
        self.assertEqual(call.partner_match, "manual")
        self.env["res.partner"].create({"name": "Owner", "phone": "+36301112233"})
        self.assertEqual(call.partner_id, other)

    def test_link_unmatched_call_to_new_partner_from_form(self):
        """An agent links an unknown caller to a new contact from the call form."""
        call = self._inbound("06 30 246 8101")
        call_as_agent = call.with_user(self.agent_a)
        with Form(call_as_agent) as form:
            partner_ctx = {"default_phone": form.external_number_e164}
            partner = (
                self.env["res.partner"]
                .with_user(self.agent_a)
                .with_context(**partner_ctx)
                .create({"name": "New Caller"})
            )
            form.partner_id = partner
        self.assertEqual(call.partner_id, partner)
        self.assertEqual(partner.phone, "+36302468101")
        self.assertEqual(call.partner_match, "manual")
        # The next call from this number finds the new contact by itself.
        self.assertEqual(self._inbound("06302468101").partner_id, partner)
