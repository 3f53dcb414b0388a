"""ConnectWise PSA REST 3.0 emulator (prefix ``/connectwise``). See ``emulator.py``."""

from channelsync.sandbox.connectwise.emulator import ConnectWiseEmulator

__all__ = ["ConnectWiseEmulator"]
