"""Zadarma notifications: every event's ``Signature`` is checked (issue 11, hole 13).

The signed fields of each event are those of Zadarma's own library
(user-api-v1 ``lib/Webhook/Notify*.php``, ``getSignatureString``).
"""

import pytest
from call_recording_lib.providers import WebhookRejected, get_adapter
from call_recording_lib.providers.zadarma import webhook_signature

SECRET = "zadarma-secret"
START = {
    "event": "NOTIFY_START",
    "call_start": "2026-11-20 09:30:00",
    "pbx_call_id": "in_1",
    "caller_id": "+36309012345",
    "called_did": "+3615550100",
}
EVENTS = {
    "NOTIFY_START": (START, ("caller_id", "called_did", "call_start")),
    "NOTIFY_INTERNAL": (
        dict(START, event="NOTIFY_INTERNAL"),
        ("caller_id", "called_did", "call_start"),
    ),
    "NOTIFY_END": (
        dict(START, event="NOTIFY_END", duration="3"),
        ("caller_id", "called_did", "call_start"),
    ),
    "NOTIFY_ANSWER": (
        dict(START, event="NOTIFY_ANSWER", destination="100"),
        ("caller_id", "destination", "call_start"),
    ),
    "NOTIFY_OUT_START": (
        {
            "event": "NOTIFY_OUT_START",
            "call_start": "2026-11-20 09:30:00",
            "internal": "100",
            "destination": "+36309012345",
        },
        ("internal", "destination", "call_start"),
    ),
    "NOTIFY_OUT_END": (
        {
            "event": "NOTIFY_OUT_END",
            "call_start": "2026-11-20 09:30:00",
            "internal": "100",
            "destination": "+36309012345",
        },
        ("internal", "destination", "call_start"),
    ),
}


@pytest.fixture
def adapter():
    return get_adapter(
        "zadarma", {"base_url": "http://127.0.0.1:9", "login": "k", "secret": SECRET}
    )


def _parse(adapter, form, signature):
    headers = {"Signature": signature} if signature is not None else {}
    return adapter.parse_webhook("https://odoo.example.com/hook", headers, b"", form)


@pytest.mark.parametrize("event", sorted(EVENTS))
def test_every_event_is_verified(adapter, event):
    form, fields = EVENTS[event]
    good = webhook_signature(SECRET, *(form[f] for f in fields))
    assert _parse(adapter, form, good) == []  # signed: acknowledged, nothing to import
    for forged in (None, "", "Zm9yZ2Vk", webhook_signature("other", *(form[f] for f in fields))):
        with pytest.raises(WebhookRejected):
            _parse(adapter, form, forged)
    # a signed field changed after signing
    with pytest.raises(WebhookRejected):
        _parse(adapter, dict(form, call_start="2026-11-20 09:31:00"), good)


def test_unknown_event_cannot_be_verified(adapter):
    form = dict(START, event="NOTIFY_SOMETHING_NEW")
    with pytest.raises(WebhookRejected):
        _parse(
            adapter,
            form,
            webhook_signature(
                SECRET, *(START[f] for f in ("caller_id", "called_did", "call_start"))
            ),
        )
