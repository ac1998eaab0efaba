import csv
import io
import json
import zipfile

from call_recording_lib import audio, handover


def test_package(tmp_path):
    entries = []
    for n in range(3):
        path = tmp_path / f"a{n}.wav"
        path.write_bytes(audio.synth_call_wav(0.5, seed=n))
        entries.append(
            handover.PackageEntry(
                str(path),
                f"CR-2026-00000{n}_inbound_36301234567.wav",
                {
                    "reference": f"CR/2026/00000{n}",
                    "duration_seconds": n,
                    "line": "Ügyfélszolgálat",
                },
            )
        )
    target = tmp_path / "p.zip"
    handover.build_package(str(target), entries, title="REQ/2026/0001")
    with zipfile.ZipFile(target) as archive:
        names = archive.namelist()
        assert sorted(names) == sorted(
            [f"recordings/{e.arcname}" for e in entries] + ["metadata.csv", "metadata.json"]
        )
        for entry in entries:
            with open(entry.path, "rb") as fp:
                assert archive.read(f"recordings/{entry.arcname}") == fp.read()
        rows = list(csv.DictReader(io.StringIO(archive.read("metadata.csv").decode())))
        assert [r["reference"] for r in rows] == [
            "CR/2026/000000",
            "CR/2026/000001",
            "CR/2026/000002",
        ]
        assert rows[0]["file"] == f"recordings/{entries[0].arcname}"
        assert rows[1]["line"] == "Ügyfélszolgálat"
        data = json.loads(archive.read("metadata.json"))
        assert data["request"] == "REQ/2026/0001"
        assert len(data["recordings"]) == 3


def test_empty_package(tmp_path):
    target = tmp_path / "e.zip"
    handover.build_package(str(target), [], title="x")
    with zipfile.ZipFile(target) as archive:
        assert archive.read("metadata.csv").decode().startswith("reference,")
