"""The Push API examples without a server (the Odoo tests run them against one),
and the pytest-odoo arrangement."""

import configparser
import hashlib
import http.server
import importlib.machinery
import importlib.util
import io
import json
import re
import sys
import threading
import xmlrpc.client
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"


def _load(path, name):
    """An example as a module; what it imports from its own folder (``push_cli``) too,
    as when it runs."""
    if str(path.parent) not in sys.path:
        sys.path.append(str(path.parent))
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


# -- the examples send a retryable answer again ---------------------------------


class _Busy(http.server.BaseHTTPRequestHandler):
    """Answers 503 with Retry-After to the first ``busy`` requests, then 201."""

    answers = []

    def log_message(self, format, *args):
        pass

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        status = 503 if self.server.busy > 0 else 201
        self.server.busy -= 1
        self.server.seen += 1
        body = json.dumps(
            {"error": "busy", "message": "Busy: send it again"}
            if status == 503
            else {"reference": "CR/2026/000001", "result": "created"}
        ).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        if status == 503:
            self.send_header("Retry-After", "3")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def busy_server():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Busy)
    server.busy, server.seen = 2, 0
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_agi_sends_again_on_busy(agi, busy_server, tmp_path):
    recording = tmp_path / "call.wav"
    recording.write_bytes(b"RIFF\x00\x00\x00\x00WAVEdata")
    config = {"url": f"http://127.0.0.1:{busy_server.server_port}", "api_key": "k", "db": ""}
    waits = []
    status, answer = agi.push_retrying(
        config, {"external_id": "x"}, str(recording), 5, sleep=waits.append
    )
    assert (status, answer["reference"]) == (201, "CR/2026/000001")
    assert busy_server.seen == 3
    assert waits == [3.0, 3.0], "Retry-After was not honoured"


def test_json2_example_sends_again_on_busy(busy_server):
    json2 = _load(EXAMPLES / "push_json2.py", "push_json2_example")
    waits = []
    response = json2.post_retrying(
        f"http://127.0.0.1:{busy_server.server_port}/json/2/call.recording/push_call",
        {"vals": {}},
        {},
        5,
        sleep=waits.append,
    )
    assert response.status_code == 201
    assert waits == [3, 3]


def test_xmlrpc_example_sends_again_on_a_busy_fault():
    xmlrpc_example = _load(EXAMPLES / "push_xmlrpc.py", "push_xmlrpc_example")
    answers = [
        xmlrpc.client.Fault(2, "Busy: another delivery of this call is being stored"),
        ConnectionRefusedError(),
        {"result": "unchanged"},
    ]

    def call():
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    waits = []
    assert xmlrpc_example.execute_retrying(call, sleep=waits.append) == {"result": "unchanged"}
    assert len(waits) == 2
    # a refusal is not sent again
    refused = xmlrpc.client.Fault(2, "The call was not stored:\ndirection: unknown value")
    with pytest.raises(xmlrpc.client.Fault):
        xmlrpc_example.execute_retrying(lambda: (_ for _ in ()).throw(refused), sleep=waits.append)
    assert len(waits) == 2


def test_curl_example_sends_again():
    command = (EXAMPLES / "push_curl.sh").read_text()
    assert "--retry 5" in command and "--retry-connrefused" in command


def test_agi_reserves_at_the_start_and_sends_again_on_busy(agi, busy_server):
    config = {"url": f"http://127.0.0.1:{busy_server.server_port}", "api_key": "k", "db": ""}
    waits = []
    status, answer = agi.reserve_retrying(
        config, {"external_id": "x", "agent_external_id": "201"}, 5, sleep=waits.append
    )
    assert (status, answer["reference"]) == (201, "CR/2026/000001")
    assert waits == [2, 2], "the caller is waiting: two seconds at most"


def test_agi_reserve_needs_no_recording(agi, tmp_path, monkeypatch, capsys):
    for name in ("CALL_RECORDING_API_KEY", "CALL_RECORDING_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CALL_RECORDING_CONF", str(tmp_path / "none.conf"))
    assert agi.main(["--reserve", "--external-id", "1763627400.17"]) == 1
    assert "CALL_RECORDING_API_KEY" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        agi.parse_args(["--external-id", "x"])  # a push needs its recording and start


def test_dialplan_reserves_announces_then_pushes():
    dialplan = (EXAMPLES / "asterisk" / "extensions_custom.conf").read_text()
    reserve = dialplan.index("--reserve,--direction=inbound")
    announce = dialplan.index("SayAlpha(${CALLREC_REFERENCE})")
    record = dialplan.index("MixMonitor(${UNIQUEID}.wav,b)")
    assert reserve < announce < record
    assert "hangup_handler_push)=callrec-push" in dialplan
