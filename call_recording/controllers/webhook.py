import logging

from werkzeug.exceptions import Forbidden, NotFound

from odoo import http
from odoo.http import request

from ..lib import providers as providers_lib

_logger = logging.getLogger(__name__)

#: A webhook delivery is one event of a few kilobytes: anything larger is
#: refused (413) before it is read, not parsed up to Odoo's request limit.
WEBHOOK_MAX_BYTES = 256 * 1024


class CallRecordingWebhook(http.Controller):
    """One route per provider; the random key in the path names the account.

    The provider's signature (Twilio, Zadarma) or token (Aircall) is
    checked in constant time by the adapter before anything is stored;
    a bad or missing one gets 403, a body over ``WEBHOOK_MAX_BYTES`` 413,
    an unreadable one (not the provider's format, nested too deep) 400.
    The answer comes at once: calls that arrive whole are stored, the rest
    is read back and downloaded by the import job, which is woken up.
    """

    def _provider(self, provider_type, key):
        # sudo: the caller is the provider, not an Odoo user; the account
        # is found by its secret key and the delivery checked by signature.
        provider = (
            request.env["call.recording.provider"]
            .sudo()
            .search([("provider_type", "=", provider_type), ("webhook_key", "=", key)], limit=1)
        )
        if not provider or not key:
            raise NotFound()
        return provider

    def _handle(self, provider_type, key):
        provider = self._provider(provider_type, key)
        httprequest = request.httprequest
        adapter = provider._adapter()
        try:
            events = adapter.parse_webhook(
                httprequest.url,
                httprequest.headers,
                httprequest.get_data(cache=True),
                httprequest.form.to_dict() if httprequest.form else {},
            )
        except providers_lib.WebhookRejected as exc:
            _logger.warning("Rejected %s webhook for %s: %s", provider_type, provider.name, exc)
            raise Forbidden() from exc
        except (providers_lib.ProviderError, RecursionError, ValueError) as exc:
            # RecursionError: JSON nested deeper than Python's parser goes.
            _logger.warning("Unreadable %s webhook for %s: %s", provider_type, provider.name, exc)
            return request.make_response("unreadable", status=400)
        request.env["call.recording.webhook.event"]._receive(provider, events)
        return request.make_response("OK", headers=[("Content-Type", "text/plain")])

    @http.route(
        "/call_recording/webhook/twilio/<string:key>",
        type="http",
        auth="public",
        methods=["POST"],
        csrf=False,
        save_session=False,
        max_content_length=WEBHOOK_MAX_BYTES,
    )
    def webhook_twilio(self, key, **kwargs):
        return self._handle("twilio", key)

    @http.route(
        "/call_recording/webhook/aircall/<string:key>",
        type="http",
        auth="public",
        methods=["POST"],
        csrf=False,
        save_session=False,
        max_content_length=WEBHOOK_MAX_BYTES,
    )
    def webhook_aircall(self, key, **kwargs):
        return self._handle("aircall", key)

    @http.route(
        "/call_recording/webhook/zadarma/<string:key>",
        type="http",
        auth="public",
        methods=["GET", "POST"],
        csrf=False,
        save_session=False,
        max_content_length=WEBHOOK_MAX_BYTES,
    )
    def webhook_zadarma(self, key, zd_echo=None, **kwargs):
        if request.httprequest.method == "GET":
            # Zadarma checks a new notification address by asking us to
            # echo a value back.
            self._provider("zadarma", key)
            if not zd_echo:
                raise NotFound()
            return request.make_response(zd_echo, headers=[("Content-Type", "text/plain")])
        return self._handle("zadarma", key)
