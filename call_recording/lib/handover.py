"""Hand-over package: a customer's recordings and a metadata sheet in one ZIP.

Plain Python (no ORM): the model hands over file paths and metadata; the
recordings are copied into the archive in chunks, never whole in memory.
Entry names are reduced to safe file names (a number such as ``../../x``
cannot put a file outside ``recordings/``) and no metadata cell can start a
spreadsheet formula.
"""

import csv
import io
import json
import zipfile
from dataclasses import dataclass, field

from .safe import csv_cell, safe_filename

METADATA_COLUMNS = (
    "reference",
    "date",
    "duration_seconds",
    "direction",
    "line",
    "our_number",
    "other_number",
    "sha256",
)


@dataclass(frozen=True)
class PackageEntry:
    path: str
    arcname: str
    metadata: dict = field(default_factory=dict)


def metadata_csv(entries):
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=(*METADATA_COLUMNS, "file"), extrasaction="ignore")
    writer.writeheader()
    for entry in entries:
        row = {**entry.metadata, "file": entry.arcname}
        writer.writerow({key: csv_cell(value) for key, value in row.items()})
    return out.getvalue()


def build_package(target, entries, title=""):
    """Write the ZIP to ``target``: recordings under ``recordings/`` plus
    ``metadata.csv`` and ``metadata.json`` describing each one."""
    names = [f"recordings/{safe_filename(e.arcname, default='recording')}" for e in entries]
    rows = [{**e.metadata, "file": name} for e, name in zip(entries, names, strict=True)]
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_STORED) as archive:
        for entry, name in zip(entries, names, strict=True):
            # Audio is already compressed: stored, streamed from disk.
            archive.write(entry.path, name)
        archive.writestr(
            "metadata.csv",
            metadata_csv(
                [PackageEntry("", name, e.metadata) for e, name in zip(entries, names, strict=True)]
            ),
        )
        archive.writestr(
            "metadata.json",
            json.dumps({"request": title, "recordings": rows}, ensure_ascii=False, indent=2),
        )
    return target
