import logging

from werkzeug.exceptions import Forbidden, NotFound

from odoo import http
from odoo.exceptions import AccessError, MissingError
from odoo.http import request

from ..lib.audio import AUDIO_EXTENSIONS
from ..lib.safe import safe_filename
from ..models.ir_binary import AUDIO_ROUTE

_logger = logging.getLogger(__name__)


class CallRecordingController(http.Controller):
    @http.route(
        "/call_recording/<int:call_id>/audio",
        type="http",
        auth="user",
        methods=["GET", "HEAD"],
    )
    def call_recording_audio(self, call_id, download=None, **kwargs):
        """Play (inline) or download a call's recording.

        Access is checked on the call at every request, Range requests are
        answered with 206 so that players can seek, and the file is sent
        from its storage in chunks (``call.recording.file``).  Every
        download is logged; a play is logged unless the same user played
        this call in the last minutes, so that seeking (more Range
        requests) does not flood the log while no byte range escapes it.
        """
        call = request.env["call.recording"].browse(call_id)
        environ = request.httprequest
        try:
            # A call that does not exist and one the user may not read get
            # the same answer: the route tells no ids apart.
            call.check_access("read")
            has_audio = bool(call.exists()) and call.has_audio
        except (AccessError, MissingError):
            _logger.info("Refused recording %s to user %s", call_id, request.env.uid)
            # logged beside plays and downloads; the answer is returned, not
            # raised, so that the log entry is committed with it
            request.env["call.recording"]._log_refused_access(
                call_id, ip_address=environ.remote_addr, user_agent=environ.user_agent.string
            )
            return refused_response()
        attachment = call._get_playable_audio_attachment() if has_audio else None
        if not attachment:
            raise NotFound()

        as_attachment = bool(download and download not in ("0", "false"))
        if request.httprequest.method == "GET":
            if as_attachment:
                call._log_access(
                    "download",
                    ip_address=environ.remote_addr,
                    user_agent=environ.user_agent.string,
                )
            else:
                call._log_play(ip_address=environ.remote_addr, user_agent=environ.user_agent.string)

        stream = (
            request.env["call.recording.file"]
            .with_context(call_recording_audio_route=AUDIO_ROUTE)
            ._stream(attachment)
        )
        # Headers from safe values only: the stored name came from a PBX or
        # a provider, and only audio is ever served inline.
        mimetype = call.audio_mimetype or attachment.mimetype
        if mimetype not in AUDIO_EXTENSIONS:
            mimetype, as_attachment = "application/octet-stream", True
        stream.mimetype = mimetype
        stream.download_name = safe_filename(
            call.audio_filename, default=""
        ) or call._audio_download_name(mimetype)
        response = stream.get_response(as_attachment=as_attachment)
        # Tell players on the first, full response that they may seek.
        response.headers["Accept-Ranges"] = "bytes"
        return response

    @http.route(
        "/call_recording/request/<int:request_id>/download",
        type="http",
        auth="user",
        methods=["GET"],
    )
    def call_recording_request_download(self, request_id, token=None, **kwargs):
        """The customer's download of a hand-over package.

        Opens only with the request's signed token, before it expires, and
        for the customer's own login; every download is logged.
        """
        # sudo: the customer (a portal user) has no access to requests; the
        # token and the login (env.user, not sudo's), checked by
        # _customer_download, authorise this download.
        hand_over = request.env["call.recording.request"].sudo().browse(request_id).exists()
        if not hand_over:
            raise NotFound()
        environ = request.httprequest
        package, refusal = hand_over._customer_download(
            token, ip_address=environ.remote_addr, user_agent=environ.user_agent.string
        )
        if refusal:
            return refused_response(Forbidden if refusal == "forbidden" else NotFound)
        if not package:
            raise NotFound()
        # sudo: the package was checked above to be the one this request
        # built (its own attachment, with the SHA-256 recorded at build).
        stream = request.env["call.recording.file"].sudo()._stream(package)
        return stream.get_response(as_attachment=True)


def refused_response(exception=NotFound):
    """A refusal answered (not raised): the transaction, and its log entry, are committed.

    The same answer for every refusal of a kind, so that no id is told apart.
    """
    refusal = exception()
    return request.make_response(
        refusal.get_body(), headers=refusal.get_headers(), status=refusal.code
    )
