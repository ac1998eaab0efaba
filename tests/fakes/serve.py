#!/usr/bin/env python3
"""Serve the fake Twilio, Aircall and Zadarma of the demo database on loopback.

``./scripts/demo`` starts this beside Odoo: the demo's provider accounts
(``call_recording/demo/call_recording_provider_demo.xml``) point to these
ports with these credentials.  Each fake starts with calls of the last two
days, with short generated recordings, on the demo customers' numbers,
and reports a new call every few minutes, so the import job always has
something to fetch.  Standard library only.

Usage: tests/fakes/serve.py [--host 127.0.0.1] [--every 300] [--watch-parent]
"""

import argparse
import importlib.util
import os
import random
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests"))

from fakes.aircall import FakeAircall  # noqa: E402
from fakes.twilio import FakeTwilio  # noqa: E402
from fakes.zadarma import FakeZadarma  # noqa: E402

#: Ports and credentials, as in the demo data.
DEMO_ACCOUNTS = {
    "twilio": (
        18091,
        FakeTwilio,
        {"login": "AC00000000000000000000000000demo", "secret": "demo-twilio-auth-token"},
    ),
    "aircall": (
        18092,
        FakeAircall,
        {
            "login": "demo-aircall-api-id",
            "secret": "demo-aircall-api-token",
            "webhook_token": "demo-aircall-webhook-token",
        },
    ),
    "zadarma": (
        18093,
        FakeZadarma,
        {
            "login": "demo-zadarma-key",
            "secret": "demo-zadarma-secret",
            "timezone": "Europe/Budapest",
            "rate_limit_per_minute": 60,
        },
    ),
}
#: Our lines per account (as in the demo's recorded lines).
LINES = {"twilio": "+3615550100", "aircall": "+3615550100", "zadarma": "+3615550200"}
#: The demo customers' numbers, as providers send them, and one unknown.
NUMBERS = [
    "+36301234567",
    "+3652123456",
    "+36209876543",
    "+3696555010",
    "+3612345678",
    "+4930901820",
    "+36305550199",
]
AGENTS = [
    ("1001", "p.nagy@aircall-demo.example", "Péter Nagy"),
    ("1002", "anna.szabo@example.com", "Anna Szabó"),
]


def _audio_lib():
    """The add-on's ``lib/audio.py``, loaded with its package (no Odoo needed)."""
    lib_dir = REPO / "call_recording" / "lib"
    name = "call_recording_lib"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            name, lib_dir / "__init__.py", submodule_search_locations=[str(lib_dir)]
        )
        package = importlib.util.module_from_spec(spec)
        sys.modules[name] = package
        spec.loader.exec_module(package)
    return importlib.import_module(f"{name}.audio")


def add_demo_call(fake, code, start, rng, synth):
    number = rng.choice(NUMBERS)
    direction = rng.choice(["inbound", "inbound", "outbound"])
    line = LINES[code]
    caller, callee = (number, line) if direction == "inbound" else (line, number)
    state = rng.choice(["answered"] * 5 + ["missed"])
    seconds = rng.randint(5, 12) if state == "answered" else 0
    agent_id, email, name = rng.choice(AGENTS)
    return fake.add_call(
        start=start,
        direction=direction,
        caller=caller,
        callee=callee,
        duration=seconds,
        state=state,
        audio=synth(seconds, seed=rng.randint(0, 10**6)) if seconds else None,
        agent_email=email if code == "aircall" else None,
        agent_id=agent_id if code != "twilio" else None,
        agent_name=name if code == "aircall" else None,
    )


def start_demo_fakes(host="127.0.0.1", calls_per_account=8, seed=19):
    """Start the three fakes with their first calls; return {code: fake}."""
    synth = _audio_lib().synth_call_wav
    rng = random.Random(seed)
    now = datetime.now(UTC).replace(microsecond=0)
    fakes = {}
    for code, (port, fake_class, kwargs) in DEMO_ACCOUNTS.items():
        fake = fake_class(**kwargs).start(port=port, host=host)
        for index in range(calls_per_account):
            start = (
                now - timedelta(hours=44) + timedelta(hours=5 * index, minutes=rng.randint(0, 50))
            )
            add_demo_call(fake, code, start, rng, synth)
        fakes[code] = fake
    return fakes


def keep_calling(fakes, every, stop, seed=23):
    """Report a new call on each fake every ``every`` seconds, until ``stop`` is set."""
    synth = _audio_lib().synth_call_wav
    rng = random.Random(seed)
    while not stop.wait(every):
        now = datetime.now(UTC).replace(microsecond=0)
        for code, fake in fakes.items():
            add_demo_call(fake, code, now - timedelta(minutes=1), rng, synth)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--every", type=int, default=300, help="seconds between new calls")
    parser.add_argument(
        "--watch-parent", action="store_true", help="exit when the process that started us ends"
    )
    args = parser.parse_args()
    parent = os.getppid()
    try:
        fakes = start_demo_fakes(args.host)
    except OSError as exc:
        print(f"fake providers not started: {exc}", file=sys.stderr, flush=True)
        return 1
    for code, fake in fakes.items():
        print(f"fake {code} on {fake.base_url}", flush=True)
    stop = threading.Event()
    threading.Thread(target=keep_calling, args=(fakes, args.every, stop), daemon=True).start()
    try:
        while True:
            time.sleep(1)
            if args.watch_parent and os.getppid() != parent:
                break
    except KeyboardInterrupt:
        pass
    stop.set()
    for fake in fakes.values():
        fake.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
