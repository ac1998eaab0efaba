"""What the Python examples share: their options, and the call's values from them.

``push_xmlrpc.py`` and ``push_json2.py`` import it from their own folder
(copy it with them); standard library only.
"""

import argparse
import base64
import hashlib
import os


def parse_args(
    description, argv=None, *, needed=("api_key", "provider"), login=False, timeout=False
):
    """The options (each defaulting to its ``CALL_RECORDING_`` variable); ``needed`` must be set.

    ``login``: ``--login`` too (XML-RPC); ``timeout``: ``--timeout`` (seconds) too.
    """
    env = os.environ.get
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--url", default=env("CALL_RECORDING_URL", "http://localhost:8069"))
    parser.add_argument("--db", default=env("CALL_RECORDING_DB"))
    if login:
        parser.add_argument("--login", default=env("CALL_RECORDING_LOGIN"))
    parser.add_argument("--api-key", default=env("CALL_RECORDING_API_KEY"))
    parser.add_argument("--provider", default=env("CALL_RECORDING_PROVIDER"))
    parser.add_argument("--external-id", required=True)
    parser.add_argument("--direction", default="inbound")
    parser.add_argument("--start", required=True, help="ISO 8601 with a zone, or UNIX seconds")
    parser.add_argument("--duration", default="0")
    parser.add_argument("--state", default="answered")
    parser.add_argument("--caller", default="")
    parser.add_argument("--callee", default="")
    parser.add_argument("--agent-email", default="")
    parser.add_argument("--audio", help="recording file (WAV, MP3, OGG, FLAC, WebM, M4A)")
    if timeout:
        parser.add_argument("--timeout", type=float, default=60)
    args = parser.parse_args(argv)
    for name in needed:
        if not getattr(args, name):
            parser.error(f"--{name.replace('_', '-')} (or its CALL_RECORDING_ variable) is needed")
    return args


def call_values(args):
    """``push_call``'s ``vals``: the options, and the recording as base64 with its SHA-256."""
    vals = {
        "provider": int(args.provider) if args.provider.isdigit() else args.provider,
        "external_id": args.external_id,
        "direction": args.direction,
        "start": args.start,
        "duration": args.duration,
        "state": args.state,
        "caller_number": args.caller,
        "callee_number": args.callee,
        "agent_email": args.agent_email,
    }
    if args.audio:
        with open(args.audio, "rb") as fp:
            data = fp.read()
        vals["audio"] = base64.b64encode(data).decode()
        vals["audio_sha256"] = hashlib.sha256(data).hexdigest()
        vals["audio_filename"] = os.path.basename(args.audio)
    return vals
