"""``outrider protocol``: tools for the wire contract."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``outrider protocol ...`` to the command line."""
    parser = sub.add_parser("protocol", help="the MQTT wire contract (v1)")
    actions = parser.add_subparsers(dest="action", required=True)
    schema = actions.add_parser("schema", help="export the JSON Schema of every message")
    schema.add_argument("--out", type=Path, help="write one <kind>.schema.json per topic here")
    schema.set_defaults(func=_schema)
    doc = actions.add_parser("asyncapi", help="export the AsyncAPI 3.1 document of the contract")
    doc.add_argument("--out", type=Path, help="write the document (JSON) here")
    doc.add_argument("--server", default="localhost:1883", help="broker host:port to name")
    doc.set_defaults(func=_asyncapi)


def _schema(args: argparse.Namespace) -> int:
    from edge.protocol.schema import schemas, write_schemas

    if args.out is None:
        json.dump(schemas(), sys.stdout, indent=2, sort_keys=True)
        sys.stdout.write("\n")
        return 0
    for path in write_schemas(args.out):
        sys.stderr.write(f"wrote {path}\n")
    return 0


def _asyncapi(args: argparse.Namespace) -> int:
    from edge.protocol.asyncapi import asyncapi, write_asyncapi

    if args.out is None:
        json.dump(asyncapi(args.server), sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    sys.stderr.write(f"wrote {write_asyncapi(args.out, args.server)}\n")
    return 0
