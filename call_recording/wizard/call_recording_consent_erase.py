from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError
from odoo.fields import Domain


class CallRecordingConsentErase(models.TransientModel):
    """A contact's standing refusal: erase their earlier recordings made with consent.

    Withdrawing consent allows it (GDPR Art. 7(3), 17(1)(b)).  The list is
    the server's, never the client's: the consent-line calls of the
    contact's customer, with their recording, in the user's companies.
    Each deletion goes to the purge log with the person who confirmed it;
    calls on legal hold keep their audio until the hold ends.
    """

    _name = "call.recording.consent.erase"
    _description = "Erase Earlier Consent Recordings"

    partner_id = fields.Many2one("res.partner", required=True, ondelete="cascade")
    call_ids = fields.Many2many(
        "call.recording", string="Recordings to Erase", compute="_compute_call_ids"
    )
    call_count = fields.Integer(compute="_compute_call_ids")

    @api.model
    def _erasable_domain(self, partner):
        Call = self.env["call.recording"]
        return Domain(
            [
                ("commercial_partner_id", "=", partner.commercial_partner_id.id),
                ("legal_basis", "=", "consent"),
                ("consent_state", "!=", "refused"),
                ("recording_status", "in", Call._stored_audio_statuses()),
            ]
        )

    @api.depends("partner_id")
    def _compute_call_ids(self):
        for wizard in self:
            calls = self.env["call.recording"].search(self._erasable_domain(wizard.partner_id))
            wizard.call_ids = calls
            wizard.call_count = len(calls)

    def action_erase(self):
        self.ensure_one()
        if not self.env.user.has_group("call_recording.group_call_recording_manager"):
            raise AccessError(self.env._("Only managers erase recordings."))
        partner = self.partner_id.commercial_partner_id
        if not partner.call_recording_refused:
            raise UserError(
                self.env._(
                    "%(name)s has no standing refusal of recording.", name=partner.display_name
                )
            )
        # the server's list, with the user's own access rights
        calls = self.env["call.recording"].search(self._erasable_domain(partner))
        if not calls:
            raise UserError(self.env._("There is no recording made with consent to erase."))
        calls.check_access("write")
        calls._refuse_consent(
            source="partner",
            note=self.env._("Consent withdrawn: the contact's standing refusal."),
        )
        held = calls.filtered("legal_hold")
        # sudo: the note on the customer's card, whoever may edit contacts.
        partner.sudo().message_post(
            body=self.env._(
                "Earlier recordings made with consent erased at the contact's request "
                "(withdrawal of consent) by %(user)s: %(calls)s.",
                user=self.env.user.name,
                calls=", ".join(calls.mapped("name")),
            )
            + (
                self.env._(
                    " Kept until their legal hold ends: %(calls)s.",
                    calls=", ".join(held.mapped("name")),
                )
                if held
                else ""
            ),
            subtype_xmlid="mail.mt_note",
        )
        return {"type": "ir.actions.act_window_close"}
