"""No secret anywhere on the production profile (R4, issue 13): after the DAG runs, every place the profile
keeps or shows what it did is searched for every secret of every connection (tests/dags/secret_scan.py:
also as HTTP Basic credentials, URL- and base64-encoded) and every token the sandbox issued (Ion access and
refresh tokens):

- every file of the profile's folder: the task logs (``logs/tasks``, written by both workers), every
  service's log, both workers' own folders (their AIRFLOW_HOME, CHANNELSYNC_HOME, temporary files), the
  control plane's AIRFLOW_HOME and the shared staging root — all but the sandbox's working folder
  (the emulated vendors are where the credentials are meant to go);
- every table of Airflow's metadata database (XCom values, rendered template fields, the task instances'
  history …; the connection table is Fernet-encrypted) and of the state store;
- every page of the channelsync plugin reachable from its dashboard, and each page's JSON answer, fetched
  with an admin's token;
- every alert e-mail the profile sent (its SMTP server is the test's sink).
"""

from __future__ import annotations

import re
from typing import Any

from channelsync.sandbox.control_client import SandboxControl
from tests.dags.secret_scan import SecretScan, secrets_of_settings
from tests.system.airflow_api import AirflowApi
from tests.system.profile import ROOT, CeleryProfile

LINK = re.compile(r'href="(/channelsync/[^"#?]*)')
MAX_PAGES = 300


def _issued_tokens(control: SandboxControl) -> dict[str, str]:
    issued: dict[str, str] = {}
    for row in control.records("tdsynnex", "access_tokens"):
        issued[row["token"]] = "ion access token"
        issued[row["refreshToken"]] = "ion refresh token (rotated)"
    for row in control.records("tdsynnex", "refresh_tokens"):
        issued[row["token"]] = "ion refresh token"
    return issued


def _plugin_pages(api: AirflowApi, scan: SecretScan) -> int:
    """Crawl the plugin from its dashboard (links under /channelsync/, static files aside); for every page
    also its JSON answer (``/channelsync/api/<page>``) where there is one. Returns the pages fetched."""
    queue, seen = ["/channelsync/"], set()
    while queue and len(seen) < MAX_PAGES:
        path = queue.pop(0)
        if path in seen or path.startswith("/channelsync/static/"):
            continue
        seen.add(path)
        answer = api.session.get(f"{api.base_url}{path}", timeout=60)
        assert answer.status_code in (200, 404), (path, answer.status_code, answer.text[:300])
        if answer.status_code != 200:
            continue
        scan.text(answer.content, path, "plugin pages and API answers")
        queue += [link for link in LINK.findall(answer.text) if link not in seen]
        if not path.startswith("/channelsync/api/"):
            queue.append("/channelsync/api/" + path.removeprefix("/channelsync/").lstrip("/"))
    return len(seen)


def sweep(profile: CeleryProfile, api: AirflowApi, control: SandboxControl,
          mails: list[Any]) -> tuple[SecretScan, dict[str, Any]]:
    """Search everything (the module docstring); returns the scan and what was searched."""
    scan = SecretScan(secrets_of_settings(ROOT / "airflow_settings.yaml"))
    issued = _issued_tokens(control)
    for token, origin in issued.items():
        scan.add(token, origin)
    task_logs = sorted(profile.task_log_dir.rglob("*.log"))
    scan.files(profile.run_dir, "profile files", skip=[profile.run_dir / "sandbox"])
    metadata = scan.database(profile.env_file["AIRFLOW_DB_URL"], "airflow metadata")
    state = scan.database(profile.state_url, "state store")
    pages = _plugin_pages(api, scan)
    for number, mail in enumerate(mails):
        scan.text(mail.message.as_bytes(), f"alert e-mail {number} ({mail.subject})", "alert e-mails")
    searched = {
        "task logs": len(task_logs),
        "task instances per worker": {name: len(profile.workloads(name)) for name in profile.workers},
        "xcom rows": metadata.get("xcom", 0), "rendered field rows": metadata.get("rendered_task_instance_fields", 0),
        "state store tables": len(state), "plugin pages": pages, "alert e-mails": len(mails),
        "issued tokens": len(issued), "secret strings": len(set(scan.secrets)), "places": dict(scan.searched),
    }
    return scan, searched
