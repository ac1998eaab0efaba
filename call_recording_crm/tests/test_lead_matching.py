from unittest.mock import patch

from odoo.fields import Domain
from odoo.tests import tagged

from odoo.addons.call_recording.tests.common import CallRecordingCommon


@tagged("post_install", "-at_install")
class TestBatchedLeadMatching(CallRecordingCommon):
    """Calls of a batch are matched to leads with one search, as one by one before."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        Partner, Lead = cls.env["res.partner"], cls.env["crm.lead"]
        cls.seller = cls._user("cr_lead_seller", "sales_team.group_sale_salesman")
        cls.seller_b = cls._user(
            "cr_lead_seller_b", "sales_team.group_sale_salesman", company=cls.company_b
        )
        cls.numbers = []
        leads = []
        for index in range(6):
            firm = Partner.create({"name": f"Cég {index}", "is_company": True})
            contact = Partner.create(
                {
                    "name": f"Kapcsolat {index}",
                    "parent_id": firm.id,
                    "phone": f"+3630555{index:04d}",
                }
            )
            branch = Partner.create(
                {
                    "name": f"Telephely {index}",
                    "parent_id": contact.id,
                    "phone": f"+3630556{index:04d}",
                }
            )
            cls.numbers += [contact.phone, branch.phone]
            # an older and a newer lead of the customer (the newer one wins),
            # in the call's company or in none (the salesperson's)
            for name, company, user in (
                ("old", cls.company, cls.seller),
                ("new", False if index % 2 else cls.company, cls.seller),
            ):
                leads.append(
                    {
                        "name": f"{name} {index}",
                        "partner_id": (contact if index % 3 else firm).id,
                        "company_id": company and company.id,
                        "user_id": user.id,
                    }
                )
            # a lead of the number only, and one of another company
            cls.numbers.append(f"+3670444{index:04d}")
            leads.append(
                {
                    "name": f"web {index}",
                    "phone": f"+3670444{index:04d}",
                    "company_id": cls.company.id if index % 2 else False,
                    "user_id": (cls.seller if index % 4 else cls.seller_b).id,
                }
            )
            leads.append(
                {
                    "name": f"other {index}",
                    "partner_id": contact.id,
                    "company_id": cls.company_b.id,
                    "user_id": cls.seller_b.id,
                }
            )
        cls.numbers.append("+36709999999")  # nobody's
        cls.leads = Lead.create(leads)
        cls.leads.filtered(lambda lead: lead.name == "new 4").action_set_lost()

    def reference(self, call):
        """The lead of one call as it was found before: one search per call."""
        conditions = []
        if call.commercial_partner_id:
            conditions.append(Domain("partner_id", "child_of", call.commercial_partner_id.id))
        if call.external_number_e164:
            conditions.append(
                Domain("partner_id", "=", False)
                & Domain("phone_sanitized", "=", call.external_number_e164)
            )
        if not conditions:
            return self.env["crm.lead"]
        company = Domain("company_id", "=", call.company_id.id) | (
            Domain("company_id", "=", False)
            & Domain("user_id.company_ids", "in", call.company_id.ids)
        )
        return (
            self.env["crm.lead"]
            .sudo()
            .search(
                Domain.OR(conditions)
                & Domain([("active", "=", True), ("won_status", "=", "pending")])
                & company,
                order="create_date desc, id desc",
                limit=1,
            )
        )

    def test_same_links_as_one_by_one_with_one_search(self):
        Call = self.env["call.recording"]
        vals = [
            {
                "direction": "inbound",
                "caller_number": number,
                "callee_number": "+3615550100",
                "company_id": company.id,
            }
            for number in self.numbers
            for company in (self.company, self.company_b)
        ]
        vals.append({"direction": "inbound", "callee_number": "+3615550100"})  # no number
        calls = Call.create(vals)
        expected = {call.id: self.reference(call) for call in calls}
        self.assertGreater(len({lead for lead in expected.values() if lead}), 10)
        self.assertTrue([c for c in calls if not expected[c.id]], "some calls have no lead")
        # matched at creation, in one search for the whole batch
        self.assertEqual({c.id: c.lead_id for c in calls}, expected)
        calls.sudo().lead_id = False
        Lead = type(self.env["crm.lead"])
        with patch.object(Lead, "_search", autospec=True, side_effect=Lead._search) as search:
            calls._match_leads()
        self.assertEqual(search.call_count, 1, "one search per batch, not one per call")
        self.assertEqual({c.id: c.lead_id for c in calls}, expected)
