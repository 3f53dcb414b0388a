"""Autotask PSA REST client (ATServicesRest v1.0)."""

from channelsync.clients.autotask.budget import BudgetExhausted, BudgetGuard
from channelsync.clients.autotask.client import AutotaskClient, shared_cap
from channelsync.clients.autotask.errors import map_error
from channelsync.clients.autotask.filters import Filter, build_query, chunked_in

__all__ = ["AutotaskClient", "BudgetExhausted", "BudgetGuard", "Filter", "build_query", "chunked_in", "map_error",
           "shared_cap"]
