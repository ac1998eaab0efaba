"""The hand-over of a recording request: its delivery and its downloads.

The package (``call_recording_request_package.py``) goes to the customer
by e-mail or through a personal link that opens only for the customer's
own login, before it expires; every download, and every refused attempt,
is in the access log.  The request itself (identity, deadlines,
workflow) is ``call_recording_request.py``.
"""

import logging
from datetime import timedelta

from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.tools import consteq, hmac

from . import evidence

_logger = logging.getLogger(__name__)

TOKEN_SCOPE = "call_recording.request"  # noqa: S105 an HMAC scope, not a secret


class CallRecordingRequest(models.Model):
    _inherit = "call.recording.request"

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

    def _compute_download_count(self):
        groups = dict(
            self.env["call.recording.access.log"]._read_group(
                [("request_id", "in", self.ids)], ["request_id"], ["__count"]
            )
        )
        for request in self:
            request.download_count = groups.get(request, 0)

    def _check_deliverable(self):
        for request in self:
            if request.state != "identity_checked":
                raise UserError(
                    self.env._("Check the requester's identity before handing recordings over.")
                )
            if not request.call_ids.filtered("has_audio"):
                raise UserError(self.env._("The request covers no call with a recording."))

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
                    # sudo: the customer's own login, told to them in their e-mail
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

    def _customer_download(self, token, ip_address=None, user_agent=None):
        """The package the current user downloads with ``token``, or why not; logged.

        Opens only with the request's signed token, before it expires, and
        for the customer's own login.  Returns ``(package, refusal)``:
        ``refusal`` is ``"not_found"`` (a wrong or expired token: told
        apart from no other request) or ``"forbidden"`` (another login),
        both logged as refused; a package that is no longer the one the
        request built is an empty ``package`` (nothing logged).  A package
        handed over is logged and noted on the request.
        """
        self.ensure_one()
        if not self._check_token(token):
            self._log_download("refused", ip_address, user_agent)
            return self.env["ir.attachment"], "not_found"
        customer = self.partner_id.commercial_partner_id
        if self.env.user.partner_id.commercial_partner_id != customer:
            _logger.info("Refused hand-over %s to user %s", self.name, self.env.uid)
            self._log_download("refused", ip_address, user_agent)
            return self.env["ir.attachment"], "forbidden"
        package = self._handover_package()
        if not package:
            _logger.warning("Hand-over %s: its package is not the one it built", self.name)
            return package, None
        self._log_download("handover", ip_address, user_agent)
        self.message_post(
            body=self.env._("Package downloaded by the customer."),
            subtype_xmlid="mail.mt_note",
        )
        return package, None

    def _log_download(self, access_type, ip_address=None, user_agent=None):
        """The customer's download of the package (or a refused attempt), in the access log."""
        self.ensure_one()
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
                    "ip_address": ip_address or False,
                    "user_agent": (user_agent or "")[:256] or False,
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
