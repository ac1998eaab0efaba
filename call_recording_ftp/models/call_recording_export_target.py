import uuid

from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError

from odoo.addons.base.models.res_partner import _tz_get

from ..lib import retry as retry_lib
from ..lib import template as template_lib
from ..lib.errors import TransferError
from ..lib.factory import open_transport
from ..lib.ftp import parse_cert_fingerprints
from ..lib.hostkeys import parse_host_keys
from ..lib.transport import DEFAULT_PORTS, TargetConfig
from ..lib.upload import upload_bytes

PROTOCOLS = [
    ("sftp", "SFTP (SSH)"),
    ("ftps", "FTPS (explicit TLS)"),
    ("ftps_implicit", "FTPS (implicit TLS, port 990)"),
    ("ftp", "FTP (unencrypted)"),
]
SCHEDULES = [("hourly", "Every Hour"), ("daily", "Every Day"), ("weekly", "Every Week")]
SCOPES = [
    ("company", "Calls of the Target's Company"),
    ("lines", "Calls of Some Lines"),
]
#: The stored secrets, readable by Odoo administrators only.
SECRET_FIELDS = ("password", "private_key", "passphrase")
#: Where the secrets are sent, and what proves it is the right server:
#: changing these needs the rights to read the secrets, or clears them.
DESTINATION_FIELDS = (
    "protocol",
    "host",
    "port",
    "host_key_fingerprint",
    "tls_verify",
    "tls_ca_cert",
    "tls_fingerprint",
)


class CallRecordingExportTarget(models.Model):
    """A customer's own FTP, FTPS or SFTP server that receives the recordings.

    Configuration here, scheduling in ``call_recording_export_schedule.py``;
    a run (``call.recording.export.run``) does the sending, driving the
    plain-Python runner of ``lib/runner.py``.
    """

    _name = "call.recording.export.target"
    _description = "Call Recording Export Target"
    _inherit = ["mail.thread", "mail.activity.mixin"]
    _order = "name, id"
    _check_company_auto = True

    name = fields.Char(required=True, tracking=True)
    active = fields.Boolean(default=True)
    company_id = fields.Many2one(
        "res.company", required=True, index=True, default=lambda self: self.env.company
    )
    state = fields.Selection(
        [("active", "Active"), ("suspended", "Suspended")],
        required=True,
        default="active",
        readonly=True,
        tracking=True,
        help="A target is suspended after repeated failed runs; Resume after fixing it.",
    )
    protocol = fields.Selection(PROTOCOLS, required=True, default="sftp", tracking=True)
    host = fields.Char(required=True, tracking=True)
    port = fields.Integer(
        help="Empty: 22 for SFTP, 21 for FTP and FTPS, 990 for implicit FTPS.", tracking=True
    )
    username = fields.Char(string="User Name", tracking=True)
    auth_method = fields.Selection(
        [("password", "Password"), ("key", "Private Key")],
        string="Authentication",
        required=True,
        default="password",
    )
    password = fields.Char(groups="base.group_system", copy=False)
    private_key = fields.Text(
        groups="base.group_system",
        copy=False,
        help="The client's private key in OpenSSH or PEM form (Ed25519, ECDSA or RSA).",
    )
    passphrase = fields.Char(string="Key Passphrase", groups="base.group_system", copy=False)
    host_key_fingerprint = fields.Text(
        string="Pinned Host Keys",
        tracking=True,
        help="The server's SSH host keys accepted, one a line: SHA256 fingerprints as "
        "'ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub' prints them on the server, "
        "public keys, known_hosts lines or ssh-keyscan output. The connection is refused "
        "if the server presents another key; the pinned key types are asked for first.",
    )
    tls_verify = fields.Boolean(
        string="Verify TLS Certificate",
        default=True,
        tracking=True,
        help="Check the FTPS server's certificate against the system's authorities (or the "
        "CA certificate below). Turn off only on a trusted network: pinning the "
        "certificate's fingerprint is the safe way for a self-signed certificate.",
    )
    tls_ca_cert = fields.Text(
        string="CA Certificate",
        tracking=True,
        help="PEM of the authority that signed the server's certificate, or of the server's "
        "own self-signed certificate: trusted instead of the system's authorities. The "
        "certificate must name the host.",
    )
    tls_fingerprint = fields.Char(
        string="Pinned Certificate",
        tracking=True,
        help="SHA-256 fingerprint of the server's certificate as 'openssl x509 -noout "
        "-fingerprint -sha256 -in cert.pem' prints it on the server; several separated by "
        "commas. When set, only that certificate is accepted, whoever signed it.",
    )
    timeout = fields.Integer(
        string="Timeout (s)", default=30, help="Seconds without an answer before giving up."
    )
    connect_tries = fields.Integer(string="Connection Attempts", default=3)
    retry_delay = fields.Float(
        string="First Retry After (s)", default=5.0, help="Doubled after each failed attempt."
    )
    upload_connections = fields.Integer(
        string="Parallel Uploads",
        default=2,
        help="Files sent side by side, each on its own connection; one more connection "
        "checks and renames the files sent. Lower it for servers that allow few "
        "connections per user.",
    )
    base_folder = fields.Char(
        default="recordings", help="Folder on the server under which everything is written."
    )
    path_template = fields.Char(
        string="Folder and File Name",
        required=True,
        default=template_lib.DEFAULT_TEMPLATE,
        help="Placeholders: " + ", ".join(f"{{{k}}}" for k in template_lib.PLACEHOLDERS),
    )
    tz = fields.Selection(
        _tz_get,
        string="Time Zone",
        required=True,
        default=lambda self: self.env.user.tz or "UTC",
        help="Dates and times in folder and file names are the call's start in this time zone.",
    )
    schedule = fields.Selection(SCHEDULES, required=True, default="daily", tracking=True)
    next_run_date = fields.Datetime(string="Next Run", default=fields.Datetime.now, copy=False)
    call_scope = fields.Selection(SCOPES, string="Calls", required=True, default="company")
    line_ids = fields.Many2many("call.recording.line", string="Lines", check_company=True)
    remove_local_audio = fields.Boolean(
        string="Remove Local Audio After Transfer",
        help="Once a recording is on this server and verified, its audio is removed from "
        "Odoo; the call keeps its data and fetches the audio back when played.",
        tracking=True,
    )
    max_failures = fields.Integer(
        string="Suspend After Failed Runs", default=5, help="Failed runs in a row."
    )
    failure_count = fields.Integer(string="Failed Runs in a Row", readonly=True, copy=False)
    last_error = fields.Text(readonly=True, copy=False)
    last_run_date = fields.Datetime(readonly=True, copy=False)
    run_ids = fields.One2many("call.recording.export.run", "target_id", string="Runs")
    export_ids = fields.One2many("call.recording.export", "target_id", string="Exports")
    exported_count = fields.Integer(string="Exported", compute="_compute_counts")
    waiting_count = fields.Integer(string="To Send or Retry", compute="_compute_counts")

    # ------------------------------------------------------------------
    # Computes and checks
    # ------------------------------------------------------------------

    def _compute_counts(self):
        groups = self.env["call.recording.export"]._read_group(
            [("target_id", "in", self.ids)], ["target_id", "state"], ["__count"]
        )
        counts = {(target.id, state): count for target, state, count in groups}
        for target in self:
            target.exported_count = counts.get((target.id, "done"), 0)
            target.waiting_count = counts.get((target.id, "pending"), 0) + counts.get(
                (target.id, "failed"), 0
            )

    @api.constrains("path_template", "base_folder", "host_key_fingerprint", "tls_fingerprint")
    def _check_settings(self):
        for target in self:
            try:
                template_lib.validate(target.path_template)
                template_lib.normalize_base(target.base_folder)
                parse_host_keys(target.host_key_fingerprint)
                parse_cert_fingerprints(target.tls_fingerprint)
            except TransferError as exc:
                raise ValidationError(
                    self.env._(
                        "The settings of %(target)s are not valid: %(reason)s",
                        target=target.name,
                        reason=exc.message,
                    )
                ) from exc

    @api.constrains("port", "timeout", "max_failures", "connect_tries", "upload_connections")
    def _check_numbers(self):
        for target in self:
            if target.port < 0 or target.port > 65535:
                raise ValidationError(self.env._("The port must be between 1 and 65535."))
            if min(target.timeout, target.max_failures, target.connect_tries) < 1 or not (
                1 <= target.upload_connections <= 8
            ):
                raise ValidationError(
                    self.env._(
                        "Timeout, connection attempts and failed runs before suspension "
                        "must be at least 1, parallel uploads between 1 and 8."
                    )
                )

    @api.onchange("protocol")
    def _onchange_protocol(self):
        if self.port in (0, *DEFAULT_PORTS.values()):
            self.port = DEFAULT_PORTS[self.protocol]

    # ------------------------------------------------------------------
    # The secrets follow the server they were entered for
    # ------------------------------------------------------------------

    def _may_read_secrets(self):
        return self._has_field_access(self._fields["password"], "read")

    def write(self, vals):
        moving = [name for name in DESTINATION_FIELDS if name in vals]
        if not moving or self._may_read_secrets():
            return super().write(vals)
        before = {target.id: [target[name] for name in moving] for target in self}
        res = super().write(vals)
        moved = self.filtered(lambda t: [t[name] for name in moving] != before[t.id])
        if moved:
            # sudo: whoever may not read the secrets may not send them elsewhere
            # either; clearing them is what the system does for them.
            moved.sudo().write(dict.fromkeys(SECRET_FIELDS, False))
            for target in moved:
                target.message_post(
                    body=self.env._(
                        "The server or its identity changed: the password and private key "
                        "were removed. An administrator enters them again."
                    ),
                    subtype_xmlid="mail.mt_note",
                )
        return res

    # ------------------------------------------------------------------
    # Connection
    # ------------------------------------------------------------------

    def _transport_config(self):
        self.ensure_one()
        # sudo: the credentials are readable by administrators only; the
        # transfer runs for whoever started it (the cron, an administrator
        # of the suite), and only to the server they were entered for.
        secret = self.sudo()
        return TargetConfig(
            protocol=self.protocol,
            host=self.host,
            port=self.port,
            username=self.username or "",
            password=secret.password or "" if self.auth_method == "password" else "",
            private_key=secret.private_key or "" if self.auth_method == "key" else "",
            passphrase=secret.passphrase or "",
            host_key_fingerprint=self.host_key_fingerprint or "",
            timeout=float(self.timeout or 30),
            verify_tls=self.tls_verify,
            tls_ca_cert=self.tls_ca_cert or "",
            tls_fingerprint=self.tls_fingerprint or "",
        )

    def _connector(self):
        """A callable giving a connected transport, after retries with backoff."""
        self.ensure_one()
        config = self._transport_config()
        tries, delay = self.connect_tries, self.retry_delay

        def attempt():
            transport = open_transport(config)
            transport.connect()
            return transport

        return lambda: retry_lib.with_retries(attempt, tries=tries, delay=delay)

    def _connect(self):
        return self._connector()()

    def action_test_connection(self):
        """Connect, write a small file, check and delete it; say what went wrong."""
        self.ensure_one()
        self.check_access("write")
        folder = template_lib.normalize_base(self.base_folder)
        name = f".call-recording-test-{uuid.uuid4().hex[:12]}.txt"
        path = f"{folder}/{name}" if folder else name
        transport = None
        try:
            transport = self._connect()
            result = upload_bytes(transport, b"Odoo call recording export test\n", path)
            transport.delete(path)
            if transport.stat(path) is not None:
                raise TransferError("permission", f"{path} could not be deleted")
        except TransferError as exc:
            raise UserError(
                self.env._(
                    "Test of %(target)s failed: %(reason)s",
                    target=self.name,
                    reason=self.env["call.recording.export.run"]._explain(exc),
                )
            ) from exc
        finally:
            if transport is not None:
                transport.close()
        checked = (
            self.env._("size and SHA-256 checked by the server")
            if result.sha256_verified_by_server
            else self.env._("size checked")
        )
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "type": "success",
                "title": self.env._("Connection works"),
                "message": self.env._(
                    "A test file was written to %(path)s, checked (%(checked)s) and deleted.",
                    path=path,
                    checked=checked,
                ),
                "sticky": False,
            },
        }
