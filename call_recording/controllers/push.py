import logging

from odoo import http
from odoo.exceptions import AccessError
from odoo.http import request

from ..models.call_recording_push import PushError

_logger = logging.getLogger(__name__)

#: Room for the metadata fields and the multipart framing beside the audio.
MULTIPART_MARGIN = 1024 * 1024


class CallRecordingPush(http.Controller):
    """``POST /call_recording/push``: one call and its audio from a PBX script.

    ``multipart/form-data`` with the fields of ``call.recording.push_call``
    as text and the recording as the file part ``audio`` (``sha256`` is
    accepted for ``audio_sha256``).  Authenticated with the API key of an
    integration user (``Authorization: Bearer <key>``).  The file part is
    spooled to disk by werkzeug and streamed into the filestore; the
    answer is JSON: 201 created, 200 known call (updated or unchanged),
    400 invalid fields, 401 no or bad key, 403 not an integration user,
    409 duplicate with different content, 413 too large.
    """

    def _max_content_length(self):
        # sudo: the size limit is a setting integration users cannot read.
        return request.env["call.recording"].sudo()._max_audio_size() + MULTIPART_MARGIN

    @http.route(
        "/call_recording/push",
        type="http",
        auth="call_recording_key",
        methods=["POST"],
        csrf=False,
        save_session=False,
        max_content_length=_max_content_length,
    )
    def call_recording_push(self, **kwargs):
        form = request.httprequest.form
        files = request.httprequest.files
        vals = {key: form.get(key) for key in form}
        if "sha256" in vals and "audio_sha256" not in vals:
            vals["audio_sha256"] = vals.pop("sha256")
        upload = files.get("audio")
        extra_files = sorted(set(files) - {"audio"})
        if "audio" in vals and upload is None:
            # A text field named audio: not a file part.
            return self._answer(
                400,
                {
                    "error": "validation",
                    "message": request.env._("The call was not stored."),
                    "errors": {"audio": request.env._("must be sent as a file part")},
                },
            )
        for key in extra_files:
            vals[key] = "(file)"  # reported as an unknown field
        try:
            result = request.env["call.recording"]._push_call(
                vals,
                audio_stream=upload.stream if upload else None,
                audio_filename=upload.filename if upload else None,
            )
        except PushError as exc:
            errors = {
                409: "conflict",
                413: "too_large",
            }
            return self._answer(
                exc.status,
                {
                    "error": errors.get(exc.status, "validation"),
                    "message": str(exc),
                    "errors": exc.errors,
                },
            )
        except AccessError as exc:
            return self._answer(403, {"error": "forbidden", "message": str(exc), "errors": {}})
        return self._answer(201 if result["created"] else 200, result)

    def _answer(self, status, data):
        return request.make_json_response(data, status=status)
