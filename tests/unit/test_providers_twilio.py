"""Twilio's own ways, checked with twilio-python as the reference where it can be;
what every adapter does is in test_provider_contract.py."""

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from call_recording_lib.providers import (
    AudioNotReady,
    MalformedData,
    ProviderError,
    WebhookRejected,
    get_adapter,
)
from call_recording_lib.providers.twilio import TwilioAdapter
from provider_profiles import TWILIO

AUDIO = TWILIO.audio
add = TWILIO.add


@pytest.fixture
def adapter(twilio_fake, quick_config):
    return TWILIO.adapter(quick_config, twilio_fake)


def softphone_call(fake, start, **kwargs):
    """Agent alice dials +36 30 111 2233 from her softphone (<Client>) through the line."""
    values = {"direction": "outbound", "caller": "+3615550100", "callee": "+36301112233"}
    return add(fake, start, agent_id="alice", **{**values, **kwargs})


def test_registry_gives_the_twilio_adapter(adapter):
    assert isinstance(adapter, TwilioAdapter)
    assert "active" in adapter.test_connection()


def test_pages_by_page_token(twilio_fake, adapter, now, since, list_all):
    for i in range(1, 8):
        add(twilio_fake, now - timedelta(minutes=10 * i))
    list_all(adapter, since, now)
    listed = [p for m, p, h in twilio_fake.requests if "/Calls.json" in p]
    assert "PageSize=3" in listed[0]
    assert "PageToken=" in listed[1]


def test_window_is_sent_as_exact_instants(twilio_fake, adapter, now):
    since = now.replace(hour=12, minute=0, second=0) - timedelta(days=1)
    until = since + timedelta(hours=6)
    adapter.list_calls(since, until)
    query = parse_qs(
        urlsplit(next(p for m, p, h in twilio_fake.requests if "/Calls.json" in p)).query
    )
    # never a bare date: Twilio reads one as midnight at the start of that day
    assert query["StartTime>"] == [since.strftime("%Y-%m-%dT%H:%M:%SZ")]
    assert query["StartTime<"] == [until.strftime("%Y-%m-%dT%H:%M:%SZ")]


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


def test_recording_processing_is_listed_not_ready(twilio_fake, adapter, now, since):
    ext = add(twilio_fake, now - timedelta(minutes=1), recording_ready=False)
    call = adapter.list_calls(since, now).calls[0]
    assert call.recording_ref and call.recording_ready is False
    with pytest.raises(AudioNotReady):
        adapter.open_audio(call)
    twilio_fake.set_recording_ready(ext, audio=AUDIO)
    with adapter.open_audio(adapter.refresh_call(ext)) as stream:
        assert stream.read() == AUDIO
    media = [h for m, p, h in twilio_fake.requests if p.endswith(".mp3")]
    assert media[-1]["Authorization"].startswith("Basic ")


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


def test_webhook_tampered(twilio_fake, adapter, delivery):
    _ext, form = delivery
    url = "https://odoo.example.com/hook"
    headers = twilio_fake.sign_webhook(url, form)
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


# -- what Twilio documents, checked with twilio-python as the reference --------


def day_of_calls(fake, day, every=timedelta(minutes=30), **kwargs):
    """Calls every ``every`` from midnight UTC of ``day`` (49 for half-hours: both midnights)."""
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    ids = {}
    moment = start
    while moment <= start + timedelta(days=1):
        ids[add(fake, moment, audio=None, **kwargs)] = moment
        moment += every
    return ids


def test_fake_reads_bare_dates_as_twilio_documents(twilio_fake, twilio_sdk):
    """A bare date is midnight UTC at the start of the day; ``StartTime=D`` is the whole day."""
    day = (datetime.now(UTC) - timedelta(days=3)).date()
    ids = day_of_calls(twilio_fake, day)
    text = day.isoformat()  # a string goes to Twilio as it is: a bare date
    midnight = next(ext for ext, moment in ids.items() if moment.date() == day and not moment.hour)
    same_day = {ext for ext, moment in ids.items() if moment.date() == day}
    # StartTime>=D&StartTime<=D: only what started at midnight itself
    both = twilio_sdk.calls.list(start_time_after=text, start_time_before=text)
    assert [c.sid for c in both] == [midnight]
    assert {c.sid for c in twilio_sdk.calls.list(start_time=text)} == same_day
    # Twilio's advice: "<" the first day of the next period
    next_day = (day + timedelta(days=1)).isoformat()
    advised = twilio_sdk.calls.list(start_time_after=text, start_time_before=next_day)
    assert {c.sid for c in advised} == set(ids)  # both midnights: the bounds are inclusive
    sent = [parse_qs(urlsplit(p).query) for m, p, h in twilio_fake.requests if "Calls.json" in p]
    assert sent[0] == {"StartTime>": [text], "StartTime<": [text]}


def test_fake_compares_datetimes_exactly_as_the_sdk_sends_them(twilio_fake, twilio_sdk):
    day = (datetime.now(UTC) - timedelta(days=3)).date()
    ids = day_of_calls(twilio_fake, day)
    since = datetime(day.year, day.month, day.day, 9, 15, tzinfo=UTC)
    until = datetime(day.year, day.month, day.day, 11, 0, tzinfo=UTC)
    listed = {c.sid for c in twilio_sdk.calls.list(start_time_after=since, start_time_before=until)}
    assert listed == {ext for ext, moment in ids.items() if since <= moment <= until}
    # twilio-python writes a datetime as an ISO instant (and a date as its midnight)
    query = parse_qs(urlsplit(twilio_fake.requests[-1][1]).query)
    assert query["StartTime>"] == [f"{day.isoformat()}T09:15:00Z"]
    assert query["StartTime<"] == [f"{day.isoformat()}T11:00:00Z"]
    listed = twilio_sdk.calls.list(start_time_after=day, start_time_before=day)
    assert [c.start_time for c in listed] == [since.replace(hour=0, minute=0)]


def test_adapter_filters_are_the_sdks(twilio_fake, twilio_sdk, adapter):
    """For the same window, the adapter asks what twilio-python asks for datetimes."""
    until = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    since = until - timedelta(hours=2, minutes=15)
    adapter.list_calls(since, until)
    twilio_sdk.calls.list(start_time_after=since, start_time_before=until)
    ours, sdk = (
        {k: v for k, v in parse_qs(urlsplit(p).query).items() if k.startswith("StartTime")}
        for m, p, h in twilio_fake.requests
        if "Calls.json" in p
    )
    assert ours == sdk


def test_fifteen_minute_runs_keep_every_call_of_the_day(twilio_fake, adapter, list_all):
    """The schedule's windows (15 minutes, 2 hours of overlap) over a whole day and night."""
    day = (datetime.now(UTC) - timedelta(days=2)).date()
    ids = day_of_calls(twilio_fake, day)
    assert len(ids) == 49
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    seen = set()
    cursor = start
    for step in range(1, 4 * 24 + 5):
        now = start + timedelta(minutes=15 * step)
        calls, errors, _pages = list_all(adapter, cursor - timedelta(hours=2), now)
        assert errors == []
        seen |= {c.external_id for c in calls}
        cursor = now
    assert seen == set(ids)


def test_the_sdk_reads_the_fakes_calls_and_legs(twilio_fake, twilio_sdk, now):
    ext = softphone_call(twilio_fake, now - timedelta(minutes=10))
    parent = twilio_sdk.calls(ext).fetch()
    assert (parent.direction, parent._from, parent.to) == (
        "inbound",
        "client:alice",
        "+36301112233",
    )
    assert parent.parent_call_sid is None
    [child] = twilio_sdk.calls.list(parent_call_sid=ext)
    assert (child.direction, child._from, child.to) == (
        "outbound-dial",
        "+3615550100",
        "+36301112233",
    )
    assert child.parent_call_sid == ext
    assert child.start_time > parent.start_time
    [recording] = twilio_sdk.calls(ext).recordings.list()
    assert (recording.call_sid, recording.status) == (ext, "completed")
    assert twilio_sdk.calls(child.sid).recordings.list() == []


def test_softphone_outbound_call_is_one_outbound_call(twilio_fake, adapter, now, since, list_all):
    ext = softphone_call(twilio_fake, now - timedelta(minutes=10))
    calls, errors, _pages = list_all(adapter, since, now)
    assert errors == []
    assert {c.external_id for c in calls} == {ext}, "the <Dial> leg became a call of its own"
    call = calls[-1]
    assert call.direction == "outbound"
    assert (call.caller_number, call.callee_number) == ("+3615550100", "+36301112233")
    assert call.agent_external_id == "alice"
    assert call.state == "answered"
    assert call.recording_ref == "RE" + ext[2:]
    with adapter.open_audio(call) as stream:
        assert stream.read() == AUDIO


def test_softphone_call_not_answered_is_missed(twilio_fake, adapter, now, since):
    ext = softphone_call(twilio_fake, now - timedelta(minutes=10), state="missed", audio=None)
    [call] = adapter.list_calls(since, now).calls
    assert (call.external_id, call.direction, call.state) == (ext, "outbound", "missed")


def test_inbound_call_put_through_to_an_agent(twilio_fake, quick_config, now, since, list_all):
    """Parent and child on different pages, in either order: one call, with its agent."""
    ids = [
        add(twilio_fake, now - timedelta(minutes=10 * i), agent_id=f"agent{i}") for i in range(1, 6)
    ]
    for page_size in (1, 2, 3, 50):
        adapter = get_adapter("twilio", quick_config(twilio_fake, page_size=page_size))
        calls, errors, _pages = list_all(adapter, since, now)
        assert errors == []
        final = {c.external_id: c for c in calls}  # the engine keeps the last report
        assert set(final) == set(ids), page_size
        for index, ext in enumerate(ids, 1):
            call = final[ext]
            assert call.direction == "inbound"
            assert (call.caller_number, call.callee_number) == ("+36301112233", "+3612223344")
            assert call.agent_external_id == f"agent{index}", page_size


def test_child_leg_of_a_parent_before_the_window(twilio_fake, adapter, now):
    """The parent started just before the window, its <Dial> leg inside it."""
    start = now - timedelta(hours=1)
    ext = add(twilio_fake, start, agent_id="bob")
    calls = adapter.list_calls(start + timedelta(seconds=1), now).calls
    assert [(c.external_id, c.agent_external_id) for c in calls] == [(ext, "bob")]


def test_refresh_of_a_child_leg_gives_the_conversation(twilio_fake, adapter, now):
    ext = softphone_call(twilio_fake, now - timedelta(minutes=10))
    for sid in (ext, twilio_fake.child_sid(ext)):
        call = adapter.refresh_call(sid)
        assert (call.external_id, call.direction, call.agent_external_id) == (
            ext,
            "outbound",
            "alice",
        )
        assert call.callee_number == "+36301112233"


def test_withheld_caller_id_is_no_number(twilio_fake, adapter, now, since):
    add(twilio_fake, now - timedelta(minutes=5), caller=None)
    [call] = adapter.list_calls(since, now).calls
    assert call.raw["from"] == "+266696687"
    assert call.caller_number is None
    assert call.callee_number == "+3612223344"


def test_recording_duration_is_reported(twilio_fake, adapter, now, since):
    from call_recording_lib.audio import synth_call_wav, wav_duration  # noqa: PLC0415

    audio = synth_call_wav(3, seed=1)
    add(twilio_fake, now - timedelta(minutes=5), audio=audio)
    [call] = adapter.list_calls(since, now).calls
    assert call.recording_duration == round(wav_duration(audio)) == 3


def test_webhook_signed_by_the_sdks_request_validator(twilio_fake, adapter, delivery):
    from twilio.request_validator import RequestValidator  # noqa: PLC0415

    ext, form = delivery
    validator = RequestValidator(twilio_fake.secret)
    url = "https://odoo.example.com/call_recording/webhook/twilio/key"
    signature = validator.compute_signature(url, form)
    assert twilio_fake.sign_webhook(url, form)["X-Twilio-Signature"] == signature
    [event] = adapter.parse_webhook(url, {"X-Twilio-Signature": signature}, b"", form)
    assert event.external_id == ext
    # and what the SDK refuses, the adapter refuses
    forged = validator.compute_signature(url, dict(form, CallSid="CA" + "0" * 32))
    assert not validator.validate(url, form, forged)
    with pytest.raises(WebhookRejected):
        adapter.parse_webhook(url, {"X-Twilio-Signature": forged}, b"", form)


def test_unreadable_conversation_is_reported_once(twilio_fake, adapter, now, since, list_all):
    good = add(twilio_fake, now - timedelta(minutes=20), agent_id="alice")
    bad = add(twilio_fake, now - timedelta(minutes=10), agent_id="bob")
    twilio_fake.corrupt_call(bad)
    calls, errors, _pages = list_all(adapter, since, now)
    assert [ext for ext, _reason in errors] == [bad]
    assert {c.external_id for c in calls} == {good}


# -- the account's recordings, one request per page ------------------------------


def test_fake_lists_the_accounts_recordings_as_the_sdk_reads_them(twilio_fake, twilio_sdk, now):
    """``client.recordings.list``: DateCreated filters as instants, CallSid, paging."""
    starts = [now - timedelta(hours=3) + timedelta(minutes=20 * i) for i in range(6)]
    ids = [add(twilio_fake, start) for start in starts]
    add(twilio_fake, now - timedelta(hours=2), audio=None)  # no recording
    dialled = add(twilio_fake, now - timedelta(hours=2, minutes=30), agent_id="alice")
    since, until = starts[1], starts[4]
    listed = twilio_sdk.recordings.list(
        date_created_after=since, date_created_before=until, page_size=2
    )
    assert [r.call_sid for r in listed] == [ids[4], ids[3], ids[2], dialled, ids[1]]
    # a <Dial record> recording starts with the answer, after its parent leg;
    # its call_sid is the parent's
    [of_dialled] = [r for r in listed if r.call_sid == dialled]
    assert of_dialled.date_created > now - timedelta(hours=2, minutes=30)
    assert of_dialled.sid == "RE" + dialled[2:]
    sent = [
        parse_qs(urlsplit(p).query) for m, p, h in twilio_fake.requests if "/Recordings.json" in p
    ]
    # twilio-python writes datetimes as exact instants; pages follow next_page_uri
    assert sent[0]["DateCreated>"] == [since.strftime("%Y-%m-%dT%H:%M:%SZ")]
    assert sent[0]["DateCreated<"] == [until.strftime("%Y-%m-%dT%H:%M:%SZ")]
    assert len(sent) == 3 and "PageToken" in sent[1]
    [only] = twilio_sdk.recordings.list(call_sid=ids[0])
    assert (only.call_sid, only.status, only.duration) == (ids[0], "completed", "60")
    # a bare date is midnight UTC at the start of that day
    day = (now - timedelta(days=1)).date().isoformat()
    assert twilio_sdk.recordings.list(date_created_before=day) == []


def test_fake_lists_a_recording_in_progress_and_processing(twilio_fake, twilio_sdk, now):
    live = add(twilio_fake, now - timedelta(seconds=10), duration=600)
    later = add(twilio_fake, now - timedelta(minutes=5), recording_ready=False)
    add(twilio_fake, now + timedelta(minutes=5))  # not started: no recording yet
    statuses = {r.call_sid: (r.status, r.duration) for r in twilio_sdk.recordings.list()}
    assert statuses == {live: ("in-progress", "-1"), later: ("processing", "-1")}


def test_one_recording_request_per_page_of_calls(twilio_fake, adapter, now, since, list_all):
    ids = {add(twilio_fake, now - timedelta(minutes=10 * i)) for i in range(1, 8)}
    missed = add(twilio_fake, now - timedelta(minutes=75), state="missed", audio=None)
    calls, errors, pages = list_all(adapter, since, now)
    assert errors == []
    assert pages == 3
    by_id = {c.external_id: c for c in calls}
    for ext in ids:
        assert by_id[ext].recording_ref == "RE" + ext[2:]
        assert (by_id[ext].recording_ready, by_id[ext].recording_duration) == (True, 60)
    assert by_id[missed].recording_ref is None
    paths = [p for m, p, h in twilio_fake.requests]
    assert not [p for p in paths if "/Calls/" in p], "recordings were read call by call"
    listings = [parse_qs(urlsplit(p).query) for p in paths if "/Recordings.json" in p]
    assert len(listings) == pages
    first_page = sorted(calls[:3], key=lambda c: c.start)
    # from the first start to the last end of the page, as exact instants
    assert listings[0]["DateCreated>"] == [first_page[0].start.strftime("%Y-%m-%dT%H:%M:%SZ")]
    assert listings[0]["PageSize"] == ["1000"]


def test_page_recordings_processing_dialled_and_long_calls(
    twilio_fake, adapter, now, since, list_all
):
    waiting = add(twilio_fake, now - timedelta(minutes=30), recording_ready=False)
    dialled = add(twilio_fake, now - timedelta(minutes=20), agent_id="alice")
    live = add(twilio_fake, now - timedelta(minutes=1), duration=3600)
    calls = {c.external_id: c for c in list_all(adapter, now - timedelta(hours=1), now)[0]}
    assert (calls[waiting].recording_ref, calls[waiting].recording_ready) == (
        "RE" + waiting[2:],
        False,
    )
    assert calls[dialled].recording_ref == "RE" + dialled[2:]
    # in progress: read again by later runs
    assert (calls[live].recording_ref, calls[live].recording_ready) == (None, True)
    assert not [p for m, p, h in twilio_fake.requests if "/Calls/" in p]
    # a call ending hours after the last start of its page: read on its own
    long_call = add(twilio_fake, now - timedelta(hours=5), duration=3 * 3600)
    short = add(twilio_fake, now - timedelta(hours=5, minutes=10))
    calls = {c.external_id: c for c in list_all(adapter, since, now - timedelta(hours=4))[0]}
    assert calls[long_call].recording_ref == "RE" + long_call[2:]
    assert calls[short].recording_ref == "RE" + short[2:]
    per_call = [p for m, p, h in twilio_fake.requests if "/Calls/" in p]
    assert per_call == [
        f"/2010-04-01/Accounts/{twilio_fake.login}/Calls/{long_call}/Recordings.json"
    ], "only the call far longer than its page is read on its own"


def test_page_recordings_list_that_is_not_a_list(twilio_fake, adapter, now, since):
    add(twilio_fake, now - timedelta(minutes=1))
    twilio_fake.malformed_next(path_contains="/Recordings.json")
    with pytest.raises(MalformedData):
        adapter.list_calls(since, now)
