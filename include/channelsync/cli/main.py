"""``channelsync``: one entry point, argparse subcommands, ``--flag value`` style throughout.

    channelsync db upgrade [--url URL]
    channelsync sandbox serve [--host H] [--port P] [--scale S] [--seed N]
    channelsync config check [--file F]
    channelsync airflow load-settings [--file F] [--sandbox-url URL]
    channelsync sync TEMPLATE --integration NAME [--preview]
    channelsync status [--integration NAME] [--limit N]
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from channelsync.errors import ChannelsyncError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="channelsync", description="Distributor ↔ PSA integration engine")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    db = commands.add_parser("db", help="state store schema").add_subparsers(dest="action", required=True)
    upgrade = db.add_parser("upgrade", help="create or upgrade the state store schema (idempotent)")
    upgrade.add_argument("--url", help="SQLAlchemy URL (default: CHANNELSYNC_STATE_URL, Airflow's "
                                       "channelsync_state connection, or the SQLite file)")

    sandbox = commands.add_parser("sandbox", help="the vendor API emulators").add_subparsers(
        dest="action", required=True)
    serve = sandbox.add_parser("serve", help="serve every emulator on one port")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8700)
    serve.add_argument("--scale", default="small", choices=["tiny", "small", "medium", "large"])
    serve.add_argument("--seed", type=int, default=42)

    config = commands.add_parser("config", help="the integrations file").add_subparsers(dest="action", required=True)
    check = config.add_parser("check", help="validate the file and list the DAGs it makes")
    check.add_argument("--file", type=Path)

    airflow = commands.add_parser("airflow", help="Airflow set-up").add_subparsers(dest="action", required=True)
    load = airflow.add_parser("load-settings", help="load airflow_settings.yaml into Airflow")
    load.add_argument("--file", type=Path, default=Path("airflow_settings.yaml"))
    load.add_argument("--sandbox-url", default="http://127.0.0.1:8700")

    sync = commands.add_parser("sync", help="run one template's DAG now, in this process")
    sync.add_argument("template")
    sync.add_argument("--integration", required=True)
    sync.add_argument("--preview", action="store_true", help="show the plan, write nothing")

    status = commands.add_parser("status", help="recent sync runs")
    status.add_argument("--integration")
    status.add_argument("--limit", type=int, default=20)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return _dispatch(args)
    except ChannelsyncError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _dispatch(args: argparse.Namespace) -> int:
    if args.command == "db":
        from channelsync.state.db import upgrade

        print(f"state store at revision {upgrade(args.url)}")
        return 0
    if args.command == "sandbox":
        return _serve(args)
    if args.command == "config":
        from channelsync import settings
        from channelsync.dagfactory import build_dags

        dags = build_dags(args.file or settings.config_path())
        print("\n".join(sorted(dags)) or "no DAGs (no enabled templates)")
        return 0
    if args.command == "airflow":
        from channelsync.airflow_settings import load_into_airflow

        counts = load_into_airflow(args.file, sandbox_url=args.sandbox_url)
        print(f"loaded {counts['connections']} connections, {counts['pools']} pools, {counts['variables']} variables")
        return 0
    if args.command == "sync":
        from channelsync.cli.sync import run_sync

        return run_sync(args.template, args.integration, preview=args.preview)
    if args.command == "status":
        from channelsync.cli.status import print_status

        return print_status(args.integration, args.limit)
    raise AssertionError(args.command)


def _serve(args: argparse.Namespace) -> int:
    import logging

    from channelsync.sandbox.server import SandboxServer

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    server = SandboxServer(host=args.host, port=args.port, scale=args.scale, seed=args.seed)
    print(f"sandbox serving {', '.join(sorted(server.app.emulators))} at {server.url} "
          f"(scale {args.scale}, seed {args.seed}); control API at {server.url}/_sandbox/health", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
