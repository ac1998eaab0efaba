"""Push API: a PBX or a telephony provider delivers calls and their audio.

One entry point, :meth:`CallRecording.push_call`, serves XML-RPC, JSON-2
and (through :meth:`CallRecording._push_call`) the multipart endpoint of
``controllers/push.py``.  It validates everything before it writes
anything, goes through the import's idempotent upsert, and runs in a
savepoint, so a refused request leaves nothing behind.
"""

import base64
import binascii
import hashlib
import io
import logging
import os
import re
from datetime import UTC, datetime

import psycopg2
import psycopg2.errorcodes

from odoo import api, fields, models
from odoo.exceptions import AccessError, ConcurrencyError, UserError, ValidationError
from odoo.tools import mute_logger

from ..lib import audio as audio_lib
from ..lib import phone as phone_lib
from ..lib.providers.base import ProviderCall
from ..lib.safe import safe_filename
from .call_recording import DIRECTIONS, FINISHED_CALL_STATES
from .call_recording_file import StorageUnavailable

_logger = logging.getLogger(__name__)

INTEGRATION_GROUP = "call_recording.group_call_recording_integration"
#: Every key ``push_call`` accepts; anything else is reported as unknown.
PUSH_FIELDS = (
    "provider",
    "external_id",
    "direction",
    "start",
    "duration",
    "state",
    "caller_number",
    "callee_number",
    "agent_email",
    "agent_external_id",
    "agent_name",
    "audio",
    "audio_sha256",
    "audio_filename",
    "replace_audio",
)
MAX_TEXT = 128
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
#: Control characters (a newline in a file name would end up in a header).
CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")
TRUE_VALUES = ("1", "true", "yes", "on")
FALSE_VALUES = ("", "0", "false", "no", "off")


class PushError(ValidationError):
    """A push request refused field by field; nothing was written.

    ``errors`` maps each field to what is wrong with it; ``status`` is the
    HTTP status of the multipart endpoint (400 invalid, 409 duplicate with
    different content, 413 too large, 503 the recordings' storage cannot be
    reached: send it again later), also used by JSON-2 (where plain
    validation errors keep Odoo's 422).  JSON-2 clients find both in the
    error's ``context``.
    """

    def __init__(self, message, errors, status=400):
        super().__init__(message)
        self.errors = errors
        self.status = status
        self.http_status = 422 if status == 400 else status
        self.context = {"errors": errors, "status": status}


class PushBusy(PushError, ConcurrencyError):
    """Another delivery of the same call is being stored right now: send it again.

    A :class:`~odoo.exceptions.ConcurrencyError`, so Odoo itself runs the
    request again (up to five times, after short random waits, each time
    with a fresh view of the database): the delivery usually waits for the
    other one to finish and is then answered as a known call.  Should the
    other still hold the call after that, the answer is retryable: HTTP 503
    with ``Retry-After`` (multipart and JSON-2), an XML-RPC fault whose text
    starts with ``Busy:``.
    """

    #: seconds a client should wait before sending the delivery again
    retry_after = 2

    def __init__(self, message, errors):
        super().__init__(f"Busy: {message}", errors, status=503)


class CallRecordingProvider(models.Model):
    _inherit = "call.recording.provider"

    push_user_ids = fields.Many2many(
        "res.users",
        "call_recording_provider_push_user_rel",
        "provider_id",
        "user_id",
        string="Integration Users",
        domain=lambda self: [("group_ids", "in", self.env.ref(INTEGRATION_GROUP).ids)],
        help="Users of the Push API group who may deliver calls to this account "
        "(a PBX, a provider's CRM integration) and read them back.",
    )


class CallRecording(models.Model):
    _inherit = "call.recording"

    # ------------------------------------------------------------------
    # Public API (XML-RPC, JSON-2)
    # ------------------------------------------------------------------

    @api.model
    def push_call(self, vals):
        """Create or update a call delivered by a PBX or provider; attach its audio.

        ``vals`` is a dictionary with ``provider`` (the push account's id or
        name), ``external_id``, ``direction``, ``start`` (ISO 8601 with a
        time zone, or UNIX seconds), and optionally ``duration``,
        ``state``, ``caller_number``, ``callee_number``, ``agent_email``,
        ``agent_external_id``, ``agent_name``, ``audio`` (base64),
        ``audio_sha256``, ``audio_filename`` and ``replace_audio``.

        Idempotent: the same delivery again returns the same call and
        changes nothing.  Returns ``{"id", "reference", "partner_matched",
        "created", "result", "recording_status", "audio_sha256",
        "warnings"}``: whether a contact was found, never who (the PBX's
        key is no phone-number-to-customer lookup).  Raises
        :class:`PushError`, which lists every wrong field, and writes
        nothing then.
        """
        if not isinstance(vals, dict):
            raise self._push_error({"vals": self.env._("must be an object (a dictionary)")})
        vals = dict(vals)
        audio = vals.pop("audio", None)
        stream = None
        errors = {}
        if audio not in (None, False, ""):
            stream = self._push_decode_audio(audio, errors)
        return self._push_call(vals, audio_stream=stream, pre_errors=errors)

    # ------------------------------------------------------------------
    # Implementation, shared with the multipart endpoint
    # ------------------------------------------------------------------

    @api.model
    def _push_error(self, errors, status=400):
        lines = "\n".join(f"{field}: {message}" for field, message in errors.items())
        if status == 409:
            title = self.env._("Duplicate with different content; nothing was changed:")
        else:
            title = self.env._("The call was not stored:")
        return PushError(f"{title}\n{lines}", errors, status=status)

    @api.model
    def _push_check_user(self):
        if not self.env.su and not self.env.user.has_group(INTEGRATION_GROUP):
            raise AccessError(
                self.env._("Only users of the group “Integration (Push API)” may push calls.")
            )

    @api.model
    def _push_decode_audio(self, audio, errors):
        """Base64 text -> file object, or None with the error noted."""
        if not isinstance(audio, str | bytes):
            errors["audio"] = self.env._("must be base64 text")
            return None
        try:
            raw = base64.b64decode(audio, validate=True)
        except (binascii.Error, ValueError):
            errors["audio"] = self.env._("is not valid base64")
            return None
        return io.BytesIO(raw)

    @api.model
    def _push_call(self, vals, audio_stream=None, audio_filename=None, pre_errors=None):
        """Validate, then upsert the call and store its audio, all or nothing."""
        self._push_check_user()
        errors = dict(pre_errors or {})
        unknown = sorted(set(vals) - set(PUSH_FIELDS) - {"audio"})
        for key in unknown:
            errors[str(key)[:MAX_TEXT]] = self.env._("unknown field")
        provider = self._push_provider(vals.get("provider"), errors)
        pcall = self._push_parse(vals, errors)
        audio_sha256 = self._push_text(vals, "audio_sha256", errors)
        if audio_sha256:
            audio_sha256 = audio_sha256.lower()
            if not SHA256_RE.match(audio_sha256):
                errors["audio_sha256"] = self.env._("must be 64 hexadecimal digits (SHA-256)")
        replace_audio = self._push_bool(vals, "replace_audio", errors)
        filename = self._push_text(vals, "audio_filename", errors) or audio_filename or None
        if filename:
            # A name, not a path: the PBX's directories are none of our
            # business; only safe characters (it becomes a download's name).
            filename = safe_filename(os.path.basename(filename.replace("\\", "/")), default="")
            filename = filename or None
        audio = None
        too_large = set()
        if audio_stream is not None and "audio" not in errors:
            audio = self._push_check_audio(audio_stream, audio_sha256, errors, too_large)
        elif audio_sha256 and "audio" not in errors and "audio_sha256" not in errors:
            errors["audio_sha256"] = self.env._("given without audio")
        if errors:
            raise self._push_error(errors, status=413 if too_large else 400)

        try:
            with self.env.cr.savepoint(), mute_logger("odoo.sql_db"):
                return self._push_store(provider, pcall, audio, filename, replace_audio)
        except psycopg2.IntegrityError as exc:
            if exc.pgcode != psycopg2.errorcodes.UNIQUE_VIOLATION:
                raise
            # The same call delivered twice at the same moment: the other
            # delivery stored it (or is storing it).  Not a conflict: this
            # one is run again by Odoo with a fresh view, and finds the call.
            _logger.info("Simultaneous push of %s/%s", provider.name, pcall.external_id)
            raise PushBusy(
                self.env._(
                    "another delivery of this call is being stored right now; nothing was "
                    "changed by this one. Send it again."
                ),
                {
                    "external_id": self.env._(
                        "is being stored by another delivery right now; send it again"
                    )
                },
            ) from exc

    @api.model
    def _push_provider(self, value, errors, any_type=False):
        """The push account named by id or name, if this user may deliver to it.

        ``any_type``: any provider account that lists the user (a call-start
        reservation may be made for an account whose calls are imported).
        """
        # sudo: integration users cannot read provider accounts (their
        # settings and secrets); the account is checked against its
        # integration users below.
        Provider = self.env["call.recording.provider"].sudo()
        domain = [] if any_type else [("provider_type", "=", "push")]
        if value in (None, False, ""):
            errors["provider"] = self.env._("is required (the push account's id or name)")
            return Provider
        if isinstance(value, int) and not isinstance(value, bool):
            domain.append(("id", "=", value))
        elif isinstance(value, str) and value.strip().isdigit():
            domain.append(("id", "=", int(value.strip())))
        elif isinstance(value, str):
            domain.append(("name", "=", value.strip()))
        else:
            errors["provider"] = self.env._("must be the push account's id or name")
            return Provider
        provider = Provider.search(domain, limit=2)
        allowed = provider.filtered(
            lambda p: self.env.su or self.env.user in p.push_user_ids
        ).filtered(lambda p: p.company_id in self.env.user.company_ids or self.env.su)
        if len(allowed) != 1:
            errors["provider"] = (
                self.env._(
                    "no provider account %(value)s that lists this user",
                    value=repr(value)[:MAX_TEXT],
                )
                if any_type
                else self.env._(
                    "no push account %(value)s that this user may deliver to",
                    value=repr(value)[:MAX_TEXT],
                )
            )
            return Provider
        return allowed

    @api.model
    def _push_text(self, vals, key, errors, required=False):
        value = vals.get(key)
        if value in (None, False, ""):
            if required:
                errors[key] = self.env._("is required")
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str):
            errors[key] = self.env._("must be text")
            return None
        value = value.strip()
        if len(value) > MAX_TEXT:
            errors[key] = self.env._("is longer than %(max)s characters", max=MAX_TEXT)
            return None
        if CONTROL_RE.search(value):
            errors[key] = self.env._("contains control characters (a line break, a tab...)")
            return None
        if required and not value:
            errors[key] = self.env._("is required")
        return value or None

    @api.model
    def _push_bool(self, vals, key, errors):
        value = vals.get(key, False)
        if isinstance(value, bool) or value is None:
            return bool(value)
        text = str(value).strip().lower()
        if text in TRUE_VALUES:
            return True
        if text not in FALSE_VALUES:
            errors[key] = self.env._("must be true or false")
        return False

    @api.model
    def _push_choice(self, vals, key, choices, default, errors):
        value = vals.get(key)
        if value in (None, False, ""):
            if default is None:
                errors[key] = self.env._("is required")
            return default
        keys = [k for k, _label in choices]
        if not isinstance(value, str) or value.strip().lower() not in keys:
            errors[key] = self.env._(
                "unknown value %(value)s; use one of: %(choices)s",
                value=repr(value)[:MAX_TEXT],
                choices=", ".join(keys),
            )
            return default
        return value.strip().lower()

    @api.model
    def _push_start(self, value, errors):
        if value in (None, False, ""):
            errors["start"] = self.env._("is required")
            return None
        try:
            if isinstance(value, int | float) and not isinstance(value, bool):
                return datetime.fromtimestamp(value, UTC)
            if isinstance(value, str) and re.fullmatch(r"\d{9,11}(\.\d+)?", value.strip()):
                return datetime.fromtimestamp(float(value.strip()), UTC)
            if not isinstance(value, str):
                raise ValueError(value)
            text = value.strip()
            start = datetime.fromisoformat(text[:-1] + "+00:00" if text[-1:] in "zZ" else text)
        except (ValueError, OverflowError, OSError, IndexError):
            errors["start"] = self.env._(
                "cannot read the date %(value)s; send ISO 8601 with a time zone, "
                "e.g. 2026-11-28T09:30:00+01:00, or UNIX seconds",
                value=repr(value)[:MAX_TEXT],
            )
            return None
        if start.tzinfo is None:
            errors["start"] = self.env._(
                "has no time zone; add one, e.g. 2026-11-28T09:30:00+01:00 or ...Z"
            )
            return None
        return start.astimezone(UTC).replace(microsecond=0)

    @api.model
    def _push_duration(self, value, errors):
        if value in (None, False, ""):
            return 0
        try:
            if isinstance(value, bool):
                raise ValueError(value)
            if isinstance(value, float):
                if not value.is_integer():
                    raise ValueError(value)
                value = int(value)
            duration = value if isinstance(value, int) else int(str(value).strip())
        except (ValueError, TypeError):
            errors["duration"] = self.env._(
                "cannot read the number %(value)s; send whole seconds",
                value=repr(value)[:MAX_TEXT],
            )
            return 0
        if duration < 0:
            errors["duration"] = self.env._("cannot be negative")
            return 0
        return duration

    @api.model
    def _push_number(self, vals, key, errors):
        number = self._push_text(vals, key, errors)
        if number and not re.search(r"\d", number):
            errors[key] = self.env._(
                "%(value)s is not a phone number; leave it empty for a withheld number",
                value=repr(number)[:MAX_TEXT],
            )
            return None
        return number

    @api.model
    def _push_parse(self, vals, errors):
        """The :class:`ProviderCall` described by ``vals`` (errors noted field by field)."""
        external_id = self._push_text(vals, "external_id", errors, required=True)
        direction = self._push_choice(vals, "direction", DIRECTIONS, None, errors)
        start = self._push_start(vals.get("start"), errors)
        duration = self._push_duration(vals.get("duration"), errors)
        state = self._push_choice(vals, "state", FINISHED_CALL_STATES, "answered", errors)
        caller = self._push_number(vals, "caller_number", errors)
        callee = self._push_number(vals, "callee_number", errors)
        email = self._push_text(vals, "agent_email", errors)
        if email and not EMAIL_RE.match(email):
            errors["agent_email"] = self.env._("is not an e-mail address")
            email = None
        agent_external_id = self._push_text(vals, "agent_external_id", errors)
        agent_name = self._push_text(vals, "agent_name", errors)
        if errors:
            return None
        return ProviderCall(
            external_id=external_id,
            start=start,
            direction=direction,
            state=state,
            caller_number=caller,
            callee_number=callee,
            duration=duration,
            agent_email=email.lower() if email else None,
            agent_external_id=agent_external_id,
            agent_name=agent_name,
        )

    @api.model
    def _push_check_audio(self, stream, expected_sha256, errors, too_large):
        """Read the audio once: size, type and SHA-256, before anything is written.

        Returns ``(stream rewound, sha256)``, or None with the error noted
        (and ``"audio"`` added to ``too_large`` when over the size limit).
        """
        limit = self._max_audio_size()
        digest = hashlib.sha256()
        head = b""
        size = 0
        while chunk := stream.read(audio_lib.CHUNK_SIZE):
            if len(head) < 16:
                head += chunk[: 16 - len(head)]
            size += len(chunk)
            if size > limit:
                errors["audio"] = self.env._(
                    "is larger than the limit of %(mb)s MB", mb=limit // (1024 * 1024)
                )
                too_large.add("audio")
                return None
            digest.update(chunk)
        if not size:
            errors["audio"] = self.env._("is empty")
            return None
        # The core's rule: the bytes decide (what it stores, we accept).
        if not audio_lib.sniff_mimetype(head):
            errors["audio"] = self.env._(
                "is not a recording in a known format (WAV, MP3, AAC, OGG, FLAC, WebM or M4A)"
            )
            return None
        sha256 = digest.hexdigest()
        if expected_sha256 and expected_sha256 != sha256:
            errors["audio_sha256"] = self.env._(
                "does not match the audio received (its SHA-256 is %(sha)s); "
                "the upload may be damaged",
                sha=sha256,
            )
            return None
        stream.seek(0)
        return stream, sha256

    @api.model
    def _push_conflicts(self, call, pcall, audio, replace_audio):
        """What differs between a stored call and a new delivery of it.

        The call's identity (direction, start to the second, numbers) must
        not change; a stored recording is replaced only when asked.
        """
        conflicts = {}
        if call.awaiting_delivery:
            # reserved at the call's start: what the reservation said of the
            # call is provisional, the first delivery says what it was
            return self._push_audio_conflicts(call, audio, replace_audio)
        if call.direction != pcall.direction:
            conflicts["direction"] = self.env._(
                "stored as %(old)s, delivered as %(new)s", old=call.direction, new=pcall.direction
            )
        start = pcall.start.replace(tzinfo=None)
        if call.start_datetime != start:
            conflicts["start"] = self.env._(
                "stored as %(old)s UTC, delivered as %(new)s UTC",
                old=call.start_datetime,
                new=start,
            )
        region = call.company_id.country_id.code
        for key in ("caller_number", "callee_number"):
            old, new = call[key] or None, getattr(pcall, key)
            if (phone_lib.to_e164(old, region) or old) != (phone_lib.to_e164(new, region) or new):
                conflicts[key] = self.env._(
                    "stored as %(old)s, delivered as %(new)s", old=old or "-", new=new or "-"
                )
        conflicts.update(self._push_audio_conflicts(call, audio, replace_audio))
        return conflicts

    @api.model
    def _push_audio_conflicts(self, call, audio, replace_audio):
        """What keeps a delivered recording from a stored call."""
        conflicts = {}
        if audio is not None:
            sha256 = audio[1]
            if call.recording_status == "purged":
                conflicts["audio"] = self.env._(
                    "the recording of this call was deleted at the end of its retention "
                    "and is not stored again"
                )
            elif call.recording_status == "available" and call.audio_sha256 != sha256:
                if not replace_audio:
                    conflicts["audio"] = self.env._(
                        "a different recording is stored (SHA-256 %(sha)s); "
                        "send replace_audio to replace it",
                        sha=call.audio_sha256,
                    )
                elif call.legal_hold:
                    conflicts["audio"] = self.env._(
                        "the call is on legal hold: its recording cannot be replaced"
                    )
        return conflicts

    @api.model
    def _push_store(self, provider, pcall, audio, filename, replace_audio):
        # sudo: integration users may not read other calls; the existing
        # call of this account (the only one that can match) is compared
        # as the system.
        existing = (
            self.sudo()
            .with_context(active_test=False)
            .search(
                [("provider_id", "=", provider.id), ("external_id", "=", pcall.external_id)],
                limit=1,
            )
        )
        if existing:
            conflicts = self._push_conflicts(existing, pcall, audio, replace_audio)
            if conflicts:
                raise self._push_error(conflicts, status=409)
        # No follower notifications for the technical user who delivers.
        Call = self.with_context(mail_create_nosubscribe=True)
        calls, counts = Call._upsert_provider_calls(provider, [pcall])
        # sudo: the call was just stored for this account; its audio and
        # metadata are written by the system (the user has no write access).
        call = calls.sudo()
        warnings = {}
        audio_changed = False
        if audio is not None and not (
            call.recording_status == "available" and call.audio_sha256 == audio[1]
        ):
            if call._may_keep_audio():
                replaced = call.audio_sha256 if call.recording_status == "available" else None
                try:
                    call._set_audio_stream(audio[0], filename=filename)
                except StorageUnavailable as exc:
                    # nothing stored: the client sends it again later
                    raise self._push_error({"audio": str(exc)}, status=503) from exc
                except UserError as exc:
                    raise self._push_error({"audio": str(exc)}) from exc
                audio_changed = True
                if replaced:
                    call.message_post(
                        body=self.env._(
                            "Recording replaced by %(user)s through the Push API "
                            "(SHA-256 %(old)s, now %(new)s).",
                            user=self.env.user.name,
                            old=replaced,
                            new=call.audio_sha256,
                        ),
                        subtype_xmlid="mail.mt_note",
                    )
            else:
                warnings["audio"] = self.env._(
                    "not kept: the line is not recorded or the other party refused the recording"
                )
        if counts["created"]:
            result = "created"
        elif counts["updated"] or audio_changed:
            result = "updated"
        else:
            result = "unchanged"
        if result != "unchanged":
            _logger.info(
                "Push of %s/%s by %s: %s",
                provider.name,
                pcall.external_id,
                self.env.user.login,
                result,
            )
        return {
            "id": call.id,
            "reference": call.name,
            # matched or not, not who: the key may not look customers up
            "partner_matched": bool(call.partner_id),
            "created": result == "created",
            "result": result,
            "recording_status": call.recording_status,
            "audio_sha256": call.audio_sha256 or False,
            "warnings": warnings,
        }
