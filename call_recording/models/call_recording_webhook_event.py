import logging

import psycopg2

from odoo import api, fields, models
from odoo.tools import mute_logger

from ..lib.providers.base import ProviderError, ProviderRateLimited
from .call_recording_import import MAX_DOWNLOAD_ATTEMPTS

_logger = logging.getLogger(__name__)

#: Queued deliveries read back per run.
READ_BACK_BATCH = 200


class CallRecordingWebhookEvent(models.Model):
    """A webhook delivery we accepted, kept to recognise repeats and to finish it later.

    Providers deliver at least once and in any order: a delivery whose key
    is already here is answered and ignored.  One that names a call without
    its data waits here until the next run reads the call from the API.
    """

    _name = "call.recording.webhook.event"
    _description = "Provider Webhook Delivery"
    _order = "id desc"
    _rec_name = "event_key"

    provider_id = fields.Many2one(
        "call.recording.provider", required=True, index=True, ondelete="cascade", readonly=True
    )
    company_id = fields.Many2one(related="provider_id.company_id", store=True)
    event_key = fields.Char(required=True, readonly=True)
    kind = fields.Char(string="Event", readonly=True)
    external_id = fields.Char(string="Provider Call ID", readonly=True)
    recording_ref = fields.Char(string="Provider Recording ID", readonly=True)
    call_id = fields.Many2one("call.recording", readonly=True, ondelete="set null")
    state = fields.Selection(
        [("pending", "To read back"), ("done", "Done"), ("failed", "Failed")],
        default="pending",
        required=True,
        readonly=True,
        index=True,
    )
    attempts = fields.Integer(readonly=True)
    error = fields.Text(readonly=True)

    _provider_event_unique = models.Constraint(
        "UNIQUE(provider_id, event_key)", "A webhook delivery is processed only once."
    )

    @api.model
    def _receive(self, provider, events):
        """Store ``provider``'s deliveries fast; what needs the API waits for the import job.

        A delivery seen before (same key) is ignored; a call carried whole
        is stored now, without its audio; the job is woken up to read back
        announced calls and to download recordings.
        """
        provider.ensure_one()
        # sudo: deliveries are the system's record (the caller checked the
        # delivery's signature or token).
        Event = self.sudo()
        Call = self.env["call.recording"]
        wake = False
        seen = set(
            Event.search(
                [
                    ("provider_id", "=", provider.id),
                    ("event_key", "in", [event.event_key for event in events]),
                ]
            ).mapped("event_key")
        )
        for event in events:
            if event.event_key in seen:
                _logger.info("Webhook %s of %s delivered again", event.event_key, provider.name)
                continue
            seen.add(event.event_key)
            try:
                # The constraint settles a race with a simultaneous delivery.
                with self.env.cr.savepoint(), mute_logger("odoo.sql_db"):
                    record = Event.create(
                        {
                            "provider_id": provider.id,
                            "event_key": event.event_key,
                            "kind": event.kind,
                            "external_id": event.external_id
                            or (event.call.external_id if event.call else False),
                            "recording_ref": event.recording_ref or False,
                        }
                    )
            except psycopg2.IntegrityError:
                _logger.info("Webhook %s of %s delivered again", event.event_key, provider.name)
                continue
            if event.starting:
                # a call starting on an agent's phone: the screen pop, nothing stored
                record.write({"state": "done"})
                if event.call is not None:
                    provider._announce_call_start(event.call)
                continue
            if event.call is not None:
                if event.recording_ref and not event.call.recording_ref:
                    event.call.recording_ref = event.recording_ref
                calls, _counts = Call._upsert_provider_calls(provider, [event.call])
                record.write({"state": "done", "call_id": calls[:1].id})
                wake = wake or calls.filtered(lambda c: c.recording_status == "pending")
            else:
                wake = True
        if wake:
            self.env.ref("call_recording.ir_cron_call_recording_provider_sync")._trigger()

    @api.model
    def _read_back(self, provider, sink, adapter):
        """Read back the calls ``provider``'s deliveries announced without their data.

        ``sink`` stores them (and commits), ``adapter`` is the run's (its
        rate limiter is the run's): the provider's quota running out stops
        here, the deliveries stay pending.  Returns how many were done.
        """
        # sudo: the import's own records.
        events = self.sudo().search(
            [("provider_id", "=", provider.id), ("state", "=", "pending")],
            limit=READ_BACK_BATCH,
            order="id",
        )
        done = 0
        for event in events:
            try:
                pcall = adapter.refresh_call(event.external_id)
            except ProviderRateLimited:
                break  # not the event's fault: read back by a later run
            except ProviderError as exc:
                event.write(
                    {
                        "attempts": event.attempts + 1,
                        "error": str(exc),
                        "state": "pending"
                        if exc.retryable and event.attempts < MAX_DOWNLOAD_ATTEMPTS
                        else "failed",
                    }
                )
                continue
            if pcall is None:
                event.write({"state": "failed", "error": self.env._("Unknown call.")})
                continue
            if event.recording_ref and not pcall.recording_ref:
                pcall.recording_ref = event.recording_ref
            sink.store_calls([pcall], [])
            event.write({"state": "done", "error": False})
            done += 1
        return done
