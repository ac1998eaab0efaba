"""A call as a work item: outcome, tags, follow-up, callback, contact, comments."""

from markupsafe import Markup, escape

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.fields import Domain
from odoo.tools import SQL

from ..lib import phone as phone_lib
from . import evidence

#: Inbound calls in these states did not reach anybody: they wait for a callback.
CALLBACK_STATES = ("missed", "busy", "failed", "voicemail")
#: Longest comment pinned to a moment of a recording.
MAX_COMMENT_LENGTH = 2000
#: No recording is longer than a day.
MAX_POSITION = 24 * 3600


def format_position(seconds):
    """``m:ss`` (``h:mm:ss`` from an hour), as the player and the lists show lengths."""
    minutes, seconds = divmod(max(int(seconds), 0), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"


class CallRecordingOutcome(models.Model):
    """How a call ended for the business (resolved, callback needed, sale ...)."""

    _name = "call.recording.outcome"
    _description = "Call Outcome"
    _order = "sequence, id"

    name = fields.Char(required=True, translate=True)
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True)
    color = fields.Integer()
    company_id = fields.Many2one("res.company", index=True, help="Empty: offered in every company.")
    description = fields.Text(translate=True, help="When agents should choose this outcome.")


class CallRecordingTag(models.Model):
    """Free labels on calls (complaint, invoice, VIP ...)."""

    _name = "call.recording.tag"
    _description = "Call Tag"
    _order = "name"

    name = fields.Char(required=True, translate=True)
    color = fields.Integer()
    active = fields.Boolean(default=True)
    company_id = fields.Many2one("res.company", index=True, help="Empty: offered in every company.")

    _name_company_unique = models.Constraint(
        "UNIQUE(name, company_id)", "A tag with this name already exists."
    )


class CallRecording(models.Model):
    _inherit = "call.recording"

    outcome_id = fields.Many2one(
        "call.recording.outcome",
        index="btree_not_null",
        tracking=True,
        check_company=True,
        ondelete="restrict",
    )
    tag_ids = fields.Many2many(
        "call.recording.tag",
        "call_recording_tag_rel",
        "call_id",
        "tag_id",
        string="Tags",
        check_company=True,
    )
    team_id = fields.Many2one(
        "crm.team",
        string="Sales Team",
        compute="_compute_team_id",
        store=True,
        index="btree_not_null",
        help="The agent's sales team when the call was stored.",
    )
    callback_needed = fields.Boolean(
        string="To Call Back",
        compute="_compute_callback_needed",
        search="_search_callback_needed",
        help="A missed inbound call that nobody has returned: no outbound call to "
        "this number, and no answered call from it, came after it.",
    )

    _callback_idx = models.Index(
        "(company_id, external_number_e164, start_datetime) WHERE external_number_e164 IS NOT NULL"
    )

    def _agent_writable_fields(self):
        return super()._agent_writable_fields() | {"outcome_id", "tag_ids"}

    @api.depends("user_id")
    def _compute_team_id(self):
        for call in self:
            call.team_id = call.user_id.sale_team_id

    # ------------------------------------------------------------------
    # Missed calls to return
    # ------------------------------------------------------------------

    def _callback_needed_sql(self, model, alias, query):
        """Missed inbound calls after which the number was not called back."""
        call = SQL.identifier(alias)
        return SQL(
            """%(call)s.direction = 'inbound'
               AND %(call)s.state IN %(states)s
               AND %(call)s.external_number_e164 IS NOT NULL
               AND NOT EXISTS (
                   SELECT 1 FROM call_recording later
                    WHERE later.company_id = %(call)s.company_id
                      AND later.external_number_e164 = %(call)s.external_number_e164
                      AND later.start_datetime > %(call)s.start_datetime
                      AND (later.direction = 'outbound'
                           OR (later.direction = 'inbound' AND later.state = 'answered'))
               )""",
            call=call,
            states=CALLBACK_STATES,
        )

    def _search_callback_needed(self, operator, value):
        if operator != "in" or True not in value:
            return NotImplemented
        # the SQL reads these columns of all calls: write pending values first
        self.flush_model(
            ["company_id", "direction", "state", "external_number_e164", "start_datetime"]
        )
        return Domain.custom(to_sql=self._callback_needed_sql)

    def _compute_callback_needed(self):
        ids = [call.id for call in self if call.id]
        # sudo: the calls that clear a callback may be another agent's;
        # the answer concerns only these calls, which the user reads.
        needed = set(
            self.sudo()
            .with_context(active_test=False)
            .search([("id", "in", ids), ("callback_needed", "=", True)])
            .ids
        )
        for call in self:
            call.callback_needed = call.id in needed

    # ------------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------------

    def _other_party_label(self):
        self.ensure_one()
        return self.partner_id.display_name or self.external_number_display or self.name

    def action_schedule_follow_up(self):
        """Open Odoo's activity scheduler for this call, a phone call by default."""
        self.ensure_one()
        self.check_access("write")
        activity_type = self.env.ref("mail.mail_activity_data_call", raise_if_not_found=False)
        context = {
            "active_model": self._name,
            "active_ids": self.ids,
            "active_id": self.id,
            "default_summary": self.env._("Follow-up: %s", self._other_party_label()),
            "default_activity_user_id": self.env.uid,
        }
        if activity_type:
            context["default_activity_type_id"] = activity_type.id
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Schedule Follow-up"),
            "res_model": "mail.activity.schedule",
            "view_mode": "form",
            "views": [[False, "form"]],
            "target": "new",
            "context": context,
        }

    def action_create_partner(self):
        """A new contact with the call's number filled in; saving it links the call."""
        self.ensure_one()
        self.check_access("write")
        if self.partner_id:
            raise UserError(self.env._("This call is already linked to a contact."))
        if not self.external_number_e164:
            raise UserError(self.env._("This call has no number to create a contact from."))
        self.env["res.partner"].check_access("create")
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("New Contact"),
            "res_model": "res.partner",
            "view_mode": "form",
            "views": [[False, "form"]],
            "target": "new",
            "context": {
                "default_phone": phone_lib.format_international(self.external_number_e164)
                or self.external_number_e164,
                "default_company_type": "person",
            },
        }

    # ------------------------------------------------------------------
    # Comments pinned to a moment of the recording
    # ------------------------------------------------------------------

    def post_timed_comment(self, position, comment):
        """Post a note on the call that starts with a link to ``position`` seconds.

        In the call's form the player seeks there when the link is clicked;
        elsewhere the link opens the call.
        """
        self.ensure_one()
        self.check_access("write")
        try:
            position = int(float(position))
        except (TypeError, ValueError) as exc:
            raise UserError(
                self.env._("The moment of a comment must be a number of seconds.")
            ) from exc
        if not 0 <= position <= MAX_POSITION:
            raise UserError(self.env._("This moment is outside the recording."))
        text = (comment or "").strip()
        if not text:
            raise UserError(self.env._("Write a comment first."))
        if len(text) > MAX_COMMENT_LENGTH:
            raise UserError(
                self.env._("A comment may have at most %s characters.", MAX_COMMENT_LENGTH)
            )
        label = format_position(position)
        body = Markup(
            '<a href="/odoo/call.recording/%(id)s#t=%(t)s" class="o_call_recording_seek" '
            'title="%(title)s">%(label)s</a> %(text)s'
        ) % {
            "id": self.id,
            "t": position,
            "title": escape(self.env._("Play from %s", label)),
            "label": label,
            "text": text,
        }
        message = self.message_post(body=body, subtype_xmlid="mail.mt_note")
        return message.id

    # ------------------------------------------------------------------
    # Upload by hand
    # ------------------------------------------------------------------

    def _check_audio_upload(self):
        """Who may add a recording by hand, and to which calls.

        Managers and administrators, on calls they may write, that have no
        recording yet (a deleted one is never stored again), whose line is
        recorded, whose other party did not refuse, and that are not under
        legal hold (held evidence stays as it is).
        """
        if not self.env.user.has_group("call_recording.group_call_recording_manager"):
            raise AccessError(self.env._("Only call recording managers may upload recordings."))
        self.check_access("write")
        for call in self:
            if call.legal_hold:
                raise UserError(
                    self.env._(
                        "%(call)s is on legal hold: its recording cannot be changed.",
                        call=call.name,
                    )
                )
            if call.recording_status == "available":
                raise UserError(self.env._("%(call)s already has a recording.", call=call.name))
            if call.recording_status in ("purged", "refused"):
                raise UserError(
                    self.env._(
                        "The recording of %(call)s was deleted and is never stored again.",
                        call=call.name,
                    )
                )
        self._check_audio_allowed()

    def _upload_audio(self, stream, original_name=None):
        """Store a recording uploaded by hand, as the import stores a download.

        The same path as the import: ``_set_audio_stream`` streams it into
        the filestore, recognises its type from its bytes, applies the size
        limit and keeps its SHA-256; the call's policy is checked before.
        The upload is noted on the call.
        """
        self.ensure_one()
        self._check_audio_upload()
        with self.env.cr.savepoint():
            self._set_audio_stream(stream)
        if self.import_error or self.import_attempts or self.import_next_try:
            # The import's retry state is evidence; the recording it was
            # waiting for has just been stored (checked above).
            evidence.writer(self).write(
                {"import_error": False, "import_attempts": 0, "import_next_try": False}
            )
        self.message_post(
            body=self.env._(
                "Recording uploaded by %(user)s from “%(file)s”: %(type)s, %(size)s bytes, "
                "SHA-256 %(sha)s.",
                user=self.env.user.name,
                file=(original_name or "").strip()[:200] or "-",
                type=self.audio_mimetype,
                size=self.audio_size,
                sha=self.audio_sha256,
            ),
            subtype_xmlid="mail.mt_note",
        )
        return True
