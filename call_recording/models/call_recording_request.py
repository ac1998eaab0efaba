"""A customer's request for their recordings: identity, deadlines, workflow.

Received, its identity checked, its one-month deadline (GDPR Art. 12(3))
and its extension, refused with a reason, or handed over.  The package
it hands over is ``call_recording_request_package.py``; its delivery (by
e-mail, or a personal link) and the downloads are
``call_recording_request_handover.py``.
"""

from dateutil.relativedelta import relativedelta

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.fields import Domain

from ..lib import handover
from . import evidence

#: GDPR Art. 12(3): one month from receipt, extendable by two further months.
MAX_EXTENSION_MONTHS = 2
#: Fixed once the identity is checked (what the request is about) ...
FIXED_AFTER_NEW = frozenset({"partner_id", "received_date"})
#: ... and once it is closed (what was handed over, or why not).
FIXED_WHEN_CLOSED = frozenset({"call_ids", "refuse_reason"})
CLOSED_STATES = ("delivered", "refused")


class CallRecordingRequest(models.Model):
    """A customer's request for their recordings, and its hand-over.

    The law (Fgytv. 17/B, GDPR Art. 12(3)) asks for the recordings free of
    charge, within a month: the request carries its deadline, the identity
    check, the delivery (by e-mail or by a personal link that expires) and
    the evidence of each download.
    """

    _name = "call.recording.request"
    _description = "Recording Request"
    _inherit = ["mail.thread", "mail.activity.mixin"]
    _order = "deadline_date, id"

    name = fields.Char(string="Reference", required=True, readonly=True, copy=False, default="/")
    company_id = fields.Many2one(
        "res.company", required=True, index=True, default=lambda self: self.env.company
    )
    partner_id = fields.Many2one(
        "res.partner", string="Customer", required=True, index=True, tracking=True
    )
    call_ids = fields.Many2many(
        "call.recording",
        string="Calls",
        check_company=True,
        tracking=True,
        domain="[('commercial_partner_id', '=', commercial_partner_id)]",
    )
    commercial_partner_id = fields.Many2one(related="partner_id.commercial_partner_id")
    received_date = fields.Date(required=True, default=fields.Date.context_today, tracking=True)
    first_deadline_date = fields.Date(
        string="One Month From Receipt",
        compute="_compute_deadline_date",
        store=True,
        help="GDPR Art. 12(3): the answer is due one calendar month after the request was "
        "received (31 January: 28 or 29 February).",
    )
    deadline_date = fields.Date(
        string="Deadline", compute="_compute_deadline_date", store=True, index=True
    )
    extension_months = fields.Integer(
        string="Extended By (months)",
        readonly=True,
        copy=False,
        help="Up to two further months where the request is complex or there are many "
        "(GDPR Art. 12(3)), with the reason, told to the customer within the first month.",
    )
    extension_reason = fields.Text(readonly=True, copy=False)
    extension_notified_date = fields.Date(string="Customer Told On", readonly=True, copy=False)
    state = fields.Selection(
        [
            ("new", "New"),
            ("identity_checked", "Identity checked"),
            ("delivered", "Delivered"),
            ("refused", "Refused"),
        ],
        default="new",
        required=True,
        tracking=True,
        index=True,
    )
    refuse_reason = fields.Text(tracking=True)
    user_id = fields.Many2one(
        "res.users", string="Responsible", default=lambda self: self.env.user, tracking=True
    )
    is_overdue = fields.Boolean(compute="_compute_is_overdue", search="_search_is_overdue")
    first_copy = fields.Boolean(
        compute="_compute_first_copy",
        help="The customer's first copy: free of charge, as the law asks.",
    )

    @api.depends("received_date", "extension_months")
    def _compute_deadline_date(self):
        for request in self:
            first = request.received_date and request.received_date + relativedelta(months=1)
            request.first_deadline_date = first
            request.deadline_date = first and first + relativedelta(
                months=request.extension_months or 0
            )

    def _compute_is_overdue(self):
        today = fields.Date.context_today(self)
        for request in self:
            request.is_overdue = (
                request.state in ("new", "identity_checked")
                and bool(request.deadline_date)
                and request.deadline_date < today
            )

    def _search_is_overdue(self, operator, value):
        if operator not in ("=", "!=") or not isinstance(value, bool):
            return NotImplemented
        domain = Domain("state", "in", ("new", "identity_checked")) & Domain(
            "deadline_date", "<", fields.Date.context_today(self)
        )
        return domain if (operator == "=") == value else ~domain

    def _compute_first_copy(self):
        for request in self:
            earlier = self.search_count(
                [
                    ("commercial_partner_id", "=", request.commercial_partner_id.id),
                    ("state", "=", "delivered"),
                    ("id", "!=", request.id),
                    ("delivered_date", "<", request.delivered_date or fields.Datetime.now()),
                ]
            )
            request.first_copy = not earlier

    # ------------------------------------------------------------------
    # Evidence
    # ------------------------------------------------------------------

    def _evidence_fields(self):
        """The workflow's state and the hand-over: see ``evidence.py``."""
        return evidence.REQUEST_EVIDENCE

    def _evidence_facts(self):
        return evidence.REQUEST_FACTS

    @api.model_create_multi
    def create(self, vals_list):
        self = evidence.check_create(self, vals_list)  # noqa: PLW0642
        for vals in vals_list:
            if vals.get("name", "/") == "/":
                vals["name"] = self.env["ir.sequence"].next_by_code("call.recording.request")
        requests = super().create(vals_list)
        for request in requests:
            if not request.call_ids:
                request.action_add_all_calls()
            request._note_on_partner(
                self.env._(
                    "Request %(name)s for call recordings received; answer due by %(date)s.",
                    name=request.name,
                    date=request.deadline_date,
                )
            )
            request.activity_schedule(
                "mail.mail_activity_data_todo",
                date_deadline=request.deadline_date,
                summary=self.env._("Hand the recordings over"),
                user_id=request.user_id.id or self.env.uid,
            )
        return requests

    def write(self, vals):
        evidence.check_write(self, vals)
        if not evidence.is_writer(self.env):
            fixed = set(vals) & FIXED_AFTER_NEW
            if fixed and any(r.state != "new" for r in self):
                raise AccessError(
                    self.env._(
                        "The customer and the date received of a request are fixed once "
                        "the identity is checked."
                    )
                )
            if set(vals) & FIXED_WHEN_CLOSED and any(r.state in CLOSED_STATES for r in self):
                raise AccessError(
                    self.env._(
                        "A delivered or refused request is kept as evidence: its calls "
                        "and its reason cannot change."
                    )
                )
        stale = self.filtered("package_id") if {"partner_id", "call_ids"} & set(vals) else None
        res = super().write(vals)
        if stale:
            # The package no longer matches the calls: built again when needed.
            stale._drop_package()
        return res

    def _note_on_partner(self, body):
        # sudo: the customer's chatter records the request whoever may edit it.
        self.partner_id.sudo().message_post(body=body, subtype_xmlid="mail.mt_note")

    def _local_text(self, moment):
        """A date and time as the customer reads it: their local time, with the zone."""
        self.ensure_one()
        return handover.local_text(moment, self._customer_tz())

    def _customer_tz(self):
        """The customer's time zone, else the company's, else the user's."""
        self.ensure_one()
        # sudo: the customer's and the company's time zone, whoever sends.
        return (
            self.partner_id.sudo().tz
            or self.company_id.sudo().partner_id.tz
            or self.env.user.tz
            or "UTC"
        )

    # ------------------------------------------------------------------
    # Workflow
    # ------------------------------------------------------------------

    def action_add_all_calls(self):
        self.check_access("write")
        for request in self:
            calls = self.env["call.recording"].search(
                [
                    ("commercial_partner_id", "=", request.commercial_partner_id.id),
                    ("company_id", "=", request.company_id.id),
                    ("recording_status", "=", "available"),
                ]
            )
            request.call_ids = calls
        return True

    def action_check_identity(self):
        self.check_access("write")
        evidence.writer(self.filtered(lambda r: r.state == "new")).write(
            {"state": "identity_checked"}
        )
        return True

    def action_refuse(self):
        self.check_access("write")
        for request in self:
            if request.state in CLOSED_STATES:
                raise UserError(self.env._("This request is closed already."))
            if not request.refuse_reason:
                raise UserError(self.env._("Write down why the request is refused."))
            evidence.writer(request).write({"state": "refused"})
            # The reason stays on the request (managers); the customer's
            # chatter, which every employee reads, only says it was refused.
            request._note_on_partner(
                self.env._("Request %(name)s for call recordings refused.", name=request.name)
            )
            request.activity_ids.action_done()
        return True

    def action_extend_deadline(self):
        """Ask for the extension's months, reason and the date the customer was told."""
        self.ensure_one()
        self.check_access("write")
        return {
            "type": "ir.actions.act_window",
            "res_model": "call.recording.request.extend",
            "view_mode": "form",
            "target": "new",
            "context": {"default_request_id": self.id},
        }

    def _extend_deadline(self, months, reason, notified_date):
        """Extend the deadline by ``months`` (two at most in all), GDPR Art. 12(3).

        Decided, and told to the customer with its reason, within the first
        month; recorded on the request with the reason and that date.
        """
        self.ensure_one()
        self.check_access("write")
        today = fields.Date.context_today(self)
        notified_date = fields.Date.to_date(notified_date)
        if self.state in CLOSED_STATES:
            raise UserError(self.env._("This request is closed already."))
        if not reason or not reason.strip():
            raise UserError(self.env._("Write down why the deadline is extended."))
        if not isinstance(months, int) or months < 1:
            raise UserError(self.env._("Extend the deadline by one or two months."))
        if (self.extension_months or 0) + months > MAX_EXTENSION_MONTHS:
            raise UserError(
                self.env._(
                    "The deadline can be extended by two further months at most "
                    "(GDPR Art. 12(3)); it is extended by %(months)s already.",
                    months=self.extension_months,
                )
            )
        if today > self.first_deadline_date:
            raise UserError(
                self.env._(
                    "An extension is decided and told to the customer within one month of "
                    "the request (by %(date)s).",
                    date=self.first_deadline_date,
                )
            )
        if (
            not notified_date
            or notified_date < self.received_date
            or notified_date > min(today, self.first_deadline_date)
        ):
            raise UserError(
                self.env._(
                    "The customer must be told of the extension between the request's "
                    "receipt and %(date)s, and not later than today.",
                    date=self.first_deadline_date,
                )
            )
        reasons = "\n".join(filter(None, [self.extension_reason, reason.strip()]))
        evidence.writer(self).write(
            {
                "extension_months": (self.extension_months or 0) + months,
                "extension_reason": reasons,
                "extension_notified_date": notified_date,
            }
        )
        self.activity_ids.write({"date_deadline": self.deadline_date})
        self.message_post(
            body=self.env._(
                "Deadline extended by %(months)s month(s) to %(date)s: %(reason)s "
                "(customer told on %(told)s).",
                months=months,
                date=self.deadline_date,
                reason=reason.strip(),
                told=notified_date,
            ),
            subtype_xmlid="mail.mt_note",
        )
        self._note_on_partner(
            self.env._(
                "Request %(name)s: answer due by %(date)s (extended).",
                name=self.name,
                date=self.deadline_date,
            )
        )
        return True

    def action_invite_to_portal(self):
        """Give the customer a portal login (the download link opens only after logging in).

        Odoo's portal invitation: a user for the request's own contact, and
        an e-mail to set the password.  Only the request's contact, never an
        employee, and only by whoever may handle the request.
        """
        self.check_access("write")
        for request in self:
            partner = request.partner_id
            if request.state in CLOSED_STATES:
                raise UserError(self.env._("This request is closed already."))
            if not partner.email:
                raise UserError(
                    self.env._(
                        "%(name)s has no e-mail address: the invitation is sent by e-mail.",
                        name=partner.display_name,
                    )
                )
            # sudo: the portal wizard is Odoo administrators' tool; whoever may
            # handle this request invites its own customer, nobody else.
            Wizard = self.env["portal.wizard"].sudo()
            wizard = Wizard.create({"partner_ids": [(6, 0, partner.ids)]})
            line = wizard.user_ids.filtered(lambda u, p=partner: u.partner_id == p)
            if line.is_internal:
                raise UserError(
                    self.env._(
                        "%(name)s is an employee: no portal login is made for them.",
                        name=partner.display_name,
                    )
                )
            if line.is_portal:
                raise UserError(
                    self.env._("%(name)s has a portal login already.", name=partner.display_name)
                )
            line.action_grant_access()
            request.message_post(
                body=self.env._(
                    "%(name)s was invited to the portal (%(email)s) to open the download link.",
                    name=partner.display_name,
                    email=partner.email,
                ),
                subtype_xmlid="mail.mt_note",
            )
        self.invalidate_recordset(["customer_user_id"])
        return True
