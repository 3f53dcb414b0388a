"""Every PSA and distributor client names its tenant (the loader keys exactly-once writes by it)
with a plain property: no network I/O."""

from __future__ import annotations

import requests

from channelsync.clients.connectwise import ConnectWiseClient
from channelsync.clients.tdsynnex import InMemoryTokenStore, TdSynnexIonClient, TdSynnexXmlClient


class NoNetwork(requests.Session):
    def request(self, *args: object, **kwargs: object) -> requests.Response:  # type: ignore[override]
        raise AssertionError("tenant_id must not call the API")


def cw(site_url: str, company: str) -> ConnectWiseClient:
    return ConnectWiseClient(site_url=site_url, company=company, public_key="p", private_key="k", client_id="c",
                             session=NoNetwork())


def test_connectwise_tenant_is_site_and_company() -> None:
    assert cw("https://api-na.myconnectwise.net", "Acme").tenant_id == "connectwise:na.myconnectwise.net/acme"
    assert cw("https://na.myconnectwise.net/", "acme").tenant_id == "connectwise:na.myconnectwise.net/acme"
    assert cw("https://eu.myconnectwise.net", "acme").tenant_id != cw("https://na.myconnectwise.net",
                                                                       "acme").tenant_id
    assert cw("http://127.0.0.1:8700/connectwise", "channelsync").tenant_id == \
        "connectwise:127.0.0.1:8700/connectwise/channelsync"


def test_td_synnex_tenants_are_the_account_numbers() -> None:
    xml = TdSynnexXmlClient(base_url="https://ec.synnex.com", customer_number="700001", username="u",
                            password="p", session=NoNetwork())
    ion = TdSynnexIonClient(base_url="https://ion.tdsynnex.com", account_id="100001",
                            token_store=InMemoryTokenStore("t"), session=NoNetwork())
    assert (xml.tenant_id, ion.tenant_id) == ("tdsynnex_xml:700001", "tdsynnex_ion:100001")
