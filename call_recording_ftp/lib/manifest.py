"""The per-batch manifest: what was sent, with each file's checksum.

Written as JSON (complete, typed) and CSV (for a spreadsheet) beside the
recordings, so the customer can check the archive without Odoo.  No CSV
cell starts a formula: a value beginning with ``=``, ``+``, ``-``, ``@``, a
tab or a carriage return (a number as ``+36...``, a name chosen by a
caller) gets a leading ``'``, as OWASP advises, so a spreadsheet shows it
as text instead of running it.  The JSON keeps the values as they are.
"""

import csv
import io
import json

COLUMNS = [
    "reference",
    "start",
    "direction",
    "state",
    "duration",
    "number",
    "line",
    "agent",
    "company",
    "remote_path",
    "size",
    "sha256",
    "mimetype",
]


def manifest_json(batch, entries):
    """JSON bytes: the batch's facts and one object per file."""
    payload = {"batch": batch, "files": [{c: e.get(c) for c in COLUMNS} for e in entries]}
    return json.dumps(payload, indent=2, ensure_ascii=False, default=str).encode()


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value):
    """A value as a CSV cell a spreadsheet shows as text, never as a formula."""
    if value is None:
        return ""
    text = str(value)
    if text.startswith(FORMULA_STARTS):
        return "'" + text
    return text


def manifest_csv(entries):
    """CSV bytes (UTF-8 with header, RFC 4180 line ends), one line per file."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, extrasaction="ignore", lineterminator="\r\n")
    writer.writeheader()
    for entry in entries:
        writer.writerow({c: csv_cell(entry.get(c)) for c in COLUMNS})
    return out.getvalue().encode()


def manifest_paths(folder, batch_name):
    """Remote paths of a batch's two manifest files."""
    prefix = f"{folder.rstrip('/')}/{batch_name}" if folder else batch_name
    return f"{prefix}.json", f"{prefix}.csv"
