"""Certificates for loopback TLS servers, made on the fly.

``self_signed_cert`` is what many customers' FTPS servers present (no
authority, so only a pinned fingerprint or no check at all trusts it);
``ca_signed_cert`` is a server certificate for ``127.0.0.1`` issued by a
private authority, for the "CA certificate" setting of a target.
"""

import datetime
import hashlib
import ipaddress
import os

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID


def _key():
    return rsa.generate_private_key(65537, 2048)


def _name(common_name):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _builder(subject, issuer, public_key):
    now = datetime.datetime.now(datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
    )


def _write(folder, cert, key):
    os.makedirs(folder, exist_ok=True)
    cert_path = os.path.join(folder, "cert.pem")
    key_path = os.path.join(folder, "key.pem")
    with open(cert_path, "wb") as fp:
        fp.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(key_path, "wb") as fp:
        fp.write(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.TraditionalOpenSSL,
                serialization.NoEncryption(),
            )
        )
    os.chmod(key_path, 0o600)
    return cert_path, key_path


def self_signed_cert(folder, common_name="127.0.0.1"):
    """Write ``cert.pem`` and ``key.pem`` into ``folder``; return their paths.

    The certificate names ``common_name`` (an IP address here) in its
    subject alternative name too, as ``openssl req -x509 -addext`` makes it.
    """
    key = _key()
    name = _name(common_name)
    cert = (
        _builder(name, name, key.public_key())
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(common_name))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    return _write(folder, cert, key)


def ca_signed_cert(folder, host="127.0.0.1"):
    """A private CA and a server certificate for ``host`` (an IP address) signed by it.

    Returns ``(cert_path, key_path, ca_pem)``: the server's files and the
    authority's certificate in PEM text, as an administrator would paste it.
    """
    ca_key = _key()
    ca_name = _name("Call recording test CA")
    ca = (
        _builder(ca_name, ca_name, ca_key.public_key())
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = _key()
    cert = (
        _builder(_name(host), ca_name, key.public_key())
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(host))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    cert_path, key_path = _write(folder, cert, key)
    return cert_path, key_path, ca.public_bytes(serialization.Encoding.PEM).decode()


def cert_fingerprint(cert_path):
    """SHA-256 of the certificate (DER) as ``openssl x509 -fingerprint -sha256`` prints it."""
    with open(cert_path, "rb") as fp:
        cert = x509.load_pem_x509_certificate(fp.read())
    digest = hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest().upper()
    return ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))
