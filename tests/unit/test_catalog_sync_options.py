"""catalog_sync's sync_inventory: validated with the configuration, refused for ConnectWise, and turned
into a managed stock field of the plan plus the adapter's inventory location (Autotask)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from channelsync.adapters.autotask_products import AutotaskProducts
from channelsync.adapters.connectwise_products import ConnectWiseProducts
from channelsync.canonical.limits import STOCK_WRITABLE
from channelsync.config import load_config
from channelsync.errors import ConfigError
from channelsync.templates.catalog_sync import options as options_module
from channelsync.templates.catalog_sync.options import CatalogSyncOptions
from channelsync.templates.catalog_sync.planning import catalog_adapter, catalog_options

DEMO_CONFIG = Path(__file__).resolve().parents[2] / "config" / "integrations.yaml"


def _config(tmp_path: Path, integration: int, **options: Any) -> Path:
    data = yaml.safe_load(DEMO_CONFIG.read_text())
    data["integrations"][integration]["templates"]["catalog_sync"]["options"].update(options)
    path = tmp_path / "integrations.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_sync_inventory_on_connectwise_is_refused_when_the_configuration_is_loaded(tmp_path: Path) -> None:
    path = _config(tmp_path, 1, sync_inventory=True, inventory_location="TD SYNNEX")
    with pytest.raises(ConfigError) as refused:
        load_config(path)
    message = str(refused.value)
    assert str(path) in message and "integration 'demo-connectwise'" in message
    assert "templates.catalog_sync.options.sync_inventory" in message
    assert "ConnectWise has no writable on-hand quantity" in message


def test_sync_inventory_on_autotask_is_accepted_with_a_location(tmp_path: Path) -> None:
    config = load_config(_config(tmp_path, 0, sync_inventory=True, inventory_location="TD SYNNEX"))
    options = config.get("demo-autotask").templates["catalog_sync"].options
    assert options["sync_inventory"] is True


@pytest.mark.parametrize(("options", "expected"), [
    ({"sync_inventory": True}, "name the Autotask inventory location"),
    ({"inventory_location": "TD SYNNEX"}, "only with sync_inventory: true"),
])
def test_inventory_options_go_together(options: dict[str, Any], expected: str) -> None:
    with pytest.raises(ValidationError, match=expected) as refused:
        CatalogSyncOptions.model_validate(options)
    assert refused.value.errors()[0]["loc"] == ("inventory_location",)


def test_sync_inventory_makes_stock_a_managed_field_and_configures_the_adapter() -> None:
    off = CatalogSyncOptions()
    on = CatalogSyncOptions(sync_inventory=True, inventory_location="TD SYNNEX")
    assert "quantity_on_hand" not in catalog_options(off, psa_system="autotask").fields
    planner = catalog_options(on, psa_system="autotask")
    assert "quantity_on_hand" in planner.fields and "quantity_on_hand" not in planner.fingerprint_fields
    assert "vendor" in planner.fingerprint_fields
    adapter = catalog_adapter(on, "autotask", object())
    assert isinstance(adapter, AutotaskProducts) and adapter.inventory_location == "TD SYNNEX"
    plain = catalog_adapter(off, "autotask", object())
    assert isinstance(plain, AutotaskProducts) and plain.inventory_location is None
    assert isinstance(catalog_adapter(off, "connectwise", object()), ConnectWiseProducts)


def test_options_that_reach_a_run_without_the_configuration_check_are_refused_too() -> None:
    on = CatalogSyncOptions(sync_inventory=True, inventory_location="TD SYNNEX")
    with pytest.raises(ConfigError, match="sync_inventory"):
        catalog_options(on, psa_system="connectwise")
    with pytest.raises(ConfigError, match="sync_inventory"):
        catalog_adapter(on, "connectwise", object())


def test_the_options_module_agrees_with_the_canonical_stock_table() -> None:
    """options.py cannot import canonical (pandas at DAG parse time), so it keeps its own copy."""
    assert set(options_module.STOCK_PSAS) == {psa for psa, writable in STOCK_WRITABLE.items() if writable}
