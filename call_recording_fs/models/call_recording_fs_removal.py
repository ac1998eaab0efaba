from odoo import api, fields, models
from odoo.tools import SQL


class CallRecordingFsRemoval(models.Model):
    """An object of a deleted recording that the store did not delete yet.

    ``call.recording.file`` deletes a recording's object once its deletion
    is committed and checks it is gone; when the store cannot do it then,
    the name waits here and is tried again every hour until the store
    confirms (``fs_attachment``'s own garbage collection drops a name whose
    deletion failed, which would leave the recording in the bucket).
    """

    _name = "call.recording.fs.removal"
    _description = "Recording Object Awaiting Deletion"
    _order = "id"

    store_fname = fields.Char(string="Object", required=True, readonly=True)
    attempts = fields.Integer(readonly=True, default=1)
    last_error = fields.Char(readonly=True)

    _store_fname_uniq = models.Constraint(
        "unique (store_fname)", "An object waits for its deletion once."
    )

    @api.model
    def _failed(self, fname, error):
        """Note that ``fname`` could not be deleted (in the deleting transaction)."""
        self.env.cr.execute(
            SQL(
                "INSERT INTO call_recording_fs_removal (store_fname, attempts, last_error, "
                "create_date, write_date, create_uid, write_uid) "
                "VALUES (%(f)s, 1, %(e)s, now() at time zone 'UTC', now() at time zone 'UTC', "
                "%(u)s, %(u)s) ON CONFLICT (store_fname) DO UPDATE SET "
                "attempts = call_recording_fs_removal.attempts + 1, "
                "last_error = EXCLUDED.last_error, write_date = EXCLUDED.write_date",
                f=fname,
                e=str(error)[:500],
                u=self.env.uid,
            )
        )

    @api.model
    def _done(self, fname):
        self.env.cr.execute(
            SQL("DELETE FROM call_recording_fs_removal WHERE store_fname = %s", fname)
        )

    @api.model
    def _cron_retry(self, limit=500):
        """Delete again the objects whose deletion failed; forget those in use again."""
        Files = self.env["call.recording.file"]
        waiting = self.search([], limit=limit)
        for removal in waiting:
            fname = removal.store_fname
            self.env.cr.execute(
                SQL("SELECT 1 FROM ir_attachment WHERE store_fname = %s LIMIT 1", fname)
            )
            if self.env.cr.fetchone():
                self._done(fname)  # stored again since: not to be deleted
            else:
                Files._remove_unused([fname])
            self.env["ir.cron"]._commit_progress(1)
        return len(waiting)
