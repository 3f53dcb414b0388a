"""The pages in headless Chromium (Debian's ``chromium``), signed in with the session cookie Airflow's UI
uses: they render, the pictures are drawn, and a vendor's ``<script>`` stays text. Skipped, saying so,
where Chromium is not installed."""

from __future__ import annotations

import http.server
import shutil
import subprocess
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.plugin.conftest import AirflowServer
from tests.plugin.seed import RETIRED_SKU

pytestmark = pytest.mark.airflow
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def signed_in_url(airflow_server: AirflowServer) -> Iterator[str]:
    """A loopback proxy that adds the viewer's ``_token`` cookie, as the browser of a signed-in user sends
    it (headless Chromium takes no cookie on its command line)."""
    if CHROMIUM is None:
        pytest.skip("chromium is not installed (apt-get install chromium): browser checks skipped")
    cookie = f"_token={airflow_server.token('viewer')}"

    class SignedIn(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            request = urllib.request.Request(airflow_server.url + self.path, headers={"Cookie": cookie})
            try:
                with urllib.request.urlopen(request, timeout=60) as answer:
                    status, headers, body = answer.status, answer.headers, answer.read()
            except urllib.error.HTTPError as error:
                status, headers, body = error.code, error.headers, error.read()
            self.send_response(status)
            for name in ("Content-Type", "Content-Security-Policy", "Location"):
                if headers.get(name):
                    self.send_header(name, headers[name])
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    proxy = http.server.ThreadingHTTPServer(("127.0.0.1", 0), SignedIn)
    thread = threading.Thread(target=proxy.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{proxy.server_address[1]}"
    proxy.shutdown()


def _chromium(*args: str) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    return subprocess.run([CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                           "--window-size=1400,1800", *args], capture_output=True, text=True, timeout=120)


def test_the_dashboard_renders_with_its_pictures(signed_in_url: str, tmp_path: Path) -> None:
    shot = tmp_path / "dashboard.png"
    assert _chromium(f"--screenshot={shot}", f"{signed_in_url}/channelsync/").returncode == 0
    assert shot.stat().st_size > 50_000  # cards and charts, not a blank or an error page
    dom = _chromium("--dump-dom", f"{signed_in_url}/channelsync/").stdout
    assert 'class="card card-yellow"' in dom and 'class="card card-red"' in dom
    assert dom.count("<svg") >= 8


def test_a_vendor_script_is_text_in_the_browser(signed_in_url: str, airflow_server: AirflowServer) -> None:
    dom = _chromium("--dump-dom", f"{signed_in_url}/channelsync/runs/{airflow_server.seeded.failed_run}").stdout
    assert "Why the run failed" in dom
    assert "&lt;script&gt;alert(\"pwned\")&lt;/script&gt;" in dom  # shown as text …
    assert "<script" not in dom  # … never an element of the page


def test_the_mapping_pages_render_and_keep_a_customer_s_markup_as_text(signed_in_url: str,
                                                                        airflow_server: AirflowServer) -> None:
    dom = _chromium("--dump-dom", f"{signed_in_url}/channelsync/mappings/demo-autotask").stdout
    assert "Customer mappings" in dom and airflow_server.billing.hostile in dom
    assert "Evil &lt;script&gt;alert(\"mapping\")&lt;/script&gt; Corp" in dom and "<script" not in dom
    page = f"{signed_in_url}/channelsync/mappings/demo-autotask/customers/{airflow_server.billing.mapped}"
    dom = _chromium("--dump-dom", page).stdout
    assert "History" in dom and "alice" in dom and "<form" in dom  # the viewer gets the search, not the edit form
    assert 'method="post"' not in dom


def test_the_service_override_page_renders_and_keeps_a_product_s_markup_as_text(signed_in_url: str) -> None:
    dom = _chromium("--dump-dom", f"{signed_in_url}/channelsync/mappings/demo-autotask/services").stdout
    assert "Service overrides" in dom and 'class="tabs"' in dom and "Category mappings</a>" in dom
    assert RETIRED_SKU in dom and "Old &lt;b&gt;plan&lt;/b&gt;" in dom and "<b>plan</b>" not in dom
