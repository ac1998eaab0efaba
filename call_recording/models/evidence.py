"""Evidence: what only the import, the Push API and the compliance code write.

A call's recording, its checksum and status, its reference, where it came
from, its legal basis and consent, a request's hand-over and a legal
hold's state are evidence (Fgytv. 17/B, GDPR Art. 5(2)).  ``readonly=`` in
a view protects nothing: XML-RPC, JSON-RPC and JSON-2 reach every field,
and the client chooses the context.  So each evidence model lists its
fields here, once, and its ``create``/``write`` refuse them to everybody
but the **evidence writer**:

- :func:`writer` gives records as the system's writer: superuser *and* a
  token in the context that is a private Python object of this module.
  No client can send it: JSON and XML-RPC carry only strings, numbers,
  lists and dictionaries, and ``safe_eval`` cannot reach this module, so a
  context key of that name from a client is just a string that fails the
  identity check below.  ``sudo()`` alone is not enough either: a
  superuser write that did not come through :func:`writer` (a server
  action, some other add-on's ``sudo()``) is refused like any other.
- Only private methods (``_...``, which RPC cannot call) use
  :func:`writer`, each after checking who asked: the import and the
  webhooks (:mod:`.call_recording_import`, :mod:`.call_recording_provider_sink`),
  the Push API (:mod:`.call_recording_push`, which checks the integration
  group), and the compliance actions (consent, purge, holds, hand-over),
  which check the user's write access first.

Besides the evidence proper, *facts* are given when a record is created
(by whoever may create it: a manager noting a call by hand) and only the
writer changes them afterwards.  Everything else (the contact, the
agent, notes, a lead) users may change within their access rights; those
changes are tracked in the record's chatter.

Add-ons extend a model's lists through ``_evidence_fields()`` and
``_evidence_facts()`` (e.g. ``call_recording_ftp`` adds the exports).
"""

from odoo.exceptions import AccessError

#: Context key of the writer's token.  Its *value* must be ``_TOKEN``.
WRITER_KEY = "call_recording_evidence_writer"
_TOKEN = object()

#: ``call.recording``: written by the system only, on create and on write.
CALL_EVIDENCE = frozenset(
    {
        # the reference told to the caller, and when it was reserved for that
        "name",
        "reserved_date",
        "awaiting_delivery",
        # the recording and what the system measured of it
        "audio",
        "recording_status",
        "audio_filename",
        "audio_mimetype",
        "audio_size",
        "audio_sha256",
        # where it came from, and its download (import, Push API)
        "provider_id",
        "external_id",
        "provider_recording_ref",
        "import_error",
        "import_attempts",
        "import_next_try",
        "provider_recording_duration",
        "import_verify",
        "import_recheck_until",
        # how the contact was found (a link by hand is a tracked partner_id)
        "partner_match",
        "partner_match_count",
        # the legal basis, decided when the call arrives, and the consent
        "consent_deadline",
        "line_id",
        "legal_basis",
        "retention_date",
        "metadata_retention_date",
        "consent_state",
        "consent_user_id",
        "consent_date",
        "consent_source",
        # stored values derived from the above (never written directly)
        "caller_number_e164",
        "callee_number_e164",
        "external_number",
        "external_number_e164",
        "external_extension",
        "line_number",
        "line_number_e164",
        "duration_minutes",
        "commercial_partner_id",
        "team_id",
    }
)
#: ``call.recording``: what the call was; given on create, then the system's.
CALL_FACTS = frozenset(
    {
        "direction",
        "state",
        "start_datetime",
        "duration",
        "caller_number",
        "callee_number",
        "company_id",
    }
)

#: ``call.recording.request``: the workflow's state and the hand-over.
REQUEST_EVIDENCE = frozenset(
    {
        "name",
        "state",
        "first_deadline_date",
        "deadline_date",
        "extension_months",
        "extension_reason",
        "extension_notified_date",
        "package_id",
        "package_sha256",
        "package_size",
        "package_content",
        "package_delete_date",
        "package_deleted_date",
        "delivered_date",
        "delivery_method",
        "link_expiry",
    }
)
REQUEST_FACTS = frozenset({"company_id"})

#: ``call.recording.hold``: placed and released only through its actions.
#: Its calls may be added to, never removed (see ``call.recording.hold``).
HOLD_EVIDENCE = frozenset(
    {"state", "placed_by_id", "released_by_id", "release_date", "release_reason"}
)
HOLD_FACTS = frozenset({"company_id", "partner_id"})


def writer(records):
    """``records`` for the system's write of evidence (see the module doc).

    Private methods only, after checking who asked.
    """
    # sudo: the evidence writer is the system; the caller checked who asked.
    return records.sudo().with_context(**{WRITER_KEY: _TOKEN})


def is_writer(env):
    """Whether ``env`` is the evidence writer's (superuser and the private token)."""
    return env.su and env.context.get(WRITER_KEY) is _TOKEN


def _refuse(records, fields):
    # sudo: the model's name (translated), for the message only.
    model = records.env["ir.model"].sudo()._get(records._name).name or records._description
    raise AccessError(
        records.env._(
            "%(model)s: %(fields)s are evidence, set by the system only (the import, "
            "the Push API and the compliance actions).",
            model=model,
            fields=", ".join(sorted(fields)),
        )
    )


def check_write(records, vals):
    """Refuse a write of evidence or facts that does not come from the writer."""
    if is_writer(records.env):
        return
    forbidden = set(vals) & (records._evidence_fields() | records._evidence_facts())
    if forbidden:
        _refuse(records, forbidden)


def check_create(model, vals_list):
    """Refuse evidence in ``vals_list`` unless from the writer; return ``model`` to create with.

    A value equal to the field's own default (or empty) is accepted: the
    web client sends some defaults back.  ``default_<field>`` keys of the
    client's context are dropped for evidence, or they would set it.
    """
    if is_writer(model.env):
        return model
    evidence = model._evidence_fields()
    forbidden = set()
    for vals in vals_list:
        for fname in evidence & set(vals):
            value = vals[fname]
            if value in (None, False, "") or value == _default(model, fname):
                continue
            forbidden.add(fname)
    if forbidden:
        _refuse(model, forbidden)
    context = model.env.context
    if any(key.startswith("default_") and key[8:] in evidence for key in context):
        # The whole context is replaced on purpose: keys are removed from it.
        model = model.with_context(  # pylint: disable=context-overridden
            {
                key: value
                for key, value in context.items()
                if not (key.startswith("default_") and key[8:] in evidence)
            }
        )
    return model


def _default(model, fname):
    """The field's own default (not the context's, not ``ir.default``'s)."""
    field = model._fields[fname]
    if not field.default:
        return None
    value = field.default(model)
    if hasattr(value, "_name"):  # a record: compare ids
        return value.id
    return value
