import json
import logging

from odoo import http
from odoo.exceptions import AccessError
from odoo.http import request

from ..models.call_recording_push import PushBusy, PushError
from ..models.ir_http import incomplete_body_error, json_error, push_error_response

_logger = logging.getLogger(__name__)

#: Room for the metadata fields and the multipart framing beside the audio.
MULTIPART_MARGIN = 1024 * 1024
#: A reservation is a few fields: anything larger is refused before it is read.
RESERVE_MAX_BYTES = 64 * 1024


class CallRecordingPush(http.Controller):
    """``POST /call_recording/push``: one call and its audio from a PBX script.

    ``multipart/form-data`` with the fields of ``call.recording.push_call``
    as text and the recording as the file part ``audio`` (``sha256`` is
    accepted for ``audio_sha256``).  Authenticated with the API key of an
    integration user (``Authorization: Bearer <key>``).  The file part is
    spooled to disk by werkzeug and streamed into the filestore; the
    answer is JSON: 201 created, 200 known call (updated or unchanged),
    400 invalid fields or a body that ended before its end
    (``incomplete_body``), 401 no or bad key, 403 not an integration user,
    409 duplicate with different content, 413 too large (also for a body
    over the limit, before it is read), 503 with ``Retry-After`` when the
    same call is being stored by another delivery (retryable).  The last
    two are answered by ``ir.http._handle_error``: they happen before or
    after this method runs.  Every refusal has a kind, answered with the
    status of ``lib/push.py``'s ``HTTP_STATUS`` in the one JSON envelope
    (``models/ir_http.py``'s ``json_error``).
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
        httprequest = request.httprequest
        form = httprequest.form
        files = httprequest.files
        if not form and not files and (httprequest.content_length or 0) > 0:
            # werkzeug (2.3 and later) gives an empty form for a multipart
            # body that ended before its closing boundary (the sender died
            # mid-upload)
            return incomplete_body_error()
        vals = {key: form.get(key) for key in form}
        if "sha256" in vals and "audio_sha256" not in vals:
            vals["audio_sha256"] = vals.pop("sha256")
        upload = files.get("audio")
        extra_files = sorted(set(files) - {"audio"})
        if "audio" in vals and upload is None:
            # A text field named audio: not a file part.
            return json_error(
                "validation",
                request.env._("The call was not stored."),
                {"audio": request.env._("must be sent as a file part")},
            )
        for key in extra_files:
            vals[key] = "(file)"  # reported as an unknown field
        return self._json_api(
            lambda: request.env["call.recording"]._push_call(
                vals,
                audio_stream=upload.stream if upload else None,
                audio_filename=upload.filename if upload else None,
            )
        )

    @http.route(
        "/call_recording/reserve",
        type="http",
        auth="call_recording_key",
        methods=["POST"],
        csrf=False,
        save_session=False,
        max_content_length=RESERVE_MAX_BYTES,
    )
    def call_recording_reserve(self, **kwargs):
        """Reserve the reference of a call that starts (``call.recording.reserve_call``).

        The fields as a form (``application/x-www-form-urlencoded`` or
        ``multipart/form-data``) or a JSON object; the same key, answers
        and errors as the push: 201 reserved now, 200 reserved before.
        """
        httprequest = request.httprequest
        if httprequest.mimetype == "application/json":
            try:
                vals = json.loads(httprequest.get_data() or b"{}")
            except ValueError:
                vals = None
            if not isinstance(vals, dict):
                return json_error("validation", request.env._("The body is not a JSON object."))
        else:
            vals = {key: httprequest.form.get(key) for key in httprequest.form}
        return self._json_api(lambda: request.env["call.recording"]._reserve_call(vals))

    def _json_api(self, method):
        """Run ``method``; its result or its refusal as the Push API's JSON answer."""
        try:
            result = method()
        except PushBusy:
            raise  # Odoo runs the request again (see PushBusy)
        except PushError as exc:
            return push_error_response(exc)
        except AccessError as exc:
            return json_error("forbidden", str(exc))
        return request.make_json_response(result, status=201 if result["created"] else 200)
