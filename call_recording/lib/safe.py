"""Values made safe for the files and headers that other programs open.

Plain Python (no ORM), shared by the hand-over package, the audio route
and the FTP manifests: a call's numbers, references and file names come
from providers and PBXs, so they may hold anything.

- :func:`safe_filename`: a name that stays in its folder (no ``/``, ``\\``,
  ``..``, control characters or leading dot) and fits in an HTTP header.
- :func:`csv_cell`: a spreadsheet cell that cannot start a formula
  (``=HYPERLINK(...)``, ``+cmd|...``, ``@SUM(...)``): such a text gets a
  leading apostrophe, as OWASP advises; numbers and phone numbers
  (``+36 1 555 0100``, ``-5``) are left as they are.
"""

import re

_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._+@-]+")
MAX_NAME = 120

#: First characters with which spreadsheets start a formula (also the
#: full-width forms some of them accept, and the control characters that
#: can hide one).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")
_PLAIN_NUMBER = re.compile(r"^[+-]?[0-9][0-9 ()./-]*$")


def safe_filename(name, default="file", max_length=MAX_NAME):
    """``name`` reduced to one file name of letters, digits and ``. _ - + @``.

    Directories are dropped (only the last part of a path is kept), every
    other character becomes ``_``, leading dots are removed so that no
    name is hidden or ``..``; the extension survives shortening.  Returns
    ``default`` when nothing is left.
    """
    text = str(name or "").replace("\\", "/").rsplit("/", 1)[-1]
    text = _UNSAFE_NAME.sub("_", text).lstrip(".").strip("_") or default
    if len(text) > max_length:
        stem, dot, ext = text.rpartition(".")
        if dot and 0 < len(ext) < 10:
            text = stem[: max_length - len(ext) - 1] + "." + ext
        else:
            text = text[:max_length]
    return text


def csv_cell(value):
    """``value`` as a CSV cell that a spreadsheet shows as text, never runs."""
    if (
        isinstance(value, str)
        and value.startswith(FORMULA_START)
        and not _PLAIN_NUMBER.match(value)
    ):
        return "'" + value
    return value
