from odoo import api, fields, models

SYNC_TRIGGERS = [
    ("cron", "Schedule"),
    ("manual", "Sync now"),
    ("webhook", "Webhook"),
]
SYNC_STATES = [
    ("running", "Running"),
    ("done", "Done"),
    ("partial", "Stopped, continues next run"),
    ("limited", "Paused by the provider's rate limit"),
    ("failed", "Failed"),
    ("interrupted", "Interrupted"),
]


class CallRecordingSyncLog(models.Model):
    """One import run of a provider account: what it did and what went wrong."""

    _name = "call.recording.sync.log"
    _description = "Call Import Run"
    _order = "started desc, id desc"
    _rec_name = "started"

    provider_id = fields.Many2one(
        "call.recording.provider", required=True, index=True, ondelete="cascade", readonly=True
    )
    company_id = fields.Many2one(related="provider_id.company_id", store=True)
    trigger = fields.Selection(SYNC_TRIGGERS, required=True, readonly=True)
    state = fields.Selection(SYNC_STATES, default="running", required=True, readonly=True)
    started = fields.Datetime(default=fields.Datetime.now, required=True, readonly=True)
    finished = fields.Datetime(readonly=True)
    duration = fields.Float(string="Seconds", compute="_compute_duration")
    pages = fields.Integer(readonly=True)
    calls_created = fields.Integer(string="Created", readonly=True)
    calls_updated = fields.Integer(string="Updated", readonly=True)
    calls_skipped = fields.Integer(
        string="Unchanged", readonly=True, help="Calls read again that were already up to date."
    )
    calls_failed = fields.Integer(string="Unreadable", readonly=True)
    audio_downloaded = fields.Integer(string="Recordings", readonly=True)
    audio_failed = fields.Integer(string="Failed Downloads", readonly=True)
    audio_waiting = fields.Integer(
        string="Not Ready", readonly=True, help="Recordings the provider was still processing."
    )
    webhooks_processed = fields.Integer(string="Webhooks", readonly=True)
    error = fields.Text(readonly=True)
    summary = fields.Char(compute="_compute_summary")

    @api.depends("started", "finished")
    def _compute_duration(self):
        for log in self:
            log.duration = (
                (log.finished - log.started).total_seconds() if log.finished and log.started else 0
            )

    @api.depends("calls_created", "calls_updated", "audio_downloaded", "audio_failed", "error")
    def _compute_summary(self):
        for log in self:
            summary = self.env._(
                "%(created)s new calls, %(updated)s updated, %(unreadable)s unreadable; "
                "%(downloaded)s recordings downloaded, %(failed)s failed.",
                created=log.calls_created,
                updated=log.calls_updated,
                unreadable=log.calls_failed,
                downloaded=log.audio_downloaded,
                failed=log.audio_failed,
            )
            if log.state == "partial":
                summary += " " + self.env._("The rest follows in the next run.")
            elif log.state == "limited":
                summary += " " + self.env._(
                    "The provider's request quota is used up: the import job "
                    "continues in the background once it is renewed."
                )
            if log.error and log.state != "limited":
                summary += " " + log.error
            log.summary = summary
