"""Search everything a run leaves behind for secrets (R4): files, SQLite and PostgreSQL tables, Parquet, text.

``secrets_of_settings`` lists every secret of every connection in airflow_settings.yaml, with the
encodings a client sends them in (HTTP Basic); :class:`SecretScan` records where any of them occurs.
"""

from __future__ import annotations

import base64
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import yaml

# Connection extra fields that hold a secret (an Autotask integration code is one: it identifies the
# vendor integration and is sent with the user's secret on every call).
SECRET_EXTRAS = ("integration_code", "client_secret", "refresh_token", "access_token", "private_key", "password",
                 "secret", "token", "api_key")


def _variants(secret: str) -> set[str]:
    return {secret, quote(secret, safe=""), base64.b64encode(secret.encode()).decode()}


def secrets_of_settings(path: Path) -> dict[str, str]:
    """{secret: where it comes from} for every connection in an airflow_settings.yaml."""
    settings = yaml.safe_load(path.read_text())
    found: dict[str, str] = {}
    for conn in settings["airflow"]["connections"]:
        conn_id, extra = conn["conn_id"], conn.get("conn_extra") or {}
        password, login = conn.get("conn_password"), conn.get("conn_login")
        values = {f"{conn_id}.password": password}
        values |= {f"{conn_id}.extra.{k}": v for k, v in extra.items() if k in SECRET_EXTRAS}
        if login and password:  # HTTP Basic as the clients send it
            values[f"{conn_id}.basic"] = f"{login}:{password}"
            if extra.get("company"):
                values[f"{conn_id}.basic+company"] = f"{extra['company']}+{login}:{password}"
        if extra.get("client_id") and extra.get("client_secret"):
            values[f"{conn_id}.basic(client)"] = f"{extra['client_id']}:{extra['client_secret']}"
        for where, value in values.items():
            if value:
                for variant in _variants(str(value)):
                    found[variant] = where
    return found


@dataclass
class SecretScan:
    secrets: dict[str, str]  # secret → where it comes from
    hits: list[tuple[str, str]] = field(default_factory=list)  # (where found, which secret)
    searched: dict[str, int] = field(default_factory=dict)  # kind → how many places were searched

    def add(self, secret: str, where: str) -> None:
        for variant in _variants(secret):
            self.secrets[variant] = where

    def _count(self, kind: str, n: int = 1) -> None:
        self.searched[kind] = self.searched.get(kind, 0) + n

    def text(self, content: str | bytes, where: str, kind: str = "text") -> None:
        self._count(kind)
        data = content if isinstance(content, bytes) else content.encode("utf-8", errors="replace")
        for secret, origin in self.secrets.items():
            if secret.encode() in data:
                self.hits.append((where, origin))

    def sqlite(self, path: Path, kind: str, tables: Iterable[str] | None = None) -> dict[str, int]:
        """Every value of every row of every table (or of ``tables``); returns the row count per table."""
        counts: dict[str, int] = {}
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as connection:
            names = list(tables) if tables is not None else [
                r[0] for r in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
            for table in names:
                rows = connection.execute(f'SELECT * FROM "{table}"').fetchall()
                counts[table] = len(rows)
                self.text("\n".join(repr(r) for r in rows), f"{path.name}:{table}", kind)
        return counts

    def database(self, url: str, kind: str) -> dict[str, int]:
        """Every value of every row of every table of a database reached by SQLAlchemy URL (PostgreSQL: the
        tables of every schema but the catalog's); returns the row count per table."""
        from sqlalchemy import create_engine, inspect, text

        counts: dict[str, int] = {}
        engine = create_engine(url)
        try:
            with engine.connect() as connection:
                inspector = inspect(connection)
                for schema in (s for s in inspector.get_schema_names() if s not in ("information_schema",
                                                                                      "pg_catalog", "pg_toast")):
                    for table in inspector.get_table_names(schema=schema):
                        rows = connection.execute(text(f'SELECT * FROM "{schema}"."{table}"')).all()
                        counts[table] = len(rows)
                        self.text("\n".join(repr(tuple(r)) for r in rows), f"{url.rsplit('/', 1)[-1]}:{table}", kind)
        finally:
            engine.dispose()
        return counts

    def files(self, root: Path, kind: str, skip: Iterable[Path] = ()) -> int:
        """Every file under ``root`` (but those under ``skip``), raw bytes (SQLite files and their WAL
        included); Parquet files are also read value by value (their pages may be compressed)."""
        count = 0
        skipped = [Path(s) for s in skip]
        for path in sorted(p for p in root.rglob("*") if p.is_file()
                           and not any(p.is_relative_to(s) for s in skipped)):
            count += 1
            self.text(path.read_bytes(), str(path.relative_to(root)), kind)
            if path.suffix == ".parquet":
                import pyarrow.parquet as pq

                self.text(repr(pq.read_table(path).to_pylist()), f"{path.relative_to(root)} (values)", kind)
        return count

    def value(self, value: Any, where: str, kind: str) -> None:
        self.text(repr(value), where, kind)
