"""Secrets at rest: the Ion refresh token in the state store is encrypted with Airflow's Fernet key
(MultiFernet: the first key encrypts, every key decrypts), plain-text rows from before are read once and
encrypted by the next write, and without a key the store refuses before the token is ever presented."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import inspect, text

from channelsync.clients.tdsynnex.ion import TdSynnexIonClient
from channelsync.state import db
from channelsync.state.models import CredentialState
from channelsync.state.token_store import (
    PLAINTEXT_ENV,
    PREFIX,
    SECRET_KEY_MISSING,
    SECRET_UNREADABLE,
    SecretStoreError,
    StateTokenStore,
    reencrypt_all,
)
from channelsync.state.upsert import upsert

OLD, NEW = Fernet.generate_key().decode(), Fernet.generate_key().decode()
TOKEN = "ionrt-3f9c2a7d81e04b6c9d5f0a1b2c3d4e5f60718293"


@pytest.fixture()
def keys(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """Sets ``[core] fernet_key`` through the environment; Airflow caches its Fernet per process."""
    from airflow.models.crypto import get_fernet

    monkeypatch.delenv(PLAINTEXT_ENV, raising=False)
    get_fernet.cache_clear()
    yield monkeypatch
    get_fernet.cache_clear()


def use_key(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    from airflow.models.crypto import get_fernet

    monkeypatch.setenv("AIRFLOW__CORE__FERNET_KEY", value)
    get_fernet.cache_clear()


def dump(url: str) -> str:
    """Every row of every table of the state store, as text."""
    engine = db.get_engine(url)
    lines = []
    with engine.connect() as connection:
        for table in inspect(engine).get_table_names():
            lines += [f"{table}: {tuple(row)!r}" for row in connection.execute(text(f'SELECT * FROM "{table}"'))]
    return "\n".join(lines)


def store(url: str) -> StateTokenStore:
    return StateTokenStore(url, system="tdsynnex_ion", account="sandbox_tdsynnex_ion", initial="seed-token")


def test_the_token_is_stored_encrypted_and_the_dump_shows_none(state_url: str, keys: pytest.MonkeyPatch) -> None:
    db.upgrade(state_url)
    use_key(keys, OLD)
    tokens = store(state_url)
    assert tokens.get() == "seed-token"  # nothing stored yet: the connection's first token
    tokens.put(TOKEN)
    assert tokens.get() == TOKEN
    content = dump(state_url)
    assert "credential_state" in content and PREFIX in content
    assert TOKEN not in content and TOKEN[6:30] not in content
    assert TOKEN not in repr(tokens)


def test_key_rotation_new_key_first_old_values_still_read_and_rewritten(state_url: str,
                                                                         keys: pytest.MonkeyPatch) -> None:
    db.upgrade(state_url)
    use_key(keys, OLD)
    store(state_url).put(TOKEN)
    use_key(keys, f"{NEW},{OLD}")  # rotation: the new key encrypts, the old one still decrypts
    assert store(state_url).get() == TOKEN
    store(state_url).put(TOKEN + "-2")  # re-encrypted with the new key on write
    assert reencrypt_all(state_url) == 1
    use_key(keys, NEW)  # the old key retired
    assert store(state_url).get() == TOKEN + "-2"
    use_key(keys, OLD)  # a worker with only the old key: a coded error, never a garbled token
    with pytest.raises(SecretStoreError) as error:
        store(state_url).get()
    assert error.value.code == SECRET_UNREADABLE and TOKEN not in str(error.value)


def test_a_plain_text_row_from_before_is_read_once_then_encrypted(state_url: str, keys: pytest.MonkeyPatch) -> None:
    db.upgrade(state_url)
    legacy = "sandbox-ion-legacy-plaintext-7731"
    with db.session_scope(state_url) as session:
        upsert(session, CredentialState, [{"system": "tdsynnex_ion", "account": "sandbox_tdsynnex_ion",
                                           "secret": legacy}], keys=["system", "account"], update=["secret"])
    use_key(keys, OLD)
    assert legacy in dump(state_url)
    assert store(state_url).get() == legacy
    assert reencrypt_all(state_url) == 1
    assert legacy not in dump(state_url) and store(state_url).get() == legacy


def test_without_a_key_the_store_refuses_before_the_token_is_used(state_url: str, keys: pytest.MonkeyPatch) -> None:
    db.upgrade(state_url)
    use_key(keys, "")
    tokens = store(state_url)
    with pytest.raises(SecretStoreError) as error:
        tokens.get()
    assert error.value.code == SECRET_KEY_MISSING and "fernet_key" in str(error.value)
    with pytest.raises(SecretStoreError):
        tokens.put(TOKEN)
    # The refusal comes before Ion is called: the one valid refresh token is not spent and lost.
    client = TdSynnexIonClient(base_url="http://127.0.0.1:9", account_id="1", token_store=tokens)
    with pytest.raises(SecretStoreError):
        client.refresh()
    assert client.transport.counter.calls == 0
    keys.setenv(PLAINTEXT_ENV, "1")  # the explicit development fallback: plain text, with a warning
    tokens.put(TOKEN)
    assert tokens.get() == TOKEN and TOKEN in dump(state_url)
    use_key(keys, NEW)  # a key configured later: the next write encrypts
    tokens.put(TOKEN)
    assert TOKEN not in dump(state_url) and tokens.get() == TOKEN


def test_an_invalid_key_is_a_coded_error(state_url: str, keys: pytest.MonkeyPatch) -> None:
    db.upgrade(state_url)
    use_key(keys, "not-a-fernet-key")
    with pytest.raises(SecretStoreError) as error:
        store(state_url).get()
    assert error.value.code == SECRET_KEY_MISSING
