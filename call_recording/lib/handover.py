"""Hand-over package: a customer's recordings and a metadata sheet in one ZIP.

Plain Python (no ORM): the model hands over, per recording, an opener (a
callable returning its bytes as a file object) or a file path, and its
metadata; the recordings are copied into the archive in chunks, never whole
in memory.
Entry names are reduced to safe file names (a number such as ``../../x``
cannot put a file outside ``recordings/``) and no metadata cell can start a
spreadsheet formula.
"""

import csv
import io
import json
import time
import zipfile
from dataclasses import dataclass, field

from .files import CHUNK_SIZE, copy
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
    """One recording of a package: read from ``opener()`` if given, else from ``path``."""

    path: str
    arcname: str
    metadata: dict = field(default_factory=dict)
    opener: object = None  # () -> binary file object
    size: int = 0  # when known: a file over 2 GiB needs ZIP64
    modified: object = None  # datetime of the entry (default: now)


def _add_entry(archive, entry, name):
    if entry.opener is None:
        archive.write(entry.path, name)
        return
    modified = entry.modified.timetuple() if entry.modified else time.localtime()
    # ZIP has no dates before 1980 (a PBX may send a call at the epoch)
    info = zipfile.ZipInfo(name, date_time=max(tuple(modified)[:6], (1980, 1, 1, 0, 0, 0)))
    info.compress_type = zipfile.ZIP_STORED
    info.external_attr = 0o644 << 16  # a plain readable file once unpacked
    info.file_size = entry.size
    with entry.opener() as source, archive.open(info, "w") as target:
        copy(source, target, CHUNK_SIZE)


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
            # Audio is already compressed: stored, streamed in chunks.
            _add_entry(archive, entry, name)
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
