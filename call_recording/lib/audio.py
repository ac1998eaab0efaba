"""Audio helpers: recognise a recording's format, store it in chunks, make demo audio.

Plain Python (no ORM): the models hand a file object in and get back what
they need to create an ``ir.attachment`` without holding the whole
recording in memory (the spooling itself is ``files.py``'s).
"""

import io
import math
import random
import struct
import wave

from .files import CHUNK_SIZE, FileRefused, Spooled, spool

#: Formats a call recording may have, with the file extension we give it.
AUDIO_EXTENSIONS = {
    "audio/mpeg": "mp3",
    "audio/wav": "wav",
    "audio/ogg": "ogg",
    "audio/webm": "webm",
    "audio/flac": "flac",
    "audio/mp4": "m4a",
}


class AudioError(FileRefused):
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


#: A recording written to a temporary file, with its fingerprints.
StoredAudio = Spooled


def audio_mimetype(head):
    """The mimetype of a recording from its first bytes; :class:`AudioError` if not audio."""
    mimetype = sniff_mimetype(head)
    if not mimetype:
        raise AudioError("data is not a known audio format")
    return mimetype


def store_stream(stream, directory, max_size=None, chunk_size=CHUNK_SIZE):
    """Copy ``stream`` into a new file under ``directory`` in chunks (see :func:`files.spool`).

    SHA-1 (the storage key) and SHA-256 (the checksum we keep and hand
    out) are computed on the way, so the data is read once.  The file is
    removed again if the data is not audio or is larger than ``max_size``
    bytes; :class:`AudioError` says why.
    """
    try:
        return spool(stream, directory, max_size, chunk_size, sniff=audio_mimetype)
    except AudioError:
        raise
    except FileRefused as exc:
        raise AudioError(str(exc)) from exc


#: a WAV size field that means "unknown" (a recorder that streamed the file)
_WAV_UNKNOWN = (0, 0xFFFFFFFF)
#: how much of the head of a file :func:`incomplete_reason` looks at
HEAD_SIZE = 4096


def wav_layout(head):
    """``(riff_end, data_start, data_end, byte_rate)`` of a WAV file's header, or None.

    ``head`` is the file's first bytes (:data:`HEAD_SIZE` is plenty).  The
    ends are the sizes the header announces (None when it says "unknown");
    ``data_end`` is None too when the data chunk is not within ``head``.
    """
    if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        return None
    riff_size = struct.unpack_from("<I", head, 4)[0]
    riff_end = None if riff_size in _WAV_UNKNOWN else riff_size + 8
    offset, byte_rate = 12, None
    while offset + 8 <= len(head):
        chunk_id = head[offset : offset + 4]
        chunk_size = struct.unpack_from("<I", head, offset + 4)[0]
        if chunk_id == b"fmt " and offset + 16 <= len(head):
            byte_rate = struct.unpack_from("<I", head, offset + 16)[0] or None
        if chunk_id == b"data":
            data_start = offset + 8
            data_end = None if chunk_size in _WAV_UNKNOWN else data_start + chunk_size
            return riff_end, data_start, data_end, byte_rate
        offset += 8 + chunk_size + (chunk_size & 1)
    return riff_end, None, None, byte_rate


def incomplete_reason(head, size, expected_duration=None, expected_size=None):
    """Why a downloaded recording is not whole, or None when nothing says so.

    ``head`` is the file's first bytes and ``size`` its length.  Checked:
    the size the provider announced, the sizes a WAV header announces, and
    a WAV's length against the duration the provider announced (one second
    of margin: providers round).  Other formats carry no length to check.
    """
    if expected_size and size != expected_size:
        return f"{size} bytes received, the provider announced {expected_size}"
    layout = wav_layout(head)
    if layout is None:
        return None
    riff_end, data_start, data_end, byte_rate = layout
    if riff_end and size < riff_end:
        return f"the WAV file announces {riff_end} bytes, {size} were received"
    if data_end and size < data_end:
        return f"the WAV file announces {data_end - data_start} bytes of sound, fewer came"
    if expected_duration and byte_rate and data_start:
        seconds = (min(size, data_end or size) - data_start) / byte_rate
        if seconds + 1 < expected_duration:
            return (
                f"{seconds:.1f} s of sound received, the provider announced {expected_duration} s"
            )
    return None


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
