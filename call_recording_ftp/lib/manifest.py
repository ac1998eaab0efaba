"""The per-batch manifest: what was sent, with each file's checksum.

Written as JSON (complete, typed) and CSV (for a spreadsheet) beside the
recordings, so the customer can check the archive without Odoo.  No CSV
cell can start a spreadsheet formula (the core's ``lib/safe.py``).  When a
listed file is deleted from the server, the manifest is written again with
that file's ``removed`` reason and without its personal data
(:func:`redacted`).
"""

import csv
import io
import json

try:
    from odoo.addons.call_recording.lib.safe import csv_cell
except ImportError:  # the plain-Python tests load each lib/ on its own
    from call_recording_lib.safe import csv_cell

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
    "removed",
]
#: What a manifest no longer says of a file deleted from the server (a refused
#: consent, the end of its retention): the other party's number, and the
#: path, which may name them.  Our own copies follow the deletion.
PERSONAL_COLUMNS = ("number", "remote_path")


def manifest_json(batch, entries):
    """JSON bytes: the batch's facts and one object per file."""
    payload = {"batch": batch, "files": [{c: e.get(c) for c in COLUMNS} for e in entries]}
    return json.dumps(payload, indent=2, ensure_ascii=False, default=str).encode()


def manifest_csv(entries):
    """CSV bytes (UTF-8 with header, RFC 4180 line ends), one line per file."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, extrasaction="ignore", lineterminator="\r\n")
    writer.writeheader()
    for entry in entries:
        writer.writerow(
            {c: "" if entry.get(c) is None else csv_cell(entry.get(c)) for c in COLUMNS}
        )
    return out.getvalue().encode()


def manifest_paths(folder, batch_name):
    """Remote paths of a batch's two manifest files."""
    prefix = f"{folder.rstrip('/')}/{batch_name}" if folder else batch_name
    return f"{prefix}.json", f"{prefix}.csv"


def redacted(entry, reason):
    """A manifest entry of a file deleted from the server: its facts, not its personal data."""
    return {**entry, **dict.fromkeys(PERSONAL_COLUMNS, ""), "removed": reason}
