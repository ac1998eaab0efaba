"""Object storage of the recordings: SeaweedFS on loopback and call_recording_fs's lib.

The S3 server is the real one the Odoo tests use (``weed mini``, see
``tests/fakes/real_servers.py``); the client is s3fs, as ``fs_storage``
makes it.
"""

import asyncio
import hashlib
import io
import os

import pytest
import s3fs
from botocore.exceptions import EndpointConnectionError
from call_recording_fs_lib import objects
from fakes.real_servers import SeaweedFSServer, free_port
from werkzeug.exceptions import RequestedRangeNotSatisfiable
from werkzeug.test import EnvironBuilder

DATA = os.urandom(3 * 1024 * 1024 + 17)


@pytest.fixture(scope="module")
def s3():
    server = SeaweedFSServer().start()
    yield server
    server.stop()


def _fs(server, **changes):
    options = {**server.s3_options(), **changes}
    return s3fs.S3FileSystem(skip_instance_cache=True, **options)


def test_put_read_back_range_and_delete(s3, tmp_path):
    fs = _fs(s3)
    local = tmp_path / "call.wav"
    local.write_bytes(DATA)
    sha1 = hashlib.sha1(DATA, usedforsecurity=False).hexdigest()
    key = f"{s3.bucket}/{objects.object_key(sha1)}"
    fs.put_file(str(local), key)
    assert fs.info(key)["size"] == len(DATA)
    with fs.open(key, "rb", block_size=objects.BLOCK_SIZE) as fp:
        assert objects.digests(fp) == (
            len(DATA),
            sha1,
            hashlib.sha256(DATA).hexdigest(),
        )
        fp.seek(2_000_000)
        assert fp.read(4096) == DATA[2_000_000:2_004_096]
    fs.rm_file(key)
    fs.invalidate_cache()
    with pytest.raises(FileNotFoundError):
        fs.info(key)


def test_wrong_secret_and_closed_port_are_unavailable(s3):
    with pytest.raises(PermissionError) as refused:
        _fs(s3, secret="not-the-secret").ls(s3.bucket)
    assert objects.is_unavailable(refused.value)
    closed = _fs(s3, endpoint_url=f"http://127.0.0.1:{free_port()}")
    with pytest.raises(EndpointConnectionError) as down:
        closed.info(f"{s3.bucket}/x")
    assert objects.is_unavailable(down.value)
    assert not objects.is_unavailable(FileNotFoundError("gone"))
    assert objects.is_unavailable(asyncio.TimeoutError())
    assert not objects.is_unavailable(ValueError("bad"))


def test_object_key_layout():
    sha1 = "0734331e4f8135f5015e48e99af0985071cede5c"
    assert objects.object_key(sha1) == f"07/34/{sha1}"
    assert objects.object_key(sha1, nested=False) == sha1


def _response(headers=None, method="GET"):
    environ = EnvironBuilder(method=method, headers=headers or {}).get_environ()
    fileobj = io.BytesIO(DATA)
    response = objects.file_response(
        environ,
        fileobj,
        len(DATA),
        "audio/wav",
        etag="abc",
        download_name="hívás.wav",
    )
    return response, fileobj


def test_file_response_full_range_conditional():
    response, _fp = _response()
    assert response.status_code == 200
    assert response.headers["Content-Length"] == str(len(DATA))
    assert b"".join(response.response) == DATA
    assert "filename*=UTF-8''h%C3%ADv%C3%A1s.wav" in response.headers["Content-Disposition"]
    assert response.headers["Content-Disposition"].startswith("inline")

    response, _fp = _response({"Range": "bytes=1000-1999"})
    assert response.status_code == 206
    assert response.headers["Content-Range"] == f"bytes 1000-1999/{len(DATA)}"
    assert b"".join(response.response) == DATA[1000:2000]

    response, fp = _response({"If-None-Match": '"abc"'})
    assert response.status_code == 304
    assert fp.closed, "no body: the object is closed at once"

    with pytest.raises(RequestedRangeNotSatisfiable):
        _response({"Range": f"bytes={len(DATA) + 5}-"})
