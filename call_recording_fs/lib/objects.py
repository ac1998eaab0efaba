"""Recording files in an fsspec file system (an S3 bucket): keys, errors, HTTP.

Plain Python (no ORM).  The storage itself is fsspec's and s3fs's (through
OCA's ``fs_storage``); this module only says where a content goes, which
errors mean "the store cannot be reached now", how an object is checked
against its SHA-256, and how it is served over HTTP with Range requests
without holding it in memory.
"""

import asyncio
import hashlib
import unicodedata
from urllib.parse import quote

from werkzeug.wrappers import Response
from werkzeug.wsgi import wrap_file

#: What is read from the store at a time: the block of the buffered object
#: file (its read-ahead) and of the HTTP body.  1 MiB measured best for the
#: audio route (first byte and throughput against memory, bench/README.rst).
BLOCK_SIZE = 1024 * 1024


def object_key(sha1, nested=True):
    """The key of a content in the bucket: ``ab/cd/<sha1>`` (``fs_attachment``'s layout)."""
    return f"{sha1[:2]}/{sha1[2:4]}/{sha1}" if nested else sha1


def is_unavailable(exc):
    """Whether ``exc`` means the store cannot be used now (down, refused, too slow).

    A missing object (:class:`FileNotFoundError`) is not: the store
    answered.  Wrong credentials (:class:`PermissionError`) are: nothing is
    lost by trying again once an administrator fixed them.
    """
    if isinstance(exc, FileNotFoundError):
        return False
    if isinstance(exc, (ConnectionError, TimeoutError, PermissionError, asyncio.TimeoutError)):
        return True
    names = {cls.__module__.split(".")[0] + "." + cls.__name__ for cls in type(exc).__mro__}
    # botocore's and aiohttp's connection errors are not OSErrors; fsspec's
    # timeout neither.  By name, so that no client library is imported here.
    return bool(
        names
        & {
            "botocore.BotoCoreError",
            "botocore.ClientError",
            "aiohttp.ClientError",
            "fsspec.FSTimeoutError",
        }
    )


def digests(fileobj, block_size=BLOCK_SIZE):
    """``(size, sha1, sha256)`` of what is left to read in ``fileobj``, read in blocks."""
    sha1, sha256 = hashlib.sha1(usedforsecurity=False), hashlib.sha256()
    size = 0
    while chunk := fileobj.read(block_size):
        size += len(chunk)
        sha1.update(chunk)
        sha256.update(chunk)
    return size, sha1.hexdigest(), sha256.hexdigest()


def content_disposition(download_name, as_attachment):
    """The ``Content-Disposition`` value and parameters, as Werkzeug's ``send_file`` makes them."""
    value = "attachment" if as_attachment else "inline"
    if not download_name:
        return value, {}
    try:
        download_name.encode("ascii")
    except UnicodeEncodeError:
        simple = unicodedata.normalize("NFKD", download_name).encode("ascii", "ignore")
        quoted = quote(download_name, safe="")
        return value, {"filename": simple.decode("ascii"), "filename*": f"UTF-8''{quoted}"}
    return value, {"filename": download_name}


def file_response(
    environ,
    fileobj,
    size,
    mimetype,
    *,
    etag=None,
    last_modified=None,
    download_name=None,
    as_attachment=False,
    response_class=Response,
):
    """A streamed response for an open, seekable binary file of ``size`` bytes.

    Answers ``Range`` (206 with ``Content-Range``, 416 out of range),
    ``If-None-Match``/``If-Modified-Since`` (304) and ``HEAD``; the body is
    read in :data:`BLOCK_SIZE` blocks while it is sent.  The file is
    closed with the response (at once when no body is sent).
    """
    response = response_class(
        wrap_file(environ, fileobj, buffer_size=BLOCK_SIZE),
        mimetype=mimetype,
        direct_passthrough=True,
    )
    response.content_length = size
    value, names = content_disposition(download_name, as_attachment)
    response.headers.set("Content-Disposition", value, **names)
    if last_modified:
        response.last_modified = last_modified
    response.cache_control.no_cache = True
    response.cache_control.private = True
    if etag:
        response.set_etag(etag)
    try:
        response = response.make_conditional(environ, accept_ranges=True, complete_length=size)
    except BaseException:
        fileobj.close()
        raise
    if response.status_code in (304, 412) or environ.get("REQUEST_METHOD") == "HEAD":
        fileobj.close()
    return response
