from odoo import fields, models


class ResConfigSettings(models.TransientModel):
    _inherit = "res.config.settings"

    call_recording_max_audio_mb = fields.Integer(
        string="Largest Recording (MB)",
        config_parameter="call_recording.max_audio_mb",
        default=200,
        help="Recordings larger than this are refused, so that a faulty "
        "provider cannot fill the filestore.",
    )

    call_recording_default_policy = fields.Selection(
        related="company_id.call_recording_default_policy", readonly=False
    )
    call_recording_consent_retention_months = fields.Integer(
        related="company_id.call_recording_consent_retention_months", readonly=False
    )
    call_recording_metadata_retention_months = fields.Integer(
        related="company_id.call_recording_metadata_retention_months", readonly=False
    )
    call_recording_request_days = fields.Integer(
        related="company_id.call_recording_request_days", readonly=False
    )
