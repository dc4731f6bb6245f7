"""``outrider certs``: the broker's CA, server certificate, passwords and ACL for service use.

``init`` makes a directory a Mosquitto can run from (``mosquitto -c DIR/mosquitto.conf``): a CA,
a server certificate signed by it, a password file with one random password per client
(``dispatch`` and each dock, whose username is its dock id), the ACL of
``configs/mosquitto/acl``, and each client's password in ``<name>.secret`` for its config.
``add-client`` adds a dock or replaces a password; ``renew-server`` issues a new server
certificate from the same CA. Mosquitto rereads passwords and ACL on SIGHUP.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import getpass
import hashlib
import ipaddress
import os
import re
import secrets
import sys
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from edge.errors import ConfigError
from edge.protocol.models import DOCK_ID_PATTERN

__all__ = ["add_client", "init", "password_line", "register", "renew_server"]

ACL_TEMPLATE = Path(__file__).resolve().parent.parent / "configs" / "mosquitto" / "acl"
PBKDF2_ITERATIONS = 101  # what mosquitto_passwd writes for $7$ hashes


def password_line(username: str, password: str) -> str:
    """One line of a Mosquitto 2 password file (PBKDF2-SHA512, ``$7$``)."""
    salt = secrets.token_bytes(12)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, PBKDF2_ITERATIONS)
    b64 = base64.b64encode
    return f"{username}:$7${PBKDF2_ITERATIONS}${b64(salt).decode()}${b64(digest).decode()}"


def _write_private(path: Path, data: bytes) -> None:
    path.write_bytes(b"")
    path.chmod(0o600)
    path.write_bytes(data)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Outrider"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _make_ca(directory: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("Outrider broker CA"))
        .issuer_name(_name("Outrider broker CA"))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    _write_private(directory / "ca.key", _key_pem(key))
    (directory / "ca.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def renew_server(directory: Path, hosts: list[str], days: int = 397) -> None:
    """Issue a server certificate for ``hosts`` (names or IP addresses) from the CA.

    Raises:
        ConfigError: when the directory holds no CA.
    """
    try:
        ca_cert = x509.load_pem_x509_certificate((directory / "ca.crt").read_bytes())
        ca_key = serialization.load_pem_private_key((directory / "ca.key").read_bytes(), None)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{directory} holds no usable CA (ca.crt, ca.key): {exc}") from exc
    if not isinstance(ca_key, ec.EllipticCurvePrivateKey):
        raise ConfigError(f"{directory}/ca.key is not an EC key made by outrider certs")
    names: list[x509.GeneralName] = []
    for host in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(hosts[0]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    _write_private(directory / "server.key", _key_pem(key))
    (directory / "server.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def add_client(directory: Path, username: str) -> str:
    """Give ``username`` a new random password (replacing any old one) and return it.

    Raises:
        ConfigError: when the username could not be a dock id (topic-safe) or ``dispatch``.
    """
    if not re.match(DOCK_ID_PATTERN, username):
        raise ConfigError(f"client name {username!r} is not a valid dock id or 'dispatch'")
    password = secrets.token_urlsafe(24)
    passwd = directory / "passwd"
    lines = passwd.read_text().splitlines() if passwd.exists() else []
    lines = [line for line in lines if not line.startswith(f"{username}:")]
    lines.append(password_line(username, password))
    _write_private(passwd, ("\n".join(lines) + "\n").encode())
    _write_private(directory / f"{username}.secret", (password + "\n").encode())
    return password


def _conf(directory: Path, port: int) -> str:
    d = directory.resolve()
    # Mosquitto started as root drops to its own user, who could not read these 0600 files.
    return (
        "# Written by outrider certs init.\n"
        f"user {getpass.getuser()}\n"
        "per_listener_settings false\n"
        "allow_anonymous false\n"
        f"password_file {d}/passwd\n"
        f"acl_file {d}/acl\n"
        f"listener {port}\n"
        f"cafile {d}/ca.crt\n"
        f"certfile {d}/server.crt\n"
        f"keyfile {d}/server.key\n"
        "tls_version tlsv1.2\n"
        "# sessions, queued QoS 1 messages and retained state survive a broker restart\n"
        "persistence true\n"
        f"persistence_location {d}/\n"
        "# larger than any valid message (64 KiB payloads): the sender is disconnected\n"
        "max_packet_size 131072\n"
        "max_queued_messages 100000\n"
        "# dispatch acknowledges events once stored, in batches of up to this many\n"
        "max_inflight_messages 1000\n"
    )


def init(
    directory: Path,
    docks: list[str],
    hosts: list[str] | None = None,
    port: int = 8883,
    force: bool = False,
) -> None:
    """Make ``directory`` ready for ``mosquitto -c directory/mosquitto.conf``.

    Raises:
        ConfigError: when the directory already holds a CA and ``force`` is not set.
    """
    directory.mkdir(parents=True, exist_ok=True)
    if (directory / "ca.key").exists() and not force:
        raise ConfigError(f"{directory} already holds a CA; use --force to replace everything")
    (directory / "passwd").unlink(missing_ok=True)
    _make_ca(directory)
    renew_server(directory, hosts or ["localhost", "127.0.0.1"])
    for name in ["dispatch", *docks]:
        add_client(directory, name)
    (directory / "acl").write_text(ACL_TEMPLATE.read_text())
    (directory / "mosquitto.conf").write_text(_conf(directory, port))
    os.chmod(directory, 0o700)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``outrider certs ...`` to the command line."""
    parser = sub.add_parser("certs", help="broker CA, certificates, passwords and ACL")
    actions = parser.add_subparsers(dest="action", required=True)
    p = actions.add_parser("init", help="make a directory a TLS Mosquitto can run from")
    p.add_argument("dir", type=Path)
    p.add_argument("--docks", default="dock-01,dock-02,dock-03", help="comma-separated dock ids")
    p.add_argument("--host", action="append", help="server name or IP (repeatable)")
    p.add_argument("--port", type=int, default=8883)
    p.add_argument("--force", action="store_true", help="replace an existing CA and passwords")
    p.set_defaults(func=_init)
    p = actions.add_parser("add-client", help="add a dock, or give a client a new password")
    p.add_argument("dir", type=Path)
    p.add_argument("name")
    p.set_defaults(func=_add_client)
    p = actions.add_parser("renew-server", help="new server certificate from the same CA")
    p.add_argument("dir", type=Path)
    p.add_argument("--host", action="append", help="server name or IP (repeatable)")
    p.add_argument("--days", type=int, default=397)
    p.set_defaults(func=_renew_server)


def _done(message: str) -> int:
    sys.stdout.write(message + "\n")
    return 0


def _add_client(args: argparse.Namespace) -> int:
    add_client(args.dir, args.name)
    return _done(f"new password of {args.name} in {args.dir}/{args.name}.secret")


def _renew_server(args: argparse.Namespace) -> int:
    renew_server(args.dir, args.host or ["localhost", "127.0.0.1"], args.days)
    return _done(f"new server certificate {args.dir}/server.crt")


def _init(args: argparse.Namespace) -> int:
    docks = [d.strip() for d in args.docks.split(",") if d.strip()]
    init(args.dir, docks, args.host, args.port, args.force)
    return _done(
        f"broker files in {args.dir}: run `mosquitto -c {args.dir}/mosquitto.conf`; "
        f"clients: dispatch, {', '.join(docks)} (passwords in <name>.secret)"
    )
