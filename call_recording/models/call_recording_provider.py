"""A telephony provider account: its settings, its adapter, its import runs.

Why one file of about 530 lines: an account is its configuration (some
130 lines of field declarations: credentials, webhook, schedule, limits)
and the run that uses it, whose lock, state, alerts and commits read and
write those fields and nothing else; the protocol is already elsewhere
(``lib/providers``, ``lib/sync_engine.py``), the storing of what a run
reads is the sink (``call_recording_provider_sink.py``), agents are
``call_recording_provider_user.py``, webhook deliveries
``call_recording_webhook_event.py`` and the Push API's integration users
``call_recording_push.py``.
"""

import logging
import secrets
from datetime import UTC, datetime, timedelta

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL

from ..lib import phone as phone_lib
from ..lib import providers as providers_lib
from ..lib.sync_engine import SyncEngine
from .call_recording_provider_sink import ProviderSink

_logger = logging.getLogger(__name__)

PROVIDER_TYPES = [
    ("twilio", "Twilio"),
    ("aircall", "Aircall"),
    ("zadarma", "Zadarma"),
    ("push", "Push API (PBX or other provider)"),
]
DEFAULT_BASE_URLS = {
    "twilio": "https://api.twilio.com",
    "aircall": "https://api.aircall.io",
    "zadarma": "https://api.zadarma.com",
}
PROVIDER_STATES = [
    ("new", "Not synced yet"),
    ("ok", "Working"),
    ("error", "Failing"),
    ("auth", "Credentials refused"),
]
#: First key of the PostgreSQL advisory lock that keeps two syncs of one
#: provider account apart (the second key is the account's id).
SYNC_LOCK_KEY = 0x43525359  # "CRSY"
#: How long a "Sync now" from the form may run before leaving the rest to the cron.
MANUAL_SYNC_SECONDS = 120
#: The longest Retry-After a "Sync now" sleeps; a longer one leaves the rest to the cron.
MANUAL_MAX_RETRY_AFTER = 5


class CallRecordingProvider(models.Model):
    """One account at a telephony provider, whose calls are imported."""

    _name = "call.recording.provider"
    _description = "Telephony Provider Account"
    _inherit = ["mail.thread", "mail.activity.mixin"]
    _order = "sequence, name"
    _check_company_auto = True

    name = fields.Char(required=True, tracking=True)
    sequence = fields.Integer(default=10)
    active = fields.Boolean(default=True)
    provider_type = fields.Selection(PROVIDER_TYPES, string="Provider", required=True)
    company_id = fields.Many2one(
        "res.company",
        required=True,
        index=True,
        default=lambda self: self.env.company,
        help="Calls go to this company unless their line belongs to another one.",
    )
    line_ids = fields.Many2many(
        "call.recording.line",
        string="Lines",
        check_company=False,
        help="Our numbers served by this account. A call on one of them goes to "
        "the line's company and follows its recording policy.",
    )
    base_url = fields.Char(
        string="API URL",
        tracking=True,
        help="The provider's API address. Change it only for a regional endpoint or a test "
        "server. The secret is sent there: when someone who may not read the secret "
        "changes it, the secret is cleared and must be entered again.",
    )
    login = fields.Char(
        string="Account ID",
        groups="base.group_system",
        help="Twilio Account SID, Aircall API ID or Zadarma user key.",
    )
    secret = fields.Char(
        groups="base.group_system",
        help="Twilio Auth Token, Aircall API token or Zadarma secret key.",
    )
    webhook_secret = fields.Char(
        string="Webhook Token",
        groups="base.group_system",
        help="Aircall: the token of the webhook set up in Aircall. Twilio and "
        "Zadarma sign their webhooks with the secret above.",
    )
    webhook_key = fields.Char(
        groups="base.group_system",
        copy=False,
        default=lambda self: secrets.token_urlsafe(24),
        help="Random part of the webhook address, so that it cannot be guessed.",
    )
    webhook_url = fields.Char(string="Webhook URL", compute="_compute_webhook_url")
    timezone = fields.Selection(
        "_tz_get",
        default="Europe/Budapest",
        help="Zadarma reports times without a time zone: they are read in this one.",
    )
    sync_enabled = fields.Boolean(
        string="Scheduled Import",
        default=True,
        tracking=True,
        help="Import new calls on the schedule of the 'import from providers' job.",
    )
    sync_start = fields.Datetime(
        string="Import Calls Since",
        required=True,
        default=lambda self: fields.Datetime.now() - timedelta(days=7),
        help="The first run imports the calls started after this moment.",
    )
    sync_cursor = fields.Datetime(
        string="Synced Up To",
        readonly=True,
        copy=False,
        help="Every call started before this moment is in Odoo; the next run "
        "starts here, minus the overlap.",
    )
    overlap_minutes = fields.Integer(
        string="Overlap (minutes)",
        default=120,
        help="Each run reads this much time again before the last one, to catch "
        "calls and recordings the provider reports late.",
    )
    timeout = fields.Integer(string="Timeout (s)", default=30)
    max_retries = fields.Integer(
        default=3,
        help="Attempts after a timeout, a rate limit or a server error, with "
        "growing waits, before the run gives up until the next one.",
    )
    rate_limit_per_minute = fields.Integer(
        string="Requests per Minute",
        help="Stay under the provider's rate limit (Zadarma: 3 on call statistics). "
        "Empty: the provider's documented limit.",
    )
    state = fields.Selection(
        PROVIDER_STATES, default="new", required=True, readonly=True, copy=False, tracking=True
    )
    last_sync_date = fields.Datetime(string="Last Successful Sync", readonly=True, copy=False)
    last_error = fields.Text(readonly=True, copy=False)
    sync_log_ids = fields.One2many("call.recording.sync.log", "provider_id", string="Runs")
    user_map_ids = fields.One2many(
        "call.recording.provider.user", "provider_id", string="Provider Users"
    )
    issue_ids = fields.One2many(
        "call.recording.sync.issue",
        "provider_id",
        string="Unreadable Calls",
        domain=[("state", "=", "open")],
    )
    call_count = fields.Integer(compute="_compute_call_count", string="Calls")
    pending_count = fields.Integer(compute="_compute_call_count", string="Recordings to Download")
    failed_count = fields.Integer(compute="_compute_call_count", string="Failed Downloads")

    _webhook_key_unique = models.Constraint(
        "UNIQUE(webhook_key)", "The webhook address of a provider account must be unique."
    )
    _overlap_positive = models.Constraint(
        "CHECK(overlap_minutes >= 0)", "The overlap cannot be negative."
    )

    @api.model
    def _tz_get(self):
        return self.env["res.partner"]._fields["tz"]._description_selection(self.env)

    @api.onchange("provider_type")
    def _onchange_provider_type(self):
        if self.provider_type and (
            not self.base_url or self.base_url in DEFAULT_BASE_URLS.values()
        ):
            self.base_url = DEFAULT_BASE_URLS.get(self.provider_type)

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            if vals.get("provider_type") and not vals.get("base_url"):
                vals["base_url"] = DEFAULT_BASE_URLS.get(vals["provider_type"])
        return super().create(vals_list)

    def write(self, vals):
        """Where the secret is sent changes only with the rights to read it.

        The secret goes to ``base_url`` (HTTP Basic auth, signed requests):
        an administrator of the suite who is not a system administrator
        may move an account, but its secret is then cleared, for a system
        administrator to enter again.
        """
        moved = self.browse()
        if "base_url" in vals and not self.env.is_system():
            new_url = (vals["base_url"] or "").rstrip("/")
            moved = self.filtered(lambda p: (p.base_url or "").rstrip("/") != new_url)
        res = super().write(vals)
        if moved:
            # sudo: the secret is the system administrators'; clearing it
            # is what keeps it from the new address.
            moved.sudo().write({"secret": False})
            for provider in moved:
                provider.message_post(
                    body=self.env._(
                        "The API URL was changed by %(user)s, who may not read the secret: "
                        "the secret was cleared. A system administrator enters it again.",
                        user=self.env.user.name,
                    ),
                    subtype_xmlid="mail.mt_note",
                )
        return res

    @api.depends("provider_type")
    def _compute_webhook_url(self):
        base = self.get_base_url()
        for provider in self:
            # sudo: the key is shown (in the address) to system administrators only.
            key = provider.sudo().webhook_key
            provider.webhook_url = (
                f"{base}/call_recording/webhook/{provider.provider_type}/{key}"
                if provider.provider_type and key and self.env.user.has_group("base.group_system")
                else False
            )

    def _compute_call_count(self):
        Call = self.env["call.recording"]
        counts = {
            (provider, status): count
            for provider, status, count in Call._read_group(
                [("provider_id", "in", self.ids)],
                ["provider_id", "recording_status"],
                ["__count"],
            )
        }
        for provider in self:
            by_status = {s: c for (p, s), c in counts.items() if p == provider}
            provider.call_count = sum(by_status.values())
            provider.pending_count = by_status.get("pending", 0)
            provider.failed_count = by_status.get("failed", 0)

    # ------------------------------------------------------------------
    # Adapter
    # ------------------------------------------------------------------

    def _adapter(self, manual=False):
        """The plain-Python client of this account's API.

        ``manual``: for a run started by hand, which does not wait for the
        provider's rate limit (nor long for a ``Retry-After``): it leaves
        the rest to the import job.
        """
        self.ensure_one()
        if self.provider_type == "push":
            raise UserError(
                self.env._(
                    "%(provider)s delivers its calls itself; there is nothing to fetch.",
                    provider=self.name,
                )
            )
        config = self._adapter_config()
        if manual:
            config.update(rate_limit_max_wait=0, max_retry_after=MANUAL_MAX_RETRY_AFTER)
        return providers_lib.get_adapter(self.provider_type, config)

    def _adapter_config(self):
        """The adapter's settings: this account's fields, nothing else.

        Never anything from the context: a client chooses its context, and
        an address or a setting from it would send the credentials
        elsewhere.  (Tests change settings by patching this method.)
        """
        self.ensure_one()
        # sudo: the credentials are readable by system administrators only;
        # they go to the account's own address, for whoever may sync it.
        account = self.sudo()
        config = {
            "base_url": (account.base_url or "").rstrip("/"),
            "login": account.login or "",
            "secret": account.secret or "",
            "webhook_secret": account.webhook_secret or "",
            "timezone": account.timezone or "UTC",
            "timeout": account.timeout or 30,
            "max_retries": account.max_retries if account.max_retries >= 0 else 3,
        }
        if account.rate_limit_per_minute:
            config["rate_limit_per_minute"] = account.rate_limit_per_minute
        return config

    # ------------------------------------------------------------------
    # Actions
    # ------------------------------------------------------------------

    def action_test_connection(self):
        self.ensure_one()
        self.check_access("read")
        self.env["call.recording"].check_access("create")
        try:
            info = self._adapter().test_connection()
        except providers_lib.ProviderError as exc:
            self._set_state_from_error(exc)
            return self._notify(
                self.env._("Connection failed"),
                self.env._("%(provider)s: %(error)s", provider=self.name, error=exc),
                "danger",
            )
        return self._notify(
            self.env._("Connection works"),
            self.env._("%(provider)s answered: %(info)s", provider=self.name, info=info or "OK"),
            "success",
        )

    def action_sync_now(self):
        self.ensure_one()
        self.check_access("read")
        self.env["call.recording"].check_access("create")
        log = self._sync(trigger="manual", time_budget=MANUAL_SYNC_SECONDS)
        if not log:
            raise UserError(
                self.env._(
                    "%(provider)s is being synced already; try again in a moment.",
                    provider=self.name,
                )
            )
        # a run by hand never waits for the provider's rate limit: what is
        # left is the job's, which is woken for when the quota is back
        kind = "success" if log.state == "done" else "warning"
        if log.state == "failed":
            kind = "danger"
        return self._notify(self.env._("Sync finished"), log.summary, kind, reload=True)

    def action_open_calls(self):
        self.ensure_one()
        action = self.env["ir.actions.act_window"]._for_xml_id(
            "call_recording.call_recording_action"
        )
        action["domain"] = [("provider_id", "=", self.id)]
        action["context"] = {}
        return action

    def action_regenerate_webhook_key(self):
        self.check_access("write")
        # sudo: the key is readable by system administrators only; whoever
        # may change the account may replace it.
        for provider in self.sudo():
            provider.webhook_key = secrets.token_urlsafe(24)
        return True

    def _notify(self, title, message, kind, reload=False):
        action = {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": title,
                "message": message,
                "type": kind,
                "sticky": kind != "success",
            },
        }
        if reload:
            action["params"]["next"] = {"type": "ir.actions.client", "tag": "soft_reload"}
        return action

    # ------------------------------------------------------------------
    # Sync
    # ------------------------------------------------------------------

    @api.model
    def _cron_sync(self):
        """Scheduled: handle queued webhooks, then import each enabled account."""
        providers = self._scheduled_accounts()
        Cron = self.env["ir.cron"]
        Cron._commit_progress(remaining=len(providers))
        unfinished = 0
        for index, provider in enumerate(providers, 1):
            log = provider._sync(trigger="cron")
            if log and log.state == "partial":
                unfinished += 1  # out of time: the job runs again at once
            # "limited" (the provider's quota is used up): the job was woken
            # for when the quota is back, not at once
            remaining = len(providers) - index + unfinished
            if Cron._commit_progress(1, remaining=remaining) <= 0:
                break

    @api.model
    def _scheduled_accounts(self):
        """The accounts the scheduled import reads (sudo: the cron imports for every company)."""
        return self.sudo().search([("sync_enabled", "=", True), ("provider_type", "!=", "push")])

    def _try_lock(self):
        """Take this account's sync lock for the database session, or return False.

        A session-level advisory lock survives the commits of the run and is
        released by PostgreSQL if the process dies, so a crashed run never
        blocks the next one.
        """
        self.env.cr.execute(SQL("SELECT pg_try_advisory_lock(%s, %s)", SYNC_LOCK_KEY, self.id))
        return self.env.cr.fetchone()[0]

    def _unlock(self):
        self.env.cr.execute(SQL("SELECT pg_advisory_unlock(%s, %s)", SYNC_LOCK_KEY, self.id))

    def _sync(self, trigger="cron", time_budget=None):
        """Run one import of this account; return its log, or False if already running."""
        self.ensure_one()
        # sudo: imports write calls of every user and company of the account.
        provider = self.sudo()
        if not provider._try_lock():
            _logger.info("Sync of provider %s is already running", provider.name)
            return False
        try:
            return provider._sync_locked(trigger, time_budget)
        finally:
            provider._unlock()

    def _sync_locked(self, trigger, time_budget):
        Log = self.env["call.recording.sync.log"]
        Log.search([("provider_id", "=", self.id), ("state", "=", "running")]).write(
            {"state": "interrupted", "finished": fields.Datetime.now()}
        )
        log = Log.create({"provider_id": self.id, "trigger": trigger})
        self.env["call.recording.file"]._remove_stale_parts()
        self._commit()
        deadline = datetime.now(UTC) + timedelta(seconds=time_budget) if time_budget else None
        sink = self._sync_sink(log, deadline, trigger)
        engine = SyncEngine(self._adapter(manual=trigger == "manual"), sink)
        cursor = fields.Datetime.to_datetime(self.sync_cursor or self.sync_start)
        now = datetime.now(UTC)
        error = None
        try:
            sink.process_webhook_events(engine.adapter)
            stats = engine.run(
                cursor.replace(tzinfo=UTC),
                now,
                overlap=timedelta(minutes=self.overlap_minutes),
            )
        except providers_lib.ProviderError as exc:
            stats, error = engine.stats, exc
        except Exception as exc:
            # Anything else is a bug; keep the traceback in the server log
            # and the message on the run, and let the next run try again.
            _logger.exception("Sync of provider %s failed", self.name)
            stats, error = engine.stats, exc
        log.write(sink.log_values(stats, error))
        if isinstance(error, providers_lib.ProviderRateLimited):
            # not a failure: the provider's quota is used up for a while
            self.write({"state": "ok", "last_error": str(error)})
            delay = error.retry_after if error.retry_after is not None else 60
            self.env.ref("call_recording.ir_cron_call_recording_provider_sync")._trigger(
                at=fields.Datetime.now() + timedelta(seconds=min(max(delay, 1), 3600) + 1)
            )
        elif error is None:
            self.write({"state": "ok", "last_sync_date": log.started, "last_error": False})
        else:
            self._set_state_from_error(error)
        self._commit()
        return log

    def _sync_sink(self, log, deadline, trigger):
        """The sink that stores what a run of this account reads (a hook for
        installations that hand the downloads to jobs: call_recording_queue)."""
        return ProviderSink(self, log, deadline)

    def _set_state_from_error(self, error):
        state = "auth" if isinstance(error, providers_lib.ProviderAuthError) else "error"
        newly_refused = state == "auth" and self.state != "auth"
        # sudo: the account's state is the system's (after a test or a run).
        self.sudo().write({"state": state, "last_error": str(error)})
        if newly_refused:
            self._alert_administrators(error)

    def _alert_administrators(self, error):
        """Credentials refused: nothing is imported until someone fixes them.

        An activity for each administrator of the account's company (the
        same people an export alerts).
        """
        for user in self.company_id._call_recording_administrators():
            self.activity_schedule(
                "mail.mail_activity_data_warning",
                summary=self.env._("Provider refused the credentials"),
                note=str(error),
                user_id=user.id,
            )

    def _commit(self):
        """Commit the work done so far (through the cron's progress when in one)."""
        return self.env["ir.cron"]._commit_progress()

    # ------------------------------------------------------------------
    # Helpers used by the sink
    # ------------------------------------------------------------------

    def _call_companies(self, pcalls):
        """External id of each report -> its company: the company of its line
        among the account's lines, else the account's.  One pass per batch."""
        self.ensure_one()
        lines = {line.number_e164: line.company_id.id for line in self.line_ids if line.number_e164}
        region = self._phone_region() if lines else None
        companies = {}
        for pcall in pcalls:
            number = pcall.callee_number if pcall.direction == "inbound" else pcall.caller_number
            line_company = lines.get(phone_lib.to_e164(number, region)) if lines else None
            companies[pcall.external_id] = line_company or self.company_id.id
        return companies

    def _phone_region(self):
        """Where national numbers of this account's calls are: the company's
        country, else the country of the account's own lines (a new company
        without a country whose lines are +36 still reads 06 numbers)."""
        self.ensure_one()
        return self.company_id.country_id.code or phone_lib.region_of(
            self.line_ids.mapped("number_e164")
        )

    def _announce_call_start(self, pcall):
        """A call starting, as the provider announced it: its agent's screen pop.

        The agent comes from the account's provider users (extension,
        softphone name or provider user), the contact from the number; the
        call itself arrives later, by the import.
        """
        self.ensure_one()
        agent = (
            self.env["call.recording.provider.user"]
            ._resolve_agents(self, [pcall])
            .get(pcall.agent_key)
        )
        if not agent:
            return False
        company = self.env["res.company"].browse(self._call_companies([pcall])[pcall.external_id])
        number = pcall.caller_number if pcall.direction == "inbound" else pcall.callee_number
        region = company.country_id.code or self._phone_region()
        Call = self.env["call.recording"]
        # sudo: the agent's user, whoever delivered the webhook.
        return Call._send_call_start(
            self.env["res.users"].sudo().browse(agent),
            phone_lib.to_e164(number, region) or number,
            company,
            direction=pcall.direction,
        )
