import hashlib
import io
import os
import zipfile
from datetime import datetime

import pytest
from call_recording_lib import audio, files, handover

DATA = os.urandom(50_000)


class Chunky(io.BytesIO):
    """Gives at most 777 bytes a read, counting its reads."""

    reads = 0

    def read(self, size=-1):
        self.reads += 1
        return super().read(777)


def test_spool_copies_in_chunks_with_fingerprints(tmp_path):
    stream = Chunky(DATA)
    with files.spool(stream, str(tmp_path / "spool"), chunk_size=777) as spooled:
        assert stream.reads > 60
        assert spooled.size == len(DATA)
        assert spooled.mimetype is None
        assert spooled.sha1 == hashlib.sha1(DATA, usedforsecurity=False).hexdigest()
        assert spooled.sha256 == hashlib.sha256(DATA).hexdigest()
        with open(spooled.path, "rb") as fp:
            assert fp.read() == DATA
    assert os.listdir(tmp_path / "spool") == [], "discarded when not stored"


def test_spool_sniffs_and_refuses_leaving_nothing(tmp_path):
    wav = audio.synth_call_wav(0.5, seed=1)
    spooled = files.spool(io.BytesIO(wav), str(tmp_path), sniff=audio.audio_mimetype)
    assert spooled.mimetype == "audio/wav"
    spooled.discard()
    spooled.discard()  # twice: nothing happens
    for data, error in (
        (b"", files.FileRefused),
        (DATA, files.FileRefused),
        (b"<html>" * 10, audio.AudioError),
    ):
        with pytest.raises(error):
            files.spool(io.BytesIO(data), str(tmp_path), max_size=1000, sniff=audio.audio_mimetype)
    assert os.listdir(tmp_path) == []


def test_place_moves_the_spooled_file(tmp_path):
    spooled = files.spool(io.BytesIO(DATA), str(tmp_path / "spool"))
    target = tmp_path / "store" / spooled.sha1[:2] / spooled.sha1
    files.place(spooled.path, str(target))
    assert target.read_bytes() == DATA
    assert not os.path.exists(spooled.path)


def test_same_content_and_sha256(tmp_path):
    a, b, c, d = (tmp_path / name for name in "abcd")
    a.write_bytes(DATA)
    b.write_bytes(DATA)
    c.write_bytes(DATA[:-1] + bytes([DATA[-1] ^ 1]))
    d.write_bytes(DATA[:-1])
    assert files.same_content(str(a), str(b))
    assert not files.same_content(str(a), str(c))
    assert not files.same_content(str(a), str(d))
    assert files.sha256_of(io.BytesIO(DATA), chunk_size=1000) == hashlib.sha256(DATA).hexdigest()
    out = io.BytesIO()
    assert files.copy(Chunky(DATA), out) == len(DATA)
    assert out.getvalue() == DATA


def test_package_entries_streamed_from_openers(tmp_path):
    """Recordings given as openers (any storage) are copied in chunks, not from a path."""
    recordings = [audio.synth_call_wav(0.5, seed=n) for n in range(2)]
    opened = []

    def opener(data):
        def open_it():
            stream = Chunky(data)
            opened.append(stream)
            return stream

        return open_it

    # a PBX's call "at the epoch" still makes a valid ZIP (no dates before 1980)
    dates = [datetime(1970, 1, 1), datetime(2026, 3, 2, 9, 30)]
    entries = [
        handover.PackageEntry(
            "",
            f"r{n}.wav",
            {"reference": f"R{n}"},
            opener=opener(data),
            size=len(data),
            modified=dates[n],
        )
        for n, data in enumerate(recordings)
    ]
    target = tmp_path / "p.zip"
    handover.build_package(str(target), entries, title="REQ")
    assert len(opened) == 2
    assert all(stream.closed for stream in opened), "the package closes what it opened"
    with zipfile.ZipFile(target) as archive:
        assert archive.testzip() is None
        for n, data in enumerate(recordings):
            assert archive.read(f"recordings/r{n}.wav") == data
            info = archive.getinfo(f"recordings/r{n}.wav")
            assert info.compress_type == zipfile.ZIP_STORED
        assert archive.getinfo("recordings/r0.wav").date_time == (1980, 1, 1, 0, 0, 0)
        assert archive.getinfo("recordings/r1.wav").date_time == (2026, 3, 2, 9, 30, 0)


def test_remove_stale_parts_keeps_fresh_downloads(tmp_path):
    """Files of killed downloads go once old; one being written stays."""
    stale = tmp_path / "call-audio-old.part"
    fresh = tmp_path / "call-audio-new.part"
    other = tmp_path / "keep.txt"
    for path in (stale, fresh, other):
        path.write_bytes(b"x")
    now = 1_800_000_000
    os.utime(stale, (now - 7200, now - 7200))
    os.utime(fresh, (now - 60, now - 60))
    os.utime(other, (now - 7200, now - 7200))
    assert files.remove_stale_parts(str(tmp_path), older_than_seconds=3600, now=now) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["call-audio-new.part", "keep.txt"]
    assert files.remove_stale_parts(str(tmp_path / "missing")) == 0


def test_reading_counts_keeps_the_head_and_stops_at_the_limit():
    """One way to read a recording in chunks: spooling, downloads, the Push API's check."""
    data = bytes(range(256)) * 40
    reading = files.Reading(io.BytesIO(data), max_size=len(data), head_size=20, chunk_size=1000)
    assert b"".join(reading) == data
    assert (reading.size, reading.head) == (len(data), data[:20])

    class TooLarge(ValueError):
        pass

    reading = files.Reading(io.BytesIO(data), max_size=2500, too_large=TooLarge, chunk_size=1000)
    read = []
    with pytest.raises(TooLarge, match="larger than the limit of 2500 bytes"):
        read.extend(reading)
    assert len(read) == 2, "reading stops at the chunk over the limit"
