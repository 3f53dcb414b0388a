"""Pax8 partner API emulator (companies, products, pricing, subscriptions, orders, invoices)."""

from channelsync.sandbox.pax8.emulator import Pax8Emulator

__all__ = ["Pax8Emulator"]
