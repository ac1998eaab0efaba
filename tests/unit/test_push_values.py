"""The Push API's values read and checked (``call_recording/lib/push.py``), without Odoo."""

import base64
import hashlib
import io
from datetime import UTC, datetime

import pytest
from call_recording_lib import audio, push
from call_recording_lib.providers.base import ProviderCall

DIRECTIONS = ["inbound", "outbound", "internal"]
STATES = ["answered", "missed", "voicemail", "busy", "failed"]
WAV = audio.synth_call_wav(1)


def _push(vals, audio_filename=None):
    reader = push.Reader(vals)
    reader.unknown(push.PUSH_FIELDS)
    reference = reader.provider()
    delivery = push.read_push(reader, DIRECTIONS, STATES, audio_filename)
    return reference, delivery, reader


def _valid(**extra):
    return {
        "provider": 7,
        "external_id": "pbx-1",
        "direction": "Inbound",
        "start": "2026-11-28T09:30:00+01:00",
        **extra,
    }


def test_a_valid_push_is_a_provider_call():
    reference, delivery, reader = _push(
        _valid(
            duration="75",
            state="MISSED",
            caller_number=" +36 1 555 0100 ",
            callee_number=3612345678,
            agent_email="Agent@Example.com",
            agent_external_id="201",
            audio_sha256="A" * 64,
            replace_audio="yes",
            audio_filename="/var/spool/asterisk/monitor/rec 1.wav",
        )
    )
    reader.check()  # nothing refused
    assert reference == ("id", 7)
    assert delivery.call == ProviderCall(
        external_id="pbx-1",
        start=datetime(2026, 11, 28, 8, 30, tzinfo=UTC),
        direction="inbound",
        state="missed",
        caller_number="+36 1 555 0100",
        callee_number="3612345678",
        duration=75,
        agent_email="agent@example.com",
        agent_external_id="201",
    )
    assert (delivery.audio_sha256, delivery.replace_audio) == ("a" * 64, True)
    assert delivery.filename == "rec_1.wav"  # a name, not a path


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (7, ("id", 7)),
        (" 7 ", ("id", 7)),
        ("PBX Budapest", ("name", "PBX Budapest")),
    ],
)
def test_the_account_by_id_or_name(value, expected):
    reader = push.Reader({"provider": value})
    assert reader.provider() == expected
    assert reader.errors == {}


def test_every_wrong_field_is_named_at_once():
    reference, delivery, reader = _push(
        {
            "provider": ["x"],
            "external_id": "a\nb",
            "direction": "sideways",
            "start": "2026-11-28T09:30:00",
            "duration": -1,
            "state": 3,
            "caller_number": "anonymous",
            "agent_email": "not-an-address",
            "agent_name": "x" * 129,
            "replace_audio": "maybe",
            "audio_sha256": "abc",
            "colour": "blue",
        }
    )
    assert reference is None and delivery.call is None
    with pytest.raises(push.Refused) as refused:
        reader.check()
    assert refused.value.kind == "validation"
    assert refused.value.errors == {
        "colour": "unknown field",
        "provider": "must be the push account's id or name",
        "external_id": "contains control characters (a line break, a tab...)",
        "direction": "unknown value 'sideways'; use one of: inbound, outbound, internal",
        "start": "has no time zone; add one, e.g. 2026-11-28T09:30:00+01:00 or ...Z",
        "duration": "cannot be negative",
        "state": "unknown value 3; use one of: answered, missed, voicemail, busy, failed",
        "caller_number": "'anonymous' is not a phone number; leave it empty for a withheld number",
        "agent_email": "is not an e-mail address",
        "agent_name": "is longer than 128 characters",
        "audio_sha256": "must be 64 hexadecimal digits (SHA-256)",
        "replace_audio": "must be true or false",
    }


def test_required_fields():
    _reference, delivery, reader = _push({"external_id": "  "})
    assert delivery.call is None
    assert reader.errors == {
        "provider": "is required (the push account's id or name)",
        "external_id": "is required",
        "direction": "is required",
        "start": "is required",
    }


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        ("2026-11-28T08:30:00Z", datetime(2026, 11, 28, 8, 30, tzinfo=UTC)),
        ("2026-11-28T09:30:00.750+01:00", datetime(2026, 11, 28, 8, 30, tzinfo=UTC)),
        (1795854600, datetime(2026, 11, 28, 8, 30, tzinfo=UTC)),
        ("1795854600.5", datetime(2026, 11, 28, 8, 30, tzinfo=UTC)),
    ],
)
def test_start_in_utc_to_the_second(start, expected):
    reader = push.Reader({"start": start})
    assert reader.start() == expected
    assert reader.errors == {}


@pytest.mark.parametrize("start", ["yesterday", "", True, "2026-13-01T00:00:00Z", 1e20])
def test_unreadable_start(start):
    reader = push.Reader({"start": start})
    assert reader.start() is None
    assert "start" in reader.errors


@pytest.mark.parametrize(
    ("duration", "expected", "error"),
    [(None, 0, False), (12.0, 12, False), ("12", 12, False), (1.5, 0, True), (True, 0, True)],
)
def test_duration_whole_seconds(duration, expected, error):
    reader = push.Reader({"duration": duration})
    assert reader.duration() == expected
    assert ("duration" in reader.errors) is error


def test_a_reservation_defaults_to_inbound_now_in_progress():
    now = datetime(2026, 11, 28, 8, 30, tzinfo=UTC)
    reader = push.Reader({"external_id": "uniq-1", "caller_number": "06 1 555 0100"})
    reader.unknown(push.RESERVE_FIELDS)
    pcall = push.read_reservation(reader, DIRECTIONS, now=now)
    reader.check()
    assert (pcall.direction, pcall.start, pcall.state, pcall.duration) == (
        "inbound",
        now,
        "in_progress",
        0,
    )


def test_a_reservation_knows_no_duration_nor_audio():
    reader = push.Reader({"external_id": "uniq-1", "duration": 5, "audio": "x"})
    reader.unknown(push.RESERVE_FIELDS)
    assert push.read_reservation(reader, DIRECTIONS) is None
    assert reader.errors == {"audio": "unknown field", "duration": "unknown field"}


def test_check_audio_size_type_and_checksum():
    sha = hashlib.sha256(WAV).hexdigest()
    reader = push.Reader({})
    stream, digest = push.check_audio(io.BytesIO(WAV), 10**6, sha, reader)
    assert (digest, stream.read()) == (sha, WAV)  # rewound

    reader = push.Reader({})
    assert push.check_audio(io.BytesIO(WAV), 10**6, "0" * 64, reader) is None
    assert reader.errors["audio_sha256"].startswith("does not match the audio received")

    reader = push.Reader({})
    assert push.check_audio(io.BytesIO(b"not audio at all"), 10**6, None, reader) is None
    assert reader.errors["audio"].startswith("is not a recording in a known format")

    reader = push.Reader({})
    assert push.check_audio(io.BytesIO(b""), 10**6, None, reader) is None
    assert reader.errors == {"audio": "is empty"}


def test_too_large_is_its_own_kind():
    big = io.BytesIO(WAV * (1024 * 1024 // len(WAV) + 2))
    reader = push.Reader({"colour": "blue"})
    reader.unknown(push.PUSH_FIELDS)
    assert push.check_audio(big, 1024 * 1024, None, reader) is None
    with pytest.raises(push.Refused) as refused:
        reader.check()
    assert refused.value.kind == "too_large"
    assert refused.value.errors["audio"] == "is larger than the limit of 1 MB"
    assert push.HTTP_STATUS[refused.value.kind] == 413


def test_decode_audio():
    reader = push.Reader({})
    assert push.decode_audio(base64.b64encode(WAV).decode(), reader).read() == WAV
    assert push.decode_audio("@@not base64@@", reader) is None
    assert reader.errors == {"audio": "is not valid base64"}
    reader = push.Reader({})
    assert push.decode_audio(12, reader) is None
    assert reader.errors == {"audio": "must be base64 text"}


STORED = {
    "awaiting_delivery": False,
    "direction": "inbound",
    "start_datetime": datetime(2026, 11, 28, 8, 30),
    "caller_number": "06 1 555 0100",
    "callee_number": "+3612345678",
    "recording_status": "available",
    "audio_sha256": "a" * 64,
    "legal_hold": False,
}
PCALL = ProviderCall(
    external_id="pbx-1",
    start=datetime(2026, 11, 28, 8, 30, tzinfo=UTC),
    direction="inbound",
    caller_number="+36 1 555 0100",
    callee_number="3612345678",
)


def test_the_same_call_in_other_formats_is_no_conflict():
    assert push.conflicts(STORED, PCALL, "a" * 64, False, region="HU") == {}
    assert push.conflicts(STORED, PCALL, None, False, region="HU") == {}


@pytest.mark.parametrize("start", [1795854600.5, "1795854600.25", "2026-11-28T08:30:00.9Z"])
def test_a_fraction_of_a_second_is_no_conflict(start):
    """The call is stored to the second: sent again with its fraction, it is the same call."""
    reader = push.Reader({"start": start})
    again = ProviderCall(**{**PCALL.__dict__, "start": reader.start()})
    assert push.conflicts(STORED, again, None, False, region="HU") == {}


def test_conflicts_name_what_differs():
    other = ProviderCall(
        external_id="pbx-1",
        start=datetime(2026, 11, 28, 8, 31, tzinfo=UTC),
        direction="outbound",
        caller_number="+36 1 555 0199",
        callee_number=None,
    )
    assert push.conflicts(STORED, other, "b" * 64, False, region="HU") == {
        "direction": "stored as inbound, delivered as outbound",
        "start": "stored as 2026-11-28 08:30:00 UTC, delivered as 2026-11-28 08:31:00 UTC",
        "caller_number": "stored as 06 1 555 0100, delivered as +36 1 555 0199",
        "callee_number": "stored as +3612345678, delivered as -",
        "audio": f"a different recording is stored (SHA-256 {'a' * 64}); "
        "send replace_audio to replace it",
    }
    # a reserved call's identity was provisional: only the audio counts
    reserved = {**STORED, "awaiting_delivery": True}
    assert set(push.conflicts(reserved, other, "b" * 64, False, region="HU")) == {"audio"}


def test_replacing_the_audio():
    assert push.conflicts(STORED, PCALL, "b" * 64, True, region="HU") == {}
    held = {**STORED, "legal_hold": True}
    assert push.conflicts(held, PCALL, "b" * 64, True, region="HU") == {
        "audio": "the call is on legal hold: its recording cannot be replaced"
    }
    purged = {**STORED, "recording_status": "purged"}
    assert (
        "deleted at the end of its retention"
        in (push.conflicts(purged, PCALL, "a" * 64, True, region="HU")["audio"])
    )


def test_messages_go_through_the_gettext_given():
    calls = []

    def gettext(source, **values):
        calls.append(source)
        return "HU: " + push.plain(source, **values)

    reader = push.Reader({"colour": 1}, gettext)
    reader.unknown(push.PUSH_FIELDS)
    assert reader.errors == {"colour": "HU: unknown field"}
    assert calls == ["unknown field"]


def test_one_envelope_and_one_status_per_kind():
    assert push.envelope("busy", "Busy: send it again", {"external_id": "x"}) == {
        "error": "busy",
        "message": "Busy: send it again",
        "errors": {"external_id": "x"},
    }
    assert push.envelope("unauthorized", "no key") == {
        "error": "unauthorized",
        "message": "no key",
        "errors": {},
    }
    assert push.HTTP_STATUS == {
        "validation": 400,
        "incomplete_body": 400,
        "unauthorized": 401,
        "forbidden": 403,
        "conflict": 409,
        "too_large": 413,
        "busy": 503,
        "unavailable": 503,
    }
