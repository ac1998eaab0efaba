from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError

from . import evidence

PURGE_RULES = [
    ("retention", "Retention period over"),
    ("consent", "Consent refused"),
    ("consent_missing", "No consent noted in time"),
    ("not_recorded", "Line not recorded"),
    ("metadata", "Call data retention over"),
    ("manual", "Deleted by hand"),
    ("replaced", "Replaced by another copy"),
]


class CallRecordingPurgeLog(models.Model):
    """Evidence of each deletion, for an auditor: what, when, under which rule, by whom.

    Holds the call's reference, the provider's call id and the policy facts
    only, no personal data of the other party (no numbers, names or
    content).  ``user_id`` is the person who caused the deletion: the one
    who pressed the button (a refusal, a deletion by hand, a hold's release,
    a job run by hand), the system user only for the scheduled purge.
    Written by the system only (``_record``); nobody changes or deletes it.
    """

    _name = "call.recording.purge.log"
    _description = "Call Recording Purge Log"
    _order = "create_date desc, id desc"
    _rec_name = "call_reference"

    call_reference = fields.Char(string="Reference", required=True, readonly=True, index=True)
    provider_call_id = fields.Char(string="Provider Call ID", readonly=True, index="btree_not_null")
    company_id = fields.Many2one("res.company", required=True, readonly=True, index=True)
    rule = fields.Selection(PURGE_RULES, required=True, readonly=True)
    what = fields.Selection(
        [("audio", "Recording"), ("call", "Call data")], required=True, readonly=True
    )
    line_name = fields.Char(string="Line", readonly=True)
    legal_basis = fields.Char(readonly=True)
    retention_date = fields.Date(readonly=True)
    audio_sha256 = fields.Char(string="SHA-256 of Deleted Audio", readonly=True)
    user_id = fields.Many2one(
        "res.users",
        string="Caused By",
        readonly=True,
        help="The person who caused the deletion (the system for the scheduled purge).",
    )
    note = fields.Char(string="Details", readonly=True)
    create_date = fields.Datetime(string="Deleted On", readonly=True, index=True)

    @api.model_create_multi
    def create(self, vals_list):
        if not evidence.is_writer(self.env):
            raise AccessError(self.env._("The purge log is written by the system only."))
        return super().create(vals_list)

    @api.model
    def _record(self, vals_list):
        """Write entries, as the system (callers log what they just deleted)."""
        return evidence.writer(self).create(vals_list)

    def write(self, vals):  # pylint: disable=method-required-super
        raise UserError(self.env._("The purge log cannot be changed."))

    @api.ondelete(at_uninstall=False)
    def _unlink_never(self):
        raise UserError(self.env._("The purge log cannot be deleted."))
