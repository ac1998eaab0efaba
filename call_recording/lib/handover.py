"""Hand-over package: a customer's recordings and a metadata sheet in one ZIP.

Plain Python (no ORM): the model hands over, per recording, an opener (a
callable returning its bytes as a file object) or a file path, and its
metadata; the recordings are copied into the archive in chunks, never whole
in memory.
Entry names are reduced to safe file names (a number such as ``../../x``
cannot put a file outside ``recordings/``) and no metadata cell can start a
spreadsheet formula.  Dates a person reads are in their local time with the
zone (:func:`local_iso`, :func:`local_text`).
"""

import csv
import io
import json
import time
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, datetime

from .files import CHUNK_SIZE, copy
from .safe import csv_cell, safe_filename
from .zones import zone

METADATA_COLUMNS = (
    "reference",
    "announced_reference",
    "provider_call_id",
    "date",
    "time_zone",
    "duration_seconds",
    "direction",
    "line",
    "our_number",
    "other_number",
    "sha256",
)


def _zone(tz_name):
    return zone(tz_name or "UTC") or UTC


def _local(moment, tz_name):
    """``moment`` (a naive UTC datetime, as Odoo stores it, or an aware one) in ``tz_name``."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(_zone(tz_name))


def local_iso(moment, tz_name):
    """ISO 8601 in local time with its offset (``2026-01-10T10:00:00+01:00``); "" for none."""
    if not isinstance(moment, datetime):
        return ""
    return _local(moment, tz_name).replace(microsecond=0).isoformat()


def local_text(moment, tz_name):
    """What a person reads: ``2026-12-05 14:30 CET (UTC+01:00)``; "" for none."""
    if not isinstance(moment, datetime):
        return ""
    local = _local(moment, tz_name)
    offset = local.strftime("%z")
    return f"{local:%Y-%m-%d %H:%M} {local.tzname()} (UTC{offset[:3]}:{offset[3:]})"


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
