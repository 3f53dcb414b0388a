"""Emulator of the Autotask PSA REST API (ATServicesRest v1.0), served under ``/autotask``."""

from channelsync.sandbox.autotask.emulator import AutotaskEmulator

__all__ = ["AutotaskEmulator"]
