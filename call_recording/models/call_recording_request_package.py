"""The hand-over package of a recording request: built, checked, deleted.

A ZIP of the request's recordings with a metadata sheet (CSV and JSON),
built by ``lib/handover.py`` and stored through ``call.recording.file``;
handed over only while it is the one the request built (its SHA-256), and
deleted once its time is over or one of its recordings goes (no copy
outlives its recording), leaving the list of what it held.  How it
reaches the customer: ``call_recording_request_handover.py``.
"""

import json
import os
import tempfile
from datetime import timedelta

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import consteq

from ..lib import handover
from . import evidence


class CallRecordingRequest(models.Model):
    _inherit = "call.recording.request"

    package_id = fields.Many2one("ir.attachment", readonly=True, copy=False)
    package_sha256 = fields.Char(string="Package SHA-256", readonly=True, copy=False)
    package_size = fields.Integer(readonly=True, copy=False)
    package_content = fields.Text(
        string="Handed Over",
        readonly=True,
        copy=False,
        help="What the package holds, one recording a line (reference, provider call id, "
        "SHA-256): kept when the package itself is deleted.",
    )
    package_delete_date = fields.Datetime(
        string="Package Deleted After", readonly=True, copy=False, index="btree_not_null"
    )
    package_deleted_date = fields.Datetime(string="Package Deleted On", readonly=True, copy=False)

    def _drop_package(self):
        """Delete the package of these requests.

        A package handed over (or sent) leaves its evidence: the request
        keeps the list of what it held and its SHA-256, and says when it was
        deleted.  One never handed over (its calls changed) is simply gone.
        """
        requests = self.filtered("package_id")
        if not requests:
            return
        # sudo: the requests' own package attachments, deleted by the system.
        packages = requests.sudo().package_id
        handed = requests.filtered("delivered_date")
        evidence.writer(handed).write(
            {
                "package_id": False,
                "package_delete_date": False,
                "package_deleted_date": fields.Datetime.now(),
            }
        )
        evidence.writer(requests - handed).write(
            {
                "package_id": False,
                "package_sha256": False,
                "package_size": 0,
                "package_content": False,
                "package_delete_date": False,
            }
        )
        # the file itself, not only its record, once the deletion is committed
        self.env["call.recording.file"]._delete(packages)
        for request in handed:
            request.message_post(
                body=self.env._(
                    "The hand-over package was deleted (SHA-256 %(sha)s); the list of "
                    "what it held stays on the request.",
                    sha=request.package_sha256,
                ),
                subtype_xmlid="mail.mt_note",
            )

    @api.model
    def _drop_packages_of(self, calls):
        """No copy outlives its recording: packages holding one of ``calls`` go."""
        if not calls:
            return
        # sudo: whichever manager handles a request, the system deletes its package.
        self.sudo().search(
            [("package_id", "!=", False), ("call_ids", "in", calls.ids)]
        )._drop_package()

    @api.model
    def _cron_drop_expired_packages(self):
        """Packages past their time (the link expired, or the company's days) go."""
        # sudo: every company's requests, for the purge job.
        self.sudo().search(
            [("package_id", "!=", False), ("package_delete_date", "<", fields.Datetime.now())]
        )._drop_package()

    def action_prepare_package(self):
        """Build the ZIP: the recordings and a metadata sheet (CSV and JSON)."""
        self.check_access("write")
        self._check_deliverable()
        for request in self:
            request._build_package()
        return True

    def _build_package(self):
        self.ensure_one()
        # sudo: the manager handling the request may not see every agent's
        # call, but the customer is owed all of theirs.
        calls = self.call_ids.sudo().filtered("has_audio")
        Files = self.env["call.recording.file"]
        tz_name = self._customer_tz()
        entries = []
        for call in calls:
            attachment = call._get_playable_audio_attachment()
            unreadable = UserError(
                self.env._(
                    "The recording of %(call)s cannot be read now (kept on a server "
                    "that did not answer?); try again later.",
                    call=call.name,
                )
            )
            if not attachment:
                raise unreadable
            entries.append(
                handover.PackageEntry(
                    path="",
                    opener=_explained(Files._opener(attachment), unreadable),
                    size=attachment.file_size,
                    modified=call.start_datetime,
                    arcname=call._audio_download_name(),
                    metadata={
                        "reference": call.name,
                        "announced_reference": call.name if call.reserved_date else "",
                        "provider_call_id": call.external_id or "",
                        "date": handover.local_iso(call.start_datetime, tz_name),
                        "time_zone": tz_name,
                        "duration_seconds": call.duration,
                        "direction": call.direction,
                        "line": call.line_id.name or "",
                        "our_number": call.line_number_e164 or call.line_number or "",
                        "other_number": call.external_number_e164 or call.external_number or "",
                        "sha256": call.audio_sha256 or "",
                    },
                )
            )
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "package.zip")
            handover.build_package(path, entries, title=self.name)
            with open(path, "rb") as fp, Files._receive(fp) as spooled:
                # The request's own package, replaced by the system.
                Files._delete(self.package_id)
                filename = f"{self.name.replace('/', '-')}_recordings.zip"
                package = Files._store(
                    spooled,
                    {
                        "name": filename,
                        "mimetype": "application/zip",
                        "res_model": self._name,
                        "res_id": self.id,
                    },
                )
        keep_days = self.company_id.call_recording_package_keep_days or 7
        evidence.writer(self).write(
            {
                "package_id": package.id,
                "package_sha256": spooled.sha256,
                "package_size": spooled.size,
                "package_content": "\n".join(
                    json.dumps(
                        {
                            "reference": e.metadata["reference"],
                            "provider_call_id": e.metadata["provider_call_id"],
                            "sha256": e.metadata["sha256"],
                        },
                        ensure_ascii=False,
                    )
                    for e in entries
                ),
                "package_delete_date": fields.Datetime.now() + timedelta(days=keep_days),
                "package_deleted_date": False,
            }
        )
        return package

    def _handover_package(self):
        """The package this request built, unchanged since, or an empty recordset.

        Only the request's own attachment with the SHA-256 recorded when it
        was built is handed over: not another file a user could point the
        request to, nor a package whose content was replaced since.
        """
        self.ensure_one()
        # sudo: the package attachment is read for the check, as the system.
        package = self.sudo().package_id
        if (
            not package
            or not self.package_sha256
            or package.res_model != self._name
            or package.res_id != self.id
            or package.res_field
        ):
            return package.browse()
        try:
            sha256 = self.env["call.recording.file"]._sha256(package)
        except OSError:  # the file is gone from the storage
            return package.browse()
        if not consteq(sha256, self.package_sha256):
            return package.browse()
        return package


def _explained(opener, error):
    """``opener``, raising ``error`` when the file cannot be read."""

    def open_file():
        try:
            return opener()
        except OSError as exc:
            raise error from exc

    return open_file
