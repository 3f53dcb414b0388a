"""Where the vendors' API specs live for conformance tests: ``specs/`` in the repository (copies of the
public specs, so `make test` needs nothing outside the checkout)."""

from pathlib import Path

SPECS = Path(__file__).resolve().parents[1] / "specs"
