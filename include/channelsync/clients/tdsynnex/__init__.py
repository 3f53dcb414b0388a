"""TD SYNNEX clients: StreamOne Ion v3 (cloud), the XML services (hardware P&A, PO, PO status) and
the daily flat file (hardware catalog)."""

from channelsync.clients.tdsynnex.flatfile import TdSynnexFlatFileClient
from channelsync.clients.tdsynnex.ion import TdSynnexIonClient
from channelsync.clients.tdsynnex.tokens import FileTokenStore, InMemoryTokenStore, TokenStore
from channelsync.clients.tdsynnex.xml import TdSynnexXmlClient

__all__ = [
    "FileTokenStore",
    "InMemoryTokenStore",
    "TdSynnexFlatFileClient",
    "TdSynnexIonClient",
    "TdSynnexXmlClient",
    "TokenStore",
]
