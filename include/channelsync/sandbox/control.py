"""The control API under ``/_sandbox``: health, reset, faults, request log, concurrency high-water
marks, clock, direct record edits."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from channelsync.sandbox.framework import SandboxRequest, SandboxResponse, json_response

if TYPE_CHECKING:
    from channelsync.sandbox.server import SandboxApp


def handle_control(app: SandboxApp, request: SandboxRequest) -> SandboxResponse:
    parts = [p for p in request.path.split("/") if p]
    if not parts:
        return _health(app)
    head, rest = parts[0].lower(), parts[1:]
    try:
        if head == "health":
            return _health(app)
        if head == "reset" and request.method == "POST":
            body = request.json() or {}
            app.reset(scale=body.get("scale", app.scale), seed=int(body.get("seed", app.seed)))
            return _health(app)
        if head == "faults":
            return _faults(app, request)
        if head == "requests":
            if request.method == "DELETE":
                app.log.clear()
                return json_response(200, {"requests": []})
            system = request.arg("system")
            since = int(request.arg("since") or 0)
            return json_response(200, {"requests": app.log.entries(system, since)})
        if head == "counters":
            return json_response(200, {"counters": app.log.counters()})
        if head == "concurrency":
            # {system: {entity: most requests in flight at once}} since the last reset (DELETE resets).
            if request.method == "DELETE":
                app.concurrency.reset()
            return json_response(200, {"concurrency": app.concurrency.maxima(),
                                       "in_flight": app.concurrency.in_flight()})
        if head == "clock":
            return _clock(app, request)
        if head == "records":
            return _records(app, request, rest)
        if head in app.emulators:
            sub = SandboxRequest(
                request.method, "/" + "/".join(rest), request.query_string, request.headers, request.body,
                system=head, base_url=request.base_url,
            )
            return app.emulators[head].control(sub)
    except (ValueError, TypeError, KeyError) as exc:
        return json_response(400, {"error": str(exc)})
    return json_response(404, {"error": f"unknown control endpoint {request.method} {request.path}"})


def _health(app: SandboxApp) -> SandboxResponse:
    return json_response(
        200,
        {
            "status": "ok",
            "systems": sorted(app.emulators),
            "scale": app.scale,
            "seed": app.seed,
            "clock": app.context.clock.describe(),
        },
    )


def _faults(app: SandboxApp, request: SandboxRequest) -> SandboxResponse:
    book = app.context.faults
    if request.method == "DELETE":
        book.clear()
    elif request.method == "POST":
        body = request.json()
        if isinstance(body, dict) and "rules" in body:
            rules, replace = body["rules"], bool(body.get("replace", True))
        elif isinstance(body, list):
            rules, replace = body, True
        elif isinstance(body, dict):
            rules, replace = [body], False
        else:
            raise ValueError("POST /_sandbox/faults takes a rule, a list of rules or {rules, replace}")
        book.set(rules, replace=replace)
    return json_response(200, {"rules": book.describe()})


def _clock(app: SandboxApp, request: SandboxRequest) -> SandboxResponse:
    clock = app.context.clock
    if request.method == "POST":
        body = request.json() or {}
        if body.get("reset"):
            clock.reset()
        if "now" in body:
            clock.set(datetime.fromisoformat(body["now"]), frozen=bool(body.get("frozen", False)))
        if "advance_days" in body or "advance_seconds" in body:
            clock.advance(
                timedelta(days=float(body.get("advance_days", 0)), seconds=float(body.get("advance_seconds", 0)))
            )
    return json_response(200, clock.describe())


def _key(raw: str) -> Any:
    return int(raw) if raw.lstrip("-").isdigit() else raw


def _records(app: SandboxApp, request: SandboxRequest, rest: list[str]) -> SandboxResponse:
    if not rest:
        return json_response(200, {"systems": sorted(app.emulators)})
    emulator = app.emulators.get(rest[0].lower())
    if emulator is None:
        return json_response(404, {"error": f"unknown system {rest[0]}"})
    store = emulator.store
    if len(rest) == 1:
        return json_response(200, {"tables": {name: len(store.table(name)) for name in store.names()}})
    if not store.has(rest[1]):
        return json_response(404, {"error": f"{emulator.system} has no table {rest[1]}"})
    table = store.table(rest[1])
    if len(rest) == 2:
        if request.method == "POST":
            record = table.insert(dict(request.json() or {}))
            emulator.on_direct_edit(table.name, record)
            return json_response(201, record)
        filters = {k: v[-1] for k, v in request.query.items()}
        rows = [r for r in table.rows() if all(str(r.get(k)) == v for k, v in filters.items())]
        return json_response(200, {"records": rows, "count": len(rows)})
    key = _key(rest[2])
    if request.method == "GET":
        row = table.get(key)
        return json_response(200 if row else 404, row or {"error": "not found"})
    if request.method in ("PATCH", "PUT"):
        row = table.update(key, dict(request.json() or {}))
        if row is None:
            return json_response(404, {"error": "not found"})
        emulator.on_direct_edit(table.name, row)
        return json_response(200, row)
    if request.method == "DELETE":
        row = table.delete(key)
        return json_response(200 if row else 404, row or {"error": "not found"})
    return json_response(405, {"error": "method not allowed"})
