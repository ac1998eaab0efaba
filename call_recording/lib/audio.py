"""Audio helpers: recognise a recording's format, store it in chunks, make demo audio.

Plain Python (no ORM): the models hand a file object in and get back what
they need to create an ``ir.attachment`` without holding the whole
recording in memory.
"""

import contextlib
import hashlib
import io
import math
import os
import random
import struct
import tempfile
import time
import wave
from dataclasses import dataclass

CHUNK_SIZE = 1024 * 1024

#: Formats a call recording may have, with the file extension we give it.
AUDIO_EXTENSIONS = {
    "audio/mpeg": "mp3",
    "audio/wav": "wav",
    "audio/ogg": "ogg",
    "audio/webm": "webm",
    "audio/flac": "flac",
    "audio/mp4": "m4a",
}


class AudioError(ValueError):
    """The data is not a recording we accept (type or size)."""


def sniff_mimetype(head):  # noqa: PLR0911 one return per format
    """Return the audio mimetype of a file from its first bytes, or ``None``.

    Providers' ``Content-Type`` headers are not trusted: the bytes decide.
    """
    if len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "audio/wav"
    if head[:3] == b"ID3":
        return "audio/mpeg"
    if len(head) >= 2 and head[0] == 0xFF and (head[1] & 0xE0) == 0xE0:
        # MPEG audio frame sync (MP3 without ID3 tag); ADTS AAC shares the
        # sync word but has layer bits 00.
        return "audio/mpeg" if head[1] & 0x06 else "audio/aac"
    if head[:4] == b"OggS":
        return "audio/ogg"
    if head[:4] == b"fLaC":
        return "audio/flac"
    if head[:4] == b"\x1a\x45\xdf\xa3":
        return "audio/webm"
    if len(head) >= 12 and head[4:8] == b"ftyp":
        return "audio/mp4"
    return None


@dataclass(frozen=True)
class StoredAudio:
    """A recording written to a temporary file, with its fingerprints."""

    path: str
    size: int
    mimetype: str
    sha1: str
    sha256: str


def store_stream(stream, directory, max_size=None, chunk_size=CHUNK_SIZE):
    """Copy ``stream`` into a new file under ``directory`` in chunks.

    SHA-1 (Odoo's filestore key) and SHA-256 (the checksum we keep and hand
    out) are computed on the way, so the data is read once.  The file is
    removed again if the data is not audio or is larger than ``max_size``
    bytes; :class:`AudioError` says why.
    """
    os.makedirs(directory, exist_ok=True)
    fd, path = tempfile.mkstemp(prefix="call-audio-", suffix=".part", dir=directory)
    # SHA-1 only because it names files in Odoo's filestore.
    sha1, sha256 = hashlib.sha1(usedforsecurity=False), hashlib.sha256()
    size = 0
    head = b""
    try:
        with os.fdopen(fd, "wb") as out:
            while True:
                chunk = stream.read(chunk_size)
                if not chunk:
                    break
                if len(head) < 16:
                    head += chunk[: 16 - len(head)]
                size += len(chunk)
                if max_size and size > max_size:
                    raise AudioError(f"recording is larger than the limit of {max_size} bytes")
                sha1.update(chunk)
                sha256.update(chunk)
                out.write(chunk)
        if not size:
            raise AudioError("recording is empty")
        mimetype = sniff_mimetype(head)
        if not mimetype:
            raise AudioError("data is not a known audio format")
    except BaseException:
        os.unlink(path)
        raise
    return StoredAudio(path, size, mimetype, sha1.hexdigest(), sha256.hexdigest())


def remove_stale_parts(directory, older_than_seconds=3600, now=None):
    """Delete temporary files that a killed process left in ``directory``.

    :func:`store_stream` removes its file on any error, but not when the
    process is killed mid-download.  Only files untouched for
    ``older_than_seconds`` go, so a download in progress elsewhere is safe.
    Returns the number of files removed.
    """
    if not os.path.isdir(directory):
        return 0
    limit = (now if now is not None else time.time()) - older_than_seconds
    removed = 0
    for entry in os.scandir(directory):
        if entry.name.endswith(".part") and entry.is_file() and entry.stat().st_mtime < limit:
            with contextlib.suppress(FileNotFoundError):  # cleaned by another process
                os.unlink(entry.path)
                removed += 1
    return removed


def synth_call_wav(seconds, seed=0, rate=8000):
    """Make a short WAV (8 kHz, 16-bit mono, like a phone line) for demos and tests.

    Two "voices" take turns with syllable-like bursts of a few harmonics
    over line noise, so a player shows a real waveform and duration.
    """
    rng = random.Random(seed)
    frames = bytearray()
    total = int(seconds * rate)
    t = 0
    speaker = 0
    while t < total:
        base = (120.0, 210.0)[speaker] * rng.uniform(0.9, 1.1)
        for _syllable in range(rng.randint(3, 8)):
            length = int(rate * rng.uniform(0.12, 0.3))
            pause = int(rate * rng.uniform(0.03, 0.12))
            pitch = base * rng.uniform(0.85, 1.2)
            for i in range(length + pause):
                if t >= total:
                    break
                noise = rng.uniform(-300, 300)
                if i < length:
                    env = math.sin(math.pi * i / length)
                    phase = 2 * math.pi * pitch * t / rate
                    voice = sum(math.sin(h * phase) / h for h in (1, 2, 3, 5))
                    sample = 6000 * env * voice + noise
                else:
                    sample = noise
                frames += struct.pack("<h", int(max(-32767, min(32767, sample))))
                t += 1
        speaker = 1 - speaker
        t = min(total, t + int(rate * rng.uniform(0.2, 0.5)))
        frames += b"\x00\x00" * max(0, t - len(frames) // 2)
    return wav_bytes(bytes(frames[: total * 2]), rate)


def wav_bytes(pcm, rate=8000):
    """Wrap 16-bit mono PCM samples in a WAV container."""
    buf = io.BytesIO()
    with wave.open(buf, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(pcm)
    return buf.getvalue()


def wav_duration(data):
    """Duration in seconds of a WAV file given as bytes."""
    with wave.open(io.BytesIO(data), "rb") as wav:
        return wav.getnframes() / float(wav.getframerate())
