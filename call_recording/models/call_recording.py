import base64
import io
import logging
from collections import defaultdict
from datetime import timedelta

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.fields import Domain
from odoo.tools import SQL

from ..lib import audio as audio_lib
from ..lib import phone as phone_lib
from ..lib.files import FileRefused
from ..lib.safe import safe_filename
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
#: Range requests of one user on one call within this window are one play.
PLAY_LOG_WINDOW_MINUTES = 10
#: First key of the advisory lock that serialises a call's first play
#: requests (the second key is the call's id); see ``_log_play``.
PLAY_LOCK_KEY = 0x43525059  # "CRPY"


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
    # Partner matching
    # ------------------------------------------------------------------

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

    # ------------------------------------------------------------------
    # Audio
    # ------------------------------------------------------------------

    def _audio_download_name(self, mimetype=None):
        """The recording's file name: reference, direction and number, made safe
        (a number such as ``../../x`` from a provider stays a plain name)."""
        self.ensure_one()
        ext = audio_lib.AUDIO_EXTENSIONS.get(mimetype or self.audio_mimetype, "bin")
        number = self.external_number_e164 or self.external_number or ""
        parts = [self.name.replace("/", "-"), self.direction, number.replace("+", "")]
        name = "_".join(safe_filename(p, default="") for p in parts if p)
        return safe_filename(f"{name}.{ext}", default=f"recording.{ext}")

    def _audio_attachments(self):
        """The audio attachments of these calls."""
        # sudo: the audio attachment is readable by administrators only;
        # callers check access on the call before they get here.
        return (
            self.env["ir.attachment"]
            .sudo()
            .search(
                [
                    ("res_model", "=", self._name),
                    ("res_id", "in", self.ids),
                    ("res_field", "=", "audio"),
                ]
            )
        )

    def _get_audio_attachment(self):
        self.ensure_one()
        return self._audio_attachments()[:1]

    def _get_playable_audio_attachment(self):
        """The attachment the audio route serves, made available if need be.

        Here simply the stored audio; add-ons that move recordings
        elsewhere (e.g. call_recording_ftp) bring them back here.  Access
        is checked by the caller.
        """
        self.ensure_one()
        return self._get_audio_attachment()

    @api.model
    def _max_audio_size(self):
        # sudo: a size limit, not a secret; every importer needs it.
        megabytes = int(
            self.env["ir.config_parameter"].sudo().get_param("call_recording.max_audio_mb", 200)
        )
        return megabytes * 1024 * 1024

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

    def _set_audio_bytes(self, data, filename=None):
        """Store a recording given as bytes; empty data removes the audio (logged)."""
        if not data:
            return self._purge_audio(rule="manual", status="none")
        return self._set_audio_stream(io.BytesIO(data), filename=filename)

    def _set_audio_stream(self, stream, filename=None):
        """Store a recording read from a file object, without loading it whole.

        The data is spooled in chunks with its fingerprints, its type
        (from its bytes) and size are checked, and it is stored as the
        call's audio attachment (``call.recording.file``, the one home of
        recording files).  Replaces any earlier audio.
        """
        self.ensure_one()
        self._check_audio_allowed()
        Files = self.env["call.recording.file"]
        try:
            spooled = Files._receive(
                stream, max_size=self._max_audio_size(), sniff=audio_lib.audio_mimetype
            )
        except FileRefused as exc:
            raise UserError(self._audio_refused_message(exc)) from exc
        with spooled:
            return self._attach_stored_audio([spooled], filename=filename)

    def _audio_refused_message(self, error):
        """Why the data given as this call's recording is not one (type, size)."""
        self.ensure_one()
        return self.env._(
            "The recording of %(call)s was refused: %(reason)s", call=self.name, reason=error
        )

    def _attach_stored_audio(self, spooled_list, filename=None, gc_marked=False):
        """Make spooled recordings (``call.recording.file._receive``) the audio of these calls.

        The batched end of :meth:`_set_audio_stream` (the import stores
        several downloads at once): ``spooled_list`` holds one ``Spooled``
        per call of ``self``, in order, already allowed by
        :meth:`_check_audio_allowed`.  Earlier audio is replaced (logged
        when it differs); the attachments are created in one go by
        ``call.recording.file._store_many`` (``gc_marked``: see there).
        """
        assert len(self) == len(spooled_list)
        Files = self.env["call.recording.file"]
        # a call still waiting for its recording has no attachment to replace
        replacing = self.filtered(lambda c: c.recording_status not in ("none", "pending", "failed"))
        for call, spooled in zip(self, spooled_list, strict=True):
            if call in replacing and call.audio_sha256 and call.audio_sha256 != spooled.sha256:
                call._log_replaced_audio()  # the purge log names who replaced it
        Files._delete(replacing._audio_attachments())
        names = [
            (filename and safe_filename(filename)) or call._audio_download_name(spooled.mimetype)
            for call, spooled in zip(self, spooled_list, strict=True)
        ]
        attachments = Files._store_many(
            spooled_list,
            [
                {"name": name, "res_model": self._name, "res_id": call.id, "res_field": "audio"}
                for call, name in zip(self, names, strict=True)
            ],
            gc_marked=gc_marked,
        )
        self.invalidate_recordset(["audio"])
        for call, spooled, name in zip(self, spooled_list, names, strict=True):
            # The recording's metadata is evidence, set by the system from
            # the data just stored.
            evidence.writer(call).write(
                {
                    "recording_status": "available",
                    "audio_filename": name,
                    "audio_mimetype": spooled.mimetype,
                    "audio_size": spooled.size,
                    "audio_sha256": spooled.sha256,
                }
            )
        return attachments[:1] if len(self) == 1 else attachments

    def _remove_audio(self, status="none"):
        """Delete the audio of these calls; the calls and their metadata stay.

        The files go once the deletion is committed (``call.recording.file``).
        """
        self.env["call.recording.file"]._delete(self._audio_attachments())
        self.invalidate_recordset(["audio"])
        # As in _set_audio_stream, the status is the system's to set.
        evidence.writer(self).write(
            {
                "recording_status": status,
                "audio_size": 0,
                "audio_sha256": False,
                "audio_mimetype": False,
                "audio_filename": False,
            }
        )
        return True

    # ------------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------------

    def action_download_audio(self):
        self.ensure_one()
        if not self.has_audio:
            raise UserError(self.env._("This call has no recording to download."))
        return {
            "type": "ir.actions.act_url",
            "url": f"/call_recording/{self.id}/audio?download=1",
            "target": "self",
        }

    def action_open_access_log(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "call_recording.call_recording_access_log_action"
        )
        action["domain"] = [("call_id", "=", self.id)]
        action["context"] = {}
        return action

    def _played_recently(self, minutes=PLAY_LOG_WINDOW_MINUTES):
        """Whether the current user's play of this call is already logged.

        A player fetches a recording in several Range requests (start,
        seeks); they belong to the play logged first.
        """
        self.ensure_one()
        since = fields.Datetime.now() - timedelta(minutes=minutes)
        # sudo: the access log is readable by managers only; this only
        # looks up the current user's own entries.
        return bool(
            self.env["call.recording.access.log"]
            .sudo()
            .search_count(
                [
                    ("call_id", "=", self.id),
                    ("user_id", "=", self.env.uid),
                    ("access_type", "=", "play"),
                    ("create_date", ">=", since),
                ],
                limit=1,
            )
        )

    def _play_logged_elsewhere(self, minutes=PLAY_LOG_WINDOW_MINUTES):
        """Whether another transaction has committed this user's play of this call.

        Odoo's transactions are REPEATABLE READ: what a concurrent request
        committed after this one began is invisible to it, so a new cursor
        (a snapshot taken now) looks.
        """
        self.ensure_one()
        since = fields.Datetime.now() - timedelta(minutes=minutes)
        with self.env.registry.cursor() as cr:
            cr.execute(
                SQL(
                    "SELECT 1 FROM call_recording_access_log WHERE call_id = %s "
                    "AND user_id = %s AND access_type = 'play' AND create_date >= %s LIMIT 1",
                    self.id,
                    self.env.uid,
                    since,
                )
            )
            return bool(cr.fetchone())

    def _log_play(self, ip_address=None, user_agent=None):
        """Log the current user's play of this call, once per window.

        A browser sends its first Range requests in parallel; with several
        workers both could find no play and log one each.  The check and
        the insert are serialised per call by a transaction-level advisory
        lock (released at commit): the second request waits for the first
        to commit, then sees its entry.  Returns the new entry, or an empty
        recordset when the play was logged already.
        """
        self.ensure_one()
        Log = self.env["call.recording.access.log"]
        if self._played_recently():
            return Log
        self.env.cr.execute(SQL("SELECT pg_advisory_xact_lock(%s, %s)", PLAY_LOCK_KEY, self.id))
        if self._play_logged_elsewhere():
            return Log
        return self._log_access("play", ip_address=ip_address, user_agent=user_agent)

    @api.model
    def _log_refused_access(self, call_id, ip_address=None, user_agent=None):
        """Log that the current user was refused the recording of ``call_id``.

        Beside plays and downloads: a call the user may not read, or one that
        does not exist (its id is kept, as ``#<id>``).
        """
        # sudo: the refused user may not read the call; the system names it.
        call = self.sudo().browse(call_id).exists()
        # sudo: nobody may create log entries by hand (see _log_access).
        return (
            self.env["call.recording.access.log"]
            .sudo()
            .create(
                {
                    "call_id": call.id or False,
                    "call_reference": call.name or f"#{call_id}",
                    "company_id": (call.company_id or self.env.company).id,
                    "user_id": self.env.uid,
                    "access_type": "refused",
                    "ip_address": ip_address,
                    "user_agent": (user_agent or "")[:256] or False,
                }
            )
        )

    def _log_access(self, access_type, ip_address=None, user_agent=None):
        """Record that the current user played or downloaded these calls."""
        # sudo: nobody may create log entries by hand; the log is written
        # by the audio route for the user whose access was just checked.
        return (
            self.env["call.recording.access.log"]
            .sudo()
            .create(
                [
                    {
                        "call_id": call.id,
                        "call_reference": call.name,
                        "company_id": call.company_id.id,
                        "user_id": self.env.uid,
                        "access_type": access_type,
                        "ip_address": ip_address,
                        "user_agent": (user_agent or "")[:256] or False,
                    }
                    for call in self
                ]
            )
        )
