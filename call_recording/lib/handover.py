"""Hand-over package: a customer's recordings and a metadata sheet in one ZIP.

Plain Python (no ORM): the model hands over file paths and metadata; the
recordings are copied into the archive in chunks, never whole in memory.
"""

import csv
import io
import json
import zipfile
from dataclasses import dataclass, field

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
        writer.writerow({**entry.metadata, "file": entry.arcname})
    return out.getvalue()


def build_package(target, entries, title=""):
    """Write the ZIP to ``target``: recordings under ``recordings/`` plus
    ``metadata.csv`` and ``metadata.json`` describing each one."""
    rows = [{**e.metadata, "file": f"recordings/{e.arcname}"} for e in entries]
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_STORED) as archive:
        for entry in entries:
            # Audio is already compressed: stored, streamed from disk.
            archive.write(entry.path, f"recordings/{entry.arcname}")
        archive.writestr(
            "metadata.csv",
            metadata_csv(
                [PackageEntry("", f"recordings/{e.arcname}", e.metadata) for e in entries]
            ),
        )
        archive.writestr(
            "metadata.json",
            json.dumps({"request": title, "recordings": rows}, ensure_ascii=False, indent=2),
        )
    return target
