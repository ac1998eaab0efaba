import hashlib
import tempfile

from odoo import api, fields, models
from odoo.exceptions import ValidationError

from odoo.addons.call_recording.lib.audio import AUDIO_EXTENSIONS
from odoo.addons.call_recording.lib.backoff import next_attempt_delay

from ..lib import manifest as manifest_lib
from ..lib import template as template_lib
from ..lib.errors import TransferError

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
    manifest_path = fields.Char(
        string="Listed in Manifest",
        readonly=True,
        help="The manifest (JSON, beside its CSV) that lists this file on the server.",
    )
    run_id = fields.Many2one("call.recording.export.run", readonly=True)
    attempt_count = fields.Integer(string="Failed Attempts", readonly=True)
    next_attempt_date = fields.Datetime(string="Next Attempt", readonly=True)
    last_error = fields.Text(readonly=True)
    delete_reason = fields.Selection(
        [
            ("refused", "Consent refused"),
            ("purged", "Retention period over"),
            ("no_consent", "No consent noted in time"),
        ],
        readonly=True,
    )
    deleted_date = fields.Datetime(string="Deleted on Server On", readonly=True)
    fetched_date = fields.Datetime(string="Last Fetched Back", readonly=True)

    _call_target_unique = models.Constraint(
        "UNIQUE(call_id, target_id)", "A call is exported only once to each target."
    )
    _target_state_idx = models.Index("(target_id, state, next_attempt_date)")

    @api.constrains("company_id", "target_id", "call_id")
    def _check_same_company(self):
        for export in self:
            companies = export.target_id.company_id | export.company_id
            if export.call_id:
                companies |= export.call_id.company_id
            if len(companies) > 1:
                raise ValidationError(
                    self.env._(
                        "%(call)s belongs to another company than export target %(target)s.",
                        call=export.call_reference,
                        target=export.target_id.name,
                    )
                )

    # ------------------------------------------------------------------
    # What a run records (the run's sink calls these; written by the system)
    # ------------------------------------------------------------------

    def _mark_done(self, result, run):
        """Exported: verified and in place on the server."""
        self.ensure_one()
        self.write(
            {
                "state": "done",
                "remote_path": result.remote_path,
                "size": result.size,
                "sha256": result.sha256,
                "server_verified": result.sha256_verified_by_server,
                "exported_date": fields.Datetime.now(),
                "run_id": run.id,
                "last_error": False,
                "next_attempt_date": False,
            }
        )
        run.file_count += 1
        run.byte_count += result.size

    def _mark_failed(self, error, run):
        """Not exported: say why, and when it is tried again."""
        self.ensure_one()
        attempts = self.attempt_count + 1
        explained = run._explain(error)
        self.write(
            {
                "state": "failed",
                "attempt_count": attempts,
                "next_attempt_date": fields.Datetime.now() + next_attempt_delay(attempts),
                "last_error": explained,
                "run_id": run.id,
            }
        )
        run.error_count += 1
        run._add_log(f"{self.call_reference}: {explained}")

    def _mark_deleted(self, run):
        """The copy on the server is gone (a refused consent or the end of retention)."""
        self.ensure_one()
        vals = {"state": "deleted", "deleted_date": fields.Datetime.now()}
        if not self.call_id:
            vals["remote_path"] = False  # the call's data are gone: so is its path
        self.write(vals)
        run.deleted_count += 1
        # the reference, not the path (which may name the other party)
        run._add_log(self.env._("%(call)s: deleted from the server.", call=self.call_reference))
        if self.call_id:
            self.call_id.message_post(
                body=self.env._(
                    "The copy on export server %(target)s was deleted.", target=self.target_id.name
                ),
                subtype_xmlid="mail.mt_note",
            )

    # ------------------------------------------------------------------
    # The call's facts for the file name, the manifest, and its bytes
    # ------------------------------------------------------------------

    def _template_values(self, tz_name):
        call = self.call_id
        return template_lib.values_for(
            {
                "start": call.start_datetime,
                "reference": call.name,
                "direction": call.direction,
                "number": call.external_number_e164 or call.external_number,
                "line": call.line_number_e164 or call.line_number,
                "line_name": call.line_id.name,
                "customer": (call.commercial_partner_id or call.partner_id).name,
                "provider_call_id": call.external_id,
                "agent": call.user_id.login,
                "company": call.company_id.name,
                "id": call.id,
                "ext": AUDIO_EXTENSIONS.get(call.audio_mimetype, "bin"),
            },
            tz_name,
        )

    def _manifest_entry(self):
        call = self.call_id
        return {
            "reference": call.name,
            "start": fields.Datetime.to_string(call.start_datetime),
            "direction": call.direction,
            "state": call.state,
            "duration": call.duration,
            "number": call.external_number_e164 or call.external_number or "",
            "line": call.line_number_e164 or call.line_number or "",
            "agent": call.user_id.login or "",
            "company": call.company_id.name,
            "mimetype": call.audio_mimetype,
        }

    def _manifest_row(self):
        """This file's entry in its manifest, as written again after a deletion.

        A file deleted from the server keeps its facts (reference, size,
        SHA-256) and says why it went, without its personal data.
        """
        self.ensure_one()
        entry = (
            self._manifest_entry()
            if self.call_id
            else {"reference": self.call_reference, "company": self.company_id.name}
        )
        entry.update(remote_path=self.remote_path or "", size=self.size, sha256=self.sha256)
        if self.state in ("deleted", "to_delete") or not self.call_id:
            reason = dict(self._fields["delete_reason"]._description_selection(self.env)).get(
                self.delete_reason, ""
            )
            return manifest_lib.redacted(entry, reason or self.env._("deleted"))
        return entry

    def _fetch_back(self):
        """Download this export's file into a spooled temporary file and verify it.

        Returns the file object positioned at 0; raises TransferError.
        """
        self.ensure_one()
        spool = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115
        transport = self.target_id._connect()
        try:
            transport.download(self.remote_path, spool)
        finally:
            transport.close()
        spool.seek(0)
        digest = hashlib.sha256()
        for chunk in iter(lambda: spool.read(1024 * 1024), b""):
            digest.update(chunk)
        if digest.hexdigest() != self.sha256:
            spool.close()
            raise TransferError(
                "verify", f"{self.remote_path}: the copy on the server is not the recording"
            )
        spool.seek(0)
        return spool
