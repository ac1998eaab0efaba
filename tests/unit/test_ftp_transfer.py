"""call_recording_ftp's transfer code against real loopback servers (no database)."""

import hashlib
import io
import json
import os

import paramiko
import pytest
from call_recording_ftp_lib import manifest, retry, template
from call_recording_ftp_lib.errors import TransferError
from call_recording_ftp_lib.sftp import fingerprint, load_private_key
from call_recording_ftp_lib.transport import TargetConfig, open_transport
from call_recording_ftp_lib.upload import temporary_name, upload_bytes, upload_verified
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from fakes.ftp_server import start_ftp_server
from fakes.sftp_server import start_sftp_server

DATA = os.urandom(700_000)
SHA = hashlib.sha256(DATA).hexdigest()


@pytest.fixture(scope="module")
def ftp_server():
    server = start_ftp_server()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def ftps_server():
    server = start_ftp_server(tls=True)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def sftp_server():
    server = start_sftp_server()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def no_faults(ftp_server, ftps_server, sftp_server):
    """Each test starts with well-behaved servers."""
    for found in (ftp_server, ftps_server, sftp_server):
        found.faults.quota_bytes = None
        found.faults.stall_after = None


@pytest.fixture(params=["ftp", "ftps", "sftp"])
def server(request, ftp_server, ftps_server, sftp_server):
    return request.param, {"ftp": ftp_server, "ftps": ftps_server, "sftp": sftp_server}[
        request.param
    ]


def config(protocol, server, **overrides):
    values = {
        "protocol": protocol,
        "host": server.host,
        "port": server.port,
        "username": server.user,
        "password": server.password,
        "host_key_fingerprint": getattr(server, "fingerprint", ""),
        "timeout": 5,
    }
    values.update(overrides)
    return TargetConfig(**values)


def on_disk(server, remote_path):
    return os.path.join(server.root, remote_path)


# -- template ---------------------------------------------------------------


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
            "start": __import__("datetime").datetime(2026, 3, 4, 5, 6),
            "reference": "../../etc/passwd",
            "direction": "inbound",
            "number": "+36/../301234567",
            "ext": "wav",
        }
    )
    path = template.render(template.DEFAULT_TEMPLATE, values, "/archive")
    assert path.startswith("/archive/2026/03/04/")
    assert ".." not in path.split("/")
    assert path.count("/") == 5


def test_template_renders_example():
    values = template.values_for(
        {
            "start": __import__("datetime").datetime(2026, 11, 28, 9, 0),
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


# -- transfers ----------------------------------------------------------------


def test_upload_verify_rename_download(server):
    protocol, srv = server
    with open_transport(config(protocol, srv)) as transport:
        result = upload_verified(transport, io.BytesIO(DATA), "up/a/b.wav", len(DATA), SHA)
        assert result.size == len(DATA)
        # FTP servers announcing HASH check the SHA-256 themselves.
        assert result.sha256_verified_by_server == (protocol != "sftp")
        assert not os.path.exists(on_disk(srv, temporary_name("up/a/b.wav")))
        with open(on_disk(srv, "up/a/b.wav"), "rb") as fp:
            assert fp.read() == DATA
        # again (a re-run after a crash): replaces it
        upload_verified(transport, io.BytesIO(DATA), "up/a/b.wav", len(DATA), SHA)
        out = io.BytesIO()
        transport.download("up/a/b.wav", out)
        assert out.getvalue() == DATA
        transport.delete("up/a/b.wav")
        transport.delete("up/a/b.wav")  # a missing file is not an error
        assert transport.stat("up/a/b.wav") is None


def test_connection_refused(server):
    protocol, srv = server
    with pytest.raises(TransferError) as info:
        open_transport(config(protocol, srv, port=1)).connect()
    assert info.value.kind == "connection"
    assert info.value.retryable


def test_bad_credentials(server):
    protocol, srv = server
    with pytest.raises(TransferError) as info:
        open_transport(config(protocol, srv, password="wrong")).connect()
    assert info.value.kind == "auth"
    assert not info.value.retryable


def test_permission_denied(server):
    protocol, srv = server
    with open_transport(config(protocol, srv)) as transport:
        with pytest.raises(TransferError) as info:
            upload_verified(transport, io.BytesIO(DATA), "readonly/x.wav", len(DATA), SHA)
        assert info.value.kind == "permission"
    assert not os.path.exists(on_disk(srv, "readonly/x.wav"))


def test_disk_full(server):
    protocol, srv = server
    srv.faults.quota_bytes = srv.faults.written + 100_000
    with open_transport(config(protocol, srv)) as transport, pytest.raises(TransferError) as info:
        upload_verified(transport, io.BytesIO(DATA), "full/x.wav", len(DATA), SHA)
    assert info.value.kind == "disk_full"
    assert not os.path.exists(on_disk(srv, "full/x.wav"))


def test_timeout_mid_file(server):
    protocol, srv = server
    srv.faults.stall_after = 200_000
    srv.faults.stall_seconds = 2
    transport = open_transport(config(protocol, srv, timeout=0.5))
    transport.connect()
    try:
        with pytest.raises(TransferError) as info:
            upload_verified(transport, io.BytesIO(DATA), "slow/x.wav", len(DATA), SHA)
    finally:
        transport.close()
    assert info.value.kind == "timeout"
    assert info.value.breaks_connection
    assert not os.path.exists(on_disk(srv, "slow/x.wav"))


def test_ftp_wrong_server_hash_is_not_verified(ftp_server):
    ftp_server.faults.wrong_hash = True
    try:
        with (
            open_transport(config("ftp", ftp_server)) as transport,
            pytest.raises(TransferError) as info,
        ):
            upload_verified(transport, io.BytesIO(DATA), "hash/x.wav", len(DATA), SHA)
    finally:
        ftp_server.faults.wrong_hash = False
    assert info.value.kind == "verify"
    assert not os.path.exists(on_disk(ftp_server, "hash/x.wav"))
    assert not os.path.exists(on_disk(ftp_server, temporary_name("hash/x.wav")))


@pytest.mark.parametrize("protocol", ["ftp", "sftp"])
def test_size_mismatch_is_not_verified(protocol, ftp_server, sftp_server):
    srv = {"ftp": ftp_server, "sftp": sftp_server}[protocol]
    ftp_server.faults.hash_supported = False  # the size is all an FTP server may tell
    try:
        with (
            open_transport(config(protocol, srv)) as transport,
            pytest.raises(TransferError) as info,
        ):
            assert transport.sha256("anything") is None
            upload_verified(transport, io.BytesIO(DATA), "size/x.wav", len(DATA) + 1, SHA)
    finally:
        ftp_server.faults.hash_supported = True
    assert info.value.kind == "verify"
    assert "bytes instead of" in str(info.value)
    assert not os.path.exists(on_disk(srv, "size/x.wav"))


def test_ftps_certificate_checked_when_asked(ftps_server):
    with pytest.raises(TransferError) as info:
        open_transport(config("ftps", ftps_server, verify_tls=True)).connect()
    assert info.value.kind == "connection"
    assert "TLS" in str(info.value)


def test_sftp_host_key_mismatch_and_missing(sftp_server):
    other = fingerprint(paramiko.RSAKey.generate(1024))
    for pinned in (other, ""):
        with pytest.raises(TransferError) as info:
            open_transport(config("sftp", sftp_server, host_key_fingerprint=pinned)).connect()
        assert info.value.kind == "host_key"
        assert sftp_server.fingerprint in str(info.value)


def test_sftp_private_key_with_passphrase(sftp_server):
    key = ed25519.Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.OpenSSH,
        serialization.BestAvailableEncryption(b"phrase"),
    ).decode()
    sftp_server.authorized_keys.append(load_private_key(pem, "phrase"))
    cfg = config("sftp", sftp_server, password="", private_key=pem, passphrase="phrase")
    with open_transport(cfg) as transport:
        upload_bytes(transport, b"key works", "key/ok.txt")
    with pytest.raises(TransferError) as info:
        load_private_key(pem)
    assert info.value.kind == "config"
    with pytest.raises(TransferError):
        load_private_key("not a key")


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
    assert retry.next_attempt_delay(1).total_seconds() == 300
    assert retry.next_attempt_delay(50).total_seconds() == 86400


def test_pipeline_checks_on_a_second_connection(ftp_server):
    from call_recording_ftp_lib.pipeline import VerifyingPipeline  # noqa: PLC0415

    cfg = config("ftp", ftp_server)
    with open_transport(cfg) as uploader, open_transport(cfg) as verifier:
        pipeline = VerifyingPipeline(uploader, verifier)
        for index in range(5):
            # the third file's checksum is not the recording's: reported, not renamed
            sha = "0" * 64 if index == 2 else SHA
            pipeline.submit(index, io.BytesIO(DATA), f"pipe/{index}.wav", len(DATA), sha)
        outcomes = {key: (result, error) for key, result, error in pipeline.close()}
    assert sorted(outcomes) == [0, 1, 2, 3, 4]
    assert outcomes[2][0] is None
    assert outcomes[2][1].kind == "verify"
    for index in (0, 1, 3, 4):
        assert outcomes[index][1] is None
        assert outcomes[index][0].sha256_verified_by_server
        with open(on_disk(ftp_server, f"pipe/{index}.wav"), "rb") as fp:
            assert fp.read() == DATA
    assert not os.path.exists(on_disk(ftp_server, "pipe/2.wav"))
    assert not os.path.exists(on_disk(ftp_server, temporary_name("pipe/2.wav")))


def test_pipeline_without_verifier_checks_in_turn(sftp_server):
    from call_recording_ftp_lib.pipeline import VerifyingPipeline  # noqa: PLC0415

    with open_transport(config("sftp", sftp_server)) as transport:
        pipeline = VerifyingPipeline(transport)
        pipeline.submit("a", io.BytesIO(DATA), "seq/a.wav", len(DATA), SHA)
        assert [key for key, result, error in pipeline.results() if result] == ["a"]
        with pytest.raises(TransferError) as info:
            pipeline.submit("b", io.BytesIO(DATA), "readonly/b.wav", len(DATA), SHA)
        assert info.value.kind == "permission"
        assert pipeline.close() == []
