"""The SSH host keys a target accepts: parsed from what an administrator pastes.

One entry a line, any of:

* a fingerprint as ``ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub``
  prints it (``256 SHA256:... root@host (ED25519)``, or only ``SHA256:...``);
* a public key as in ``/etc/ssh/ssh_host_*_key.pub`` (``ssh-ed25519 AAAA...``);
* a ``known_hosts`` line or ``ssh-keyscan`` output (``host ssh-ed25519 AAAA...``;
  the host names are not used, the target's host is);
* blank lines and ``#`` comments (``ssh-keyscan`` prints some) are skipped.

Several keys may be accepted (an RSA and an Ed25519 key, or the old and
the new key while they rotate).  A full key also says its type, so the
connection asks the server for that type first; a bare fingerprint does
not, so when the server presents another key, its other key types are
asked for in turn.
Plain Python, no SSH library.
"""

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass, field

from .errors import TransferError

#: key type -> the host key algorithms that present it, most wanted first
KEY_TYPE_ALGORITHMS = {
    "ssh-ed25519": ("ssh-ed25519",),
    "ecdsa-sha2-nistp256": ("ecdsa-sha2-nistp256",),
    "ecdsa-sha2-nistp384": ("ecdsa-sha2-nistp384",),
    "ecdsa-sha2-nistp521": ("ecdsa-sha2-nistp521",),
    "ssh-rsa": ("rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"),
    "ssh-ed448": ("ssh-ed448",),
}
_FINGERPRINT = re.compile(r"SHA256:([A-Za-z0-9+/]{43})=?")


def fingerprint_of_blob(blob):
    """``SHA256:...`` of a public key's wire form, as ``ssh-keygen -l`` prints it."""
    digest = hashlib.sha256(blob).digest()
    return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")


@dataclass
class HostKeyPins:
    """Accepted host keys: fingerprints, and the full keys where they were given."""

    fingerprints: list = field(default_factory=list)
    #: (key type, "type base64") of the entries given as full keys, in order
    keys: list = field(default_factory=list)

    def __bool__(self):
        return bool(self.fingerprints)

    @property
    def known_types(self):
        """Key types of the full keys, in the order given, without repeats."""
        return list(dict.fromkeys(key_type for key_type, _line in self.keys))

    @property
    def all_typed(self):
        """Whether every accepted key was given as a full key (its type is known)."""
        return len(self.keys) == len(self.fingerprints)

    def accepts(self, fingerprint):
        return fingerprint.rstrip("=") in self.fingerprints

    def algorithms(self, supported):
        """Host key algorithms to ask for, from those ``supported``: pinned types first.

        The server takes the first one of the list that it has, so it
        presents a pinned key whenever it has one of that type.
        """
        wanted = [alg for t in self.known_types for alg in KEY_TYPE_ALGORITHMS.get(t, (t,))]
        return [alg for alg in wanted if alg in supported] + [
            alg for alg in supported if alg not in wanted
        ]

    def worth_trying(self, algorithm):
        """Whether a key presented with ``algorithm`` could be an accepted one."""
        return not self.all_typed or key_type_of(algorithm) in self.known_types


def key_type_of(algorithm):
    """The key type an algorithm presents (``rsa-sha2-512`` -> ``ssh-rsa``)."""
    for key_type, algorithms in KEY_TYPE_ALGORITHMS.items():
        if algorithm in algorithms:
            return key_type
    return algorithm


def _parse_line(line):
    """(fingerprint, key type or None, key line or None) of one entry."""
    match = _FINGERPRINT.search(line)
    if match and not any(part in KEY_TYPE_ALGORITHMS for part in line.split()):
        return f"SHA256:{match.group(1)}", None, None
    parts = line.split()
    for index, part in enumerate(parts[:-1]):
        if part in KEY_TYPE_ALGORITHMS or part.startswith(("ecdsa-sha2-", "sk-")):
            encoded = parts[index + 1]
            try:
                blob = base64.b64decode(encoded, validate=True)
            except (binascii.Error, ValueError):
                break
            # The blob names its own type first: a pasted key is checked whole.
            if len(blob) < 4:
                break
            length = int.from_bytes(blob[:4], "big")
            if blob[4 : 4 + length].decode(errors="replace") != part:
                break
            return fingerprint_of_blob(blob), part, f"{part} {encoded}"
    raise TransferError(
        "config",
        f"{line[:80]!r} is neither a SHA256 fingerprint nor a public key line "
        "(known_hosts, ssh-keyscan or .pub)",
    )


def parse_host_keys(text):
    """The :class:`HostKeyPins` in ``text``; raises :class:`TransferError` (``config``)."""
    pins = HostKeyPins()
    for raw in (text or "").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("@"):
            raise TransferError(
                "config", f"{line[:40]!r}: @cert-authority and @revoked lines are not supported"
            )
        fingerprint, key_type, key_line = _parse_line(line)
        if fingerprint not in pins.fingerprints:
            pins.fingerprints.append(fingerprint)
        if key_type and all(line != key_line for _t, line in pins.keys):
            pins.keys.append((key_type, key_line))
    return pins
