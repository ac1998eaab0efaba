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
