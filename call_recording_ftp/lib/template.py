"""The remote folder and file name template: checked once, rendered per call.

A template such as ``{year}/{month}/{day}/{reference}_{direction}_{number}.{ext}``
may only use the placeholders below, and no value can lead out of the
target's base folder: the fixed text may not hold ``..``, a leading ``/`` or
a backslash, and every value is reduced to one safe path segment before it
is put in.  Values stay readable: letters with accents are kept, spaces
become ``_`` and any other separator (``/``, ``:``, ``|``...) one ``-``.
Dates and times are the call's start in the target's time zone.
"""

import posixpath
import re
import string
import unicodedata
from datetime import UTC

try:
    from odoo.addons.call_recording.lib import zones
except ImportError:  # the plain-Python tests load each lib/ on its own
    from call_recording_lib import zones

from .errors import TransferError

PLACEHOLDERS = {
    "year": "year of the call's start (target's time zone), 4 digits",
    "month": "month, 2 digits",
    "day": "day, 2 digits",
    "hour": "hour, 2 digits",
    "minute": "minute, 2 digits",
    "second": "second, 2 digits",
    "date": "date of the start, 2026-11-28",
    "time": "time of the start, 09-30-00",
    "reference": "the call's reference (CR-2026-000123)",
    "direction": "inbound, outbound or internal",
    "number": "the other party's number (E.164 without +)",
    "line": "our line's number (E.164 without +)",
    "line_name": "our recorded line's name",
    "customer": "the customer's name (the contact's company, or the contact)",
    "provider_call_id": "the call's id at the telephony provider or PBX",
    "agent": "the agent's login",
    "company": "the company's name",
    "id": "the call's database id",
    "ext": "file extension of the recording (wav, mp3...)",
}
DEFAULT_TEMPLATE = "{year}/{month}/{day}/{reference}_{direction}_{number}.{ext}"
#: what may stay in a value: letters (any script), digits and these
_KEEP = set("._+@-")
MAX_SEGMENT = 120


class TemplateError(TransferError):
    def __init__(self, message):
        super().__init__("config", message)


def _fields(template):
    try:
        return list(string.Formatter().parse(template))
    except ValueError as exc:
        raise TemplateError(f"the template is not valid: {exc}") from exc


def validate(template):
    """Raise :class:`TemplateError` unless ``template`` is safe; return its placeholders."""
    if not template or not template.strip():
        raise TemplateError("the template is empty")
    if "\\" in template or "\x00" in template:
        raise TemplateError("the template may not contain backslashes or NUL characters")
    if template.startswith("/"):
        raise TemplateError("the template must be relative to the base folder")
    used = []
    for literal, name, spec, conversion in _fields(template):
        if ".." in literal:
            raise TemplateError("the template may not contain '..'")
        if name is None:
            continue
        if name not in PLACEHOLDERS:
            raise TemplateError(
                f"unknown placeholder {{{name}}}; allowed: "
                + ", ".join(f"{{{p}}}" for p in PLACEHOLDERS)
            )
        if spec or conversion:
            raise TemplateError(f"placeholder {{{name}}} may not have a format or conversion")
        used.append(name)
    if "reference" not in used and "id" not in used:
        raise TemplateError(
            "the template needs {reference} or {id} so that every call has its own file"
        )
    if template.endswith("/"):
        raise TemplateError("the template must end with a file name")
    return used


def safe_value(value):
    """A value reduced to one harmless, readable path segment (never empty, never ``..``).

    ``Tóth Gábor`` stays ``Tóth_Gábor``, ``CR/2026/000123`` becomes
    ``CR-2026-000123``; control characters, slashes and the like never pass.
    """
    text = unicodedata.normalize("NFC", str(value if value not in (None, False) else ""))
    out = []
    for char in text:
        if char.isalnum() or char in _KEEP:
            out.append(char)
        elif char.isspace():
            out.append("_")
        else:
            out.append("-")
    cleaned = re.sub(r"_*-[-_]*", "-", re.sub(r"_+", "_", "".join(out)))
    cleaned = re.sub(r"\.{2,}", ".", cleaned).strip("-._")
    return cleaned[:MAX_SEGMENT].rstrip("-._") or "none"


def render(template, values, base_folder=""):
    """The remote path of one call under ``base_folder`` (validated again)."""
    validate(template)
    safe = {key: safe_value(values.get(key)) for key in PLACEHOLDERS}
    relative = template.format(**safe)
    return join_under(base_folder, relative)


def join_under(base_folder, relative):
    """``base_folder/relative``, refusing anything that would leave the base."""
    parts = [p for p in relative.split("/") if p not in ("", ".")]
    if not parts or any(p == ".." for p in parts):
        raise TemplateError(f"the path {relative!r} leaves the base folder")
    base = normalize_base(base_folder)
    return posixpath.join(base, *parts) if base else "/".join(parts)


def normalize_base(base_folder):
    """The base folder without trailing slash; ``..`` is refused."""
    base = (base_folder or "").strip()
    if "\\" in base or any(p == ".." for p in base.split("/")):
        raise TemplateError("the base folder may not contain '..' or backslashes")
    if not base:
        return ""
    return posixpath.normpath(base)


def local_start(start, tz_name):
    """The call's start (naive UTC, as Odoo stores it) in the time zone ``tz_name``."""
    zone = zones.zone(tz_name or "UTC")
    if zone is None:
        raise TemplateError(f"unknown time zone {tz_name!r}")
    aware = start.replace(tzinfo=UTC) if start.tzinfo is None else start
    return aware.astimezone(zone)


def values_for(call, tz_name="UTC"):
    """Template values from a plain mapping of the call's data (see models)."""
    start = local_start(call["start"], tz_name)
    return {
        "year": f"{start.year:04d}",
        "month": f"{start.month:02d}",
        "day": f"{start.day:02d}",
        "hour": f"{start.hour:02d}",
        "minute": f"{start.minute:02d}",
        "second": f"{start.second:02d}",
        "date": f"{start:%Y-%m-%d}",
        "time": f"{start:%H-%M-%S}",
        "reference": call.get("reference"),
        "direction": call.get("direction"),
        "number": (call.get("number") or "").lstrip("+") or "unknown",
        "line": (call.get("line") or "").lstrip("+") or "unknown",
        "line_name": call.get("line_name") or "unknown",
        "customer": call.get("customer") or "unknown",
        "provider_call_id": call.get("provider_call_id") or "none",
        "agent": call.get("agent"),
        "company": call.get("company"),
        "id": call.get("id"),
        "ext": call.get("ext") or "bin",
    }
