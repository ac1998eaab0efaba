"""The reference told to the caller, reserved when the call starts.

Fgytv. 17/B asks that the caller be told the recording's unique identifier
at the start of the call, before the call (and its recording) exists.  A
PBX or an IVR asks for it with :meth:`CallRecording.reserve_call` (XML-RPC,
JSON-2) or ``POST /call_recording/reserve`` (``controllers/push.py``),
authenticated as the Push API is (an integration user's API key), and
announces the reference it gets back.  The reservation is the call itself,
*In progress* and *awaiting delivery*: the push or the import that later
delivers the call (found by the same provider account and provider call
id) fills it in, under the same reference.  An announced reference is
evidence: the call is kept until its date, with or without audio.

The agent whose extension (or provider user) the call is for gets a
notification in the web client at once (the screen pop, Odoo's bus).
"""

import logging
from datetime import UTC

from odoo import api, fields, models

from ..lib import phone as phone_lib
from ..lib import push as push_lib
from . import evidence
from .call_recording_push import DIRECTION_KEYS

_logger = logging.getLogger(__name__)

#: The bus notification of a call that starts (the web client's screen pop).
CALL_START_NOTIFICATION = "call_recording/call_start"


class CallRecording(models.Model):
    _inherit = "call.recording"

    reserved_date = fields.Datetime(
        string="Reference Announced On",
        readonly=True,
        copy=False,
        help="When the PBX or IVR reserved this call's reference at the start of the call, "
        "to tell it to the caller. An announced reference is kept until its date, with or "
        "without a recording.",
    )
    awaiting_delivery = fields.Boolean(
        string="Awaiting the Call",
        readonly=True,
        copy=False,
        help="The reference was reserved when the call started; the PBX or the provider "
        "has not delivered the finished call yet.",
    )

    # ------------------------------------------------------------------
    # Public API (XML-RPC, JSON-2; the route in controllers/push.py)
    # ------------------------------------------------------------------

    @api.model
    def reserve_call(self, vals):
        """Reserve the reference of a call that is starting, to announce it.

        ``vals``: ``provider`` (the account's id or name, one that lists
        this integration user: a push account or one whose calls are
        imported), ``external_id`` (the call's id at the PBX or provider:
        Asterisk's ``UNIQUEID``, Twilio's parent ``CallSid``, Aircall's call
        id, Zadarma's ``pbx_call_id``), and optionally ``direction``
        (``inbound``), ``start`` (now), ``caller_number``,
        ``callee_number``, ``agent_email``, ``agent_external_id`` and
        ``agent_name``.

        Idempotent on (account, ``external_id``): asked again, the same
        reference comes back.  Returns ``{"id", "reference",
        "announcement", "created", "result", "partner_matched"}``;
        ``announcement`` is the line's text with the reference filled in.
        The push or import that delivers the call later keeps this
        reference.  Raises the Push API's errors (every wrong field named).
        """
        if not isinstance(vals, dict):
            raise self._push_error({"vals": self.env._("must be an object (a dictionary)")})
        return self._reserve_call(dict(vals))

    @api.model
    def _reserve_call(self, vals):
        self._push_check_user()
        reader = push_lib.Reader(vals, self.env._)
        reader.unknown(push_lib.RESERVE_FIELDS)
        provider = self._push_provider(reader, any_type=True)
        pcall = push_lib.read_reservation(reader, DIRECTION_KEYS)
        self._push_check(reader)
        # the same call reserved twice at the same moment: the other request
        # stored it; this one is run again and finds it
        return self._push_once(
            provider,
            pcall,
            lambda: self._reserve_store(provider, pcall),
            self.env._(
                "another request is reserving this call right now; nothing was "
                "changed by this one. Send it again."
            ),
            self.env._("is being reserved by another request right now; send it again"),
        )

    @api.model
    def _reserve_store(self, provider, pcall):
        call = self._push_existing(provider, pcall.external_id)
        result = "unchanged"
        if call:
            changes = {}
            if not call.reserved_date:
                # delivered before it was reserved: announced from now on
                changes["reserved_date"] = fields.Datetime.now()
            agent = (
                self.env["call.recording.provider.user"]
                ._resolve_agents(provider, [pcall])
                .get(pcall.agent_key)
            )
            if agent and not call.user_id and call.company_id in self._user_companies(agent):
                changes["user_id"] = agent
            if changes:
                evidence.writer(call).write(changes)
                result = "updated"
        else:
            calls, _counts = self.with_context(mail_create_nosubscribe=True)._upsert_provider_calls(
                provider, [pcall]
            )
            # sudo: the call just reserved, read back by the system that made it
            call = calls.sudo()
            evidence.writer(call).write(
                {"reserved_date": fields.Datetime.now(), "awaiting_delivery": True}
            )
            result = "created"
        if result != "unchanged":
            _logger.info(
                "Reservation of %s/%s by %s: %s (%s)",
                provider.name,
                pcall.external_id,
                self.env.user.login,
                call.name,
                result,
            )
            call._notify_call_start()
        return {
            "id": call.id,
            "reference": call.name,
            "announcement": call.line_id._announcement_for(call.name) or "",
            "created": result == "created",
            "result": result,
            # matched or not, not who (the key is no number lookup)
            "partner_matched": bool(call.partner_id),
        }

    @api.model
    def _user_companies(self, user_id):
        # sudo: the agent's companies, whoever reserves.
        return self.env["res.users"].sudo().browse(user_id).company_ids

    def _reserved_call_changes(self, pcall):
        """What the first delivery of a reserved call sets: the call as it was.

        The reservation said what the PBX knew at the start; the delivery
        says how the call went (its direction, start, numbers), under the
        reserved reference.
        """
        self.ensure_one()
        changes = {"awaiting_delivery": False}
        if pcall.direction and pcall.direction != self.direction:
            changes["direction"] = pcall.direction
        start = pcall.start.astimezone(UTC).replace(tzinfo=None, microsecond=0)
        if start != self.start_datetime:
            changes["start_datetime"] = start
        for key in ("caller_number", "callee_number"):
            value = getattr(pcall, key)
            if value and value != self[key]:
                changes[key] = value
        return changes

    # ------------------------------------------------------------------
    # The screen pop
    # ------------------------------------------------------------------

    def _notify_call_start(self):
        """Tell each call's agent, in the web client, that the call is starting."""
        for call in self.filtered("user_id"):
            call._send_call_start(
                call.user_id, call.external_number_e164 or call.external_number, call.company_id
            )

    def _send_call_start(self, user, number, company, direction=None):
        """One bus notification to ``user`` (its partner's channel): a call is starting.

        ``self`` is the call, or empty when a provider's webhook announced a
        call that is not stored yet (the contact is then found from the
        number).  The contact is sent only if ``user`` may read it, the
        call only if ``user`` may read it; the number is what the agent's
        phone shows anyway.  Returns the payload (False when not sent).
        """
        # sudo: who the agent is and whether it is an employee, whoever
        # delivered the call; what is sent is cut to the agent's rights below.
        user = user.sudo()
        if not user or not user.active or user.share:
            return False
        call = self.sudo()[:1]
        partner = call.partner_id if call else self._partner_for_number(number, company)
        payload = {
            "call_id": False,
            "reference": False,
            "direction": call.direction or direction or False,
            "number": phone_lib.format_international(number) or number or False,
            "partner_id": False,
            "partner_name": False,
        }
        if call and call.with_user(user).has_access("read"):
            payload.update(call_id=call.id, reference=call.name)
        if partner and partner.with_user(user).has_access("read"):
            payload.update(partner_id=partner.id, partner_name=partner.display_name)
        user._bus_send(CALL_START_NOTIFICATION, payload)
        return payload
