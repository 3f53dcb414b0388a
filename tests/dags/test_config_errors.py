"""A bad integrations file gives one clear error naming the file, the integration and the field."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from channelsync.config import load_config
from channelsync.dagfactory import build_dags
from channelsync.errors import ConfigError
from tests.dags.conftest import DEMO_CONFIG


def _write(tmp_path: Path, mutate) -> Path:  # type: ignore[no-untyped-def]
    data = yaml.safe_load(DEMO_CONFIG.read_text())
    mutate(data)
    path = tmp_path / "integrations.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda d: d["integrations"][1]["psa"].update(system="halo"), "integration 'demo-connectwise': psa.system"),
        (lambda d: d["integrations"][0]["templates"]["catalog_sync"]["options"]["markup"].update(percent="lots"),
         "integration 'demo-autotask': templates.catalog_sync.options.markup.percent"),
        (lambda d: d["integrations"][0].update(colour="blue"), "integration 'demo-autotask': colour"),
        (lambda d: d["integrations"][1].update(name="demo-autotask"), "used twice"),
        (lambda d: d["integrations"][0]["distributors"].pop("tdsynnex"),
         "integration 'demo-autotask': template 'catalog_sync' needs distributor(s) tdsynnex"),
    ],
)
def test_bad_file_names_file_integration_and_field(tmp_path: Path, mutate, expected: str) -> None:  # type: ignore[no-untyped-def]
    path = _write(tmp_path, mutate)
    with pytest.raises(ConfigError) as error:
        build_dags(path)
    assert str(path) in str(error.value)
    assert expected in str(error.value)


def test_unparseable_yaml_is_one_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("integrations: [\n  - name: x\n    psa: {system: autotask")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(path)


def test_disabled_templates_make_no_dag(tmp_path: Path) -> None:
    path = _write(tmp_path, lambda d: d["integrations"][0]["templates"]["price_availability"].update(enabled=False))
    assert "demo-autotask__price_availability" not in build_dags(path)
    assert "demo-autotask__catalog_sync" in build_dags(path)
