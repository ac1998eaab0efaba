"""Calls matched to contacts by the other party's number, and found by it.

One query per batch on the indexed ``res.partner.phone_sanitized``
(E.164): a number of one customer links the call to it, a number shared
by several customers is left ambiguous, an unknown one unmatched, and
both are matched again when a contact's phone changes (``res_partner.py``).
The search by any form of a number (``phone_search``) is here too.
"""

from collections import defaultdict

from odoo import api, models
from odoo.fields import Domain

from ..lib import phone as phone_lib
from . import evidence


class CallRecording(models.Model):
    _inherit = "call.recording"

    def _match_partners(self):
        """Link calls to the contact whose phone is the external number.

        One query for the whole batch on the indexed ``phone_sanitized``.
        A number shared by contacts of one customer links to that customer;
        a number shared by different customers is left ambiguous, and an
        unknown one unmatched: both stay searchable by number and are
        matched again when a contact's phone changes.
        Calls linked by hand are never changed.
        """
        calls = self.filtered(lambda c: c.partner_match != "manual")
        if not calls:
            return
        candidates = self._partners_by_number(
            {c.external_number_e164 for c in calls if c.external_number_e164}
        )
        updates = defaultdict(self.browse)
        for call in calls:
            key = self._match_of_number(
                call.external_number_e164, candidates[call.external_number_e164], call.company_id
            )
            if (call.partner_id.id, call.partner_match, call.partner_match_count) != key:
                updates[key] |= call
        for (partner_id, match, count), group in updates.items():
            # The match is the system's, not the user's who triggered it
            # (e.g. an agent editing a contact's phone): written as evidence.
            evidence.writer(group).write(
                {"partner_id": partner_id, "partner_match": match, "partner_match_count": count}
            )

    @api.model
    def _partners_by_number(self, numbers):
        """E.164 number -> the contacts whose phone it is: one query for them all."""
        candidates = defaultdict(self.env["res.partner"].browse)
        if numbers:
            # sudo: matching must see every contact of the company, not only
            # those the agent whose call is imported may read.
            partners = (
                self.env["res.partner"]
                .sudo()
                .search_fetch(
                    [("phone_sanitized", "in", list(numbers))],
                    ["phone_sanitized", "commercial_partner_id", "company_id"],
                )
            )
            for partner in partners:
                candidates[partner.phone_sanitized] |= partner
        return candidates

    @api.model
    def _match_of_number(self, number_e164, found, company):
        """``(partner id, match, count)`` of a call of ``company`` with this number,
        whose contacts (of every company) are ``found``."""
        if not number_e164:
            return (False, "none", 0)
        found = found.filtered(lambda p: not p.company_id or p.company_id == company)
        customers = found.commercial_partner_id
        if not found:
            return (False, "unknown", 0)
        if len(customers) > 1:
            return (False, "ambiguous", len(customers))
        if len(found) == 1:
            return (found.id, "matched", 1)
        # Several contacts of one customer share the number (a switchboard):
        # the customer itself is the match.
        return (customers.id, "matched", 1)

    @api.model
    def _partner_for_number(self, number_e164, company):
        """The contact a call of ``company`` with this number would be linked to (or none)."""
        found = self._partners_by_number({number_e164} if number_e164 else set())
        partner_id = self._match_of_number(number_e164, found[number_e164], company)[0]
        # sudo: as the match, which sees every contact; callers cut it to the reader.
        return self.env["res.partner"].sudo().browse(partner_id)

    @api.model
    def _rematch_numbers(self, numbers):
        """Match again the unmatched calls of these E.164 numbers."""
        numbers = [n for n in numbers if n]
        if not numbers:
            return
        # sudo: matching looks at every company's unmatched calls of these
        # numbers; what a call is matched to follows the call's company.
        calls = (
            self.sudo()
            .with_context(active_test=False)
            .search(
                [
                    ("external_number_e164", "in", numbers),
                    ("partner_match", "in", ("unknown", "ambiguous")),
                ]
            )
        )
        calls._match_partners()

    def _search_phone_search(self, operator, value):
        """Find calls by any form of the other party's number.

        ``06 30 123 4567``, ``+36301234567`` and a fragment such as
        ``1234567`` all find the call stored as ``+36301234567``.
        """
        if operator not in ("ilike", "=", "like") or not isinstance(value, str):
            return NotImplemented
        text = value
        e164 = phone_lib.to_e164(text, self.env.company.country_id.code)
        domain = Domain("external_number", "ilike", text)
        if e164:
            domain |= Domain("external_number_e164", "=", e164)
        digits = phone_lib.search_digits(text)
        if len(digits) >= 3:
            domain |= Domain("external_number_e164", "like", f"%{digits}%")
        return domain
