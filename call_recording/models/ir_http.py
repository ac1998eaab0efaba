import re

import werkzeug.exceptions

from odoo import models
from odoo.http import request

BEARER_RE = re.compile(r"^bearer\s+(\S+)\s*$", re.IGNORECASE)


PUSH_PATH = "/call_recording/push"
RESERVE_PATH = "/call_recording/reserve"


class IrHttp(models.AbstractModel):
    _inherit = "ir.http"

    def session_info(self):
        """Agents land in their calls of today unless they chose a home action."""
        info = super().session_info()
        if info.get("uid") and info.get("is_internal_user") and not info.get("home_action_id"):
            action = self.env.user._call_recording_home_action()
            if action:
                info["home_action_id"] = action.id
        return info

    @classmethod
    def _handle_error(cls, exception):
        """The Push API answers in JSON even where werkzeug or Odoo would not.

        A multipart body over the limit, or one that ends before its
        ``Content-Length``, is refused by werkzeug (HTML 413 or 400) before
        the route runs; a delivery that still collides with another one of
        the same call after Odoo's own retries comes back here.
        """
        from ..controllers.push import (  # noqa: PLC0415
            busy_response,
            incomplete_body_response,
            too_large_response,
        )
        from .call_recording_push import PushBusy  # noqa: PLC0415

        path = request.httprequest.path if request else None
        if path == RESERVE_PATH:
            if isinstance(exception, werkzeug.exceptions.RequestEntityTooLarge):
                return too_large_response(request.env._("A reservation is a few fields only."))
            if isinstance(exception, PushBusy):
                return busy_response(exception)
        if path == PUSH_PATH:
            if isinstance(exception, werkzeug.exceptions.RequestEntityTooLarge):
                # sudo: the size limit is a setting integration users cannot read.
                limit = request.env["call.recording"].sudo()._max_audio_size()
                return too_large_response(
                    request.env._(
                        "The request is larger than the limit of %(mb)s MB for a recording; "
                        "nothing was stored.",
                        mb=limit // (1024 * 1024),
                    )
                )
            if isinstance(exception, werkzeug.exceptions.ClientDisconnected):
                # werkzeug 2.2 raises this for a body shorter than its
                # Content-Length; later versions give an empty form (the route)
                return incomplete_body_response()
            if isinstance(exception, PushBusy):
                return busy_response(exception)
        response = super()._handle_error(exception)
        if isinstance(exception, PushBusy) and hasattr(response, "headers"):
            response.headers["Retry-After"] = str(exception.retry_after)  # JSON-2
        return response

    @classmethod
    def _push_abort(cls, status, error, message):
        response = request.make_json_response(
            {"error": error, "message": message, "errors": {}}, status=status
        )
        if status == 401:
            response.headers["WWW-Authenticate"] = 'Bearer realm="call_recording"'
        raise werkzeug.exceptions.HTTPException(response=response)

    @classmethod
    def _auth_method_call_recording_key(cls):
        """``auth="call_recording_key"``: an integration user's API key, nothing else.

        The key comes in ``Authorization: Bearer <key>``; sessions are
        ignored.  A missing or wrong key gets a JSON 401, a user outside the
        Push API group a JSON 403, both before the request body is read.
        """
        match = BEARER_RE.match(request.httprequest.headers.get("Authorization") or "")
        if not match:
            cls._push_abort(
                401,
                "unauthorized",
                request.env._("Send the integration user's API key as 'Authorization: Bearer'."),
            )
        # The key is compared by passlib's hash verification (constant time).
        uid = request.env["res.users.apikeys"]._check_credentials(scope="rpc", key=match.group(1))
        if not uid:
            cls._push_abort(401, "unauthorized", request.env._("Invalid or expired API key."))
        request.update_env(user=uid)
        request.session.can_save = False
        if not request.env.user.has_group("call_recording.group_call_recording_integration"):
            cls._push_abort(
                403,
                "forbidden",
                request.env._("This user is not in the group “Integration (Push API)”."),
            )
