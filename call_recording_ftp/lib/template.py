"""The remote folder and file name template: checked once, rendered per call.

A template such as ``{year}/{month}/{day}/{reference}_{direction}_{number}.{ext}``
may only use the placeholders below, and no value can lead out of the
target's base folder: the fixed text may not hold ``..``, a leading ``/`` or
a backslash, and every value is reduced to safe file-name characters
before it is put in.
"""

import posixpath
import re
import string

from .errors import TransferError

PLACEHOLDERS = {
    "year": "year of the call's start (UTC), 4 digits",
    "month": "month, 2 digits",
    "day": "day, 2 digits",
    "hour": "hour, 2 digits",
    "minute": "minute, 2 digits",
    "reference": "the call's reference",
    "direction": "inbound, outbound or internal",
    "number": "the other party's number (E.164 without +)",
    "line": "our line's number (E.164 without +)",
    "agent": "the agent's login",
    "company": "the company's name",
    "id": "the call's database id",
    "ext": "file extension of the recording (wav, mp3...)",
}
DEFAULT_TEMPLATE = "{year}/{month}/{day}/{reference}_{direction}_{number}.{ext}"
_UNSAFE = re.compile(r"[^A-Za-z0-9._+@-]+")
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
    """A value reduced to one harmless path segment (never empty, never ``..``)."""
    text = _UNSAFE.sub("-", str(value if value not in (None, False) else "")).strip("-.")
    return text[:MAX_SEGMENT] or "none"


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


def values_for(call):
    """Template values from a plain mapping of the call's data (see models)."""
    start = call["start"]
    return {
        "year": f"{start.year:04d}",
        "month": f"{start.month:02d}",
        "day": f"{start.day:02d}",
        "hour": f"{start.hour:02d}",
        "minute": f"{start.minute:02d}",
        "reference": call.get("reference"),
        "direction": call.get("direction"),
        "number": (call.get("number") or "").lstrip("+") or "unknown",
        "line": (call.get("line") or "").lstrip("+") or "unknown",
        "agent": call.get("agent"),
        "company": call.get("company"),
        "id": call.get("id"),
        "ext": call.get("ext") or "bin",
    }
