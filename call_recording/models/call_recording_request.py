import json
import logging
import os
import tempfile
from datetime import timedelta

from dateutil.relativedelta import relativedelta

from odoo import api, fields, http, models
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.fields import Domain
from odoo.tools import consteq, hmac

from ..lib import handover
from . import evidence

_logger = logging.getLogger(__name__)

TOKEN_SCOPE = "call_recording.request"  # noqa: S105 an HMAC scope, not a secret
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
    package_id = fields.Many2one("ir.attachment", readonly=True, copy=False)
    package_sha256 = fields.Char(string="Package SHA-256", readonly=True, copy=False)
    package_size = fields.Integer(readonly=True, copy=False)
    package_content = fields.Text(
        string="Handed Over",
        readonly=True,
        copy=False,
        help="What the package holds, one recording a line (reference, provider call id, "
        "SHA-256): kept when the package itself is deleted.",
    )
    package_delete_date = fields.Datetime(
        string="Package Deleted After", readonly=True, copy=False, index="btree_not_null"
    )
    package_deleted_date = fields.Datetime(string="Package Deleted On", readonly=True, copy=False)
    delivered_date = fields.Datetime(readonly=True, copy=False)
    delivery_method = fields.Selection(
        [("email", "E-mail"), ("link", "Download link")], readonly=True, copy=False
    )
    link_days = fields.Integer(
        string="Link Valid For (days)",
        default=lambda self: self.env.company.call_recording_link_max_days,
        help="How long the download link works; at most what the company allows (Settings).",
    )
    link_expiry = fields.Datetime(string="Link Valid Until", readonly=True, copy=False)
    customer_user_id = fields.Many2one(
        "res.users",
        string="Customer's Portal Login",
        compute="_compute_customer_user_id",
        help="The login that opens the download link (it opens only after logging in).",
    )
    download_count = fields.Integer(compute="_compute_download_count")

    @api.depends("received_date", "extension_months")
    def _compute_deadline_date(self):
        for request in self:
            first = request.received_date and request.received_date + relativedelta(months=1)
            request.first_deadline_date = first
            request.deadline_date = first and first + relativedelta(
                months=request.extension_months or 0
            )

    @api.depends("partner_id")
    def _compute_customer_user_id(self):
        for request in self:
            # sudo: whether the customer has a login, for whoever handles the request.
            users = request.partner_id.sudo().with_context(active_test=True).user_ids
            request.customer_user_id = users.filtered("active")[:1]

    @api.constrains("link_days", "company_id")
    def _check_link_days(self):
        for request in self:
            cap = request.company_id.call_recording_link_max_days
            if not 1 <= request.link_days <= cap:
                raise ValidationError(
                    self.env._(
                        "A download link is valid for 1 to %(days)s days (the company's limit).",
                        days=cap,
                    )
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

    def _compute_download_count(self):
        groups = dict(
            self.env["call.recording.access.log"]._read_group(
                [("request_id", "in", self.ids)], ["request_id"], ["__count"]
            )
        )
        for request in self:
            request.download_count = groups.get(request, 0)

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

    def _drop_package(self):
        """Delete the package of these requests.

        A package handed over (or sent) leaves its evidence: the request
        keeps the list of what it held and its SHA-256, and says when it was
        deleted.  One never handed over (its calls changed) is simply gone.
        """
        requests = self.filtered("package_id")
        if not requests:
            return
        # sudo: the requests' own package attachments, deleted by the system.
        packages = requests.sudo().package_id
        handed = requests.filtered("delivered_date")
        evidence.writer(handed).write(
            {
                "package_id": False,
                "package_delete_date": False,
                "package_deleted_date": fields.Datetime.now(),
            }
        )
        evidence.writer(requests - handed).write(
            {
                "package_id": False,
                "package_sha256": False,
                "package_size": 0,
                "package_content": False,
                "package_delete_date": False,
            }
        )
        # the file itself, not only its record, once the deletion is committed
        self.env["call.recording.file"]._delete(packages)
        for request in handed:
            request.message_post(
                body=self.env._(
                    "The hand-over package was deleted (SHA-256 %(sha)s); the list of "
                    "what it held stays on the request.",
                    sha=request.package_sha256,
                ),
                subtype_xmlid="mail.mt_note",
            )

    @api.model
    def _drop_packages_of(self, calls):
        """No copy outlives its recording: packages holding one of ``calls`` go."""
        if not calls:
            return
        # sudo: whichever manager handles a request, the system deletes its package.
        self.sudo().search(
            [("package_id", "!=", False), ("call_ids", "in", calls.ids)]
        )._drop_package()

    @api.model
    def _cron_drop_expired_packages(self):
        """Packages past their time (the link expired, or the company's days) go."""
        # sudo: every company's requests, for the purge job.
        self.sudo().search(
            [("package_id", "!=", False), ("package_delete_date", "<", fields.Datetime.now())]
        )._drop_package()

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

    def _check_deliverable(self):
        for request in self:
            if request.state != "identity_checked":
                raise UserError(
                    self.env._("Check the requester's identity before handing recordings over.")
                )
            if not request.call_ids.filtered("has_audio"):
                raise UserError(self.env._("The request covers no call with a recording."))

    def action_prepare_package(self):
        """Build the ZIP: the recordings and a metadata sheet (CSV and JSON)."""
        self.check_access("write")
        self._check_deliverable()
        for request in self:
            request._build_package()
        return True

    def _build_package(self):
        self.ensure_one()
        # sudo: the manager handling the request may not see every agent's
        # call, but the customer is owed all of theirs.
        calls = self.call_ids.sudo().filtered("has_audio")
        Files = self.env["call.recording.file"]
        tz_name = self._customer_tz()
        entries = []
        for call in calls:
            attachment = call._get_playable_audio_attachment()
            unreadable = UserError(
                self.env._(
                    "The recording of %(call)s cannot be read now (kept on a server "
                    "that did not answer?); try again later.",
                    call=call.name,
                )
            )
            if not attachment:
                raise unreadable
            entries.append(
                handover.PackageEntry(
                    path="",
                    opener=_explained(Files._opener(attachment), unreadable),
                    size=attachment.file_size,
                    modified=call.start_datetime,
                    arcname=call._audio_download_name(),
                    metadata={
                        "reference": call.name,
                        "announced_reference": call.name if call.reserved_date else "",
                        "provider_call_id": call.external_id or "",
                        "date": handover.local_iso(call.start_datetime, tz_name),
                        "time_zone": tz_name,
                        "duration_seconds": call.duration,
                        "direction": call.direction,
                        "line": call.line_id.name or "",
                        "our_number": call.line_number_e164 or call.line_number or "",
                        "other_number": call.external_number_e164 or call.external_number or "",
                        "sha256": call.audio_sha256 or "",
                    },
                )
            )
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "package.zip")
            handover.build_package(path, entries, title=self.name)
            with open(path, "rb") as fp, Files._receive(fp) as spooled:
                # The request's own package, replaced by the system.
                Files._delete(self.package_id)
                filename = f"{self.name.replace('/', '-')}_recordings.zip"
                package = Files._store(
                    spooled,
                    {
                        "name": filename,
                        "mimetype": "application/zip",
                        "res_model": self._name,
                        "res_id": self.id,
                    },
                )
        keep_days = self.company_id.call_recording_package_keep_days or 7
        evidence.writer(self).write(
            {
                "package_id": package.id,
                "package_sha256": spooled.sha256,
                "package_size": spooled.size,
                "package_content": "\n".join(
                    json.dumps(
                        {
                            "reference": e.metadata["reference"],
                            "provider_call_id": e.metadata["provider_call_id"],
                            "sha256": e.metadata["sha256"],
                        },
                        ensure_ascii=False,
                    )
                    for e in entries
                ),
                "package_delete_date": fields.Datetime.now() + timedelta(days=keep_days),
                "package_deleted_date": False,
            }
        )
        return package

    def _handover_package(self):
        """The package this request built, unchanged since, or an empty recordset.

        Only the request's own attachment with the SHA-256 recorded when it
        was built is handed over: not another file a user could point the
        request to, nor a package whose content was replaced since.
        """
        self.ensure_one()
        # sudo: the package attachment is read for the check, as the system.
        package = self.sudo().package_id
        if (
            not package
            or not self.package_sha256
            or package.res_model != self._name
            or package.res_id != self.id
            or package.res_field
        ):
            return package.browse()
        try:
            sha256 = self.env["call.recording.file"]._sha256(package)
        except OSError:  # the file is gone from the storage
            return package.browse()
        if not consteq(sha256, self.package_sha256):
            return package.browse()
        return package

    def _mark_delivered(self, method, note, delete_after):
        evidence.writer(self).write(
            {
                "state": "delivered",
                "delivered_date": fields.Datetime.now(),
                "delivery_method": method,
                "package_delete_date": delete_after,
            }
        )
        self.activity_ids.action_done()
        self._note_on_partner(note)

    def _send_to_customer(self, body, attachments=None):
        """Post ``body`` to the customer from the request's chatter and send its e-mail now.

        Returns ``(message, failure)``: ``failure`` is why the e-mail did not
        reach the customer's mail server (the SMTP refusal), or False.
        """
        self.ensure_one()
        message = self.message_post(
            body=body,
            partner_ids=self.partner_id.ids,
            attachment_ids=attachments.ids if attachments else [],
            subtype_xmlid="mail.mt_comment",
            message_type="comment",
            mail_auto_delete=False,
        )
        # sudo: the e-mail of this message, sent now (not after the commit, nor
        # by the queue), so that its outcome is known here.
        mails = self.env["mail.mail"].sudo().search([("mail_message_id", "=", message.id)])
        mails.filtered(lambda m: m.state == "outgoing").send(raise_exception=False)
        # sudo: the notification's status, for the manager who sent it.
        notification = message.sudo().notification_ids.filtered(
            lambda n: n.res_partner_id == self.partner_id and n.notification_type == "email"
        )
        if not notification:
            return message, self.env._("no e-mail was sent to %(name)s", name=self.partner_id.name)
        if notification.notification_status in ("exception", "bounce", "canceled"):
            reason = mails.filtered("failure_reason")[:1].failure_reason
            return message, (
                reason
                or notification.failure_reason
                or notification.failure_type
                or self.env._("not delivered")
            )
        return message, False

    def _undelivered(self, method, failure):
        """A hand-over whose e-mail failed: said on the request, nothing handed over."""
        self.ensure_one()
        _logger.info("Hand-over %s by %s not delivered: %s", self.name, method, failure)
        self.message_post(
            body=self.env._(
                "The e-mail to %(name)s failed (%(reason)s): nothing was handed over. "
                "Check the address or the outgoing mail server and send it again.",
                name=self.partner_id.display_name,
                reason=failure,
            ),
            subtype_xmlid="mail.mt_note",
        )
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": self.env._("Not handed over"),
                "message": self.env._(
                    "The e-mail to %(name)s failed: %(reason)s",
                    name=self.partner_id.display_name,
                    reason=failure,
                ),
                "type": "danger",
                "sticky": True,
                "next": {"type": "ir.actions.client", "tag": "soft_reload"},
            },
        }

    def action_send_by_email(self):
        """E-mail the package to the customer from the request's chatter."""
        self.check_access("write")
        self._check_deliverable()
        for request in self:
            if not request.partner_id.email:
                raise UserError(self.env._("The customer has no e-mail address."))
            package = request._handover_package() or request._build_package()
            _message, failure = request._send_to_customer(
                self.env._(
                    "Dear %(name)s, please find attached the recordings of your calls "
                    "(request %(request)s). This copy is free of charge. The file is kept "
                    "on our side until %(date)s.",
                    name=request.partner_id.name,
                    request=request.name,
                    date=request._local_text(request.package_delete_date),
                ),
                attachments=package,
            )
            if failure:
                return request._undelivered("email", failure)
            request._mark_delivered(
                "email",
                self.env._(
                    "Recordings of request %(name)s sent by e-mail (package SHA-256 %(sha)s).",
                    name=request.name,
                    sha=request.package_sha256,
                ),
                request.package_delete_date,
            )
        return True

    # ------------------------------------------------------------------
    # Download link
    # ------------------------------------------------------------------

    def _token_message(self):
        return f"{self.id}:{self.partner_id.commercial_partner_id.id}:{self.link_expiry}"

    def _make_token(self):
        self.ensure_one()
        return hmac(self.env(su=True), TOKEN_SCOPE, self._token_message())

    def _check_token(self, token):
        """True when ``token`` is this request's and its link has not expired."""
        self.ensure_one()
        if not token or not self.link_expiry or self.state != "delivered":
            return False
        if self.link_expiry < fields.Datetime.now():
            return False
        return consteq(token, self._make_token())

    def _download_url(self):
        self.ensure_one()
        base = self.get_base_url()
        return f"{base}/call_recording/request/{self.id}/download?token={self._make_token()}"

    def _check_link_reachable(self):
        """The link opens only after the customer logs in: a login and an address first."""
        self.ensure_one()
        if not self.customer_user_id:
            raise UserError(
                self.env._(
                    "%(name)s has no portal login, and the link opens only after logging "
                    "in: invite them to the portal first.",
                    name=self.partner_id.display_name,
                )
            )
        if not self.partner_id.email:
            raise UserError(
                self.env._(
                    "%(name)s has no e-mail address: the link cannot reach them.",
                    name=self.partner_id.display_name,
                )
            )

    def action_share_link(self):
        """Deliver through a personal link: only the customer's own login opens it.

        Handed over only when the link reached someone who can open it: the
        customer has a portal login and an e-mail address, and the e-mail
        was accepted by the mail server.
        """
        self.check_access("write")
        self._check_deliverable()
        for request in self:
            request._check_link_days()
            request._check_link_reachable()
            if not request._handover_package():
                request._build_package()
            expiry = fields.Datetime.now() + timedelta(days=request.link_days)
            evidence.writer(request).write({"link_expiry": expiry})
            _message, failure = request._send_to_customer(
                self.env._(
                    "Dear %(name)s, your recordings (request %(request)s) can be downloaded "
                    "until %(date)s after logging in as %(login)s: %(url)s. This copy is free "
                    "of charge.",
                    name=request.partner_id.name,
                    request=request.name,
                    date=request._local_text(expiry),
                    login=request.customer_user_id.sudo().login,
                    url=request._download_url(),
                )
            )
            if failure:
                # the link was not sent: it must not open either
                evidence.writer(request).write({"link_expiry": False})
                return request._undelivered("link", failure)
            request._mark_delivered(
                "link",
                self.env._(
                    "Download link for request %(name)s sent, valid until %(date)s.",
                    name=request.name,
                    date=request._local_text(expiry),
                ),
                expiry,
            )
        return True

    def _log_download(self, access_type):
        """The customer's download of the package (or a refused attempt), in the access log."""
        self.ensure_one()
        httprequest = http.request.httprequest if http.request else None
        # sudo: written by the system for the user whose download it is.
        return (
            self.env["call.recording.access.log"]
            .sudo()
            .create(
                {
                    "request_id": self.id,
                    "call_reference": self.name,
                    "company_id": self.company_id.id,
                    "user_id": self.env.uid,
                    "access_type": access_type,
                    "ip_address": httprequest.remote_addr if httprequest else False,
                    "user_agent": (
                        (httprequest.user_agent.string or "")[:256] if httprequest else ""
                    )
                    or False,
                }
            )
        )

    def action_open_downloads(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "call_recording.call_recording_access_log_action"
        )
        action["domain"] = [("request_id", "=", self.id)]
        return action


def _explained(opener, error):
    """``opener``, raising ``error`` when the file cannot be read."""

    def open_file():
        try:
            return opener()
        except OSError as exc:
            raise error from exc

    return open_file
