import base64
import hashlib
import hmac
import json
import time
from datetime import UTC, timedelta

import pytest
from call_recording_lib.providers import (
    AudioNotReady,
    MalformedData,
    ProviderAuthError,
    ProviderError,
    ProviderRateLimited,
    WebhookRejected,
    get_adapter,
)
from call_recording_lib.providers.twilio import TwilioAdapter

AUDIO = b"RIFF" + bytes(range(256)) * 400  # about 100 KB


@pytest.fixture
def adapter(twilio_fake, quick_config):
    return get_adapter("twilio", quick_config(twilio_fake, page_size=3))


def add(fake, start, **kwargs):
    values = {
        "direction": "inbound",
        "caller": "+36301112233",
        "callee": "+3612223344",
        "duration": 60,
        "audio": AUDIO,
    }
    values.update(kwargs)
    return fake.add_call(start=start, **values)


def test_registry_gives_the_twilio_adapter(adapter):
    assert isinstance(adapter, TwilioAdapter)
    assert "active" in adapter.test_connection()


def test_pages_to_the_end(twilio_fake, adapter, now, since, list_all):
    ids = {add(twilio_fake, now - timedelta(minutes=10 * i)) for i in range(1, 8)}
    calls, errors, pages = list_all(adapter, since, now)
    assert errors == []
    assert pages == 3
    assert {c.external_id for c in calls} == ids
    assert len(calls) == len(ids)
    listed = [p for m, p, h in twilio_fake.requests if "/Calls.json" in p]
    assert "PageSize=3" in listed[0]
    assert "PageToken=" in listed[1]
    call = calls[0]
    assert call.start.tzinfo is not None
    assert call.start.utcoffset() == timedelta(0)
    assert (call.direction, call.state, call.duration) == ("inbound", "answered", 60)
    assert (call.caller_number, call.callee_number) == ("+36301112233", "+3612223344")
    assert call.recording_ref.startswith("RE")
    assert call.recording_ready is True


def test_window_is_exact_though_twilio_filters_by_day(twilio_fake, adapter, now, list_all):
    since = now.replace(hour=12, minute=0, second=0) - timedelta(days=1)
    until = since + timedelta(hours=6)
    inside = add(twilio_fake, since)
    add(twilio_fake, since - timedelta(seconds=1))
    add(twilio_fake, until)
    add(twilio_fake, since - timedelta(days=3))
    calls, _errors, _pages = list_all(adapter, since, until)
    assert [c.external_id for c in calls] == [inside]
    query = next(p for m, p, h in twilio_fake.requests if "/Calls.json" in p)
    assert f"StartTime%3E={since.date().isoformat()}" in query
    assert f"StartTime%3C={until.date().isoformat()}" in query


def test_directions_states_and_client_identity(twilio_fake, adapter, now, since, list_all):
    missed = add(twilio_fake, now - timedelta(minutes=5), state="missed", audio=None)
    out = add(twilio_fake, now - timedelta(minutes=6), direction="outbound", state="busy")
    agent = add(twilio_fake, now - timedelta(minutes=7), callee="client:alice", audio=None)
    calls = {c.external_id: c for c in list_all(adapter, since, now)[0]}
    assert (calls[missed].state, calls[missed].recording_ref) == ("missed", None)
    assert (calls[out].direction, calls[out].state) == ("outbound", "busy")
    assert calls[agent].agent_external_id == "alice"
    assert calls[agent].callee_number is None
    assert calls[agent].recording_ref is None


def test_auth_failure_is_clear(twilio_fake, quick_config, now, since):
    adapter = get_adapter("twilio", quick_config(twilio_fake, secret="wrong"))
    with pytest.raises(ProviderAuthError) as info:
        adapter.list_calls(since, now)
    message = str(info.value)
    assert "refused the credentials (HTTP 401)" in message
    assert "Authenticate" in message
    assert info.value.retryable is False


def test_rate_limited_then_success(twilio_fake, adapter, clock, now, since):
    ext = add(twilio_fake, now - timedelta(minutes=1), audio=None)
    twilio_fake.fail_next(status=429, headers={"Retry-After": "1"}, path_contains="Calls.json")
    page = adapter.list_calls(since, now)
    assert [c.external_id for c in page.calls] == [ext]
    assert 1.0 in clock.sleeps, "Retry-After was not honoured"


def test_rate_limited_until_retries_run_out(twilio_fake, adapter, now, since):
    twilio_fake.fail_next(status=429, count=10, headers={"Retry-After": "7"})
    with pytest.raises(ProviderRateLimited) as info:
        adapter.list_calls(since, now)
    assert info.value.retry_after == 7
    assert info.value.retryable is True
    assert "429" in str(info.value)


def test_server_error_then_success(twilio_fake, adapter, now, since):
    ext = add(twilio_fake, now - timedelta(minutes=1), audio=None)
    twilio_fake.fail_next(status=500, count=2)
    assert [c.external_id for c in adapter.list_calls(since, now).calls] == [ext]


def test_outage_is_retryable(twilio_fake, adapter, now, since):
    twilio_fake.fail_next(status=503, count=10)
    with pytest.raises(ProviderError) as info:
        adapter.list_calls(since, now)
    assert info.value.retryable is True
    assert "HTTP 503" in str(info.value)


def test_timeout_is_a_retryable_error(twilio_fake, quick_config, now, since):
    adapter = get_adapter("twilio", quick_config(twilio_fake, timeout=0.3, max_retries=1))
    twilio_fake.stall_next(1.0, count=2, path_contains="Calls.json")
    started = time.monotonic()
    with pytest.raises(ProviderError) as info:
        adapter.list_calls(since, now)
    assert time.monotonic() - started < 1.5
    assert info.value.retryable is True
    assert "Twilio" in str(info.value)


def test_page_that_is_not_json(twilio_fake, adapter, now, since):
    twilio_fake.malformed_next(path_contains="Calls.json")
    with pytest.raises(MalformedData) as info:
        adapter.list_calls(since, now)
    assert "not JSON" in str(info.value)


def test_malformed_call_goes_to_errors(twilio_fake, adapter, now, since):
    good = add(twilio_fake, now - timedelta(minutes=1))
    bad = add(twilio_fake, now - timedelta(minutes=2))
    twilio_fake.corrupt_call(bad)
    page = adapter.list_calls(since, now)
    assert [c.external_id for c in page.calls] == [good]
    assert [ext for ext, _reason in page.errors] == [bad]


def test_recording_not_ready_then_ready(twilio_fake, adapter, now, since):
    ext = add(twilio_fake, now - timedelta(minutes=1), recording_ready=False)
    call = adapter.list_calls(since, now).calls[0]
    assert call.recording_ref and call.recording_ready is False
    with pytest.raises(AudioNotReady):
        adapter.open_audio(call)
    twilio_fake.set_recording_ready(ext, audio=AUDIO)
    call = adapter.refresh_call(ext)
    assert call.recording_ready is True
    with adapter.open_audio(call) as stream:
        assert stream.content_type == "audio/x-wav"
        assert stream.read(10) == AUDIO[:10]
        assert stream.read() == AUDIO[10:]
    assert twilio_fake.audio_downloads == 1
    media = [h for m, p, h in twilio_fake.requests if p.endswith(".mp3")]
    assert media[-1]["Authorization"].startswith("Basic ")


def test_refresh_unknown_call(adapter):
    assert adapter.refresh_call("CA" + "f" * 32) is None


def test_download_error_is_checked(twilio_fake, adapter, now, since):
    add(twilio_fake, now - timedelta(minutes=1))
    call = adapter.list_calls(since, now).calls[0]
    twilio_fake.fail_next(status=500, count=10, path_contains="/Recordings/")
    with pytest.raises(ProviderError) as info:
        adapter.open_audio(call)
    assert info.value.retryable is True
    assert twilio_fake.audio_downloads == 0


# -- webhooks -----------------------------------------------------------------


def reference_signature(token, url, params):
    """As twilio-python's RequestValidator.compute_signature."""
    text = url + "".join(name + params[name] for name in sorted(params))
    return base64.b64encode(hmac.new(token.encode(), text.encode(), hashlib.sha1).digest()).decode()


@pytest.fixture
def delivery(twilio_fake, now):
    ext = add(twilio_fake, now - timedelta(minutes=1))
    return ext, twilio_fake.webhook_payload(ext)


def test_webhook_valid_signature(twilio_fake, adapter, delivery):
    ext, form = delivery
    url = "https://odoo.example.com/call_recording/webhook/twilio/key"
    headers = twilio_fake.sign_webhook(url, form)
    assert headers["X-Twilio-Signature"] == reference_signature(twilio_fake.secret, url, form)
    [event] = adapter.parse_webhook(url, headers, b"", form)
    assert event.external_id == ext
    assert event.recording_ref == form["RecordingSid"]
    assert event.event_key == f"{form['RecordingSid']}:completed"


@pytest.mark.parametrize(
    ("signed", "received"),
    [
        ("https://odoo.example.com/hook?x=1", "https://odoo.example.com:443/hook?x=1"),
        ("https://odoo.example.com:443/hook", "https://odoo.example.com/hook"),
        ("http://odoo.example.com:8069/hook", "http://odoo.example.com:8069/hook"),
    ],
)
def test_webhook_url_with_and_without_port(twilio_fake, adapter, delivery, signed, received):
    _ext, form = delivery
    headers = twilio_fake.sign_webhook(signed, form)
    assert len(adapter.parse_webhook(received, headers, b"", form)) == 1


def test_webhook_signature_from_the_raw_body(twilio_fake, adapter, delivery):
    _ext, form = delivery
    url = "https://odoo.example.com/hook"
    headers = twilio_fake.sign_webhook(url, form)
    body = "&".join(f"{k}={v}" for k, v in form.items()).replace("+", "%2B").encode()
    assert len(adapter.parse_webhook(url, headers, body, {})) == 1


def test_webhook_invalid_missing_or_tampered(twilio_fake, adapter, delivery):
    _ext, form = delivery
    url = "https://odoo.example.com/hook"
    headers = twilio_fake.sign_webhook(url, form)
    with pytest.raises(WebhookRejected):
        adapter.parse_webhook(url, {"X-Twilio-Signature": "bm90IGl0"}, b"", form)
    with pytest.raises(WebhookRejected):
        adapter.parse_webhook(url, {}, b"", form)
    with pytest.raises(WebhookRejected):
        adapter.parse_webhook(url, headers, b"", dict(form, RecordingSid="RE" + "0" * 32))
    with pytest.raises(WebhookRejected):
        adapter.parse_webhook(url + "?other=1", headers, b"", form)


def test_webhook_of_another_account(twilio_fake, quick_config, delivery):
    _ext, form = delivery
    form = dict(form, AccountSid="AC" + "9" * 32)
    url = "https://odoo.example.com/hook"
    adapter = get_adapter("twilio", quick_config(twilio_fake))
    with pytest.raises(WebhookRejected):
        adapter.parse_webhook(url, twilio_fake.sign_webhook(url, form), b"", form)


def test_webhook_json_body_with_body_hash(twilio_fake, adapter, delivery):
    ext, form = delivery
    body = json.dumps(form).encode()
    url = twilio_fake.signed_json_url("https://odoo.example.com/hook", body)
    headers = twilio_fake.sign_webhook("https://odoo.example.com/hook", body)
    [event] = adapter.parse_webhook(url, headers, body, {})
    assert event.external_id == ext
    with pytest.raises(WebhookRejected):
        adapter.parse_webhook(url, headers, body.replace(b"completed", b"absent"), {})


def test_rfc2822_start_is_utc(twilio_fake, adapter, now, since):
    start = now.astimezone(UTC) - timedelta(hours=3)
    add(twilio_fake, start, audio=None)
    assert adapter.list_calls(since, now).calls[0].start == start
