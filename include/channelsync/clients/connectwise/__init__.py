"""ConnectWise PSA REST 3.0 client (see ``client.py`` for the protocol, ``domain.py`` for the helpers,
``conditions.py`` for the safe conditions builder, ``errors.py`` for the error codes)."""

from channelsync.clients.connectwise import conditions
from channelsync.clients.connectwise.client import ConnectWiseRestClient, replace_ops
from channelsync.clients.connectwise.domain import ConnectWiseClient, batch_for_in
from channelsync.clients.connectwise.errors import ConnectWiseApiError

__all__ = ["ConnectWiseApiError", "ConnectWiseClient", "ConnectWiseRestClient", "batch_for_in", "conditions",
           "replace_ops"]
