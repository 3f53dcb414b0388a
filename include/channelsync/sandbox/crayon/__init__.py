"""Crayon Cloud-iQ / rhipe PRISM emulator (Microsoft CSP billing)."""

from channelsync.sandbox.crayon.emulator import CrayonEmulator

__all__ = ["CrayonEmulator"]
