"""channelsync as an Airflow provider: its six connection types in Airflow's connection form.

Registered by the ``apache_airflow_provider`` entry point of ``pyproject.toml``; Airflow calls
:func:`get_provider_info` in every process it starts, so this imports nothing but the form
declarations (:mod:`channelsync.hooks.forms`): no hook, client or Airflow module. Each connection type
carries its form (``conn-fields``, ``ui-field-behaviour``), which Airflow 3.2+ renders without
importing the hook; the hook is imported when a connection is tested.
"""

from __future__ import annotations

from importlib import metadata
from typing import Any

from channelsync.hooks.forms import FORMS

PACKAGE = "channelsync"


def _version() -> str:
    try:
        return metadata.version(PACKAGE)
    except metadata.PackageNotFoundError:  # imported from a checkout that is not installed
        return "0.0.0"


def get_provider_info() -> dict[str, Any]:
    return {
        "package-name": PACKAGE,
        "name": "channelsync",
        "description": "Distributor ↔ PSA integration engine: connection types for Autotask, ConnectWise PSA, "
                       "TD SYNNEX (XML and StreamOne Ion), Crayon Cloud-iQ and Pax8.",
        "versions": [_version()],
        "connection-types": [form.provider_entry() for form in FORMS.values()],
    }
