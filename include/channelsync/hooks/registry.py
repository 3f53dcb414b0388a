"""System name → hook class, resolved lazily (hooks import Airflow)."""

from __future__ import annotations

from typing import Any

from channelsync.imports import load_object

HOOKS: dict[str, str] = {
    "autotask": "channelsync.hooks.autotask:AutotaskHook",
    "connectwise": "channelsync.hooks.connectwise:ConnectWiseHook",
    "tdsynnex_xml": "channelsync.hooks.tdsynnex:TdSynnexXmlHook",
    "tdsynnex_ion": "channelsync.hooks.tdsynnex:TdSynnexIonHook",
    "crayon": "channelsync.hooks.crayon:CrayonHook",
    "pax8": "channelsync.hooks.pax8:Pax8Hook",
}


def hook_for(system: str) -> Any:
    return load_object(HOOKS[system])
