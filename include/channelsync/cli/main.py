"""``channelsync``: one entry point, argparse subcommands, ``--flag value`` style throughout.

    channelsync db upgrade [--url URL]
    channelsync sandbox serve [--host H] [--port P] [--scale S] [--seed N]
    channelsync config check [--file F]
    channelsync airflow load-settings [--file F] [--sandbox-url URL]
    channelsync sync TEMPLATE --integration NAME [--preview]
    channelsync status [--integration NAME] [--limit N]
    channelsync mapping list|set|enable|disable|remove|history|suggest|unmapped --integration NAME …
    channelsync category-map|service-override list|set|exclude|remove|history --integration NAME …

A failure the user can fix (a set-up step not done, a bad file, an unknown name, a server not
running) ends in ONE line on stderr saying what is wrong and the command that fixes it, exit code 2;
``--debug`` (before or after the command) prints the traceback too. See ``cli/checks.py``.
"""

from __future__ import annotations

import argparse
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any


def _parser() -> argparse.ArgumentParser:
    # --debug is accepted before and after the command (SUPPRESS: a subcommand does not reset it).
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                        help="on error, print the traceback too")
    parser = argparse.ArgumentParser(prog="channelsync", description="Distributor ↔ PSA integration engine",
                                     parents=[common])
    commands = _Commands(parser.add_subparsers(dest="command", required=True, metavar="COMMAND"), common)

    db = commands.add_parser("db", help="state store schema").add_subparsers(dest="action", required=True)
    upgrade = db.add_parser("upgrade", help="create or upgrade the state store schema (idempotent)",
                            parents=[common])
    upgrade.add_argument("--url", help="SQLAlchemy URL (default: CHANNELSYNC_STATE_URL, Airflow's "
                                       "channelsync_state connection, or the SQLite file)")

    sandbox = commands.add_parser("sandbox", help="the vendor API emulators").add_subparsers(
        dest="action", required=True)
    serve = sandbox.add_parser("serve", help="serve every emulator on one port", parents=[common])
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8700)
    serve.add_argument("--scale", default="small", choices=["tiny", "small", "medium", "large"])
    serve.add_argument("--seed", type=int, default=42)

    config = commands.add_parser("config", help="the integrations file").add_subparsers(dest="action", required=True)
    check = config.add_parser("check", help="validate the file and list the DAGs it makes", parents=[common])
    check.add_argument("--file", type=Path)

    airflow = commands.add_parser("airflow", help="Airflow set-up").add_subparsers(dest="action", required=True)
    load = airflow.add_parser("load-settings", help="load airflow_settings.yaml into Airflow", parents=[common])
    load.add_argument("--file", type=Path, help="default: ./airflow_settings.yaml, else the checkout's")
    load.add_argument("--sandbox-url", default="http://127.0.0.1:8700")

    sync = commands.add_parser("sync", help="run one template's DAG now, in this process")
    sync.add_argument("template")
    sync.add_argument("--integration", required=True)
    sync.add_argument("--preview", action="store_true", help="show the plan, write nothing")

    status = commands.add_parser("status", help="recent sync runs")
    status.add_argument("--integration")
    status.add_argument("--limit", type=int, default=20)

    from channelsync.cli.mapping import register as register_mapping
    from channelsync.cli.option_maps import register as register_option_maps

    register_mapping(commands, common)
    register_option_maps(commands, common)
    return parser


class _Commands:
    """The top-level subparsers, each given the common options (``--debug``)."""

    def __init__(self, subparsers: Any, common: argparse.ArgumentParser) -> None:
        self.subparsers, self.common = subparsers, common

    def add_parser(self, name: str, **kwargs: Any) -> argparse.ArgumentParser:
        parser: argparse.ArgumentParser = self.subparsers.add_parser(name, parents=[self.common], **kwargs)
        return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    debug = bool(getattr(args, "debug", False))
    try:
        return _dispatch(args)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        from channelsync.cli.errors import explain, one_line

        if debug:
            traceback.print_exception(exc, file=sys.stderr)
        line = explain(exc)
        if line is None:
            detail = one_line(str(exc))[:300]
            print(f"error: unexpected {type(exc).__name__}{': ' + detail if detail else ''} "
                  "(`--debug` shows the traceback)", file=sys.stderr)
            return 1
        print(f"error: {line}", file=sys.stderr)
        return 2


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
        from channelsync.cli import checks

        checks.airflow_metadata()
        counts = load_into_airflow(_settings_file(args.file), sandbox_url=args.sandbox_url)
        print(f"loaded {counts['connections']} connections, {counts['pools']} pools, {counts['variables']} variables")
        return 0
    if args.command == "sync":
        from channelsync.cli.sync import run_sync

        return run_sync(args.template, args.integration, preview=args.preview)
    if args.command == "status":
        from channelsync.cli.status import print_status

        return print_status(args.integration, args.limit)
    if args.command == "mapping":
        from channelsync.cli.mapping import run as run_mapping

        return run_mapping(args)
    if args.command in ("category-map", "service-override"):
        from channelsync.cli.option_maps import run as run_option_maps

        return run_option_maps(args)
    raise AssertionError(args.command)


def _settings_file(given: Path | None) -> Path:
    if given is not None:
        return given
    here = Path("airflow_settings.yaml")
    if here.exists():
        return here
    from channelsync import settings

    return settings.REPO_ROOT / "airflow_settings.yaml"


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
