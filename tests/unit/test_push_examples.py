"""The Push API examples without a server (the Odoo tests run them against one),
and the pytest-odoo arrangement."""

import configparser
import hashlib
import importlib.machinery
import importlib.util
import io
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"


def _load(path, name):
    loader = importlib.machinery.SourceFileLoader(name, str(path))
    spec = importlib.util.spec_from_loader(name, loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def agi():
    return _load(EXAMPLES / "asterisk" / "call_recording_push.agi", "call_recording_push_agi")


def test_agi_reads_the_environment_up_to_the_blank_line(agi):
    stream = io.StringIO("agi_uniqueid: 1763627400.17\nagi_callerid: 0630444112\n\nrest\n")
    assert agi.read_agi_environment(stream) == {
        "agi_uniqueid": "1763627400.17",
        "agi_callerid": "0630444112",
    }
    assert stream.readline() == "rest\n"


def test_agi_multipart_body_carries_fields_and_file(agi, tmp_path):
    recording = tmp_path / "call.wav"
    recording.write_bytes(b"RIFF\x00\x00\x00\x00WAVEdata")
    out = io.BytesIO()
    content_type = agi.multipart_body({"external_id": "x-1"}, "audio", str(recording), out)
    boundary = content_type.split("boundary=")[1]
    body = out.getvalue()
    assert body.startswith(f"--{boundary}\r\n".encode())
    assert b'name="external_id"\r\n\r\nx-1\r\n' in body
    assert b'name="audio"; filename="call.wav"' in body
    assert body.endswith(f"\r\n--{boundary}--\r\n".encode())
    assert agi.sha256_of(str(recording)) == hashlib.sha256(recording.read_bytes()).hexdigest()


def test_agi_maps_dialstatus(agi):
    assert agi.DIALSTATUS["ANSWER"] == "answered"
    assert agi.DIALSTATUS["NOANSWER"] == "missed"
    assert agi.DIALSTATUS["BUSY"] == "busy"


def test_agi_without_a_key_fails_without_a_request(agi, tmp_path, monkeypatch, capsys):
    for name in ("CALL_RECORDING_API_KEY", "CALL_RECORDING_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CALL_RECORDING_CONF", str(tmp_path / "none.conf"))
    code = agi.main(["--file", str(tmp_path / "x.wav"), "--start", "1763627400"])
    assert code == 1
    assert "CALL_RECORDING_API_KEY" in capsys.readouterr().out


@pytest.mark.parametrize(
    "script", ["push_xmlrpc.py", "push_json2.py", "asterisk/call_recording_push.agi"]
)
def test_examples_are_configured_by_the_environment(script):
    text = (EXAMPLES / script).read_text()
    for name in ("CALL_RECORDING_URL", "CALL_RECORDING_API_KEY", "CALL_RECORDING_PROVIDER"):
        assert name in text


def test_curl_example_is_one_command():
    lines = [
        line
        for line in (EXAMPLES / "push_curl.sh").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert len(lines) == 1
    assert lines[0].startswith("curl ")
    assert "/call_recording/push" in lines[0]


def test_pytest_odoo_pinned_and_off_for_the_plain_run():
    requirements = (REPO / "requirements-test.txt").read_text()
    assert re.search(r"^pytest-odoo==\d", requirements, re.MULTILINE)
    config = configparser.ConfigParser()
    config.read(REPO / "pytest.ini")
    assert "-p no:odoo" in config["pytest"]["addopts"]
    readme = (REPO / "README.rst").read_text()
    assert "pytest -p odoo --odoo-database=" in readme
