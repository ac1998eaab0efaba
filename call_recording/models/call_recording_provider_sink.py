"""The Odoo side of a sync: stores what the engine reads, and commits it.

Why one file of about 540 lines: :class:`ProviderSink` is one
implementation of one interface (``lib/sync_engine.py``'s ``SyncSink``:
calls, issues, rechecks, audio, webhooks, the run's log) sharing one
state (the account, the run's log, the deadline, the commit pacing);
split, every part would need that state and the interface would be read
in several places.  What it stores goes through the models' own homes:
the upsert (``call_recording_import.py``), agents
(``call.recording.provider.user``), recording files
(``call.recording.file``).
"""

import contextlib
import hashlib
import logging
import os
import time
from datetime import UTC, datetime, timedelta

import psycopg2

from odoo import fields
from odoo.exceptions import UserError

from ..lib import audio as audio_lib
from ..lib.backoff import next_attempt_delay
from ..lib.providers.base import (
    IncompleteDownload,
    ProviderCall,
    ProviderRateLimited,
)
from ..lib.sync_engine import CHUNK_SIZE, SyncSink
from . import evidence
from .call_recording_file import StorageUnavailable
from .call_recording_import import MAX_DOWNLOAD_ATTEMPTS, RECHECK_HOURS

_logger = logging.getLogger(__name__)

#: What storing a batch of recordings reads of its calls.
STORE_FIELDS = [
    "name",
    "direction",
    "external_number",
    "external_number_e164",
    "recording_status",
    "consent_state",
    "legal_basis",
    "import_verify",
    "import_error",
    "import_attempts",
    "import_next_try",
]
#: Downloads stored between two commits, at most (and at most seconds apart).
AUDIO_COMMIT_EVERY = 50
AUDIO_COMMIT_SECONDS = 3


class PreparedAudio:
    """A download written to the filestore's temporary folder (or why it is refused)."""

    def __init__(self, stored=None, error=None):
        self.stored = stored
        self.error = error

    def close(self):
        """Remove the temporary file if it was not moved into the filestore."""
        if self.stored is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.stored.path)


class ProviderSink(SyncSink):
    """Stores calls and audio of one provider account, batch by batch.

    Each store is done inside a savepoint and committed right after, so the
    engine's progress is durable and a failure of one call never aborts
    the others.  ``provider`` is a sudo record (imports write every
    agent's calls).
    """

    def __init__(self, provider, log, deadline=None):
        self.provider = provider
        self.env = provider.env
        self.log = log
        self.deadline = deadline
        self.time_left = float("inf")
        # The import writes evidence (download state, recordings) as the
        # evidence writer.  No chatter tracking of what it sets: the run log
        # has it, and a tracking message per recording would triple the cost.
        self.Call = evidence.writer(self.env["call.recording"]).with_context(
            tracking_disable=True, mail_notrack=True
        )
        self.webhook_stats = {"webhooks": 0}
        self.unreadable = set()
        self.uncommitted = 0
        self.last_commit = time.monotonic()
        self.audio_batch = self.Call.browse()
        # read here for the download threads, which have no database
        self.audio_dir = self.env["call.recording.file"]._spool_dir()
        self.audio_limit = self.Call._max_audio_size()
        # marks downloads for the filestore's garbage collection in their thread
        self.gc_mark = self.env["call.recording.file"]._gc_marker()

    # -- commits and time --------------------------------------------------

    def commit(self):
        """Commit; in a cron, also learn how much of its time is left.

        The cron counts its progress in provider accounts itself.
        """
        self.time_left = self.env["ir.cron"]._commit_progress()
        self.uncommitted = 0
        self.last_commit = time.monotonic()

    def commit_soon(self, processed):
        """Commit downloads in small groups: a commit per file costs more than the file.

        A crash loses at most the group's downloads, which the next run
        fetches again (nothing is stored twice).
        """
        self.uncommitted += processed
        if (
            self.uncommitted >= AUDIO_COMMIT_EVERY
            or time.monotonic() - self.last_commit >= AUDIO_COMMIT_SECONDS
        ):
            self.commit()

    def out_of_time(self):
        if self.time_left <= 0:
            return True
        return bool(self.deadline and datetime.now(UTC) >= self.deadline)

    # -- calls -------------------------------------------------------------

    def store_calls(self, calls, errors):
        counts = {"created": 0, "updated": 0, "skipped": 0, "failed": 0}
        errors = list(errors)
        if calls:
            try:
                counts.update(self._upsert(calls))
            except (UserError, ValueError) as exc:
                # One call spoils the batch (e.g. an agent of another
                # company): store the others one by one, log that one.
                _logger.info("Storing the batch one by one: %s", exc)
                for pcall in calls:
                    try:
                        for key, value in self._upsert([pcall]).items():
                            counts[key] += value
                    except (UserError, ValueError) as call_exc:
                        errors.append((pcall.external_id, str(call_exc.args[0])))
        if errors:
            counts["failed"] += len(errors)
            self._record_issues(errors)
        self.commit()
        return counts

    def _upsert(self, calls):
        for attempt in (1, 2):
            try:
                with self.env.cr.savepoint():
                    stored, counts = self.Call._upsert_provider_calls(self.provider, calls)
                break
            except psycopg2.IntegrityError:
                # A webhook stored one of these calls at the same moment:
                # read again, the calls now exist and are updated.
                if attempt == 2:
                    raise
                self.env.invalidate_all()
        self._resolve_issues(stored.mapped("external_id"))
        return counts

    def save_cursor(self, until):
        naive = until.astimezone(UTC).replace(tzinfo=None)
        if not self.provider.sync_cursor or naive > self.provider.sync_cursor:
            self.provider.sync_cursor = naive
        self.commit()

    def _record_issues(self, errors):
        # sudo: the import's own records (the sink runs for a sync).
        Issue = self.env["call.recording.sync.issue"].sudo()
        ids = [ext for ext, _reason in errors if ext and ext != "?"]
        open_issues = {
            issue.external_id: issue
            for issue in Issue.search(
                [
                    ("provider_id", "=", self.provider.id),
                    ("external_id", "in", ids),
                    ("state", "=", "open"),
                ]
            )
        }
        now = fields.Datetime.now()
        self.unreadable.update(ids)
        for external_id, reason in errors:
            issue = open_issues.get(external_id)
            if issue:
                issue.write({"reason": reason, "attempts": issue.attempts + 1, "last_seen": now})
            else:
                _logger.warning(
                    "Provider %s sent an unreadable call %s: %s",
                    self.provider.name,
                    external_id,
                    reason,
                )
                Issue.create(
                    {
                        "provider_id": self.provider.id,
                        "log_id": self.log.id,
                        "external_id": external_id if external_id != "?" else False,
                        "reason": reason,
                    }
                )

    def _resolve_issues(self, external_ids):
        if not external_ids:
            return
        # sudo: the import's own records.
        self.env["call.recording.sync.issue"].sudo().search(
            [
                ("provider_id", "=", self.provider.id),
                ("external_id", "in", external_ids),
                ("state", "=", "open"),
            ]
        ).write({"state": "resolved", "resolved_date": fields.Datetime.now()})

    def calls_to_retry(self, limit):
        # sudo: the import's own records.
        issues = (
            self.env["call.recording.sync.issue"]
            .sudo()
            .search(
                [
                    ("provider_id", "=", self.provider.id),
                    ("state", "=", "open"),
                    ("external_id", "!=", False),
                ],
                order="last_seen",
            )
        )
        # not those this run has just failed to read
        return [i for i in issues.mapped("external_id") if i not in self.unreadable][:limit]

    def calls_to_recheck(self, limit):
        """Calls whose recording the provider may still add, due for a re-read."""
        now = fields.Datetime.now()
        calls = self.Call.search(
            [
                ("provider_id", "=", self.provider.id),
                ("import_recheck_until", "!=", False),
                "|",
                ("import_next_try", "=", False),
                ("import_next_try", "<=", now),
            ],
            limit=limit,
            order="import_next_try, id",
        )
        return [ext for ext in calls.mapped("external_id") if ext not in self.unreadable]

    def recheck_done(self, external_id, call):
        record = self.Call.search(
            [("provider_id", "=", self.provider.id), ("external_id", "=", external_id)], limit=1
        )
        if not record.import_recheck_until:
            return  # the recording came (it is being downloaded), or it was let go
        now = fields.Datetime.now()
        if call is None or now >= record.import_recheck_until:
            record.write(
                {"import_recheck_until": False, "import_attempts": 0, "import_next_try": False}
            )
        else:
            attempts = record.import_attempts + 1
            delay = min(next_attempt_delay(attempts), timedelta(hours=RECHECK_HOURS) / 8)
            record.write({"import_attempts": attempts, "import_next_try": now + delay})
        self.commit_soon(1)

    # -- audio -------------------------------------------------------------

    def pending_audio(self, limit):
        if self.uncommitted:
            self.commit()
        now = fields.Datetime.now()
        calls = self.Call.search(
            [
                ("provider_id", "=", self.provider.id),
                "|",
                ("recording_status", "=", "pending"),
                "&",
                ("recording_status", "=", "available"),
                ("import_verify", "=", True),
                "|",
                ("import_next_try", "=", False),
                ("import_next_try", "<=", now),
            ],
            limit=limit,
            order="start_datetime, id",
        )
        self.audio_batch = calls
        return [
            (
                call.id,
                ProviderCall(
                    external_id=call.external_id,
                    start=call.start_datetime.replace(tzinfo=UTC),
                    direction=call.direction,
                    state=call.state,
                    duration=call.duration,
                    recording_ref=call.provider_recording_ref,
                    recording_duration=call.provider_recording_duration or None,
                ),
            )
            for call in calls
        ]

    def max_audio_size(self):
        return self.audio_limit

    def prepare_audio(self, key, spool):
        """In a download thread: the file in the filestore's temporary folder, hashed.

        What is not audio, or is too large, is kept as the reason, for the
        refusal to name the call (in this thread there is no database).
        """
        try:
            stored = audio_lib.store_stream(spool, self.audio_dir, self.audio_limit)
        except audio_lib.AudioError as exc:
            return PreparedAudio(error=exc)
        if self.gc_mark:
            # Marked for the filestore's garbage collection now, off the
            # database, before the file is moved there with its attachment.
            self.gc_mark(stored)
        return PreparedAudio(stored)

    def store_audio_batch(self, items):
        """Store prepared downloads together: one savepoint, the attachments in one go.

        A failure of the batch stores its recordings one by one, so that one
        recording never keeps the others out.  A recording checked against
        the provider's copy goes the way of :meth:`store_audio`.
        """
        calls = self.Call.browse([key for key, _prepared in items])
        # what storing reads, in one query (not every column of the calls)
        calls.fetch(STORE_FIELDS)
        refused, todo = {}, []
        for (key, prepared), call in zip(items, calls, strict=True):
            if prepared.error is not None:
                refused[key] = ValueError(call._audio_refused_message(prepared.error))
            elif call.import_verify:
                with open(prepared.stored.path, "rb") as stream:
                    try:
                        self.store_audio(key, stream)
                    except (ValueError, StorageUnavailable) as exc:
                        refused[key] = exc
            else:
                try:
                    call._check_audio_allowed()
                except UserError as exc:
                    refused[key] = ValueError(exc.args[0])
                else:
                    todo.append((call, prepared.stored))
        try:
            with self.env.cr.savepoint():
                self._attach(todo)
        except StorageUnavailable as exc:
            # not the recordings' fault: all due again, said on each call
            _logger.warning("Recordings not stored: %s", exc)
            refused.update((call.id, exc) for call, _stored in todo)
        except (UserError, ValueError, psycopg2.Error) as exc:
            _logger.info("Storing the recordings one by one: %s", exc)
            for call, stored in todo:
                try:
                    with self.env.cr.savepoint():
                        self._attach([(call, stored)])
                except StorageUnavailable as call_exc:
                    refused[call.id] = call_exc
                except (UserError, ValueError) as call_exc:
                    refused[call.id] = ValueError(call_exc.args[0])
        self.commit_soon(len(items))
        return refused

    def _attach(self, todo):
        if not todo:
            return
        calls = self.Call.browse([call.id for call, _stored in todo])
        calls._attach_stored_audio([stored for _call, stored in todo], gc_marked=bool(self.gc_mark))
        # the earlier failures of those that had some, in one write
        calls.filtered(lambda c: c.import_error or c.import_attempts or c.import_next_try).write(
            {"import_error": False, "import_attempts": 0, "import_next_try": False}
        )
        calls.flush_recordset()

    def store_audio(self, key, stream):
        call = self.Call.browse(key).with_prefetch(self.audio_batch._prefetch_ids)
        if call.import_verify:
            self._verify_audio(call, stream)
            self.commit_soon(1)
            return
        try:
            with self.env.cr.savepoint():
                call._set_audio_stream(stream)
                if call.import_error or call.import_attempts or call.import_next_try:
                    call.write(
                        {"import_error": False, "import_attempts": 0, "import_next_try": False}
                    )
        except StorageUnavailable:
            raise  # not refused: the recording stays due
        except UserError as exc:
            # refused: wrong type, over the size limit, consent refused
            raise ValueError(exc.args[0]) from exc
        self.commit_soon(1)

    def _verify_audio(self, call, stream):
        """Compare a stored recording with the provider's whole copy (Retry Download).

        Identical: noted.  The stored copy is the start of the provider's
        (a download cut short before downloads were checked): completed.
        Different otherwise: kept as it is, and said.
        """
        stored_size, stored_sha = call.audio_size, call.audio_sha256
        digest, size, prefix_sha = hashlib.sha256(), 0, None
        while chunk := stream.read(CHUNK_SIZE):
            if size < stored_size <= size + len(chunk):
                digest.update(chunk[: stored_size - size])
                prefix_sha = digest.hexdigest()
                digest.update(chunk[stored_size - size :])
            else:
                digest.update(chunk)
            size += len(chunk)
        stream.seek(0)
        full_sha = digest.hexdigest()
        done = {"import_verify": False, "import_attempts": 0, "import_next_try": False}
        if full_sha == stored_sha:
            call.write({**done, "import_error": False})
            body = self.env._(
                "The stored recording is identical to %(provider)s's copy (SHA-256 %(sha)s).",
                provider=self.provider.name,
                sha=stored_sha,
            )
        elif size > stored_size and prefix_sha == stored_sha and call._may_keep_audio():
            try:
                with self.env.cr.savepoint():
                    call._set_audio_stream(stream)
            except UserError as exc:
                raise ValueError(exc.args[0]) from exc
            call.write({**done, "import_error": False})
            body = self.env._(
                "The stored recording was cut short (%(old_size)s of %(size)s bytes): "
                "completed from %(provider)s's copy. SHA-256 was %(old)s, now %(new)s.",
                old_size=stored_size,
                size=size,
                provider=self.provider.name,
                old=stored_sha,
                new=call.audio_sha256,
            )
        else:
            message = self.env._(
                "%(provider)s's copy differs from the stored recording (SHA-256 %(sha)s, "
                "%(size)s bytes); the stored one is kept.",
                provider=self.provider.name,
                sha=full_sha,
                size=size,
            )
            call.write({**done, "import_error": message})
            body = message
        call.message_post(body=body, subtype_xmlid="mail.mt_note")

    def audio_postponed(self, key, error):
        """Stopped by the provider's rate limit: still due, no attempt counted."""

    def audio_failed(self, key, error, retry):
        call = self.Call.browse(key).with_prefetch(self.audio_batch._prefetch_ids)
        attempts = call.import_attempts + 1
        message = str(error)
        if isinstance(error, IncompleteDownload):
            # evidence: a short copy was refused; say so where the call is
            call.message_post(
                body=self.env._(
                    "A download of the recording from %(provider)s was incomplete and "
                    "was not stored: %(error)s",
                    provider=self.provider.name,
                    error=message,
                ),
                subtype_xmlid="mail.mt_note",
            )
        if call.import_verify:
            # checking a stored recording: it stays as it is whatever happens
            done = attempts >= MAX_DOWNLOAD_ATTEMPTS or not retry
            call.write(
                {
                    "import_error": message,
                    "import_attempts": 0 if done else attempts,
                    "import_verify": not done,
                    "import_next_try": False
                    if done
                    else fields.Datetime.now() + next_attempt_delay(attempts),
                }
            )
            self.commit_soon(1)
            return
        if retry and attempts < MAX_DOWNLOAD_ATTEMPTS:
            call.write(
                {
                    "import_error": message,
                    "import_attempts": attempts,
                    "import_next_try": fields.Datetime.now() + next_attempt_delay(attempts),
                }
            )
        else:
            call.write(
                {
                    "recording_status": "failed",
                    "import_error": message,
                    "import_attempts": attempts,
                    "import_next_try": False,
                }
            )
            call.message_post(
                body=self.env._(
                    "The recording could not be downloaded from %(provider)s: %(error)s",
                    provider=self.provider.name,
                    error=message,
                ),
                subtype_xmlid="mail.mt_note",
            )
        self.commit_soon(1)

    # -- webhooks ----------------------------------------------------------

    def process_webhook_events(self, adapter):
        """Read back the calls that webhooks announced without their data."""
        self.webhook_stats["webhooks"] += self.env["call.recording.webhook.event"]._read_back(
            self.provider, self, adapter
        )
        self.commit()

    # -- the run's log -------------------------------------------------------

    def log_values(self, stats, error):
        if isinstance(error, ProviderRateLimited):
            state = "limited"
        elif error is not None:
            state = "failed"
        elif not stats.complete:
            state = "partial"
        else:
            state = "done"
        return {
            "finished": fields.Datetime.now(),
            "state": state,
            "calls_created": stats.created,
            "calls_updated": stats.updated,
            "calls_skipped": stats.skipped,
            "calls_failed": stats.failed,
            "audio_downloaded": stats.audio_downloaded,
            "audio_failed": stats.audio_failed,
            "audio_waiting": stats.audio_waiting,
            "webhooks_processed": self.webhook_stats["webhooks"],
            "pages": stats.pages,
            "error": str(error) if error is not None else False,
        }
