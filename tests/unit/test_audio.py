import hashlib
import io
import os

import pytest
from call_recording_lib import audio

WAV = audio.synth_call_wav(1.5, seed=4)


@pytest.mark.parametrize(
    ("head", "mimetype"),
    [
        (WAV[:16], "audio/wav"),
        (b"ID3\x04\x00\x00\x00\x00\x00\x00", "audio/mpeg"),
        (b"\xff\xfb\x90\x64\x00\x00", "audio/mpeg"),
        (b"\xff\xf1\x50\x80\x00\x1f", "audio/aac"),
        (b"OggS\x00\x02\x00\x00", "audio/ogg"),
        (b"fLaC\x00\x00\x00\x22", "audio/flac"),
        (b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81", "audio/webm"),
        (b"\x00\x00\x00\x20ftypM4A ", "audio/mp4"),
        (b"<html><body>", None),
        (b"%PDF-1.7\n", None),
        (b"RIFF\x00\x00\x00\x00AVI ", None),
        (b"", None),
    ],
)
def test_sniff(head, mimetype):
    assert audio.sniff_mimetype(head) == mimetype


def test_synth_is_real_wav():
    assert audio.sniff_mimetype(WAV) == "audio/wav"
    assert audio.wav_duration(WAV) == pytest.approx(1.5, abs=0.01)
    # 8 kHz 16-bit mono: 16 000 bytes a second plus the header
    assert len(WAV) == 44 + 24000
    # not silence
    assert len(set(WAV[44:2044])) > 50
    assert audio.synth_call_wav(1.5, seed=4) == WAV


def test_store_stream(tmp_path):
    class Chunky(io.BytesIO):
        def read(self, size=-1):
            return super().read(777)

    stored = audio.store_stream(Chunky(WAV), str(tmp_path / "tmp"), max_size=10**6, chunk_size=777)
    assert stored.size == len(WAV)
    assert stored.mimetype == "audio/wav"
    assert stored.sha1 == hashlib.sha1(WAV, usedforsecurity=False).hexdigest()
    assert stored.sha256 == hashlib.sha256(WAV).hexdigest()
    with open(stored.path, "rb") as fp:
        assert fp.read() == WAV


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (WAV, "larger than the limit"),
        (b"<html>" + b"x" * 100, "not a known audio format"),
        (b"", "empty"),
    ],
)
def test_store_stream_refuses_and_cleans_up(tmp_path, data, message):
    directory = tmp_path / "tmp"
    with pytest.raises(audio.AudioError, match=message):
        audio.store_stream(io.BytesIO(data), str(directory), max_size=1000, chunk_size=256)
    assert os.listdir(directory) == []


def test_store_stream_stops_reading_past_limit(tmp_path):
    """An endless stream is cut at the limit, not read to the end."""

    class Endless:
        reads = 0

        def read(self, size):
            Endless.reads += 1
            return WAV[:size] if Endless.reads == 1 else b"\x00" * size

    with pytest.raises(audio.AudioError):
        audio.store_stream(Endless(), str(tmp_path), max_size=10_000, chunk_size=1000)
    assert Endless.reads <= 11
