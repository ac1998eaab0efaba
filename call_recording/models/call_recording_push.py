"""Push API: a PBX or a telephony provider delivers calls and their audio.

One entry point, :meth:`CallRecording.push_call`, serves XML-RPC, JSON-2
and (through :meth:`CallRecording._push_call`) the multipart endpoint of
``controllers/push.py``.  The values are read and checked by the plain
Python of ``lib/push.py`` before anything is written; here the account is
looked up and the call stored through the import's idempotent upsert, in
a savepoint, so a refused request leaves nothing behind.
"""

import logging

import psycopg2
import psycopg2.errorcodes

from odoo import api, fields, models
from odoo.exceptions import AccessError, ConcurrencyError, UserError, ValidationError
from odoo.tools import mute_logger

from ..lib import push as push_lib
from .call_recording import DIRECTIONS, FINISHED_CALL_STATES
from .call_recording_file import StorageUnavailable

_logger = logging.getLogger(__name__)

INTEGRATION_GROUP = "call_recording.group_call_recording_integration"
DIRECTION_KEYS = [key for key, _label in DIRECTIONS]
FINISHED_STATE_KEYS = [key for key, _label in FINISHED_CALL_STATES]


class PushError(ValidationError):
    """A push request refused field by field; nothing was written.

    ``errors`` maps each field to what is wrong with it; ``kind`` says why
    (a key of ``lib/push.py``'s ``HTTP_STATUS``: validation, conflict,
    too_large, busy, unavailable: the recordings' storage cannot
    be reached, send it again later), ``status`` is its HTTP status on the routes, also
    used by JSON-2 (where plain validation errors keep Odoo's 422).  JSON-2
    clients find ``errors``, ``status`` and ``kind`` in the error's
    ``context``.
    """

    def __init__(self, message, errors, kind="validation"):
        super().__init__(message)
        self.errors = errors
        self.kind = kind
        self.status = push_lib.HTTP_STATUS[kind]
        self.http_status = 422 if kind == "validation" else self.status
        self.context = {"errors": errors, "status": self.status, "kind": kind}


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
        super().__init__(f"Busy: {message}", errors, kind="busy")


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
        return self._push_call(vals, audio_base64=vals.pop("audio", None))

    # ------------------------------------------------------------------
    # Implementation, shared with the multipart endpoint and the reservation
    # ------------------------------------------------------------------

    @api.model
    def _push_error(self, errors, kind="validation"):
        """The :class:`PushError` of ``errors``: a title, then a line per field."""
        lines = "\n".join(f"{field}: {message}" for field, message in errors.items())
        if kind == "conflict":
            title = self.env._("Duplicate with different content; nothing was changed:")
        else:
            title = self.env._("The call was not stored:")
        return PushError(f"{title}\n{lines}", errors, kind=kind)

    @api.model
    def _push_check(self, reader):
        """Raise the :class:`PushError` of every error the reader noted, if any."""
        try:
            reader.check()
        except push_lib.Refused as refused:
            raise self._push_error(refused.errors, refused.kind) from None

    @api.model
    def _push_check_user(self):
        if not self.env.su and not self.env.user.has_group(INTEGRATION_GROUP):
            raise AccessError(
                self.env._("Only users of the group “Integration (Push API)” may push calls.")
            )

    @api.model
    def _push_call(self, vals, audio_stream=None, audio_filename=None, audio_base64=None):
        """Validate, then upsert the call and store its audio, all or nothing.

        The audio comes as a file object (``audio_stream``, the multipart
        endpoint) or as base64 text (``audio_base64``, RPC).
        """
        self._push_check_user()
        reader = push_lib.Reader(vals, self.env._)
        if audio_base64 not in push_lib.EMPTY:
            audio_stream = push_lib.decode_audio(audio_base64, reader)
        reader.unknown(push_lib.PUSH_FIELDS)
        provider = self._push_provider(reader)
        delivery = push_lib.read_push(reader, DIRECTION_KEYS, FINISHED_STATE_KEYS, audio_filename)
        audio = None
        if audio_stream is not None and "audio" not in reader.errors:
            audio = push_lib.check_audio(
                audio_stream, self._max_audio_size(), delivery.audio_sha256, reader
            )
        elif delivery.audio_sha256 and not {"audio", "audio_sha256"} & set(reader.errors):
            reader.refuse("audio_sha256", self.env._("given without audio"))
        self._push_check(reader)
        pcall = delivery.call
        return self._push_once(
            provider,
            pcall,
            lambda: self._push_store(
                provider, pcall, audio, delivery.filename, delivery.replace_audio
            ),
            self.env._(
                "another delivery of this call is being stored right now; nothing was "
                "changed by this one. Send it again."
            ),
            self.env._("is being stored by another delivery right now; send it again"),
        )

    @api.model
    def _push_once(self, provider, pcall, store, busy, busy_error):
        """``store()`` in a savepoint: all or nothing, and never a duplicate call.

        The same call stored by another request at the same moment (the
        unique account and call id) is not a conflict: :class:`PushBusy`
        (``busy``, and ``busy_error`` on ``external_id``) has Odoo run this
        request again, with a fresh view, and it finds the call.
        """
        try:
            with self.env.cr.savepoint(), mute_logger("odoo.sql_db"):
                return store()
        except psycopg2.IntegrityError as exc:
            if exc.pgcode != psycopg2.errorcodes.UNIQUE_VIOLATION:
                raise
            _logger.info("Simultaneous request for %s/%s", provider.name, pcall.external_id)
            raise PushBusy(busy, {"external_id": busy_error}) from exc

    @api.model
    def _push_existing(self, provider, external_id):
        """The call of this account and id, whoever asks (or an empty recordset)."""
        # sudo: integration users read no call; the call of this account and
        # id (the only one that can match) is looked up as the system.
        return (
            self.sudo()
            .with_context(active_test=False)
            .search(
                [("provider_id", "=", provider.id), ("external_id", "=", external_id)],
                limit=1,
            )
        )

    @api.model
    def _push_provider(self, reader, any_type=False):
        """The push account named by id or name, if this user may deliver to it.

        ``any_type``: any provider account that lists the user (a call-start
        reservation may be made for an account whose calls are imported).
        Refused in ``reader`` otherwise.
        """
        # sudo: integration users cannot read provider accounts (their
        # settings and secrets); the account is checked against its
        # integration users below.
        Provider = self.env["call.recording.provider"].sudo()
        reference = reader.provider()
        if reference is None:
            return Provider
        key, value = reference
        domain = [] if any_type else [("provider_type", "=", "push")]
        domain.append((key, "=", value))
        provider = Provider.search(domain, limit=2)
        allowed = provider.filtered(
            lambda p: self.env.su or self.env.user in p.push_user_ids
        ).filtered(lambda p: p.company_id in self.env.user.company_ids or self.env.su)
        if len(allowed) == 1:
            return allowed
        sent = repr(reader.vals.get("provider"))[: push_lib.MAX_TEXT]
        reader.refuse(
            "provider",
            self.env._("no provider account %(value)s that lists this user", value=sent)
            if any_type
            else self.env._("no push account %(value)s that this user may deliver to", value=sent),
        )
        return Provider

    @api.model
    def _push_conflicts(self, call, pcall, audio, replace_audio):
        """What differs between a stored call and a new delivery of it (``lib/push.py``)."""
        return push_lib.conflicts(
            {key: call[key] for key in push_lib.STORED_KEYS},
            pcall,
            audio[1] if audio is not None else None,
            replace_audio,
            region=call.company_id.country_id.code,
            gettext=self.env._,
        )

    @api.model
    def _push_store(self, provider, pcall, audio, filename, replace_audio):
        existing = self._push_existing(provider, pcall.external_id)
        if existing:
            conflicts = self._push_conflicts(existing, pcall, audio, replace_audio)
            if conflicts:
                raise self._push_error(conflicts, kind="conflict")
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
                    error = self._push_error({"audio": str(exc)}, kind="unavailable")
                    error.retry_after = 30
                    raise error from exc
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
