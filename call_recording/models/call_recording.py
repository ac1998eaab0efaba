"""A phone call and its recording, linked to the customer: the model's core.

Its fields, computed values, creation (references read from the
sequence once per batch) and writes (what agents may change; evidence
written only through ``evidence.writer``), and the one consent rule,
``_may_keep_audio``, that every way a recording arrives asks.  The rest
of the model, one concept a file: the recording itself
(``call_recording_audio.py``), matching to contacts
(``call_recording_matching.py``), the access log
(``call_recording_access_log.py``), the work on a call
(``call_recording_work.py``), compliance (``call_recording_compliance.py``),
the import (``call_recording_provider_sink.py``), the Push API
(``call_recording_push.py``) and the reservation at the call's start
(``call_recording_reservation.py``).
"""

import base64
import logging

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.tools import SQL

from ..lib import phone as phone_lib
from . import evidence

_logger = logging.getLogger(__name__)

DIRECTIONS = [
    ("inbound", "Inbound"),
    ("outbound", "Outbound"),
    ("internal", "Internal"),
]
#: How a call ended (what a PBX or a provider delivers).
FINISHED_CALL_STATES = [
    ("answered", "Answered"),
    ("missed", "Missed"),
    ("voicemail", "Voicemail"),
    ("busy", "Busy"),
    ("failed", "Failed"),
]
#: ... and a call whose reference was reserved at its start, not delivered yet.
CALL_STATES = [*FINISHED_CALL_STATES, ("in_progress", "In progress")]
RECORDING_STATES = [
    ("none", "No recording"),
    ("pending", "Pending download"),
    ("available", "Available"),
    ("failed", "Download failed"),
    ("purged", "Purged"),
    ("refused", "Deleted (consent refused)"),
    ("no_consent", "Deleted (no consent noted in time)"),
]
PARTNER_MATCH_STATES = [
    ("matched", "Matched"),
    ("manual", "Linked by hand"),
    ("ambiguous", "Ambiguous"),
    ("unknown", "Unknown number"),
    ("none", "No number"),
]
#: Fields an agent may change on their own calls; managers may also change
#: the agent.  Evidence and facts (``evidence.py``) are the system's.
AGENT_WRITABLE_FIELDS = frozenset({"partner_id", "notes"})


class CallRecording(models.Model):
    """One telephone call and its recording."""

    _name = "call.recording"
    _description = "Call Recording"
    _inherit = ["mail.thread", "mail.activity.mixin"]
    _order = "start_datetime desc, id desc"
    _check_company_auto = True

    name = fields.Char(
        string="Reference",
        required=True,
        readonly=True,
        copy=False,
        index="trigram",
        default=lambda self: self.env._("New"),
        help="Unique identifier of the recording, the one told to the caller.",
    )
    direction = fields.Selection(DIRECTIONS, required=True, default="inbound", tracking=True)
    state = fields.Selection(
        CALL_STATES,
        string="Call Status",
        required=True,
        default="answered",
        tracking=True,
    )
    company_id = fields.Many2one(
        "res.company",
        required=True,
        index=True,
        default=lambda self: self.env.company,
    )
    user_id = fields.Many2one(
        "res.users",
        string="Agent",
        index=True,
        tracking=True,
        check_company=True,
        domain="[('share', '=', False)]",
    )
    partner_id = fields.Many2one(
        "res.partner",
        string="Contact",
        index="btree_not_null",
        tracking=True,
        check_company=True,
    )
    commercial_partner_id = fields.Many2one(
        related="partner_id.commercial_partner_id",
        string="Customer",
        store=True,
        index="btree_not_null",
    )
    partner_match = fields.Selection(
        PARTNER_MATCH_STATES,
        string="Contact Match",
        default="unknown",
        readonly=True,
        copy=False,
        help="How the contact was found: from the number, by hand, or not at "
        "all because the number is unknown or belongs to several customers.",
    )
    partner_match_count = fields.Integer(
        string="Matching Customers",
        readonly=True,
        copy=False,
        help="Number of different customers whose phone is the external number.",
    )

    # Numbers as received, and their E.164 forms.
    caller_number = fields.Char(string="From", help="Calling number as received.")
    callee_number = fields.Char(string="To", help="Called number as received.")
    caller_number_e164 = fields.Char(string="From (E.164)", compute="_compute_numbers", store=True)
    callee_number_e164 = fields.Char(string="To (E.164)", compute="_compute_numbers", store=True)
    external_number = fields.Char(
        compute="_compute_numbers",
        store=True,
        help="The other party's number as received.",
    )
    external_number_e164 = fields.Char(
        string="External Number (E.164)",
        compute="_compute_numbers",
        store=True,
        index="btree_not_null",
    )
    external_extension = fields.Char(compute="_compute_numbers", store=True)
    line_number = fields.Char(
        string="Our Line",
        compute="_compute_numbers",
        store=True,
        help="Our number that was called or that called out.",
    )
    line_number_e164 = fields.Char(
        string="Our Line (E.164)",
        compute="_compute_numbers",
        store=True,
        index="btree_not_null",
    )
    external_number_display = fields.Char(
        string="Number", compute="_compute_external_number_display"
    )

    start_datetime = fields.Datetime(
        string="Start", required=True, index=True, default=fields.Datetime.now
    )
    duration = fields.Integer(string="Duration (s)", help="Length of the call in seconds.")
    duration_minutes = fields.Float(
        string="Minutes",
        compute="_compute_duration_minutes",
        store=True,
        aggregator="sum",
        digits=(16, 2),
    )
    duration_display = fields.Char(string="Length", compute="_compute_duration_display")

    recording_status = fields.Selection(
        RECORDING_STATES,
        required=True,
        default="none",
        tracking=True,
        copy=False,
    )
    audio = fields.Binary(
        attachment=True,
        copy=False,
        groups="base.group_system",
        help="Raw recording. Users play and download it through the call, "
        "so that every access is checked and logged.",
    )
    audio_filename = fields.Char(readonly=True, copy=False)
    audio_mimetype = fields.Char(string="Audio Type", readonly=True, copy=False)
    audio_size = fields.Integer(string="Audio Size (bytes)", readonly=True, copy=False)
    audio_sha256 = fields.Char(string="SHA-256", readonly=True, copy=False)
    audio_url = fields.Char(compute="_compute_audio_url")
    has_audio = fields.Boolean(compute="_compute_audio_url")

    phone_search = fields.Char(string="Phone Number", store=False, search="_search_phone_search")

    notes = fields.Html()

    _name_unique = models.Constraint(
        "UNIQUE(name)", "The reference of a call recording must be unique."
    )
    _duration_positive = models.Constraint(
        "CHECK(duration >= 0)", "A call cannot last a negative time."
    )
    _company_start_idx = models.Index("(company_id, start_datetime DESC)")
    _user_start_idx = models.Index("(user_id, start_datetime DESC)")

    # ------------------------------------------------------------------
    # Computes
    # ------------------------------------------------------------------

    @api.depends("caller_number", "callee_number", "direction", "company_id.country_id")
    def _compute_numbers(self):
        for call in self:
            region = call._phone_region()
            caller = phone_lib.normalize(call.caller_number, region)
            callee = phone_lib.normalize(call.callee_number, region)
            external, line = (caller, callee) if call.direction == "inbound" else (callee, caller)
            call.caller_number_e164 = caller.e164
            call.callee_number_e164 = callee.e164
            call.external_number = external.raw or False
            call.external_number_e164 = external.e164
            call.external_extension = external.extension
            call.line_number = line.raw or False
            call.line_number_e164 = line.e164

    def _phone_region(self):
        """The region national numbers of this call are read in (ISO code or None)."""
        self.ensure_one()
        return self.company_id.country_id.code or None

    @api.depends("external_number", "external_number_e164")
    def _compute_external_number_display(self):
        for call in self:
            call.external_number_display = (
                phone_lib.format_international(call.external_number_e164) or call.external_number
            )

    @api.depends("duration")
    def _compute_duration_minutes(self):
        for call in self:
            call.duration_minutes = (call.duration or 0) / 60.0

    @api.depends("duration")
    def _compute_duration_display(self):
        for call in self:
            minutes, seconds = divmod(call.duration or 0, 60)
            hours, minutes = divmod(minutes, 60)
            call.duration_display = (
                f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"
            )

    @api.depends("recording_status")
    def _compute_audio_url(self):
        for call in self:
            call.has_audio = call.recording_status == "available"
            call.audio_url = (
                f"/call_recording/{call.id}/audio" if call.has_audio and call.id else False
            )

    # ------------------------------------------------------------------
    # CRUD
    # ------------------------------------------------------------------

    @api.model_create_multi
    def create(self, vals_list):
        # Evidence is refused here, before the system adds its own values
        # (overrides of create must not add evidence to the caller's values).
        self = evidence.check_create(self, vals_list)  # noqa: PLW0642
        new = self.env._("New")
        numbered = [vals for vals in vals_list if vals.get("name", new) == new]
        if numbered:
            # next_by_code() would look the sequence up again for each call
            sequence = self.env["ir.sequence"].search(
                [
                    ("code", "=", "call.recording"),
                    ("company_id", "in", [self.env.company.id, False]),
                ],
                order="company_id",
                limit=1,
            )
            names = self._next_references(sequence, len(numbered)) if sequence else None
            for index, vals in enumerate(numbered):
                vals["name"] = names[index] if names else new
        for vals in vals_list:
            if vals.get("partner_id"):
                vals.setdefault("partner_match", "manual")
        calls = super().create(vals_list)
        calls.filtered(lambda c: not c.partner_id)._match_partners()
        return calls

    @api.model
    def _next_references(self, sequence, count):
        """``count`` new references of ``sequence``, in one query where it can be.

        An import creates calls by the page: a standard sequence without
        date ranges gives all its numbers in one ``nextval`` query instead
        of one query per call.
        """
        if count > 1 and sequence.implementation == "standard" and not sequence.use_date_range:
            self.env.cr.execute(
                SQL(
                    "SELECT nextval(%s) FROM generate_series(1, %s)",
                    f"ir_sequence_{sequence.id:03d}",
                    count,
                )
            )
            # fetched before anything else runs a query on this cursor (reading
            # the sequence's fields would replace the result)
            numbers = sorted(row[0] for row in self.env.cr.fetchall())
            # what get_next_char() does, with the prefix and suffix read once
            prefix, suffix = sequence._get_prefix_suffix()
            return [f"{prefix}{number:0{sequence.padding}d}{suffix}" for number in numbers]
        return [sequence._next() for _index in range(count)]

    def write(self, vals):
        # Evidence first, on the caller's own values (overrides of write
        # must not add evidence to them before this check).
        evidence.check_write(self, vals)
        if not self.env.su and not self.env.user.has_group(
            "call_recording.group_call_recording_manager"
        ):
            forbidden = set(vals) - self._agent_writable_fields()
            if forbidden:
                raise AccessError(
                    self.env._(
                        "You may only change the contact and the notes of your calls, "
                        "not: %(fields)s",
                        fields=", ".join(sorted(forbidden)),
                    )
                )
        if "partner_id" in vals and "partner_match" not in vals:
            vals["partner_match"] = "manual" if vals["partner_id"] else "unknown"
        if "audio" in vals:
            # Only the evidence writer gets here (``audio`` is evidence); the
            # recording goes through the same checks as an import.
            data = vals.pop("audio")
            res = super().write(vals) if vals else True
            raw = base64.b64decode(data) if data else b""
            for call in self:
                call._set_audio_bytes(raw)
            return res
        return super().write(vals)

    def _agent_writable_fields(self):
        """Fields an agent may change on their calls (extended by bridges)."""
        return AGENT_WRITABLE_FIELDS

    def _evidence_fields(self):
        """Written by the system only: see ``evidence.py`` (extended by add-ons)."""
        return evidence.CALL_EVIDENCE

    def _evidence_facts(self):
        """Given when the call is created, then the system's: see ``evidence.py``."""
        return evidence.CALL_FACTS

    # ------------------------------------------------------------------
    # The consent rule (the audio itself: call_recording_audio.py)
    # ------------------------------------------------------------------

    def _may_keep_audio(self):
        """Whether this call's recording may be kept: the one consent rule.

        Here always; ``call_recording_compliance.py`` adds the other party's
        refusal and the line's recording policy.  The import, the Push API,
        uploads and :meth:`_check_audio_allowed` all ask this.
        """
        self.ensure_one()
        return True

    def _audio_not_kept_message(self):
        """Why :meth:`_may_keep_audio` refuses this call's recording."""
        self.ensure_one()
        return self.env._("The audio of %(call)s is not kept.", call=self.name)

    def _check_audio_allowed(self):
        """Refuse audio that must not be kept (and never re-import a refused one)."""
        for call in self:
            if not call._may_keep_audio():
                raise UserError(call._audio_not_kept_message())
