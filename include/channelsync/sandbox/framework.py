"""What an emulator is: a handler of parsed requests, a record store and a reset from the world."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import parse_qs

import msgspec

if TYPE_CHECKING:
    from channelsync.sandbox.context import SandboxContext
    from channelsync.sandbox.store import RecordStore


class CaseInsensitiveDict(dict[str, str]):
    """Header map; keys are stored lower-case."""

    def __init__(self, items: list[tuple[str, str]] | None = None) -> None:
        super().__init__()
        for key, value in items or []:
            self[key.lower()] = value

    def get(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
        return super().get(key.lower(), default)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and super().__contains__(key.lower())


@dataclass
class SandboxRequest:
    method: str
    path: str  # below the system prefix, e.g. "/ATServicesRest/V1.0/Products/query"
    query_string: str
    headers: CaseInsensitiveDict
    body: bytes
    system: str = ""
    base_url: str = ""  # e.g. "http://127.0.0.1:8700" (used to build absolute next-page URLs)
    params: dict[str, str] = field(default_factory=dict)  # filled by Router.match

    @property
    def query(self) -> dict[str, list[str]]:
        return parse_qs(self.query_string, keep_blank_values=True)

    def arg(self, name: str, default: str | None = None, *, case_insensitive: bool = False) -> str | None:
        for key, values in self.query.items():
            if key == name or (case_insensitive and key.lower() == name.lower()):
                return values[-1]
        return default

    def json(self) -> Any:
        """Parsed JSON body; raises ``ValueError`` with a short reason when it is not JSON."""
        if not self.body:
            return None
        try:
            return json.loads(self.body.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ValueError(f"request body is not valid JSON: {exc}") from exc

    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")


@dataclass
class SandboxResponse:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    # Faults and emulators may ask the server to close the socket instead of answering.
    drop_connection: bool = False


def json_response(status: int, payload: Any, headers: dict[str, str] | None = None) -> SandboxResponse:
    # msgspec encodes a 1,000-record page several times faster than json.dumps: the emulator's own
    # time must not be what a paging benchmark measures. Unknown types are written as str().
    body = _encoder.encode(payload)
    return SandboxResponse(status, body, {"Content-Type": "application/json; charset=utf-8", **(headers or {})})


def text_response(
    status: int, text: str, content_type: str = "text/plain; charset=utf-8", headers: dict[str, str] | None = None
) -> SandboxResponse:
    return SandboxResponse(status, text.encode("utf-8"), {"Content-Type": content_type, **(headers or {})})


_encoder = msgspec.json.Encoder(enc_hook=str, decimal_format="string")

Handler = Callable[[SandboxRequest], SandboxResponse]


class RouteNotFound(Exception):
    pass


class MethodNotAllowed(Exception):
    def __init__(self, allowed: list[str]) -> None:
        super().__init__(", ".join(allowed))
        self.allowed = allowed


_PARAM = re.compile(r"\{(\w+)(?::(int|path))?\}")


class Router:
    """Tiny path router: ``add("GET", "/v1.0/{entity}/{id:int}", handler)``.

    ``case_insensitive`` covers servers such as Autotask's IIS that route regardless of case.
    Routes are tried in the order they were added.
    """

    def __init__(self, *, case_insensitive: bool = False) -> None:
        self._routes: list[tuple[frozenset[str], re.Pattern[str], Handler]] = []
        self._flags = re.IGNORECASE if case_insensitive else 0

    def add(self, methods: str | list[str], pattern: str, handler: Handler) -> None:
        method_set = frozenset([methods] if isinstance(methods, str) else methods)

        def to_regex(match: re.Match[str]) -> str:
            name, kind = match.group(1), match.group(2)
            body = {"int": r"-?\d+", "path": r".+"}.get(kind or "", r"[^/]+")
            return f"(?P<{name}>{body})"

        regex = "^" + _PARAM.sub(to_regex, pattern.rstrip("/")) + "/?$"
        self._routes.append((method_set, re.compile(regex, self._flags), handler))

    def match(self, request: SandboxRequest) -> Handler:
        allowed: list[str] = []
        for methods, regex, handler in self._routes:
            found = regex.match(request.path)
            if not found:
                continue
            if request.method in methods:
                request.params = {k: v for k, v in found.groupdict().items() if v is not None}
                return handler
            allowed.extend(sorted(methods))
        if allowed:
            raise MethodNotAllowed(allowed)
        raise RouteNotFound(request.path)


class Emulator:
    """Base of every emulator. Subclasses set ``system`` and implement ``reset`` and ``handle``.

    ``store`` holds every record in its wire shape so the control API can create, change and
    delete any record directly (to simulate people editing the PSA).
    """

    system: ClassVar[str] = ""

    def __init__(self, context: SandboxContext) -> None:
        self.context = context
        self.store: RecordStore = self._new_store()
        self.reset()

    def _new_store(self) -> RecordStore:
        from channelsync.sandbox.store import RecordStore

        return RecordStore()

    def reset(self) -> None:
        """Rebuild every record from ``self.context.world`` (deterministic for a scale and seed)."""
        raise NotImplementedError

    def handle(self, request: SandboxRequest) -> SandboxResponse:
        raise NotImplementedError

    def control(self, request: SandboxRequest) -> SandboxResponse:
        """``/_sandbox/<system>/...``: emulator-specific controls (move an order along, publish an invoice)."""
        return json_response(404, {"error": f"no control endpoint {request.path} for {self.system}"})

    def error_response(self, status: int, message: str) -> SandboxResponse:
        """The vendor's error shape, used for injected faults (429, 5xx)."""
        return json_response(status, {"error": message})

    def on_direct_edit(self, table: str, record: dict[str, Any]) -> None:
        """Hook after a control-API edit, e.g. to bump ``lastModifiedDate`` like a person's edit would."""
