from odoo import api, fields, models

RUN_STATES = [
    ("running", "Running"),
    ("done", "Done"),
    ("partial", "Done with Errors"),
    ("failed", "Failed"),
]
TRIGGERS = [("cron", "Schedule"), ("manual", "Export Now")]


class CallRecordingExportRun(models.Model):
    """The transfer log of one run of a target: files, bytes, time, errors."""

    _name = "call.recording.export.run"
    _description = "Call Recording Export Run"
    _order = "start_date desc, id desc"

    name = fields.Char(required=True, readonly=True)
    target_id = fields.Many2one(
        "call.recording.export.target",
        string="Export Target",
        required=True,
        readonly=True,
        index=True,
        ondelete="cascade",
    )
    company_id = fields.Many2one(related="target_id.company_id", store=True, index=True)
    trigger = fields.Selection(TRIGGERS, required=True, readonly=True, default="manual")
    user_id = fields.Many2one("res.users", string="Started By", readonly=True)
    state = fields.Selection(RUN_STATES, required=True, default="running", readonly=True)
    start_date = fields.Datetime(required=True, readonly=True, default=fields.Datetime.now)
    end_date = fields.Datetime(readonly=True)
    file_count = fields.Integer(string="Files", readonly=True)
    byte_count = fields.Float(string="Bytes", readonly=True, digits=(20, 0))
    megabytes = fields.Float(string="MB", compute="_compute_rates", digits=(16, 2))
    seconds = fields.Float(readonly=True, digits=(16, 2))
    rate = fields.Float(string="MB/s", compute="_compute_rates", digits=(16, 2))
    error_count = fields.Integer(string="Errors", readonly=True)
    deleted_count = fields.Integer(string="Deleted on Server", readonly=True)
    removed_local_count = fields.Integer(string="Local Audio Removed", readonly=True)
    manifest_paths = fields.Text(string="Manifests", readonly=True)
    log = fields.Text(readonly=True)

    @api.depends("byte_count", "seconds")
    def _compute_rates(self):
        for run in self:
            run.megabytes = run.byte_count / 1e6
            run.rate = run.megabytes / run.seconds if run.seconds else 0.0

    def _add_log(self, line):
        """Append a line to the run's log (written by the system)."""
        self.ensure_one()
        stamp = fields.Datetime.now().strftime("%H:%M:%S")
        self.log = f"{self.log or ''}{stamp} {line}\n"
