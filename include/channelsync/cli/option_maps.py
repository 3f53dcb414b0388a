"""``channelsync category-map`` and ``channelsync service-override``: catalog_sync's category mappings and
subscription_billing's service overrides as saved in the state store over the integrations file's
(``state/option_maps.py``; the templates use the overlay of ``channelsync.effective_maps``), with an audit
row per change — the same store, rules and audit as the UI's Category mappings and Service overrides pages.

    channelsync category-map list    --integration NAME [--json]          the effective map, key by key
    channelsync category-map set     --integration NAME CODE CATEGORY [--by USER]
    channelsync category-map exclude --integration NAME CODE [--by USER]  not synced, whatever the file says
    channelsync category-map remove  --integration NAME CODE [--by USER]  the file decides again
    channelsync category-map history --integration NAME [CODE] [--json]
    channelsync service-override list|set SKU SERVICE|exclude SKU|remove SKU|history [SKU] …   the same, per SKU
"""

from __future__ import annotations

import argparse
from typing import Any

# command → (the store's kind, help, key, value); the parser is built without importing the state store
COMMANDS = {"category-map": ("category", "catalog_sync's category mappings (TD SYNNEX code → PSA category)",
                             "category code", "PSA category"),
            "service-override": ("service", "subscription_billing's service overrides (retired SKU → PSA service)",
                                 "SKU", "PSA service name")}


def register(commands: Any, common: argparse.ArgumentParser) -> None:
    """Add ``category-map`` and ``service-override`` to the top-level subparsers (``cli/main.py``)."""
    for command, (_, text, key_label, value_label) in COMMANDS.items():
        actions = commands.add_parser(command, help=text).add_subparsers(dest="action", required=True)
        base = argparse.ArgumentParser(add_help=False, parents=[common])
        base.add_argument("--integration", required=True, help="the integration (config/integrations.yaml)")
        who = argparse.ArgumentParser(add_help=False)
        who.add_argument("--by", default=None, help="who makes the change (default: the OS user)")
        as_json = argparse.ArgumentParser(add_help=False)
        as_json.add_argument("--json", action="store_true", help="print JSON instead of a table")
        actions.add_parser("list", help="the effective map, key by key", parents=[base, as_json])
        set_ = actions.add_parser("set", help=f"map a {key_label} (wins over the file)", parents=[base, who])
        set_.add_argument("key", help=key_label)
        set_.add_argument("value", help=value_label)
        for name, help_text in (("exclude", "leave the key out, whatever the file says"),
                                ("remove", "delete the saved entry: the file decides again")):
            action = actions.add_parser(name, help=help_text, parents=[base, who])
            action.add_argument("key", help=key_label)
        history = actions.add_parser("history", help="the audit of the saved entries", parents=[base, as_json])
        history.add_argument("key", nargs="?", help=f"only this {key_label}")


def run(args: argparse.Namespace) -> int:
    from channelsync import settings
    from channelsync.cli import checks
    from channelsync.cli.mapping import _integration, default_actor
    from channelsync.config import load_config
    from channelsync.state.option_maps import KINDS

    kind = KINDS[COMMANDS[args.command][0]]
    path = settings.config_path()
    integration = _integration(load_config(path), path, args.integration)
    if kind.template not in integration.templates:
        from channelsync.cli.mapping import _usage

        raise _usage(f"integration {integration.name!r} has no {kind.template} template: {args.command} is for it")
    url = checks.state_store()
    by = str(getattr(args, "by", None) or default_actor())
    return _ACTIONS[args.action](kind, integration, url, args, by)


def _list(kind: Any, integration: Any, url: str, args: argparse.Namespace, by: str) -> int:
    from channelsync.cli.mapping import _json, _table
    from channelsync.effective_maps import explain, file_map
    from channelsync.state.option_maps import entries

    rows = explain(file_map(integration, kind), entries(url, kind, integration.name))
    if args.json:
        return _json([{"key": r.key, "effective": r.effective, "source": r.source, "file": r.file_value,
                       "entry": r.entry.as_dict() if r.entry else None} for r in rows])
    if not rows:
        print(f"integration {integration.name} maps no {kind.key_label}")
        return 0
    _table([kind.key_label, "used", "from", "in the file", "changed by", "changed at"],
           [[r.key, r.effective if r.effective is not None else "(not used)", r.source, r.file_value,
             r.entry.updated_by if r.entry else None, r.entry.updated_at[:19] if r.entry else None] for r in rows])
    return 0


def _set(kind: Any, integration: Any, url: str, args: argparse.Namespace, by: str) -> int:
    from channelsync.state.option_maps import set_entry

    return _done(kind, args.key, set_entry(url, kind, integration.name, args.key, args.value, by=by))


def _exclude(kind: Any, integration: Any, url: str, args: argparse.Namespace, by: str) -> int:
    from channelsync.state.option_maps import exclude_entry

    return _done(kind, args.key, exclude_entry(url, kind, integration.name, args.key, by=by))


def _remove(kind: Any, integration: Any, url: str, args: argparse.Namespace, by: str) -> int:
    from channelsync.state.option_maps import remove_entry

    return _done(kind, args.key, remove_entry(url, kind, integration.name, args.key, by=by))


def _history(kind: Any, integration: Any, url: str, args: argparse.Namespace, by: str) -> int:
    from channelsync.cli.mapping import _diff, _json, _table
    from channelsync.state.option_maps import history

    rows = history(url, kind, integration.name, args.key)
    if args.json:
        return _json(rows)
    if not rows:
        print("no changes recorded")
        return 0
    _table(["changed at", "by", "action", kind.key_label, "change"],
           [[r["changed_at"][:19], r["changed_by"], r["action"], r["key"], _diff(r["before"], r["after"])]
            for r in rows], widths={"change": 140})
    return 0


def _done(kind: Any, key: str, action: str | None) -> int:
    print(f"{action or 'unchanged'}: {kind.key_label} {key.strip()} (applies from the next run; "
          f"`{kind.template}` preview shows it)")
    return 0


_ACTIONS = {"list": _list, "set": _set, "exclude": _exclude, "remove": _remove, "history": _history}
