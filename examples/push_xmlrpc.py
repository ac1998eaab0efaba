#!/usr/bin/env python3
"""Push one call (and its recording) into Odoo with XML-RPC, standard library only.

Configuration from the environment, overridden by the options:
CALL_RECORDING_URL (http://localhost:8069), CALL_RECORDING_DB,
CALL_RECORDING_LOGIN, CALL_RECORDING_API_KEY, CALL_RECORDING_PROVIDER
(the push account's id or name).  Prints the JSON answer; exits 1 with the
server's message when the call is refused.  A retryable answer (a fault
starting with "Busy:" while the same call is being stored by another
delivery, 502-504, no answer) is sent again, up to five times.

    ./push_xmlrpc.py --external-id pbx-1001 --direction inbound \
        --start 2026-11-28T09:30:00+01:00 --duration 95 \
        --caller "+36 30 901 2345" --callee "+36 1 555 0100" --audio call.wav
"""

import json
import sys
import time
import xmlrpc.client

import push_cli


def retryable(error):
    """Worth sending again: the same call being stored by another delivery
    (a fault starting with "Busy:"), Odoo restarting, or no answer."""
    if isinstance(error, xmlrpc.client.Fault):
        return error.faultString.startswith("Busy:")
    if isinstance(error, xmlrpc.client.ProtocolError):
        return error.errcode in (502, 503, 504)
    return isinstance(error, OSError)


def execute_retrying(call, attempts=5, sleep=time.sleep):
    """``call()``, again on a retryable error, up to ``attempts`` times (idempotent)."""
    for attempt in range(1, attempts + 1):
        try:
            return call()
        except (xmlrpc.client.Fault, xmlrpc.client.ProtocolError, OSError) as error:
            if attempt == attempts or not retryable(error):
                raise
            sleep(2**attempt)
    raise AssertionError("unreachable")


def main(argv=None):
    args = push_cli.parse_args(
        __doc__.splitlines()[0], argv, needed=("db", "login", "api_key", "provider"), login=True
    )
    vals = push_cli.call_values(args)

    url = args.url.rstrip("/")
    common = xmlrpc.client.ServerProxy(f"{url}/xmlrpc/2/common")
    # The API key stands in for the password.
    uid = common.authenticate(args.db, args.login, args.api_key, {})
    if not uid:
        sys.stderr.write("error: login or API key refused\n")
        return 1
    models = xmlrpc.client.ServerProxy(f"{url}/xmlrpc/2/object", allow_none=True)
    try:
        result = execute_retrying(
            lambda: models.execute_kw(
                args.db, uid, args.api_key, "call.recording", "push_call", [vals]
            )
        )
    except xmlrpc.client.Fault as fault:
        sys.stderr.write(f"error: {fault.faultString}\n")
        return 1
    sys.stdout.write(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
