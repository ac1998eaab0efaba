"""call_recording_ftp's transports against the servers customers run, and fakes for faults.

Real daemons on loopback (``tests/fakes/real_servers.py``): ProFTPD (FTP
with ``HASH``, explicit and implicit FTPS), vsftpd with its stock TLS
settings, OpenSSH's sshd and sftp-server.  The pyftpdlib and paramiko
servers of ``tests/fakes`` make the faults a real server will not make on
demand (a stall, a quota, a dropped connection, a wrong checksum).
"""

import ftplib
import hashlib
import io
import os
import ssl

import pytest
from call_recording_ftp_lib.errors import TransferError
from call_recording_ftp_lib.factory import open_transport
from call_recording_ftp_lib.pipeline import TransferPipeline
from call_recording_ftp_lib.sftp import load_private_key
from call_recording_ftp_lib.transport import TargetConfig
from call_recording_ftp_lib.upload import temporary_name, upload_bytes, upload_verified
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from fakes.ftp_server import start_ftp_server
from fakes.real_servers import OpenSSHServer, ProFTPDServer, VsftpdServer
from fakes.sftp_server import start_sftp_server

DATA = os.urandom(700_000)
SHA = hashlib.sha256(DATA).hexdigest()


# -- servers ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def proftpd():
    with ProFTPDServer().start() as server:
        yield server


@pytest.fixture(scope="module")
def proftpd_tls():
    with ProFTPDServer(tls="explicit").start() as server:
        yield server


@pytest.fixture(scope="module")
def vsftpd():
    with VsftpdServer(tls="explicit").start() as server:
        yield server


@pytest.fixture(scope="module")
def openssh():
    with OpenSSHServer().start() as server:
        yield server


@pytest.fixture(scope="module")
def _ftp_fake():
    with start_ftp_server() as server:
        yield server


@pytest.fixture(scope="module")
def _sftp_fake():
    with start_sftp_server() as server:
        yield server


@pytest.fixture
def ftp_fake(_ftp_fake):
    """The FTP fake, empty and well-behaved for each test."""
    _ftp_fake.reset()
    return _ftp_fake


@pytest.fixture
def sftp_fake(_sftp_fake):
    """The SFTP fake, empty and well-behaved for each test."""
    _sftp_fake.reset()
    return _sftp_fake


def config(server, **overrides):
    """A target configuration for ``server`` (real or fake)."""
    if isinstance(server, OpenSSHServer):
        values = {
            "protocol": "sftp",
            "username": server.user,
            "private_key": server.private_key,
            "host_key_fingerprint": server.fingerprint,
        }
    elif hasattr(server, "authorized_keys"):  # the paramiko fake
        values = {
            "protocol": "sftp",
            "username": server.user,
            "password": server.password,
            "host_key_fingerprint": server.fingerprint,
        }
    else:
        tls = getattr(server, "tls", None)
        protocol = {"explicit": "ftps", "implicit": "ftps_implicit"}.get(tls, "ftp")
        values = {"protocol": protocol, "username": server.user, "password": server.password}
        if tls:
            values["tls_fingerprint"] = getattr(server, "cert_fingerprint", "")
            values["verify_tls"] = bool(values["tls_fingerprint"])
    values.update(host=server.host, port=server.port, timeout=5)
    values.update(overrides)
    return TargetConfig(**values)


def on_disk(server, remote_path):
    return os.path.join(server.root, remote_path)


REAL = ["proftpd", "proftpd_tls", "vsftpd", "openssh"]


@pytest.fixture(params=REAL)
def real(request):
    server = request.getfixturevalue(request.param)
    server.reset()
    return server


# -- the real servers -------------------------------------------------------------


def test_upload_verify_rename_download(real):
    with open_transport(config(real)) as transport:
        result = upload_verified(transport, io.BytesIO(DATA), "up/a/b.wav", len(DATA), SHA)
        assert result.size == len(DATA)
        # ProFTPD computes the SHA-256 itself (mod_digest's HASH); the others tell the size.
        assert result.sha256_verified_by_server == isinstance(real, ProFTPDServer)
        assert not os.path.exists(on_disk(real, temporary_name("up/a/b.wav")))
        with open(on_disk(real, "up/a/b.wav"), "rb") as fp:
            assert fp.read() == DATA
        # again (a re-run after a crash): replaces it
        upload_verified(transport, io.BytesIO(DATA), "up/a/b.wav", len(DATA), SHA)
        out = io.BytesIO()
        transport.download("up/a/b.wav", out)
        assert out.getvalue() == DATA
        transport.delete("up/a/b.wav")
        transport.delete("up/a/b.wav")  # a missing file is not an error
        assert transport.stat("up/a/b.wav") is None


@pytest.mark.parametrize("server_class", [VsftpdServer, ProFTPDServer])
def test_ftps_data_connection_resumes_the_tls_session(server_class):
    """vsftpd's and ProFTPD's defaults refuse a data connection that does not.

    Plain ``ftplib.FTP_TLS`` fails there (522 for vsftpd) and leaves an
    empty file; the transport sends the file.
    """
    with server_class(tls="explicit").start() as server:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        plain = ftplib.FTP_TLS(context=context, timeout=5)  # noqa: S321
        plain.connect(server.host, server.port)
        plain.login(server.user, server.password)
        plain.prot_p()
        with pytest.raises((ftplib.Error, OSError)):
            plain.storbinary("STOR plain.wav", io.BytesIO(DATA))
        plain.close()
        with open_transport(config(server)) as transport:
            upload_verified(transport, io.BytesIO(DATA), "tls/ok.wav", len(DATA), SHA)
        with open(on_disk(server, "tls/ok.wav"), "rb") as fp:
            assert fp.read() == DATA


@pytest.mark.parametrize("server_class", [VsftpdServer, ProFTPDServer])
def test_implicit_ftps_with_a_ca_certificate(server_class):
    with server_class(tls="implicit", ca=True).start() as server:
        cfg = config(server, tls_fingerprint="", verify_tls=True, tls_ca_cert=server.ca_pem)
        assert cfg.port == server.port
        with open_transport(cfg) as transport:
            upload_bytes(transport, b"implicit", "implicit/ok.txt")
        # without the authority, the certificate is not trusted: nothing is sent
        with pytest.raises(TransferError) as info:
            open_transport(config(server, tls_fingerprint="", verify_tls=True)).connect()
        assert info.value.kind == "certificate"
        assert not info.value.retryable


def test_ftps_pinned_certificate(vsftpd):
    """A self-signed certificate: trusted by its fingerprint, refused otherwise."""
    with open_transport(config(vsftpd)) as transport:
        upload_bytes(transport, b"pinned", "pin/ok.txt")
    with pytest.raises(TransferError) as info:
        open_transport(config(vsftpd, tls_fingerprint="AB:" * 31 + "AB")).connect()
    assert info.value.kind == "certificate"
    assert vsftpd.cert_fingerprint in str(info.value)
    # the system's authorities do not know it either
    with pytest.raises(TransferError) as info:
        open_transport(config(vsftpd, tls_fingerprint="", verify_tls=True)).connect()
    assert info.value.kind == "certificate"
    assert "not trusted" in str(info.value)


def test_plain_ftp_to_a_server_that_wants_tls(proftpd_tls, vsftpd):
    for server in (proftpd_tls, vsftpd):
        with pytest.raises(TransferError) as info:
            open_transport(config(server, protocol="ftp")).connect()
        assert info.value.kind == "config"
        assert "requires FTPS" in str(info.value)


def test_proftpd_hash_after_its_progress_lines(proftpd):
    """ProFTPD answers ``213-Computing SHA-256 digest`` before the checksum."""
    proftpd.reset()
    with open_transport(config(proftpd)) as transport:
        assert transport.can_hash
        upload_bytes(transport, DATA, "hash/x.wav")
        assert transport.sha256("hash/x.wav") == SHA


def test_connection_refused(real):
    with pytest.raises(TransferError) as info:
        open_transport(config(real, port=1)).connect()
    assert info.value.kind == "connection"
    assert info.value.retryable


def test_bad_credentials(proftpd, openssh):
    with pytest.raises(TransferError) as info:
        open_transport(config(proftpd, password="wrong")).connect()
    assert info.value.kind == "auth"
    other_key = ed25519.Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption(),
    )
    with pytest.raises(TransferError) as info:
        open_transport(config(openssh, private_key=other_key.decode())).connect()
    assert info.value.kind == "auth"
    assert not info.value.retryable


def test_permission_denied(proftpd, sftp_fake):
    proftpd.reset()
    for server in (proftpd, sftp_fake):
        for path in ("readonly/x.wav", "readonly/new/folder/x.wav"):
            with open_transport(config(server)) as transport, pytest.raises(TransferError) as info:
                upload_verified(transport, io.BytesIO(DATA), path, len(DATA), SHA)
            assert info.value.kind == "permission", path
            assert not os.path.exists(on_disk(server, path))


@pytest.mark.parametrize(
    ("server_class", "options", "words"),
    [
        (VsftpdServer, {"tls": "explicit"}, "451 Failure writing to local file"),
        (ProFTPDServer, {}, "451"),
        (OpenSSHServer, {}, "'Failure'"),
    ],
)
def test_failed_write_is_said_plainly(server_class, options, words):
    """A server that cannot write answers as for a full disk: vsftpd 451, OpenSSH "Failure"."""
    with server_class(write_limit=300_000, **options).start() as server:
        with open_transport(config(server)) as transport:
            with pytest.raises(TransferError) as info:
                upload_verified(transport, io.BytesIO(DATA), "full/x.wav", len(DATA), SHA)
            assert info.value.kind == "write_failed"
            assert words in str(info.value)
            # the connection still serves the next file
            upload_bytes(transport, b"small", "full/small.txt")
        assert not os.path.exists(on_disk(server, "full/x.wav"))


# -- SSH host keys ------------------------------------------------------------------


def test_sftp_host_keys_pinned_in_every_form(openssh):
    forms = {
        "ed25519 fingerprint": openssh.fingerprints["ed25519"],
        "ssh-keygen -l line": f"256 {openssh.fingerprints['ed25519']} root@host (ED25519)",
        "RSA fingerprint only": openssh.fingerprints["rsa"],
        "ECDSA public key": openssh.host_keys["ecdsa"],
        "ssh-keyscan output": openssh.keyscan(),
        "old and new": f"SHA256:{'B' * 43}\n{openssh.host_keys['rsa']}",
    }
    for label, pins in forms.items():
        with open_transport(config(openssh, host_key_fingerprint=pins)) as transport:
            assert transport.stat("nothing-here") is None, label


def test_sftp_negotiation_prefers_the_pinned_key_type(openssh):
    """The server would present its Ed25519 key first; a pinned RSA key is asked for."""
    with open_transport(config(openssh, host_key_fingerprint=openssh.host_keys["rsa"])) as t:
        assert t.transport.get_remote_server_key().get_name() == "ssh-rsa"
    with open_transport(config(openssh, host_key_fingerprint=openssh.fingerprints["ecdsa"])) as t:
        assert t.transport.get_remote_server_key().get_name().startswith("ecdsa-")


def test_sftp_host_key_mismatch_and_missing(openssh):
    with OpenSSHServer(key_types=("rsa",)) as other:
        expected = {
            # an RSA key is asked for, and the server's own RSA key shown
            other.host_keys["rsa"]: ["rsa"],
            # a bare fingerprint: every key the server has was tried, and shown
            other.fingerprints["rsa"]: ["ed25519", "ecdsa", "rsa"],
            # nothing pinned: the key it presents first
            "": ["ed25519"],
        }
        for pinned, shown in expected.items():
            with pytest.raises(TransferError) as info:
                open_transport(config(openssh, host_key_fingerprint=pinned)).connect()
            assert info.value.kind == "host_key"
            for key_type in shown:
                assert openssh.fingerprints[key_type] in str(info.value)


def test_sftp_no_credential_before_the_host_key(sftp_fake):
    with pytest.raises(TransferError) as info:
        open_transport(config(sftp_fake, host_key_fingerprint=f"SHA256:{'A' * 43}")).connect()
    assert info.value.kind == "host_key"
    assert sftp_fake.faults.auth_attempts == 0
    with open_transport(config(sftp_fake)):
        assert sftp_fake.faults.auth_attempts == 1


def test_sftp_bad_pins_refused():
    for bad in ("SHA256:short", "ssh-ed25519 not-base64!", "@cert-authority * ssh-ed25519 AAAA"):
        # refused before any connection is tried (port 1 is closed)
        cfg = TargetConfig("sftp", "127.0.0.1", 1, host_key_fingerprint=bad)
        with pytest.raises(TransferError) as info:
            open_transport(cfg).connect()
        assert info.value.kind == "config"


def test_sftp_private_key_with_passphrase():
    with OpenSSHServer(client_passphrase="phrase").start() as server:
        cfg = config(server, passphrase="phrase")
        with open_transport(cfg) as transport:
            upload_bytes(transport, b"key works", "key/ok.txt")
        with pytest.raises(TransferError) as info:
            open_transport(config(server)).connect()
        assert info.value.kind == "config"
    with pytest.raises(TransferError):
        load_private_key("not a key")


# -- faults made on demand (the fakes) ------------------------------------------------


def test_disk_full_on_the_fakes(ftp_fake, sftp_fake):
    """452 (ProFTPD, pyftpdlib); OpenSSH's bare "Failure" with no space left (statvfs)."""
    for server in (ftp_fake, sftp_fake):
        server.faults.quota_bytes = 100_000
        with open_transport(config(server)) as transport, pytest.raises(TransferError) as info:
            upload_verified(transport, io.BytesIO(DATA), "full/x.wav", len(DATA), SHA)
        assert info.value.kind == "disk_full"
        assert not os.path.exists(on_disk(server, "full/x.wav"))
    assert "no space left" in str(info.value)
    assert "'Failure'" in str(info.value)


@pytest.mark.parametrize("fake", ["ftp_fake", "sftp_fake"])
def test_timeout_mid_file(fake, request):
    server = request.getfixturevalue(fake)
    server.faults.stall_after = 200_000
    server.faults.stall_seconds = 2
    transport = open_transport(config(server, timeout=0.5))
    transport.connect()
    try:
        with pytest.raises(TransferError) as info:
            upload_verified(transport, io.BytesIO(DATA), "slow/x.wav", len(DATA), SHA)
    finally:
        transport.close()
    assert info.value.kind == "timeout"
    assert info.value.breaks_connection
    assert not os.path.exists(on_disk(server, "slow/x.wav"))


@pytest.mark.parametrize("fake", ["ftp_fake", "sftp_fake"])
def test_dropped_connection_mid_file_says_so(fake, request):
    server = request.getfixturevalue(fake)
    server.faults.drop_after = 200_000
    with open_transport(config(server)) as transport, pytest.raises(TransferError) as info:
        upload_verified(transport, io.BytesIO(DATA), "drop/x.wav", len(DATA), SHA)
    assert info.value.kind == "dropped"
    assert info.value.breaks_connection
    assert "closed the connection" in info.value.message
    assert not os.path.exists(on_disk(server, "drop/x.wav"))


def test_ftp_wrong_server_hash_is_not_verified(ftp_fake):
    ftp_fake.faults.wrong_hash = True
    with open_transport(config(ftp_fake)) as transport, pytest.raises(TransferError) as info:
        upload_verified(transport, io.BytesIO(DATA), "hash/x.wav", len(DATA), SHA)
    assert info.value.kind == "verify"
    assert not os.path.exists(on_disk(ftp_fake, "hash/x.wav"))
    assert not os.path.exists(on_disk(ftp_fake, temporary_name("hash/x.wav")))


@pytest.mark.parametrize("server", ["vsftpd", "openssh"])
def test_size_mismatch_is_not_verified(server, request):
    srv = request.getfixturevalue(server)
    srv.reset()
    with open_transport(config(srv)) as transport, pytest.raises(TransferError) as info:
        assert transport.sha256("anything") is None
        upload_verified(transport, io.BytesIO(DATA), "size/x.wav", len(DATA) + 1, SHA)
    assert info.value.kind == "verify"
    assert "bytes instead of" in str(info.value)
    assert not os.path.exists(on_disk(srv, "size/x.wav"))


# -- several connections ----------------------------------------------------------


def _opener(data):
    return lambda: io.BytesIO(data)


def test_pipeline_sends_side_by_side_and_checks_on_another_connection(proftpd):
    proftpd.reset()
    cfg = config(proftpd)
    transports = [open_transport(cfg) for _n in range(3)]
    for transport in transports:
        transport.connect()
    try:
        pipeline = TransferPipeline(transports[:2], transports[2:])
        for index in range(8):
            # the third file's checksum is not the recording's: reported, not renamed
            sha = "0" * 64 if index == 2 else SHA
            pipeline.submit(index, _opener(DATA), f"pipe/{index}.wav", len(DATA), sha)
        outcomes = {o.key: o for o in pipeline.close()}
    finally:
        for transport in transports:
            transport.close()
    assert sorted(outcomes) == list(range(8))
    assert outcomes[2].result is None
    assert outcomes[2].error.kind == "verify"
    for index in (0, 1, 3, 4, 5, 6, 7):
        assert outcomes[index].error is None
        assert outcomes[index].result.sha256_verified_by_server
        with open(on_disk(proftpd, f"pipe/{index}.wav"), "rb") as fp:
            assert fp.read() == DATA
    assert not os.path.exists(on_disk(proftpd, "pipe/2.wav"))
    assert not os.path.exists(on_disk(proftpd, temporary_name("pipe/2.wav")))


def test_pipeline_without_verifier_checks_in_turn(openssh):
    openssh.reset()
    with open_transport(config(openssh)) as transport:
        pipeline = TransferPipeline([transport])
        pipeline.submit("a", _opener(DATA), "seq/a.wav", len(DATA), SHA)
        pipeline.submit("b", _opener(DATA), "seq/b.wav", len(DATA) + 1, SHA)
        outcomes = {o.key: o for o in pipeline.close()}
    assert outcomes["a"].result.remote_path == "seq/a.wav"
    assert outcomes["b"].error.kind == "verify"


def test_pipeline_after_a_broken_connection_skips_the_rest(sftp_fake):
    sftp_fake.faults.drop_after = 100_000
    with open_transport(config(sftp_fake)) as transport:
        pipeline = TransferPipeline([transport])
        for index in range(4):
            pipeline.submit(index, _opener(DATA), f"skip/{index}.wav", len(DATA), SHA)
        outcomes = {o.key: o for o in pipeline.close()}
    assert outcomes[0].error.kind == "dropped"
    assert all(outcomes[index].skipped for index in (1, 2, 3))
    assert pipeline.broken is outcomes[0].error


def test_pipeline_unreadable_local_file_fails_only_that_file(proftpd):
    proftpd.reset()

    def broken():
        raise FileNotFoundError(2, "No such file or directory")

    with open_transport(config(proftpd)) as transport:
        pipeline = TransferPipeline([transport])
        pipeline.submit("gone", broken, "local/gone.wav", 10, SHA)
        pipeline.submit("ok", _opener(DATA), "local/ok.wav", len(DATA), SHA)
        outcomes = {o.key: o for o in pipeline.close()}
    assert "reading the audio" in outcomes["gone"].error.message
    assert not outcomes["gone"].error.breaks_connection
    assert outcomes["ok"].result is not None


@pytest.mark.parametrize("fake", ["_ftp_fake", "_sftp_fake"])
def test_fake_reset_empties_it_and_clears_its_faults(request, fake):
    """Like a provider fake's reset(): one server, many tests, each starting clean."""
    server = request.getfixturevalue(fake)
    os.makedirs(on_disk(server, "archive/2026"), exist_ok=True)
    for name in ("archive/2026/call.wav", "manifest.csv", "readonly/kept.txt"):
        with open(on_disk(server, name), "wb") as file:
            file.write(DATA[:10])
    server.faults.quota_bytes, server.faults.stall_after = 10, 5
    server.faults.opened.append("manifest.csv")
    server.reset()
    assert os.listdir(server.root) == ["readonly"]
    assert os.listdir(on_disk(server, "readonly")) == ["kept.txt"]
    assert (server.faults.quota_bytes, server.faults.stall_after) == (None, None)
    assert server.faults.opened == []
    os.unlink(on_disk(server, "readonly/kept.txt"))
