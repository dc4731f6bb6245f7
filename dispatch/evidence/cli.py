"""``outrider evidence export|verify|hold`` and ``outrider retention run``: evidence from the
command line, reading dispatch's store, segment store and keys as ``outrider audit verify``
does."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from pathlib import Path

from dispatch.cli import _settings, _settings_args

__all__ = ["register"]


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the evidence and retention commands to the command line."""
    evidence = sub.add_parser("evidence", help="export, verify and hold incident evidence")
    actions = evidence.add_subparsers(dest="action", required=True)
    export = actions.add_parser("export", help="write an incident's signed evidence bundle")
    export.add_argument("incident")
    _settings_args(export)
    export.add_argument("--reason", required=True, help="why (goes into the audit log)")
    export.add_argument("--out", type=Path, required=True, help="the zip to write")
    export.add_argument("--as", dest="actor", help="who exports (default: cli:<login>)")
    export.set_defaults(func=_export)

    verify = actions.add_parser("verify", help="check a bundle offline; exit 0 when all holds")
    verify.add_argument("bundle", type=Path)
    verify.add_argument("--public-key", type=Path, help="dispatch's public key (PEM)")
    verify.set_defaults(func=_verify)

    hold = actions.add_parser("hold", help="place or lift a legal hold, mark as evidence")
    hold.add_argument("incident")
    _settings_args(hold)
    hold.add_argument("--reason", required=True)
    hold.add_argument("--release", action="store_true", help="lift the legal hold")
    hold.add_argument(
        "--evidence", action=argparse.BooleanOptionalAction, default=None,
        help="mark (or unmark) the incident's data as evidence: kept for evidence_days",
    )  # fmt: skip
    hold.add_argument("--as", dest="actor")
    hold.set_defaults(func=_hold)

    retention = sub.add_parser("retention", help="the retention policy")
    retention_actions = retention.add_subparsers(dest="action", required=True)
    run = retention_actions.add_parser("run", help="delete what is due now, once")
    _settings_args(run)
    run.add_argument("--dry-run", action="store_true", help="list what would go; delete nothing")
    run.set_defaults(func=_retention)


def _actor(args: argparse.Namespace) -> str:
    return f"cli:{args.actor or getpass.getuser()}"


def _export(args: argparse.Namespace) -> int:
    from dispatch.config import DispatchSettings
    from dispatch.evidence.export import export_incident
    from dispatch.evidence.store import LocalFolderStore
    from dispatch.store.sql import SqlStore
    from edge.protocol.signing import load_private_key

    settings = _settings(args)
    assert isinstance(settings, DispatchSettings)
    key = load_private_key(settings.signing_key)

    async def run() -> dict[str, object]:
        async with SqlStore(settings.db_url) as store:
            return await export_incident(
                store,
                LocalFolderStore(settings.evidence.dir),
                key,
                settings.evidence.redaction,
                incident_id=args.incident,
                actor=_actor(args),
                reason=args.reason,
                out=args.out,
            )

    manifest = asyncio.run(run())
    files = manifest["files"]
    assert isinstance(files, list)
    sys.stdout.write(f"wrote {args.out}: {len(files)} files, signed\n")
    return 0


def _verify(args: argparse.Namespace) -> int:
    from dispatch.evidence.verify import verify_bundle

    pem = args.public_key.read_bytes() if args.public_key else None
    report = verify_bundle(args.bundle, pem)
    if report.ok:
        sys.stdout.write(
            f"bundle intact: {report.files_checked} files, signature verified "
            f"with {report.signed_by}\n"
        )
        if args.public_key is None:
            sys.stdout.write(
                "note: checked with the key inside the bundle; pass --public-key to check "
                "that dispatch signed it\n"
            )
        return 0
    sys.stdout.write(f"bundle FAILED: {len(report.failures)} problems\n")
    for failure in report.failures:
        sys.stdout.write(f"  - {failure.file}: {failure.problem}\n")
    return 1


def _hold(args: argparse.Namespace) -> int:
    from dispatch.config import DispatchSettings
    from dispatch.evidence.access import set_holds
    from dispatch.store.sql import SqlStore

    settings = _settings(args)
    assert isinstance(settings, DispatchSettings)

    async def run() -> tuple[bool, bool]:
        async with SqlStore(settings.db_url) as store:
            holds = await set_holds(
                store,
                args.incident,
                actor=_actor(args),
                reason=args.reason,
                legal_hold=not args.release,
                evidence=args.evidence,
            )
            return holds.legal_hold, holds.evidence

    held, evidence = asyncio.run(run())
    sys.stdout.write(f"{args.incident}: legal hold {'on' if held else 'off'}, "
                     f"evidence {'yes' if evidence else 'no'}\n")  # fmt: skip
    return 0


def _retention(args: argparse.Namespace) -> int:
    from dispatch.config import DispatchSettings
    from dispatch.evidence.retention import RetentionJob
    from dispatch.evidence.store import LocalFolderStore
    from dispatch.store.sql import SqlStore

    settings = _settings(args)
    assert isinstance(settings, DispatchSettings)

    async def run() -> int:
        async with SqlStore(settings.db_url) as store:
            job = RetentionJob(store, LocalFolderStore(settings.evidence.dir), settings.retention)
            report = await job.run_once(dry_run=args.dry_run)
        verb = "would delete" if args.dry_run else "deleted"
        for d in report.deleted:
            sys.stdout.write(f"{verb} {d.data_class} {d.subject} ({d.count})"
                             f"{' of ' + d.incident_id if d.incident_id else ''}\n")  # fmt: skip
        for incident in report.held:
            sys.stdout.write(f"kept {incident}: legal hold\n")
        sys.stdout.write(f"{verb} {len(report.deleted)} items\n")
        return 0

    return asyncio.run(run())
