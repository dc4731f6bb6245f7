"""``outrider dispatch``, ``outrider keys`` and ``outrider audit``: the dispatch command line."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

DEFAULT_CONFIG = Path("configs/dispatch.toml")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the dispatch commands to the command line."""
    run = sub.add_parser("dispatch", help="run the dispatch service (API, UI, fleet, video)")
    _settings_args(run)
    run.add_argument("--mqtt", help="broker URL, e.g. mqtt://127.0.0.1:1883")
    run.add_argument("--host", help="address to listen on")
    run.add_argument("--port", type=int, help="port to listen on")
    run.set_defaults(func=_dispatch)

    keys = sub.add_parser("keys", help="command-signing keys and API tokens")
    actions = keys.add_subparsers(dest="action", required=True)
    init = actions.add_parser("init", help="make dispatch's Ed25519 key pair")
    init.add_argument("--dir", type=Path, default=Path("state/keys"), help="where to write them")
    init.add_argument("--force", action="store_true", help="replace existing keys")
    init.set_defaults(func=_keys_init)
    dock = actions.add_parser(
        "dock", help="make a dock's Ed25519 key pair and its entry in dispatch's settings"
    )
    dock.add_argument("dock_id", help="the dock's id, as in its [dock] id")
    dock.add_argument("--dir", type=Path, default=Path("state/keys"), help="where to write them")
    dock.add_argument("--force", action="store_true", help="replace the dock's existing keys")
    dock.add_argument(
        "--register", type=Path, metavar="DISPATCH_TOML", help="append the entry to this file"
    )
    dock.set_defaults(func=_keys_dock)
    token = actions.add_parser("token", help="make an API token and its config entry")
    token.add_argument("--name", required=True)
    token.add_argument(
        "--role", required=True, choices=["admin", "dispatcher", "viewer", "edge", "metrics"]
    )
    token.add_argument("--docks", help="edge tokens: the comma-separated docks it streams for")
    token.set_defaults(func=_keys_token)

    audit = sub.add_parser("audit", help="the hash-chained audit log")
    audit_actions = audit.add_subparsers(dest="action", required=True)
    verify = audit_actions.add_parser("verify", help="detect edited or deleted rows")
    _settings_args(verify)
    verify.set_defaults(func=_audit_verify)


def _settings_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        type=Path,
        default=None,
        help=f"TOML settings (default {DEFAULT_CONFIG} if present)",
    )
    parser.add_argument("--db", help="database URL (sqlite:///path or postgresql://...)")


def _settings(args: argparse.Namespace, **flags: object) -> object:
    from dispatch.config import load_settings

    path = args.config
    if path is None and DEFAULT_CONFIG.exists():
        path = DEFAULT_CONFIG
    return load_settings(path, db_url=args.db, **flags)


def _dispatch(args: argparse.Namespace) -> int:
    from dispatch.config import DispatchSettings
    from dispatch.logs import configure_logging, remember_secrets
    from dispatch.service import serve

    settings = _settings(args, mqtt_url=args.mqtt, host=args.host, port=args.port)
    assert isinstance(settings, DispatchSettings)
    configure_logging(settings.log_format, args.log_level)
    remember_secrets(settings)
    asyncio.run(serve(settings))
    return 0


def _keys_init(args: argparse.Namespace) -> int:
    from dispatch.keys import init_keys

    private, public = init_keys(args.dir, force=args.force)
    sys.stdout.write(
        f"private key (dispatch only): {private}\npublic key (copy to every edge): {public}\n"
    )
    return 0


def _keys_dock(args: argparse.Namespace) -> int:
    from dispatch.keys import dock_entry, dock_keys, register_dock

    private, public = dock_keys(args.dir, args.dock_id, force=args.force)
    sys.stdout.write(
        f"private key (on {args.dock_id} only: its [signing] key): {private}\n"
        f"public key (dispatch's [[docks]] entry below): {public}\n\n"
        + dock_entry(args.dock_id, public)
    )
    if args.register is not None:
        register_dock(args.register, args.dock_id, public)
        sys.stdout.write(f"\nregistered in {args.register}\n")
    return 0


def _keys_token(args: argparse.Namespace) -> int:
    from dispatch.keys import new_token

    token, digest = new_token()
    docks = [d.strip() for d in (args.docks or "").split(",") if d.strip()]
    scope = f"docks = {json.dumps(docks)}\n" if docks else ""
    sys.stdout.write(
        f"token (give it to {args.name}; it is not stored): {token}\n\n"
        f'[[tokens]]\nname = "{args.name}"\nrole = "{args.role}"\nsha256 = "{digest}"\n{scope}'
    )
    return 0


def _audit_verify(args: argparse.Namespace) -> int:
    from dispatch.config import DispatchSettings
    from dispatch.service import verify_audit

    settings = _settings(args)
    assert isinstance(settings, DispatchSettings)
    report = asyncio.run(verify_audit(settings.db_url))
    if report.ok:
        sys.stdout.write(f"audit log intact: {report.rows} rows\n")
        return 0
    sys.stdout.write(
        f"audit log TAMPERED: {report.rows} rows, first bad row {report.first_bad_seq}\n"
    )
    for problem in report.problems:
        sys.stdout.write(f"  - {problem}\n")
    return 1
