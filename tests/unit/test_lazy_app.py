"""The plugin's pages are imported on their first request, not when a process loads the plugins (a task's
process loads them too, and never serves a page)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Mount, Route
from starlette.testclient import TestClient

ROOT = Path(__file__).resolve().parents[2]


def test_loading_the_plugin_does_not_import_the_pages() -> None:
    script = (f"import sys, json; sys.path.insert(0, {str(ROOT / 'plugins')!r}); import channelsync_plugin; "
              "print(json.dumps([m for m in ('channelsync_ui.app', 'fastapi', 'channelsync.ui.dashboard') "
              "if m in sys.modules]))")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120)
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []


def hello(request: Request) -> PlainTextResponse:
    return PlainTextResponse(f"hello from {request.url.path}")


PAGES = Starlette(routes=[Route("/page", hello)])
imported: list[str] = []


def test_a_mounted_lazy_app_imports_its_target_once_and_forwards_every_request(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.syspath_prepend(str(ROOT / "plugins"))
    from channelsync_ui.lazy_app import LazyApp

    lazy = LazyApp(f"{__name__}:PAGES")
    real_load = lazy.load
    monkeypatch.setattr(lazy, "load", lambda: imported.append("load") or real_load())
    client = TestClient(Starlette(routes=[Mount("/channelsync", app=lazy)]))
    assert imported == []
    for _ in range(3):
        answer = client.get("/channelsync/page")
        assert (answer.status_code, answer.text) == (200, "hello from /channelsync/page")
    assert imported == ["load"]
    assert client.get("/channelsync/missing").status_code == 404
