#!/usr/bin/env python3
"""Push one call (and its recording) into Odoo with the JSON-2 API and requests.

``POST /json/2/call.recording/push_call`` with ``{"vals": {...}}``, the
integration user's API key as ``Authorization: bearer`` and the database
in ``X-Odoo-Database``.  Configuration from the environment, overridden by
the options: CALL_RECORDING_URL (http://localhost:8069), CALL_RECORDING_DB,
CALL_RECORDING_API_KEY, CALL_RECORDING_PROVIDER (the push account's id or
name).  Prints the JSON answer; exits 1 with the server's message and the
field errors when the call is refused.  A retryable answer (503 while the
same call is being stored by another delivery, 502/504, no answer) is sent
again, up to five times, waiting as ``Retry-After`` says.

    ./push_json2.py --external-id pbx-1001 --direction inbound \
        --start 2026-11-28T09:30:00+01:00 --duration 95 \
        --caller "+36 30 901 2345" --callee "+36 1 555 0100" --audio call.wav
"""

import json
import sys
import time

import push_cli
import requests

#: answers worth sending the same delivery again for (the push is idempotent):
#: the same call being stored by another delivery (503 with Retry-After),
#: Odoo restarting or overloaded (502, 504)
RETRYABLE = (502, 503, 504)


def post_retrying(url, body, headers, timeout, *, attempts=5, sleep=time.sleep):
    """POST, and again on a retryable answer or no answer, waiting as told."""
    for attempt in range(1, attempts + 1):
        try:
            response = requests.post(url, json=body, headers=headers, timeout=timeout)
        except requests.ConnectionError:
            if attempt == attempts:
                raise
            sleep(2**attempt)
            continue
        if response.status_code not in RETRYABLE or attempt == attempts:
            return response
        retry_after = response.headers.get("Retry-After", "")
        sleep(min(int(retry_after) if retry_after.isdigit() else 2**attempt, 60))
    return response


def main(argv=None):
    args = push_cli.parse_args(__doc__.splitlines()[0], argv, timeout=True)
    vals = push_cli.call_values(args)

    headers = {"Authorization": f"bearer {args.api_key}"}
    if args.db:
        headers["X-Odoo-Database"] = args.db
    response = post_retrying(
        f"{args.url.rstrip('/')}/json/2/call.recording/push_call",
        {"vals": vals},
        headers,
        args.timeout,
    )
    try:
        body = response.json()
    except ValueError:
        body = {"message": response.text}
    if response.status_code != 200:
        errors = (body.get("context") or {}).get("errors") or {}
        sys.stderr.write(f"error {response.status_code}: {body.get('message')}\n")
        sys.stdout.write(json.dumps({"status": response.status_code, "errors": errors}) + "\n")
        return 1
    sys.stdout.write(json.dumps(body, indent=2, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
