#!/bin/sh
# Push one call and its recording to Odoo with a single curl command.
# Usage: push_curl.sh EXTERNAL_ID START DURATION CALLER CALLEE RECORDING_FILE
# Needs CALL_RECORDING_URL, CALL_RECORDING_DB, CALL_RECORDING_API_KEY and
# CALL_RECORDING_PROVIDER in the environment; prints Odoo's JSON answer and
# exits non-zero on any HTTP error (--fail-with-body). A retryable answer
# (503 with Retry-After while the same call is being stored by another
# delivery, 502/504, no connection) is sent again up to 5 times (--retry).
curl -sS --fail-with-body --retry 5 --retry-connrefused --retry-max-time 120 -H "Authorization: Bearer $CALL_RECORDING_API_KEY" -H "X-Odoo-Database: $CALL_RECORDING_DB" -F "provider=$CALL_RECORDING_PROVIDER" -F "external_id=$1" -F "direction=${CALL_RECORDING_DIRECTION:-inbound}" -F "start=$2" -F "duration=$3" -F "caller_number=$4" -F "callee_number=$5" -F "sha256=$(sha256sum "$6" | cut -d' ' -f1)" -F "audio=@$6" "${CALL_RECORDING_URL:-http://localhost:8069}/call_recording/push"
