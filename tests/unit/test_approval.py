"""Approval gates without Airflow: the ``approval`` setting (validated with the file, one line per mistake),
when a plan needs a person (``runs/approval.requirement``), what it is measured by and the request's text.
The decisions in the state store: tests/state/test_approvals.py; the gate through Airflow:
tests/dags/test_approval_gates.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

from channelsync.config import load_config
from channelsync.errors import ConfigError
from channelsync.runs import approval
from channelsync.runs.approval_config import ApprovalConfig
from tests.dags.conftest import DEMO_CONFIG


def _config(tmp_path: Path, integration: dict[str, Any] | None = None,
            templates: dict[str, dict[str, Any]] | None = None) -> Path:
    data = yaml.safe_load(DEMO_CONFIG.read_text())
    first = data["integrations"][0]
    if integration is not None:
        first["approval"] = integration
    for name, setting in (templates or {}).items():
        first["templates"][name]["approval"] = setting
    path = tmp_path / "integrations.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.mark.parametrize(
    ("integration", "templates", "expected"),
    [
        ({"mode": "sometimes"}, None, "integration 'demo-autotask': approval.mode: Input should be 'never', "),
        ({"mode": "threshold"}, None, "approval.mode: threshold needs at least one of thresholds.changed_share"),
        ({"timeout_hours": 0}, None, "approval.timeout_hours: Input should be greater than 0"),
        ({"thresholds": {"changed_share": 1.5}}, None, "approval.thresholds.changed_share: Input should be less"),
        ({"thresholds": {"colour": 1}}, None, "approval.thresholds.colour: Extra inputs are not permitted"),
        (None, {"health": {"thresholds": {"orders": 3}}},
         "templates.health.approval.thresholds.orders: health does not measure orders (it measures: nothing"),
        (None, {"catalog_sync": {"thresholds": {"orders": 3}}},
         "templates.catalog_sync.approval.thresholds.orders: catalog_sync does not measure orders (it measures: "
         "changed_share, deactivated_share)"),
        (None, {"submit_orders": {"mode": "threshold"}},
         "templates.submit_orders.approval.mode: threshold needs one of thresholds.orders for submit_orders"),
        ({"approvers": ["alice smith"]}, None, "approval.approvers.0: String should match pattern"),
        (None, {"health": {"mode": "always"}},
         "templates.health.approval.mode: health writes nothing to a PSA or distributor, so it is never gated"),
        (None, {"catalog_sync": {"first_runs": 0}},
         "templates.catalog_sync.approval.first_runs: Input should be greater than or equal to 1"),
    ],
)
def test_a_bad_approval_setting_is_one_line_naming_the_field(tmp_path: Path, integration: dict[str, Any] | None,
                                                             templates: dict[str, dict[str, Any]] | None,
                                                             expected: str) -> None:
    path = _config(tmp_path, integration, templates)
    with pytest.raises(ConfigError) as error:
        load_config(path)
    message = str(error.value)
    assert "\n" not in message and str(path) in message and expected in message, message


def test_a_threshold_no_configured_template_measures_is_refused(tmp_path: Path) -> None:
    data = yaml.safe_load(DEMO_CONFIG.read_text())
    first = data["integrations"][0]
    first["templates"] = {"health": first["templates"]["health"]}
    first["alerts"] = {}
    first["approval"] = {"mode": "threshold", "thresholds": {"orders": 5}}
    path = tmp_path / "integrations.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(ConfigError, match=r"approval.thresholds.orders: no configured template measures it"):
        load_config(path)


def test_a_template_overrides_the_integration_key_by_key(tmp_path: Path) -> None:
    path = _config(tmp_path, {"mode": "first_runs", "first_runs": 2, "timeout_hours": 8,
                              "thresholds": {"changed_share": 0.2, "orders": 10}},
                   {"catalog_sync": {"mode": "threshold", "thresholds": {"deactivated_share": 0.05},
                                     "approvers": ["alice"]},
                    "submit_orders": {"mode": "never"}})
    integration = load_config(path).get("demo-autotask")
    catalog = integration.approval_for("catalog_sync")
    assert (catalog.mode, catalog.first_runs, catalog.timeout_hours) == ("threshold", 2, 8)
    assert catalog.set_thresholds("catalog_sync") == {"changed_share": 0.2, "deactivated_share": 0.05}
    assert catalog.approvers == ["alice"] and integration.approval_for("submit_orders").approvers == []
    assert integration.approval_for("submit_orders").mode == "never"
    assert integration.approval_for("price_availability").mode == "first_runs"
    # Integration-wide thresholds apply where measured: order_status measures none of them and never asks.
    assert integration.approval_for("order_status").set_thresholds("order_status") == {}
    assert integration.approval_for("health").mode == "never"  # writes nothing: never gated


# -- when a plan needs a person ---------------------------------------------------------------------

PLAN = {"run_id": 7, "counts": {"create": 2, "update": 3, "deactivate": 1, "unchanged": 14}, "partitions": []}


def _need(config: dict[str, Any], *, template: str = "catalog_sync", planned: dict[str, Any] = PLAN,
          preview: bool = False, approved: int = 0, partitioned: bool = False) -> approval.Requirement:
    return approval.requirement(ApprovalConfig.model_validate(config), template=template, partitioned=partitioned,
                                preview=preview, planned=planned, upstream={}, approved_runs=approved)


def test_modes() -> None:
    assert not _need({"mode": "never"}).required
    assert _need({"mode": "always"}).required
    assert _need({"mode": "first_runs", "first_runs": 2}, approved=1).required
    done = _need({"mode": "first_runs", "first_runs": 2}, approved=2)
    assert not done.required and done.reasons == ["the first 2 run(s) were approved"]


def test_a_preview_or_a_plan_that_writes_nothing_never_asks() -> None:
    assert _need({"mode": "always"}, preview=True).reasons == ["a preview writes nothing"]
    quiet = {"run_id": 7, "counts": {"unchanged": 20, "conflict": 1, "duplicate": 0}, "partitions": []}
    assert _need({"mode": "always"}, planned=quiet).reasons == ["the plan writes nothing"]
    no_orders = {"run_id": 7, "counts": {"invalid": 2}, "partitions": []}
    assert not _need({"mode": "always"}, template="submit_orders", planned=no_orders, partitioned=True).required


def test_thresholds_name_what_crossed_them() -> None:
    crossed = _need({"mode": "threshold", "thresholds": {"changed_share": 0.1, "deactivated_share": 0.1}})
    assert crossed.required
    assert crossed.reasons == ["4 of 20 planned item(s) updated or deactivated (20.0%): above the threshold 10.0%"]
    assert [m.name for m in crossed.measures] == ["changed_share", "deactivated_share"]
    quiet = _need({"mode": "threshold", "thresholds": {"changed_share": 0.25}})
    assert not quiet.required and quiet.reasons[0].startswith("no threshold crossed (4 of 20 planned item(s)")
    orders = {"run_id": 7, "counts": {"submit": 12, "mark_invalid": 2}, "partitions": [f"PO-{n}" for n in range(14)]}
    many = _need({"mode": "threshold", "thresholds": {"orders": 10}}, template="submit_orders", planned=orders,
                 partitioned=True)
    assert many.reasons == ["12 purchase order(s) to submit: above the threshold 10"]
    # A threshold the template does not measure is not looked at (catalog_sync has no orders).
    assert not _need({"mode": "threshold", "thresholds": {"orders": 0}}).required


def test_the_billing_gap_is_what_the_invoice_has_and_the_run_will_not_post(tmp_path: Path) -> None:
    lines = pd.DataFrame({"customer_key": ["c1", "c1", "c2", "c3"], "currency": ["EUR"] * 4,
                          "cost_total": [60.0, 20.0, 15.0, 5.0]})
    lines.to_parquet(tmp_path / "extract.parquet")
    lines[lines["customer_key"] != "c3"].to_parquet(tmp_path / "valid.parquet")  # c3's line quarantined
    upstream = {"extract": {"path": str(tmp_path / "extract.parquet")},
                "validate": {"path": str(tmp_path / "valid.parquet")}}
    planned = {"run_id": 7, "counts": {"customers": 1, "unmapped": 1}, "partitions": ["c1"]}  # c2 unmapped
    [gap] = approval.measure("subscription_billing", planned, upstream, wanted={"billing_gap_share"})
    assert gap.value == pytest.approx(0.2)
    assert gap.text == "80.00 EUR of the invoice total 100.00 EUR (at cost) to post (20.0% not posted)"
    need = approval.requirement(ApprovalConfig.model_validate({"mode": "threshold",
                                                               "thresholds": {"billing_gap_share": 0.1}}),
                                template="subscription_billing", partitioned=True, preview=False, planned=planned,
                                upstream=upstream, approved_runs=0)
    assert need.required and need.reasons == [gap.text + ": above the threshold 10.0%"]


def test_the_digest_is_of_the_plan_files_and_counts(tmp_path: Path) -> None:
    (tmp_path / "plan.parquet").write_bytes(b"plan one")
    (tmp_path / "diff.csv").write_bytes(b"diff")
    planned = {**PLAN, "plan_path": str(tmp_path / "plan.parquet"), "diff_path": str(tmp_path / "diff.csv")}
    first = approval.plan_digest(planned)
    assert approval.plan_digest(dict(planned)) == first
    assert approval.plan_digest({**planned, "counts": {"update": 4}}) != first
    (tmp_path / "plan.parquet").write_bytes(b"plan two")
    assert approval.plan_digest(planned) != first


def test_the_request_says_what_why_and_where_the_diff_is() -> None:
    need = _need({"mode": "threshold", "thresholds": {"changed_share": 0.1, "deactivated_share": 0.5}})
    subject, body = approval.request_text(
        integration="acme", template="catalog_sync", run_id=7, run_key="acme__catalog_sync/manual__1",
        planned={**PLAN, "diff_path": "file:///staging/plan_diff.csv"}, requirement=need, timeout_hours=4,
        links={"the reconcile log": "http://airflow/dags/acme__catalog_sync/runs/manual__1/tasks/reconcile"})
    assert subject == "Approve the plan of acme · catalog_sync (run 7): 2 create, 1 deactivate, 14 unchanged, 3 update"
    assert "- 4 of 20 planned item(s) updated or deactivated (20.0%): above the threshold 10.0%" in body
    assert "| deactivate | 1 |" in body and "Also measured: 1 of 20 planned item(s) deactivated (5.0%)." in body
    assert "[the reconcile log](http://airflow/dags/acme__catalog_sync/runs/manual__1/tasks/reconcile)" in body
    assert "`file:///staging/plan_diff.csv`" in body and "no answer within 4 h, writes nothing" in body
