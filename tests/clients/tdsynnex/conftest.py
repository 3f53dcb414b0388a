"""Clients of the TD SYNNEX emulator with fast retry backoffs."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from channelsync.clients.http import RetryPolicy
from channelsync.clients.tdsynnex import InMemoryTokenStore, TdSynnexIonClient, TdSynnexXmlClient
from channelsync.clients.tdsynnex.flatfile import TdSynnexFlatFileClient
from channelsync.sandbox import demo_credentials
from channelsync.sandbox.control_client import SandboxControl
from channelsync.sandbox.server import SandboxServer

FAST = RetryPolicy(max_attempts=4, backoff_base=0.01, backoff_cap=0.05, read_timeout=10)
ION = demo_credentials.TDSYNNEX_ION
XML = demo_credentials.TDSYNNEX_XML


def ion_client(url: str, store: InMemoryTokenStore | None = None, **kwargs: object) -> TdSynnexIonClient:
    return TdSynnexIonClient(base_url=f"{url}/tdsynnex/ion", account_id=ION["account_id"],
                             token_store=store or InMemoryTokenStore(ION["refresh_token"]), policy=FAST,
                             **kwargs)  # type: ignore[arg-type]


@pytest.fixture()
def make_ion(sandbox: SandboxControl, sandbox_server: SandboxServer) -> Callable[..., TdSynnexIonClient]:
    """A factory: ``make_ion(store)`` builds a fresh client (a 'new process') on a shared token store."""
    return lambda store=None, **kwargs: ion_client(sandbox_server.url, store, **kwargs)


@pytest.fixture()
def ion(make_ion: Callable[..., TdSynnexIonClient]) -> TdSynnexIonClient:
    return make_ion()


@pytest.fixture()
def xml(sandbox: SandboxControl, sandbox_server: SandboxServer) -> TdSynnexXmlClient:
    return TdSynnexXmlClient(base_url=f"{sandbox_server.url}/tdsynnex/xml", customer_number=XML["customer_number"],
                             username=XML["username"], password=XML["password"], policy=FAST)


@pytest.fixture()
def flat(sandbox: SandboxControl, sandbox_server: SandboxServer) -> TdSynnexFlatFileClient:
    return TdSynnexFlatFileClient(base_url=f"{sandbox_server.url}/tdsynnex/ftp",
                                  customer_number=XML["customer_number"], username=XML["username"],
                                  password=XML["password"], policy=FAST)
