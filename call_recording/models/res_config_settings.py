from markupsafe import Markup, escape

from odoo import api, fields, models


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
    call_recording_default_policy_date = fields.Datetime(
        related="company_id.call_recording_default_policy_date"
    )
    call_recording_consent_retention_months = fields.Integer(
        related="company_id.call_recording_consent_retention_months", readonly=False
    )
    call_recording_metadata_mode = fields.Selection(
        related="company_id.call_recording_metadata_mode", readonly=False
    )
    call_recording_metadata_retention_months = fields.Integer(
        related="company_id.call_recording_metadata_retention_months", readonly=False
    )
    call_recording_metadata_purpose = fields.Text(
        related="company_id.call_recording_metadata_purpose", readonly=False
    )
    call_recording_link_max_days = fields.Integer(
        related="company_id.call_recording_link_max_days", readonly=False
    )
    call_recording_package_keep_days = fields.Integer(
        related="company_id.call_recording_package_keep_days", readonly=False
    )
    call_recording_retention_table = fields.Html(
        string="Retention per Line",
        compute="_compute_call_recording_retention_table",
        sanitize=False,
    )

    @api.depends("company_id")
    def _compute_call_recording_retention_table(self):
        """Each line's recording and call data periods, with the purpose of the data
        (as saved: the table follows a change once the settings are saved)."""
        Line = self.env["call.recording.line"]
        policies = dict(Line._fields["policy"]._description_selection(self.env))
        for settings in self:
            company = settings.company_id
            rows = []
            for line in Line.search([("company_id", "=", company.id)]):
                rows.append(
                    (
                        line.name,
                        policies.get(line.policy, ""),
                        line.retention_months if line.policy != "none" else 0,
                        line._metadata_months(),
                        line.metadata_purpose or company.call_recording_metadata_purpose or "",
                    )
                )
            policy = company._call_recording_unlisted_policy()
            months = company._call_recording_unlisted_months(policy)
            rows.append(
                (
                    self.env._("Unlisted lines"),
                    policies.get(company.call_recording_default_policy, "")
                    or self.env._("Not chosen yet (kept as legal obligation)"),
                    months,
                    max(company._call_recording_metadata_months(policy, months), months),
                    company.call_recording_metadata_purpose or "",
                )
            )
            head = (
                self.env._("Line"),
                self.env._("Policy"),
                self.env._("Recording (months)"),
                self.env._("Call data (months)"),
                self.env._("Why call data are kept"),
            )
            html = Markup('<table class="table table-sm o_call_recording_retention"><thead><tr>')
            html += Markup("").join(Markup("<th>%s</th>") % escape(h) for h in head)
            html += Markup("</tr></thead><tbody>")
            for row in rows:
                html += Markup("<tr>")
                html += Markup("").join(Markup("<td>%s</td>") % escape(str(v)) for v in row)
                html += Markup("</tr>")
            settings.call_recording_retention_table = html + Markup("</tbody></table>")
