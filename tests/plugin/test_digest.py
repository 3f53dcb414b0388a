"""The weekly digest through a real SMTP server on loopback (aiosmtpd): one e-mail per integration to its
list with each template's success rate, processing time, volumes and errors by code against the week
before; sent once per week, and again the next day when the server refused it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select, update

from channelsync import digest
from channelsync.config import ChannelsyncConfig
from channelsync.state import repository
from channelsync.state.db import session_scope, upgrade
from channelsync.state.models import AlertLog, SyncRun
from tests.e2e.smtp_sink import Sink

NOW = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)  # a Wednesday: the last full week is 16–22 Nov (2026-W47)
CONFIG = ChannelsyncConfig.model_validate({"integrations": [{
    "name": "acme", "psa": {"system": "autotask", "conn_id": "x"}, "distributors": {},
    "alerts": {"emails": ["ops@acme.example"]},
    "templates": {"catalog_sync": {}, "order_status": {}}}]})


def run(url: str, key: str, started: datetime, status: str, *, items: list[dict[str, object]] = (),  # type: ignore[assignment]
        duration: float = 60.0) -> None:
    run_id = repository.start_run(url, integration="acme", template="catalog_sync", run_key=key, preview=False)
    if items:
        repository.replace_items(url, run_id, "load", [{"entity_type": "product", **i} for i in items])
    repository.finish_run(url, run_id, status=status, counts=repository.item_counts(url, run_id))
    with session_scope(url) as session:
        session.execute(update(SyncRun).where(SyncRun.id == run_id).values(
            started_at=started, finished_at=started + timedelta(seconds=duration), duration_s=duration))


def test_the_weekly_digest_compares_the_week_with_the_one_before_and_is_sent_once(tmp_path: Path,
                                                                                   mail: Sink) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    upgrade(url)
    this_week, week_before = datetime(2026, 11, 17, 3, tzinfo=UTC), datetime(2026, 11, 10, 3, tzinfo=UTC)
    for day in range(4):  # this week: 3 fine runs and a failure, 2 failed items of 10
        items = [{"source_key": f"S{day}-{n}", "outcome": "updated"} for n in range(2)]
        if day == 1:
            items += [{"source_key": f"S{day}-x{n}", "outcome": "failed", "error_code": "AUTOTASK_VALIDATION"}
                      for n in range(2)]
        run(url, f"w47/{day}", this_week + timedelta(days=day), "failure" if day == 3 else "success",
            items=items if day != 3 else [], duration=120.0)
    for day in range(2):  # the week before: 2 fine runs, 1 item each, faster
        run(url, f"w46/{day}", week_before + timedelta(days=day), "success",
            items=[{"source_key": f"P{day}", "outcome": "updated"}], duration=60.0)
    run(url, "w48/0", datetime(2026, 11, 24, 3, tzinfo=UTC), "failure")  # this week's: not in the digest

    mail.refuse_next(3)
    assert digest.send_due(CONFIG, state_url=url, now=NOW) == {"acme": "failed"}
    assert digest.send_due(CONFIG, state_url=url, now=NOW + timedelta(days=1)) == {"acme": "sent"}
    assert digest.send_due(CONFIG, state_url=url, now=NOW + timedelta(days=2)) == {"acme": None}  # once a week
    (message,) = mail.wait_for(1)
    assert message.rcpt_tos == ["ops@acme.example"]
    assert message.subject == "[channelsync] acme: weekly digest 2026-W47"
    text = message.text
    assert "week 2026-W47 (16 Nov – 22 Nov 2026, UTC)" in text
    assert "Runs: 4 finished (+100 %); success rate 75.0 % (-25.0 points)" in text
    assert "Failed runs: 1" in text
    assert "Processing time: mean 2.0 min per run (+100 %)" in text
    assert "Items: 8 (+300 %) — 6 written (+200 %), 2 failed (new)" in text
    assert "AUTOTASK_VALIDATION: 2 (25.00 %) (new)" in text
    assert "order_status" in text and "no run this week or the week before" in text
    with session_scope(url) as session:
        (row,) = session.scalars(select(AlertLog))
    assert (row.template, row.status, row.attempts, row.last_error) == ("digest", "sent", 4, None)
