"""Zadarma's own ways (signatures, local times, one-month windows, two-step
downloads); what every adapter does is in test_provider_contract.py."""

import base64
import hashlib
import hmac
from collections import OrderedDict
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
from call_recording_lib.providers import (
    AudioExpired,
    AudioNotReady,
    ProviderRateLimited,
    WebhookRejected,
    echo_response,
    get_adapter,
)
from call_recording_lib.providers.http import SlidingWindowLimiter
from call_recording_lib.providers.zadarma import ZadarmaAdapter, sign
from fakes.zadarma import FakeZadarma
from provider_profiles import ZADARMA
from provider_profiles import ZADARMA_KEY as KEY
from provider_profiles import ZADARMA_SECRET as SECRET

AUDIO = ZADARMA.audio
add = ZADARMA.add


@pytest.fixture
def adapter(zadarma_fake, quick_config):
    return ZADARMA.adapter(quick_config, zadarma_fake)


def stats_queries(fake):
    return [
        {k: v[0] for k, v in parse_qs(urlsplit(p).query).items()}
        for m, p, h in fake.requests
        if p.startswith("/v1/statistics/pbx/")
    ]


# -- signing ----------------------------------------------------------------


def reference_auth(key, secret, method, params):
    """zadarma/user-api-py-v1 zadarma/api.py, __get_auth_string_for_header."""
    params = dict(params, format="json")
    params_string = urlencode(OrderedDict(sorted(params.items())))
    md5hash = hashlib.md5(params_string.encode("utf8")).hexdigest()  # noqa: S324
    data = method + params_string + md5hash
    digest = hmac.new(secret.encode("utf8"), data.encode("utf8"), hashlib.sha1).hexdigest()
    return key + ":" + base64.b64encode(digest.encode("utf8")).decode()


def test_signature_matches_the_reference_algorithm():
    params = {
        "start": "2026-10-25 02:00:00",
        "end": "2026-10-25 04:00:00",
        "version": "2",
        "skip": "0",
        "limit": "1000",
    }
    # computed once with the reference code above (a known vector)
    expected = "user-key:ZTYwYWY0NGFmNTM3YjNhYzllNWJkNzM1YTQwMzVjNWI5MTJmZjI2Yg=="
    assert reference_auth("user-key", "secret-key", "/v1/statistics/pbx/", params) == expected
    ours = sign("secret-key", "/v1/statistics/pbx/", dict(params, format="json"))
    assert f"user-key:{ours}" == expected
    assert (
        f"user-key:{sign('secret-key', '/v1/info/balance/', {'format': 'json'})}"
        == "user-key:NmViODMzOTQ5YmEwZmEyMjhlNThkYzI0NjA4NzYwM2VhYTM3NjIzMw=="
    )


def test_requests_carry_the_reference_signature(zadarma_fake, adapter):
    assert adapter.test_connection() == "balance 12.34 EUR"
    _method, path, headers = zadarma_fake.requests[-1]
    assert path == "/v1/info/balance/?format=json"
    assert headers["Authorization"] == reference_auth(KEY, SECRET, "/v1/info/balance/", {})


# -- listing ------------------------------------------------------------------


def test_pages_with_skip(zadarma_fake, adapter, now, since, list_all):
    for i in range(1, 8):
        add(zadarma_fake, now - timedelta(minutes=i))
    calls, _errors, _pages = list_all(adapter, since, now)
    queries = stats_queries(zadarma_fake)
    assert [q["skip"] for q in queries] == ["0", "3", "6"]
    assert {q["limit"] for q in queries} == {"3"}
    assert {q["version"] for q in queries} == {"2"}
    assert calls[0].agent_external_id == "101"


def test_local_times_are_read_in_the_account_zone(zadarma_fake, adapter):
    start = datetime(2026, 7, 1, 10, 0, tzinfo=UTC)  # 12:00 in Budapest (CEST)
    ext = add(zadarma_fake, start)
    page = adapter.list_calls(start - timedelta(hours=1), start + timedelta(hours=1))
    assert [(c.external_id, c.start) for c in page.calls] == [(ext, start)]
    assert page.calls[0].raw["callstart"] == "2026-07-01 12:00:00"
    query = stats_queries(zadarma_fake)[-1]
    # one hour of margin on both sides, in local time
    assert (query["start"], query["end"]) == ("2026-07-01 10:00:00", "2026-07-01 14:00:00")


def test_autumn_hour_that_happens_twice(zadarma_fake, adapter):
    # Budapest, 2026-10-25: 03:00 CEST becomes 02:00 CET; 02:30 happens twice
    first = datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    later = datetime(2026, 10, 25, 0, 45, tzinfo=UTC)
    second = datetime(2026, 10, 25, 1, 30, tzinfo=UTC)
    ids = [add(zadarma_fake, moment) for moment in (first, later, second)]
    page = adapter.list_calls(
        datetime(2026, 10, 24, 22, tzinfo=UTC), datetime(2026, 10, 25, 3, tzinfo=UTC)
    )
    assert [c.raw["callstart"] for c in page.calls] == [
        "2026-10-25 02:30:00",
        "2026-10-25 02:45:00",
        "2026-10-25 02:30:00",
    ]
    assert [(c.external_id, c.start) for c in page.calls] == list(
        zip(ids, (first, later, second), strict=True)
    )


def test_spring_gap(zadarma_fake, adapter):
    # 2026-03-29: 02:00 CET becomes 03:00 CEST
    before = datetime(2026, 3, 29, 0, 59, tzinfo=UTC)
    after = datetime(2026, 3, 29, 1, 0, tzinfo=UTC)
    ids = [add(zadarma_fake, before), add(zadarma_fake, after)]
    page = adapter.list_calls(before, after + timedelta(seconds=1))
    assert [c.raw["callstart"] for c in page.calls] == [
        "2026-03-29 01:59:00",
        "2026-03-29 03:00:00",
    ]
    assert [(c.external_id, c.start) for c in page.calls] == list(
        zip(ids, (before, after), strict=True)
    )


def test_one_month_limit(zadarma_fake, adapter, list_all):
    assert ZadarmaAdapter.max_window <= timedelta(days=28)
    start = datetime(2026, 1, 20, tzinfo=UTC)
    ids = {add(zadarma_fake, start + timedelta(days=9 * i)) for i in range(10)}
    calls, errors, _pages = list_all(adapter, start, start + timedelta(days=95))
    assert errors == []
    assert sorted(c.external_id for c in calls) == sorted(ids)
    for query in stats_queries(zadarma_fake):
        first = datetime.fromisoformat(query["start"])
        last = datetime.fromisoformat(query["end"])
        assert last - first <= timedelta(days=28)
    # and the fake refuses more than a month, as Zadarma does
    params = {"start": "2026-01-31 00:00:00", "end": "2026-03-01 00:00:00", "format": "json"}
    response = requests.get(
        f"{zadarma_fake.base_url}/v1/statistics/pbx/?{urlencode(sorted(params.items()))}",
        headers={"Authorization": reference_auth(KEY, SECRET, "/v1/statistics/pbx/", params)},
        timeout=5,
    )
    assert response.status_code == 400
    assert response.json()["status"] == "error"


def test_directions_and_states(zadarma_fake, adapter, now, since):
    out = add(zadarma_fake, now - timedelta(minutes=3), direction="outbound", state="busy")
    internal = add(zadarma_fake, now - timedelta(minutes=2), direction="internal", audio=None)
    missed = add(zadarma_fake, now - timedelta(minutes=1), state="missed", audio=None)
    calls = {c.external_id: c for c in adapter.list_calls(since, now).calls}
    assert out.startswith("out_")
    assert (calls[out].direction, calls[out].state) == ("outbound", "busy")
    assert (calls[internal].direction, calls[internal].recording_ref) == ("internal", None)
    assert (calls[missed].state, calls[missed].recording_ref) == ("missed", None)


# -- rate limits and faults ------------------------------------------------------


def test_polite_limiter_waits_instead_of_429(zadarma_fake, quick_config, clock, now, list_all):
    adapter = get_adapter(
        "zadarma",
        quick_config(
            zadarma_fake, page_size=1, rate_limit_per_minute=3, timezone="Europe/Budapest"
        ),
    )
    for i in range(1, 5):
        add(zadarma_fake, now - timedelta(minutes=i))
    calls, _errors, pages = list_all(adapter, now - timedelta(hours=1), now)
    assert (len(calls), pages) == (4, 5)
    # the 4th request waits for the minute; then the first three have expired
    assert clock.sleeps == [60.0]


def test_sliding_window_limiter(clock):
    limiter = SlidingWindowLimiter(2, clock=clock.time, sleep=clock.sleep)
    for _request in range(2):
        limiter.acquire()
    clock.now += 20
    limiter.acquire()
    assert clock.sleeps == [40.0]


def test_rate_limited_by_the_server(quick_config, now, since):
    with FakeZadarma(KEY, SECRET, rate_limit_per_minute=2) as fake:
        add(fake, now - timedelta(minutes=1))
        adapter = get_adapter(
            "zadarma", quick_config(fake, rate_limit_per_minute=100, timezone="Europe/Budapest")
        )
        assert len(adapter.list_calls(since, now).calls) == 1
        adapter.list_calls(since, now)
        with pytest.raises(ProviderRateLimited) as info:
            adapter.list_calls(since, now)
    assert "Too many requests" in str(info.value)
    assert len(stats_queries(fake)) == 5  # one try and two retries for the last one


def test_refresh_call_searches_recent_statistics(zadarma_fake, adapter, now):
    ext = add(zadarma_fake, now - timedelta(hours=5))
    assert adapter.refresh_call(ext).external_id == ext


# -- audio ----------------------------------------------------------------------


def test_audio_in_two_steps(zadarma_fake, adapter, now, since):
    add(zadarma_fake, now - timedelta(minutes=1))
    call = adapter.list_calls(since, now).calls[0]
    with adapter.open_audio(call) as stream:
        assert stream.content_type == "audio/mpeg"
        assert stream.read() == AUDIO
    assert zadarma_fake.audio_downloads == 1
    paths = [p for m, p, h in zadarma_fake.requests]
    assert any(p.startswith("/v1/pbx/record/request/?") and "pbx_call_id=" in p for p in paths)


def test_recording_not_ready_yet(zadarma_fake, adapter, now, since):
    ext = add(zadarma_fake, now - timedelta(minutes=1), recording_ready=False)
    call = adapter.list_calls(since, now).calls[0]
    assert call.recording_ref == ext
    with pytest.raises(AudioNotReady) as info:
        adapter.open_audio(call)
    assert "Record not found" in str(info.value)
    zadarma_fake.set_recording_ready(ext, audio=AUDIO)
    with adapter.open_audio(call) as stream:
        assert stream.read() == AUDIO


def test_expired_link_then_a_new_one(zadarma_fake, adapter, now, since):
    add(zadarma_fake, now - timedelta(minutes=1))
    call = adapter.list_calls(since, now).calls[0]
    zadarma_fake.expire_links_after(0)
    with pytest.raises(AudioExpired) as info:
        adapter.open_audio(call)
    assert info.value.retryable is True
    zadarma_fake.expire_links_after(600)
    with adapter.open_audio(call) as stream:
        assert stream.read() == AUDIO
    requested = [p for m, p, h in zadarma_fake.requests if p.startswith("/v1/pbx/record/request/")]
    assert len(requested) == 2, "a fresh link is asked on each attempt"


# -- webhooks ----------------------------------------------------------------------


def test_webhook_signature(zadarma_fake, adapter, now):
    ext = add(zadarma_fake, now - timedelta(minutes=1))
    form = zadarma_fake.webhook_payload(ext)
    headers = zadarma_fake.sign_webhook("https://odoo.example.com/hook", form)
    digest = hmac.new(
        SECRET.encode(), (ext + form["call_id_with_rec"]).encode(), hashlib.sha1
    ).hexdigest()
    assert headers["Signature"] == base64.b64encode(digest.encode()).decode()
    [event] = adapter.parse_webhook("https://odoo.example.com/hook", headers, b"", form)
    assert (event.external_id, event.recording_ref, event.kind) == (ext, ext, "NOTIFY_RECORD")


def test_webhook_signed_for_another_call(zadarma_fake, adapter, now):
    ext = add(zadarma_fake, now - timedelta(minutes=1))
    form = zadarma_fake.webhook_payload(ext)
    headers = zadarma_fake.sign_webhook("https://odoo.example.com/hook", form)
    with pytest.raises(WebhookRejected):
        adapter.parse_webhook("https://x/hook", headers, b"", dict(form, pbx_call_id="in_other"))


def test_echo_check():
    assert echo_response({"zd_echo": "abc123"}) == "abc123"
    assert ZadarmaAdapter.echo_response({}) is None
