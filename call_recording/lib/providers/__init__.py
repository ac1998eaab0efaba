"""Clients of the telephony providers' APIs, one adapter per provider.

Plain Python (requests, no Odoo): the sync engine and the Odoo models
choose an adapter with :func:`get_adapter` and talk to it through the
interface of :class:`.base.ProviderAdapter`.
"""

from .base import (
    AudioExpired,
    AudioNotReady,
    CallPage,
    IncompleteDownload,
    MalformedData,
    ProviderAdapter,
    ProviderAuthError,
    ProviderCall,
    ProviderError,
    ProviderRateLimited,
    WebhookEvent,
    WebhookRejected,
)
from .aircall import AircallAdapter
from .twilio import TwilioAdapter
from .zadarma import ZadarmaAdapter, echo_response

ADAPTERS = {
    "twilio": TwilioAdapter,
    "aircall": AircallAdapter,
    "zadarma": ZadarmaAdapter,
}


def get_adapter(code, config, session=None):
    """The adapter of provider ``code`` for the account ``config``."""
    try:
        adapter_class = ADAPTERS[code]
    except KeyError:
        error = ProviderError(f"No adapter for the provider type {code!r}.")
        error.retryable = False
        raise error from None
    return adapter_class(config, session=session)
