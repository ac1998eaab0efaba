import os
import tempfile
from datetime import timedelta

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.fields import Domain
from odoo.tools import consteq, hmac

from ..lib import handover
from . import evidence

TOKEN_SCOPE = "call_recording.request"  # noqa: S105 an HMAC scope, not a secret
LINK_VALID_DAYS = 7
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
    deadline_date = fields.Date(
        string="Deadline", compute="_compute_deadline_date", store=True, index=True
    )
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
    delivered_date = fields.Datetime(readonly=True, copy=False)
    delivery_method = fields.Selection(
        [("email", "E-mail"), ("link", "Download link")], readonly=True, copy=False
    )
    link_expiry = fields.Datetime(string="Link Valid Until", readonly=True, copy=False)
    download_count = fields.Integer(compute="_compute_download_count")

    @api.depends("received_date", "company_id.call_recording_request_days")
    def _compute_deadline_date(self):
        for request in self:
            days = request.company_id.call_recording_request_days or 30
            request.deadline_date = request.received_date and (
                request.received_date + timedelta(days=days)
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
        packages = self.package_id
        evidence.writer(self).write(
            {"package_id": False, "package_sha256": False, "package_size": 0}
        )
        # The request's own package attachment, dropped by the system.
        self.env["call.recording.file"]._delete(packages)

    def _note_on_partner(self, body):
        # sudo: the customer's chatter records the request whoever may edit it.
        self.partner_id.sudo().message_post(body=body, subtype_xmlid="mail.mt_note")

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
                        "date": fields.Datetime.to_string(call.start_datetime),
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
        evidence.writer(self).write(
            {
                "package_id": package.id,
                "package_sha256": spooled.sha256,
                "package_size": spooled.size,
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

    def _mark_delivered(self, method, note):
        evidence.writer(self).write(
            {
                "state": "delivered",
                "delivered_date": fields.Datetime.now(),
                "delivery_method": method,
            }
        )
        self.activity_ids.action_done()
        self._note_on_partner(note)

    def action_send_by_email(self):
        """E-mail the package to the customer from the request's chatter."""
        self.check_access("write")
        self._check_deliverable()
        for request in self:
            if not request.partner_id.email:
                raise UserError(self.env._("The customer has no e-mail address."))
            package = request._handover_package() or request._build_package()
            request.message_post(
                body=self.env._(
                    "Dear %(name)s, please find attached the recordings of your calls "
                    "(request %(request)s). This copy is free of charge.",
                    name=request.partner_id.name,
                    request=request.name,
                ),
                partner_ids=request.partner_id.ids,
                attachment_ids=package.ids,
                subtype_xmlid="mail.mt_comment",
                message_type="comment",
            )
            request._mark_delivered(
                "email",
                self.env._(
                    "Recordings of request %(name)s sent by e-mail (package SHA-256 %(sha)s).",
                    name=request.name,
                    sha=request.package_sha256,
                ),
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

    def action_share_link(self):
        """Deliver through a personal link: only the customer's own login opens it."""
        self.check_access("write")
        self._check_deliverable()
        for request in self:
            if not request._handover_package():
                request._build_package()
            evidence.writer(request).write(
                {"link_expiry": fields.Datetime.now() + timedelta(days=LINK_VALID_DAYS)}
            )
            url = request._download_url()
            request.message_post(
                body=self.env._(
                    "Dear %(name)s, your recordings (request %(request)s) can be downloaded "
                    "until %(date)s after logging in: %(url)s. This copy is free of charge.",
                    name=request.partner_id.name,
                    request=request.name,
                    date=request.link_expiry,
                    url=url,
                ),
                partner_ids=request.partner_id.ids,
                subtype_xmlid="mail.mt_comment",
                message_type="comment",
            )
            request._mark_delivered(
                "link",
                self.env._(
                    "Download link for request %(name)s sent, valid until %(date)s.",
                    name=request.name,
                    date=request.link_expiry,
                ),
            )
        return True

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
