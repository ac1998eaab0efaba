import json
import re

import werkzeug.exceptions

from odoo import models
from odoo.http import Response, request

from ..lib import push as push_lib
from .call_recording_push import PushBusy

BEARER_RE = re.compile(r"^bearer\s+(\S+)\s*$", re.IGNORECASE)


PUSH_PATH = "/call_recording/push"
RESERVE_PATH = "/call_recording/reserve"


def json_error(kind, message, errors=None, retry_after=None):
    """The Push API's answer to a refusal, wherever it is made.

    The one envelope (``lib/push.py``'s ``envelope``: ``{"error": kind,
    "message", "errors"}``) with the HTTP status of its kind (its
    ``HTTP_STATUS``), for the routes of ``controllers/push.py`` and for
    what ``ir.http`` answers before and after them; ``WWW-Authenticate``
    on a 401, ``Retry-After`` when the client should send it again.
    """
    headers = [("Content-Type", "application/json; charset=utf-8")]
    if kind == "unauthorized":
        headers.append(("WWW-Authenticate", 'Bearer realm="call_recording"'))
    if retry_after:
        headers.append(("Retry-After", str(retry_after)))
    return Response(
        json.dumps(push_lib.envelope(kind, message, errors), ensure_ascii=False),
        status=push_lib.HTTP_STATUS[kind],
        headers=headers,
    )


def push_error_response(exc):
    """The answer to a :class:`~.call_recording_push.PushError` (a busy one: retryable)."""
    return json_error(exc.kind, str(exc), exc.errors, getattr(exc, "retry_after", None))


def incomplete_body_error():
    """A body that ended before its end: said as such (400), not as missing fields."""
    return json_error(
        "incomplete_body",
        request.env._(
            "The request body is incomplete (it ended before its announced length "
            "or before the end of its multipart form); nothing was stored. "
            "Send it again."
        ),
    )


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
        path = request.httprequest.path if request else None
        if path in (PUSH_PATH, RESERVE_PATH) and isinstance(exception, PushBusy):
            return push_error_response(exception)
        if path == RESERVE_PATH and isinstance(
            exception, werkzeug.exceptions.RequestEntityTooLarge
        ):
            return json_error("too_large", request.env._("A reservation is a few fields only."))
        if path == PUSH_PATH:
            if isinstance(exception, werkzeug.exceptions.RequestEntityTooLarge):
                # sudo: the size limit is a setting integration users cannot read.
                limit = request.env["call.recording"].sudo()._max_audio_size()
                return json_error(
                    "too_large",
                    request.env._(
                        "The request is larger than the limit of %(mb)s MB for a recording; "
                        "nothing was stored.",
                        mb=limit // (1024 * 1024),
                    ),
                )
            if isinstance(exception, werkzeug.exceptions.ClientDisconnected):
                # werkzeug 2.2 raises this for a body shorter than its
                # Content-Length; later versions give an empty form (the route)
                return incomplete_body_error()
        response = super()._handle_error(exception)
        if isinstance(exception, PushBusy) and hasattr(response, "headers"):
            response.headers["Retry-After"] = str(exception.retry_after)  # JSON-2
        return response

    @classmethod
    def _push_abort(cls, kind, message):
        raise werkzeug.exceptions.HTTPException(response=json_error(kind, message))

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
                "unauthorized",
                request.env._("Send the integration user's API key as 'Authorization: Bearer'."),
            )
        # The key is compared by passlib's hash verification (constant time).
        uid = request.env["res.users.apikeys"]._check_credentials(scope="rpc", key=match.group(1))
        if not uid:
            cls._push_abort("unauthorized", request.env._("Invalid or expired API key."))
        request.update_env(user=uid)
        request.session.can_save = False
        if not request.env.user.has_group("call_recording.group_call_recording_integration"):
            cls._push_abort(
                "forbidden",
                request.env._("This user is not in the group “Integration (Push API)”."),
            )
