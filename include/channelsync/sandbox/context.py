"""What every emulator shares: the world, the clock, the fault book, and scale/seed."""

from __future__ import annotations

from dataclasses import dataclass, field

from channelsync.sandbox.clock import SandboxClock
from channelsync.sandbox.faults import FaultBook
from channelsync.sandbox.world import World


@dataclass
class SandboxContext:
    world: World
    clock: SandboxClock = field(default_factory=SandboxClock)
    faults: FaultBook = field(default_factory=FaultBook)
    base_url: str = ""  # "http://127.0.0.1:8700", set when the server binds

    def url(self, system: str, path: str = "") -> str:
        return f"{self.base_url}/{system}{path}"
