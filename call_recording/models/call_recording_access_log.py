"""Who listened to or downloaded which recording: the log, and how calls write it.

``call.recording.access.log`` holds the entries; the calls' side (a play
logged once per window, downloads, refused attempts) is below it.  The
hand-over downloads are logged by ``call_recording_request_handover.py``.
"""

from datetime import timedelta

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL

ACCESS_TYPES = [
    ("play", "Play"),
    ("download", "Download"),
    ("handover", "Hand-over download"),
    ("refused", "Refused"),
]
#: Range requests of one user on one call within this window are one play.
PLAY_LOG_WINDOW_MINUTES = 10
#: First key of the advisory lock that serialises a call's first play
#: requests (the second key is the call's id); see ``_log_play``.
PLAY_LOCK_KEY = 0x43525059  # "CRPY"


class CallRecordingAccessLog(models.Model):
    """Who listened to or downloaded which recording, when and from where.

    Written only by the audio and hand-over routes (accountability, GDPR Art.
    5(2)), refused attempts included; never edited, and kept when the call
    itself is deleted.
    """

    _name = "call.recording.access.log"
    _description = "Call Recording Access Log"
    _order = "create_date desc, id desc"
    _rec_name = "call_reference"

    call_id = fields.Many2one("call.recording", index=True, ondelete="set null", readonly=True)
    request_id = fields.Many2one(
        "call.recording.request", index="btree_not_null", ondelete="set null", readonly=True
    )
    call_reference = fields.Char(string="Reference", readonly=True, required=True)
    company_id = fields.Many2one("res.company", index=True, readonly=True, required=True)
    user_id = fields.Many2one(
        "res.users", index=True, readonly=True, required=True, ondelete="restrict"
    )
    access_type = fields.Selection(ACCESS_TYPES, string="Access", readonly=True, required=True)
    ip_address = fields.Char(string="IP Address", readonly=True)
    user_agent = fields.Char(readonly=True)
    create_date = fields.Datetime(string="Date", readonly=True, index=True)

    def write(self, vals):  # pylint: disable=method-required-super
        raise UserError(self.env._("The access log of recordings cannot be changed."))

    @api.ondelete(at_uninstall=False)
    def _unlink_never(self):
        raise UserError(self.env._("The access log of recordings cannot be deleted."))


class CallRecording(models.Model):
    _inherit = "call.recording"

    def action_open_access_log(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "call_recording.call_recording_access_log_action"
        )
        action["domain"] = [("call_id", "=", self.id)]
        action["context"] = {}
        return action

    def _played_recently(self, minutes=PLAY_LOG_WINDOW_MINUTES):
        """Whether the current user's play of this call is already logged.

        A player fetches a recording in several Range requests (start,
        seeks); they belong to the play logged first.
        """
        self.ensure_one()
        since = fields.Datetime.now() - timedelta(minutes=minutes)
        # sudo: the access log is readable by managers only; this only
        # looks up the current user's own entries.
        return bool(
            self.env["call.recording.access.log"]
            .sudo()
            .search_count(
                [
                    ("call_id", "=", self.id),
                    ("user_id", "=", self.env.uid),
                    ("access_type", "=", "play"),
                    ("create_date", ">=", since),
                ],
                limit=1,
            )
        )

    def _play_logged_elsewhere(self, minutes=PLAY_LOG_WINDOW_MINUTES):
        """Whether another transaction has committed this user's play of this call.

        Odoo's transactions are REPEATABLE READ: what a concurrent request
        committed after this one began is invisible to it, so a new cursor
        (a snapshot taken now) looks.
        """
        self.ensure_one()
        since = fields.Datetime.now() - timedelta(minutes=minutes)
        with self.env.registry.cursor() as cr:
            cr.execute(
                SQL(
                    "SELECT 1 FROM call_recording_access_log WHERE call_id = %s "
                    "AND user_id = %s AND access_type = 'play' AND create_date >= %s LIMIT 1",
                    self.id,
                    self.env.uid,
                    since,
                )
            )
            return bool(cr.fetchone())

    def _log_play(self, ip_address=None, user_agent=None):
        """Log the current user's play of this call, once per window.

        A browser sends its first Range requests in parallel; with several
        workers both could find no play and log one each.  The check and
        the insert are serialised per call by a transaction-level advisory
        lock (released at commit): the second request waits for the first
        to commit, then sees its entry.  Returns the new entry, or an empty
        recordset when the play was logged already.
        """
        self.ensure_one()
        Log = self.env["call.recording.access.log"]
        if self._played_recently():
            return Log
        self.env.cr.execute(SQL("SELECT pg_advisory_xact_lock(%s, %s)", PLAY_LOCK_KEY, self.id))
        if self._play_logged_elsewhere():
            return Log
        return self._log_access("play", ip_address=ip_address, user_agent=user_agent)

    @api.model
    def _log_refused_access(self, call_id, ip_address=None, user_agent=None):
        """Log that the current user was refused the recording of ``call_id``.

        Beside plays and downloads: a call the user may not read, or one that
        does not exist (its id is kept, as ``#<id>``).
        """
        # sudo: the refused user may not read the call; the system names it.
        call = self.sudo().browse(call_id).exists()
        # sudo: nobody may create log entries by hand (see _log_access).
        return (
            self.env["call.recording.access.log"]
            .sudo()
            .create(
                {
                    "call_id": call.id or False,
                    "call_reference": call.name or f"#{call_id}",
                    "company_id": (call.company_id or self.env.company).id,
                    "user_id": self.env.uid,
                    "access_type": "refused",
                    "ip_address": ip_address,
                    "user_agent": (user_agent or "")[:256] or False,
                }
            )
        )

    def _log_access(self, access_type, ip_address=None, user_agent=None):
        """Record that the current user played or downloaded these calls."""
        # sudo: nobody may create log entries by hand; the log is written
        # by the audio route for the user whose access was just checked.
        return (
            self.env["call.recording.access.log"]
            .sudo()
            .create(
                [
                    {
                        "call_id": call.id,
                        "call_reference": call.name,
                        "company_id": call.company_id.id,
                        "user_id": self.env.uid,
                        "access_type": access_type,
                        "ip_address": ip_address,
                        "user_agent": (user_agent or "")[:256] or False,
                    }
                    for call in self
                ]
            )
        )
