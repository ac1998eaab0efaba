from odoo import fields, models

EXPORT_STATES = [
    ("pending", "To Send"),
    ("failed", "Failed, Will Retry"),
    ("done", "Exported"),
    ("to_delete", "To Delete on Server"),
    ("deleted", "Deleted on Server"),
    ("cancelled", "Cancelled"),
]


class CallRecordingExport(models.Model):
    """One call on one export target: sent once, verified, and where it lies.

    The unique (call, target) pair is what makes runs idempotent: a call is
    exported once per target, and a run that stopped resumes with the
    calls still to send.  Kept when the call itself is deleted, so that a
    remote copy still to be deleted is not forgotten.
    """

    _name = "call.recording.export"
    _description = "Call Recording Export"
    _order = "id desc"
    _rec_name = "call_reference"

    call_id = fields.Many2one("call.recording", index=True, ondelete="set null")
    call_reference = fields.Char(string="Reference", required=True, readonly=True, index=True)
    target_id = fields.Many2one(
        "call.recording.export.target",
        string="Export Target",
        required=True,
        readonly=True,
        index=True,
        ondelete="cascade",
    )
    company_id = fields.Many2one("res.company", required=True, readonly=True, index=True)
    state = fields.Selection(
        EXPORT_STATES, required=True, default="pending", readonly=True, index=True
    )
    remote_path = fields.Char(readonly=True)
    size = fields.Integer(string="Size (bytes)", readonly=True)
    sha256 = fields.Char(string="SHA-256", readonly=True)
    server_verified = fields.Boolean(
        string="SHA-256 Checked by Server",
        readonly=True,
        help="The server computed the checksum itself; otherwise the size was checked.",
    )
    exported_date = fields.Datetime(readonly=True)
    run_id = fields.Many2one("call.recording.export.run", readonly=True)
    attempt_count = fields.Integer(string="Failed Attempts", readonly=True)
    next_attempt_date = fields.Datetime(string="Next Attempt", readonly=True)
    last_error = fields.Text(readonly=True)
    delete_reason = fields.Selection(
        [("refused", "Consent refused"), ("purged", "Retention period over")], readonly=True
    )
    deleted_date = fields.Datetime(string="Deleted on Server On", readonly=True)
    fetched_date = fields.Datetime(string="Last Fetched Back", readonly=True)

    _call_target_unique = models.Constraint(
        "UNIQUE(call_id, target_id)", "A call is exported only once to each target."
    )
    _target_state_idx = models.Index("(target_id, state, next_attempt_date)")
