"""The Push API's values read and checked, and its refusals: plain Python, no ORM.

What a PBX sends (``call.recording`` ``push_call`` and ``reserve_call``,
over XML-RPC, JSON-2 or the HTTP routes of ``controllers/push.py``) is
read here field by field into a :class:`~.providers.base.ProviderCall`
and the delivery's options, or refused with every wrong field named at
once; the audio is checked (size, type, SHA-256) before anything is
written, and a delivery is compared with the call already stored.  The
models look the account up and store; the routes answer.

Every refusal has a *kind*; :data:`HTTP_STATUS` is the one table of the
HTTP status each kind is answered with, and :func:`envelope` the one JSON
body of every refusal (the routes, and ``ir.http`` before and after them).

Messages are written in English and translated by the ``gettext`` the
caller passes (``env._`` in Odoo: the strings are exported from here).
"""

import base64
import binascii
import hashlib
import io
import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from . import audio as audio_lib
from . import files
from . import phone as phone_lib
from .providers.base import ProviderCall
from .safe import safe_filename

#: The HTTP status of each kind of refusal (the error's ``"error"`` key).
HTTP_STATUS = {
    "validation": 400,  # fields refused, or a body that is no JSON object
    "incomplete_body": 400,  # the body ended before its end: send it again
    "unauthorized": 401,  # no API key, or a wrong one
    "forbidden": 403,  # the key's user is not in the Push API group
    "conflict": 409,  # the same call with different content: permanent
    "too_large": 413,  # the recording, or the whole body, over the limit
    "busy": 503,  # the same call is being stored right now: send it again
    "unavailable": 503,  # the recordings' storage cannot be reached: send it again later
}

#: Every key ``push_call`` accepts; anything else is reported as unknown.
PUSH_FIELDS = (
    "provider",
    "external_id",
    "direction",
    "start",
    "duration",
    "state",
    "caller_number",
    "callee_number",
    "agent_email",
    "agent_external_id",
    "agent_name",
    "audio",
    "audio_sha256",
    "audio_filename",
    "replace_audio",
)
#: Every key ``reserve_call`` accepts.
RESERVE_FIELDS = (
    "provider",
    "external_id",
    "direction",
    "start",
    "caller_number",
    "callee_number",
    "agent_email",
    "agent_external_id",
    "agent_name",
)
MAX_TEXT = 128
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
#: Control characters (a newline in a file name would end up in a header).
CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")
UNIX_SECONDS_RE = re.compile(r"\d{9,11}(\.\d+)?")
TRUE_VALUES = ("1", "true", "yes", "on")
FALSE_VALUES = ("", "0", "false", "no", "off")
EMPTY = (None, False, "")


def plain(source, *args, **kwargs):
    """The ``gettext`` of plain Python: the English text, its values filled in."""
    values = args or kwargs
    return source % values if values else source


def envelope(kind, message, errors=None):
    """The JSON body of every refusal: ``{"error": kind, "message", "errors"}``."""
    return {"error": kind, "message": message, "errors": dict(errors or {})}


class Translator:
    """What the messages are translated by: ``self._`` (a ``gettext``)."""

    def __init__(self, gettext=plain):
        self._ = gettext


class Refused(Exception):
    """A request refused field by field; ``errors`` maps each field to what is wrong.

    ``kind`` is a key of :data:`HTTP_STATUS`.
    """

    def __init__(self, errors, kind="validation"):
        super().__init__(errors)
        self.errors = errors
        self.kind = kind


@dataclass
class Delivery:
    """A push read from its values: the call, and what to do with its audio.

    ``call`` is None when a value of the call is wrong (see the reader's
    errors).
    """

    call: ProviderCall | None
    audio_sha256: str | None = None
    replace_audio: bool = False
    filename: str | None = None


class Reader(Translator):
    """Reads a request's values, noting what is wrong with each field.

    ``provider``: the account reference as ``("id", n)`` or ``("name", text)``
    (the model looks it up); the other readers return the value, or
    ``None`` (or the default) with the error noted in ``errors``.
    """

    def __init__(self, vals, gettext=plain):
        super().__init__(gettext)
        self.vals = vals
        self.errors = {}
        self.kind = "validation"

    def unknown(self, allowed):
        """Note every key that is not ``allowed``."""
        for key in sorted(set(self.vals) - set(allowed), key=str):
            self.refuse(str(key)[:MAX_TEXT], self._("unknown field"))

    def refuse(self, key, message, kind=None):
        self.errors[key] = message
        if kind:
            self.kind = kind

    def check(self):
        """Raise :class:`Refused` with every error noted, if any."""
        if self.errors:
            raise Refused(self.errors, self.kind)

    def provider(self, key="provider"):
        value = self.vals.get(key)
        if value in EMPTY:
            self.refuse(key, self._("is required (the push account's id or name)"))
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            return ("id", value)
        if isinstance(value, str) and value.strip().isdigit():
            return ("id", int(value.strip()))
        if isinstance(value, str):
            return ("name", value.strip())
        self.refuse(key, self._("must be the push account's id or name"))
        return None

    def text(self, key, required=False):
        value = self.vals.get(key)
        if value in EMPTY:
            if required:
                self.refuse(key, self._("is required"))
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str):
            self.refuse(key, self._("must be text"))
            return None
        value = value.strip()
        if len(value) > MAX_TEXT:
            self.refuse(key, self._("is longer than %(max)s characters", max=MAX_TEXT))
            return None
        if CONTROL_RE.search(value):
            self.refuse(key, self._("contains control characters (a line break, a tab...)"))
            return None
        if required and not value:
            self.refuse(key, self._("is required"))
        return value or None

    def boolean(self, key):
        value = self.vals.get(key, False)
        if isinstance(value, bool) or value is None:
            return bool(value)
        text = str(value).strip().lower()
        if text in TRUE_VALUES:
            return True
        if text not in FALSE_VALUES:
            self.refuse(key, self._("must be true or false"))
        return False

    def choice(self, key, keys, default):
        """One of ``keys`` (lower case); ``default`` None: the field is required."""
        value = self.vals.get(key)
        if value in EMPTY:
            if default is None:
                self.refuse(key, self._("is required"))
            return default
        if not isinstance(value, str) or value.strip().lower() not in keys:
            self.refuse(
                key,
                self._(
                    "unknown value %(value)s; use one of: %(choices)s",
                    value=repr(value)[:MAX_TEXT],
                    choices=", ".join(keys),
                ),
            )
            return default
        return value.strip().lower()

    def start(self, key="start"):
        """An aware UTC datetime to the second (ISO 8601 with a zone, or UNIX seconds)."""
        value = self.vals.get(key)
        if value in EMPTY:
            self.refuse(key, self._("is required"))
            return None
        try:
            if isinstance(value, int | float) and not isinstance(value, bool):
                start = datetime.fromtimestamp(value, UTC)
            elif isinstance(value, str) and UNIX_SECONDS_RE.fullmatch(value.strip()):
                start = datetime.fromtimestamp(float(value.strip()), UTC)
            elif isinstance(value, str):
                text = value.strip()
                start = datetime.fromisoformat(text[:-1] + "+00:00" if text[-1:] in "zZ" else text)
            else:
                raise ValueError(value)
        except (ValueError, OverflowError, OSError, IndexError):
            self.refuse(
                key,
                self._(
                    "cannot read the date %(value)s; send ISO 8601 with a time zone, "
                    "e.g. 2026-11-28T09:30:00+01:00, or UNIX seconds",
                    value=repr(value)[:MAX_TEXT],
                ),
            )
            return None
        if start.tzinfo is None:
            self.refuse(
                key,
                self._("has no time zone; add one, e.g. 2026-11-28T09:30:00+01:00 or ...Z"),
            )
            return None
        return start.astimezone(UTC).replace(microsecond=0)

    def duration(self, key="duration"):
        """Whole seconds, 0 when not sent."""
        value = self.vals.get(key)
        if value in EMPTY:
            return 0
        try:
            if isinstance(value, bool):
                raise ValueError(value)
            if isinstance(value, float):
                if not value.is_integer():
                    raise ValueError(value)
                value = int(value)
            duration = value if isinstance(value, int) else int(str(value).strip())
        except (ValueError, TypeError):
            self.refuse(
                key,
                self._(
                    "cannot read the number %(value)s; send whole seconds",
                    value=repr(value)[:MAX_TEXT],
                ),
            )
            return 0
        if duration < 0:
            self.refuse(key, self._("cannot be negative"))
            return 0
        return duration

    def number(self, key):
        """A phone number as dialled (some digit in it), None for a withheld one."""
        number = self.text(key)
        if number and not re.search(r"\d", number):
            self.refuse(
                key,
                self._(
                    "%(value)s is not a phone number; leave it empty for a withheld number",
                    value=repr(number)[:MAX_TEXT],
                ),
            )
            return None
        return number

    def email(self, key):
        """An e-mail address in lower case."""
        email = self.text(key)
        if email and not EMAIL_RE.match(email):
            self.refuse(key, self._("is not an e-mail address"))
            return None
        return email.lower() if email else None

    def sha256(self, key):
        digest = self.text(key)
        if digest:
            digest = digest.lower()
            if not SHA256_RE.match(digest):
                self.refuse(key, self._("must be 64 hexadecimal digits (SHA-256)"))
        return digest

    def filename(self, key, fallback=None):
        """A file name, not a path, of safe characters only (it becomes a download's name)."""
        name = self.text(key) or fallback or None
        if name:
            # the PBX's directories are none of our business
            name = safe_filename(os.path.basename(name.replace("\\", "/")), default="")
        return name or None

    def call(self, directions, states, **defaults):
        """The :class:`ProviderCall` described by the values (None when any is wrong).

        ``directions`` and ``states``: the keys accepted.  ``defaults`` may
        give a ``direction`` and a ``start`` (else both are required), a
        fixed ``state`` (else read, ``answered`` by default) and
        ``duration=None`` (not read: 0).
        """
        external_id = self.text("external_id", required=True)
        direction = self.choice("direction", directions, defaults.get("direction"))
        start = defaults.get("start")
        if start is None or self.vals.get("start") not in EMPTY:
            start = self.start("start")
        duration = self.duration("duration") if "duration" not in defaults else 0
        state = defaults.get("state") or self.choice("state", states, "answered")
        caller = self.number("caller_number")
        callee = self.number("callee_number")
        email = self.email("agent_email")
        agent_external_id = self.text("agent_external_id")
        agent_name = self.text("agent_name")
        if self.errors:
            return None
        return ProviderCall(
            external_id=external_id,
            start=start,
            direction=direction,
            state=state,
            caller_number=caller,
            callee_number=callee,
            duration=duration,
            agent_email=email,
            agent_external_id=agent_external_id,
            agent_name=agent_name,
        )


def decode_audio(audio, reader):
    """Base64 text -> file object, or None with the error noted."""
    if not isinstance(audio, str | bytes):
        reader.refuse("audio", reader._("must be base64 text"))
        return None
    try:
        raw = base64.b64decode(audio, validate=True)
    except (binascii.Error, ValueError):
        reader.refuse("audio", reader._("is not valid base64"))
        return None
    return io.BytesIO(raw)


def read_push(reader, directions, states, audio_filename=None):
    """A push's values (but its account: see :meth:`Reader.provider`) -> :class:`Delivery`.

    ``audio_filename``: the file part's name (HTTP), when ``audio_filename``
    is not among the values.  Errors are noted in ``reader``; the caller
    adds those it finds itself (the account, the audio), then calls
    ``reader.check()``.
    """
    return Delivery(
        call=reader.call(directions, states),
        audio_sha256=reader.sha256("audio_sha256"),
        replace_audio=reader.boolean("replace_audio"),
        filename=reader.filename("audio_filename", audio_filename),
    )


def read_reservation(reader, directions, now=None):
    """A reservation's values (but its account) -> the starting :class:`ProviderCall`.

    ``inbound`` and ``now`` unless a direction and a start are sent; the
    call is ``in_progress``.  Errors are noted in ``reader``.
    """
    now = now or datetime.now(UTC).replace(microsecond=0)
    return reader.call(
        directions, (), direction="inbound", start=now, state="in_progress", duration=None
    )


def check_audio(stream, limit, expected_sha256, reader):
    """Read the audio once: size, type and SHA-256, before anything is written.

    Returns ``(stream rewound, sha256)``, or None with the error noted
    (of kind ``too_large`` when over ``limit`` bytes).
    """
    digest = hashlib.sha256()
    reading = files.Reading(stream, limit)
    try:
        for chunk in reading:
            digest.update(chunk)
    except files.FileRefused:
        reader.refuse(
            "audio",
            reader._("is larger than the limit of %(mb)s MB", mb=limit // (1024 * 1024)),
            kind="too_large",
        )
        return None
    if not reading.size:
        reader.refuse("audio", reader._("is empty"))
        return None
    # The core's rule: the bytes decide (what it stores, we accept).
    if not audio_lib.sniff_mimetype(reading.head):
        reader.refuse(
            "audio",
            reader._(
                "is not a recording in a known format (WAV, MP3, AAC, OGG, FLAC, WebM or M4A)"
            ),
        )
        return None
    sha256 = digest.hexdigest()
    if expected_sha256 and expected_sha256 != sha256:
        reader.refuse(
            "audio_sha256",
            reader._(
                "does not match the audio received (its SHA-256 is %(sha)s); "
                "the upload may be damaged",
                sha=sha256,
            ),
        )
        return None
    stream.seek(0)
    return stream, sha256


#: What :func:`conflicts` reads of the stored call.
STORED_KEYS = (
    "awaiting_delivery",
    "direction",
    "start_datetime",
    "caller_number",
    "callee_number",
    "recording_status",
    "audio_sha256",
    "legal_hold",
)


def conflicts(stored, pcall, audio_sha256, replace_audio, *, region=None, gettext=plain):
    """What differs between a stored call and a new delivery of it (field -> message).

    ``stored`` maps :data:`STORED_KEYS` to the stored call's values (its
    start naive UTC); ``audio_sha256`` is the delivered recording's, None
    without one; ``region`` reads national numbers.  The call's identity
    (direction, start to the second, numbers in E.164) must not change,
    unless it was only reserved (what a reservation said is provisional);
    a stored recording is replaced only when asked.
    """
    t = Translator(gettext)
    found = {}
    if not stored["awaiting_delivery"]:
        if stored["direction"] != pcall.direction:
            found["direction"] = t._(
                "stored as %(old)s, delivered as %(new)s",
                old=stored["direction"],
                new=pcall.direction,
            )
        start = pcall.start.replace(tzinfo=None)
        if stored["start_datetime"] != start:
            found["start"] = t._(
                "stored as %(old)s UTC, delivered as %(new)s UTC",
                old=stored["start_datetime"],
                new=start,
            )
        for key in ("caller_number", "callee_number"):
            old, new = stored[key] or None, getattr(pcall, key)
            if (phone_lib.to_e164(old, region) or old) != (phone_lib.to_e164(new, region) or new):
                found[key] = t._(
                    "stored as %(old)s, delivered as %(new)s", old=old or "-", new=new or "-"
                )
    if audio_sha256 is None:
        return found
    if stored["recording_status"] == "purged":
        found["audio"] = t._(
            "the recording of this call was deleted at the end of its retention "
            "and is not stored again"
        )
    elif stored["recording_status"] == "available" and stored["audio_sha256"] != audio_sha256:
        if not replace_audio:
            found["audio"] = t._(
                "a different recording is stored (SHA-256 %(sha)s); "
                "send replace_audio to replace it",
                sha=stored["audio_sha256"],
            )
        elif stored["legal_hold"]:
            found["audio"] = t._("the call is on legal hold: its recording cannot be replaced")
    return found
