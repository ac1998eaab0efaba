"""Telephone number normalisation for call matching.

Plain Python (no ORM) so that it can be tested and benchmarked without a
database.  The E.164 form produced here must equal what Odoo's
``phone_validation`` stores in ``res.partner.phone_sanitized``: both go
through :mod:`phonenumbers` and keep only valid numbers, so a call's number
and a partner's number meet on a plain equality that an index can serve.
"""

import re
from dataclasses import dataclass

import phonenumbers
from phonenumbers import PhoneNumberFormat

#: Values that telephony providers send instead of a number when the caller
#: hid it (CLIR).  Matched case-insensitively after stripping.
ANONYMOUS_VALUES = frozenset(
    {
        "anonymous",
        "private",
        "restricted",
        "unknown",
        "unavailable",
        "withheld",
        "blocked",
        "clir",
        "hidden",
        "anonim",
        "ismeretlen",
        "rejtett",
    }
)

#: Numbers this short are extensions of a PBX, not dialable public numbers.
MAX_EXTENSION_DIGITS = 6

_SIP_RE = re.compile(r"^(?:sips?|tel):([^@;]+)", re.IGNORECASE)
# "ext. 12", "ext 12", "x12", "#12", ";ext=12", "mellék 12", "m. 12"
_EXT_RE = re.compile(
    r"(?:;ext=|\s*(?:ext\.?|extension|x|#|mell[ée]k|m\.)\s*)(\d{1,7})\s*$",
    re.IGNORECASE,
)
_DIGITS_RE = re.compile(r"\d")

KIND_VALID = "valid"
KIND_EXTENSION = "extension"
KIND_ANONYMOUS = "anonymous"
KIND_INVALID = "invalid"
KIND_EMPTY = "empty"


@dataclass(frozen=True)
class NormalizedNumber:
    """Result of :func:`normalize`.

    ``e164`` is set only for valid public numbers; ``extension`` keeps an
    extension dialled after the number (or the short internal number itself
    when ``kind`` is ``extension``).
    """

    raw: str
    kind: str
    e164: str | None = None
    extension: str | None = None

    @property
    def is_valid(self):
        return self.kind == KIND_VALID


def _parse(candidate, region):
    try:
        number = phonenumbers.parse(candidate, region or None)
    except phonenumbers.NumberParseException:
        return None
    return number if phonenumbers.is_valid_number(number) else None


def normalize(raw, region=None):
    """Normalise ``raw`` as dialled or displayed in country ``region``.

    ``region`` is an ISO 3166 alpha-2 code (``"HU"``), usually the country
    of the company that owns the line.  National forms such as the
    Hungarian ``06 30 123 4567``, international ones (``+36 (30) 123-4567``,
    ``0036 30 123 4567``), SIP URIs and trailing extensions are understood.
    Never raises: a number that cannot be understood is reported as
    ``invalid`` and keeps its raw text so that it stays searchable.
    """
    text = (raw or "").strip()
    if not text:
        return NormalizedNumber(raw=raw or "", kind=KIND_EMPTY)
    if text.lower().strip("<>\"' ") in ANONYMOUS_VALUES:
        return NormalizedNumber(raw=text, kind=KIND_ANONYMOUS)

    sip = _SIP_RE.match(text)
    if sip:
        text = sip.group(1)

    extension = None
    ext_match = _EXT_RE.search(text)
    if ext_match and _DIGITS_RE.search(text[: ext_match.start()]):
        extension = ext_match.group(1)
        text = text[: ext_match.start()]

    digits = "".join(_DIGITS_RE.findall(text))
    if not digits:
        return NormalizedNumber(raw=raw, kind=KIND_INVALID)
    if len(digits) <= MAX_EXTENSION_DIGITS and not text.lstrip().startswith("+"):
        return NormalizedNumber(raw=raw, kind=KIND_EXTENSION, extension=digits)

    number = _parse(text, region)
    if number is None and not text.lstrip().startswith("+"):
        # Providers often send international numbers without their "+"
        # ("36301234567") or with "00" when ``region`` has another
        # international prefix.
        stripped = digits[2:] if digits.startswith("00") else digits
        number = _parse("+" + stripped, None)
    if number is None:
        return NormalizedNumber(raw=raw, kind=KIND_INVALID, extension=extension)
    if number.extension and not extension:
        extension = number.extension
    e164 = phonenumbers.format_number(number, PhoneNumberFormat.E164)
    return NormalizedNumber(raw=raw, kind=KIND_VALID, e164=e164, extension=extension)


def to_e164(raw, region=None):
    """Shortcut: the E.164 form of ``raw``, or ``None``."""
    return normalize(raw, region).e164


def region_of(numbers):
    """The region (ISO code) most of these E.164 numbers belong to, or None."""
    counts = {}
    for number in numbers or ():
        try:
            region = phonenumbers.region_code_for_number(phonenumbers.parse(number, None))
        except phonenumbers.NumberParseException:
            continue
        if region and region != "ZZ":
            counts[region] = counts.get(region, 0) + 1
    return max(sorted(counts), key=counts.get) if counts else None


def format_international(e164):
    """Human form of a stored E.164 number, e.g. ``+36 30 123 4567``."""
    if not e164:
        return ""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_number(number, PhoneNumberFormat.INTERNATIONAL)


def search_digits(text):
    """Digits of a search term, for matching stored numbers loosely.

    A user typing ``06 30 123`` should find ``+36301234567``: the national
    prefix is dropped so the remaining digits can be looked for inside the
    stored E.164 number.
    """
    digits = "".join(_DIGITS_RE.findall(text or ""))
    if digits.startswith("00"):
        return digits[2:]
    if digits.startswith("06") and len(digits) > 2:
        return digits[2:]
    if digits.startswith("0") and len(digits) > 1:
        return digits[1:]
    return digits
