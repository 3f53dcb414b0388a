"""A counting semaphore in the state store, shared by every process and worker that reaches it.

Autotask refuses a 4th concurrent request per (database, API tracking identifier, entity)
(docs/vendors/autotask.md §A.9). :class:`~channelsync.clients.http.ConcurrencyCap` holds that limit inside one
process only; two Airflow tasks on the same Autotask database (two integrations, or two Celery
workers) would together send six. Leases hold it wherever the tasks run.

Table ``concurrency_leases`` (key, slot, holder, expires_at), unique (key, slot):

- slot ``0 .. limit-1`` of a key is *taken* by inserting its row (``ON CONFLICT DO NOTHING``: a
  conflict means someone else holds it);
- a row past ``expires_at`` (its holder was killed, or stalled past the TTL) is *taken over* with a
  compare-and-set ``UPDATE`` (same holder, still expired): only one contender wins;
- holders *renew* their rows well before they expire, and delete them on release;
- a process that finds every slot taken writes a *waiter* row (slot -1, expiring after a second):
  holders that see it hand a slot over; nobody hands over when nobody waits.

Correctness rests on the unique constraint and the compare-and-set alone (no isolation level or
lock is assumed), so it holds on SQLite (WAL, one file shared by the processes of a host) and
PostgreSQL alike. Expiry uses the hosts' wall clocks: workers need NTP-synchronised clocks (a skew
well under the TTL).

Cost: a lease is two short transactions (take, release). :class:`LeaseCap` does not pay them per
call, and takes the slots its threads wait for at once (or, if more, as many as it has used at once
before: a load's workers start one after another) in one transaction. It pools the leases of a
process (threads hand them to each other in memory) and keeps ("sticky") a lease across calls; one
heartbeat thread renews all the process's leases in one ``UPDATE`` and, when another process waits,
hands over the lease that has had its turn longest (at least ``turn_s``, 1 s) as its current call
ends, then refrains from taking it back for a short cooldown so the waiter gets it. Idle leases go
back after ``idle_release_s``; :meth:`LeaseCap.release_all` frees everything the holder has (the end
of a load).
"""

from __future__ import annotations

import atexit
import logging
import os
import random
import socket
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, Table, and_, delete, or_, select, update
from sqlalchemy.exc import SQLAlchemyError

from channelsync.errors import RetriableApiError, define
from channelsync.state.db import get_engine
from channelsync.state.models import ConcurrencyLease, utcnow
from channelsync.state.upsert import dialect_insert

log = logging.getLogger(__name__)

STATE_LEASE_TIMEOUT = define(
    "STATE_LEASE_TIMEOUT", "channelsync",
    "No concurrency slot of the API became free in time: other tasks hold them; retry later",
)
STATE_LEASE_UNAVAILABLE = define(
    "STATE_LEASE_UNAVAILABLE", "channelsync", "The state store could not be reached to take a concurrency slot",
)

WAITER_SLOT = -1
DEFAULT_TTL = 15.0  # a killed holder's slots come back after this long
WAITER_TTL = 1.0  # a waiter row says "someone waits" for this long unless it is rewritten
WAITER_REFRESH = 0.3  # a waiting process rewrites its waiter row at most this often
MAX_KEY_LENGTH = 200

_table: Table = ConcurrencyLease.__table__  # type: ignore[assignment]


class LeaseUnavailable(RetriableApiError):
    """No slot was free before the timeout (or the state store could not be reached). Nothing was
    sent to the API: the operation is safe to retry (the loader marks it retriable)."""


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def new_holder_id() -> str:
    """``host:pid:random``: unique per process (and per store), readable in the table."""
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True)
class Lease:
    key: str
    slot: int
    holder: str


class LeaseStore:
    """The table operations, each one short transaction, for one holder (one process or cap)."""

    def __init__(self, url: str, *, ttl: float = DEFAULT_TTL, holder: str | None = None,
                 system: str = "channelsync") -> None:
        if ttl <= 0:
            raise ValueError("ttl must be positive")
        self.url = url
        self.ttl = ttl
        self.holder = holder or new_holder_id()
        self.system = system  # named in the errors (e.g. "autotask": whose slots these are)
        self._engine: Engine | None = None

    def __repr__(self) -> str:
        return f"LeaseStore(holder={self.holder!r}, ttl={self.ttl})"

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = get_engine(self.url)
        return self._engine

    @contextmanager
    def _transaction(self) -> Iterator[Connection]:
        try:
            with self.engine.begin() as connection:
                yield connection
        except SQLAlchemyError as exc:
            raise LeaseUnavailable(
                f"concurrency leases: the state store failed ({type(exc).__name__}: {str(exc)[:200]})",
                code=STATE_LEASE_UNAVAILABLE, system=self.system,
            ) from exc

    # ---- taking -------------------------------------------------------------------------------------
    def try_acquire(
        self, key: str, limit: int, *, mark_waiting: bool = False, clear_waiting: bool = False,
    ) -> int | None:
        """One attempt: the slot taken, or None when all ``limit`` are held (and, with ``mark_waiting``,
        a waiter row written so holders hand one over). ``clear_waiting`` removes this holder's waiter
        row on success."""
        won = self.try_acquire_many(key, limit, 1, mark_waiting=mark_waiting, clear_waiting=clear_waiting)
        return won[0] if won else None

    def try_acquire_many(
        self, key: str, limit: int, want: int, *, mark_waiting: bool = False, clear_waiting: bool = False,
    ) -> list[int]:
        """:meth:`try_acquire` for up to ``want`` slots in one transaction (threads of a process that wait
        for the same key at once): the slots taken, none when all ``limit`` are held."""
        _check(key, limit)
        now = utcnow()
        expires = now + timedelta(seconds=self.ttl)
        with self._transaction() as connection:
            rows = connection.execute(
                select(_table.c.slot, _table.c.holder, _table.c.expires_at).where(
                    _table.c.key == key, _table.c.slot >= 0, _table.c.slot < limit)
            ).all()
            taken = {row.slot for row in rows}
            won: list[int] = []
            for slot in range(limit):
                if len(won) >= want:
                    break
                if slot not in taken and self._insert(connection, key, slot, expires):
                    won.append(slot)
            for row in rows:
                if len(won) >= want:
                    break
                if _aware(row.expires_at) <= now and self._take_over(connection, key, row.slot, row.holder,
                                                                    now, expires):
                    log.warning("concurrency lease %s slot %d taken over from %s (expired)",
                                key, row.slot, row.holder)
                    won.append(row.slot)
            if won:
                if clear_waiting:
                    connection.execute(delete(_table).where(
                        _table.c.key == key, _table.c.slot == WAITER_SLOT, _table.c.holder == self.holder))
            elif mark_waiting:
                self._upsert_waiter(connection, key, now + timedelta(seconds=WAITER_TTL))
        return won

    def acquire(self, key: str, limit: int, *, timeout: float = 60.0, poll_s: float = 0.02) -> Lease:
        """Wait (short polling) until a slot of ``key`` is free; raises :class:`LeaseUnavailable` after
        ``timeout`` seconds. The lease is not renewed by itself: :meth:`renew` it, or use :class:`LeaseCap`."""
        deadline = time.monotonic() + timeout
        marked_at = -WAITER_REFRESH
        while True:
            mark = time.monotonic() - marked_at >= WAITER_REFRESH
            slot = self.try_acquire(key, limit, mark_waiting=mark, clear_waiting=marked_at >= 0)
            if slot is not None:
                return Lease(key, slot, self.holder)
            if mark:
                marked_at = time.monotonic()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise self.timeout_error(key, limit, timeout)
            time.sleep(min(remaining, poll_s * random.uniform(0.5, 1.5)))

    def timeout_error(self, key: str, limit: int, timeout: float) -> LeaseUnavailable:
        return LeaseUnavailable(
            f"no concurrency slot of {key!r} became free in {timeout:.0f} s: all {limit} are held by other "
            "tasks; retry later", code=STATE_LEASE_TIMEOUT, system=self.system,
        )

    # ---- keeping and giving back --------------------------------------------------------------------
    def renew(self) -> set[tuple[str, int]]:
        """Extend every slot this holder has by the TTL; returns the (key, slot) it still holds (a slot
        missing from the answer expired and was taken over)."""
        expires = utcnow() + timedelta(seconds=self.ttl)
        with self._transaction() as connection:
            connection.execute(update(_table).where(_table.c.holder == self.holder, _table.c.slot >= 0)
                               .values(expires_at=expires))
            rows = connection.execute(select(_table.c.key, _table.c.slot).where(
                _table.c.holder == self.holder, _table.c.slot >= 0)).all()
        return {(row.key, row.slot) for row in rows}

    def renew_one(self, key: str, slot: int) -> bool:
        expires = utcnow() + timedelta(seconds=self.ttl)
        with self._transaction() as connection:
            result = connection.execute(update(_table).where(
                _table.c.key == key, _table.c.slot == slot, _table.c.holder == self.holder).values(expires_at=expires))
        return bool(result.rowcount)

    def release(self, key: str, slot: int) -> bool:
        return self.release_many([(key, slot)]) == 1

    def release_many(self, leases: Sequence[tuple[str, int]]) -> int:
        if not leases:
            return 0
        with self._transaction() as connection:
            result = connection.execute(delete(_table).where(
                _table.c.holder == self.holder,
                or_(*(and_(_table.c.key == key, _table.c.slot == slot) for key, slot in leases))))
        return int(result.rowcount or 0)

    def release_all(self) -> int:
        """Free every slot (and waiter row) of this holder, e.g. at the end of a load."""
        with self._transaction() as connection:
            result = connection.execute(delete(_table).where(_table.c.holder == self.holder))
        return int(result.rowcount or 0)

    # ---- looking ------------------------------------------------------------------------------------
    def contended(self, keys: Sequence[str]) -> set[str]:
        """The keys another holder is waiting for."""
        if not keys:
            return set()
        with self._transaction() as connection:
            rows = connection.execute(select(_table.c.key).where(
                _table.c.key.in_(list(keys)), _table.c.slot == WAITER_SLOT, _table.c.holder != self.holder,
                _table.c.expires_at > utcnow())).all()
        return {row.key for row in rows}

    def holders(self, key: str) -> dict[int, str]:
        """Live slots of ``key``: {slot: holder} (expired rows left out)."""
        with self._transaction() as connection:
            rows = connection.execute(select(_table.c.slot, _table.c.holder, _table.c.expires_at).where(
                _table.c.key == key, _table.c.slot >= 0)).all()
        now = utcnow()
        return {row.slot: row.holder for row in rows if _aware(row.expires_at) > now}

    # ---- statements ---------------------------------------------------------------------------------
    def _insert(self, connection: Connection, key: str, slot: int, expires: datetime) -> bool:
        statement = dialect_insert(connection.dialect.name, _table).values(
            key=key, slot=slot, holder=self.holder, expires_at=expires)
        # RETURNING, not rowcount: SQLAlchemy adds RETURNING id on PostgreSQL, whose rowcount is then -1.
        statement = statement.on_conflict_do_nothing(index_elements=["key", "slot"]).returning(_table.c.slot)
        return connection.execute(statement).first() is not None

    def _take_over(self, connection: Connection, key: str, slot: int, old_holder: str, now: datetime,
                   expires: datetime) -> bool:
        result = connection.execute(update(_table).where(
            _table.c.key == key, _table.c.slot == slot, _table.c.holder == old_holder, _table.c.expires_at <= now,
        ).values(holder=self.holder, expires_at=expires))
        return bool(result.rowcount)

    def _upsert_waiter(self, connection: Connection, key: str, expires: datetime) -> None:
        statement = dialect_insert(connection.dialect.name, _table).values(
            key=key, slot=WAITER_SLOT, holder=self.holder, expires_at=expires)
        connection.execute(statement.on_conflict_do_update(
            index_elements=["key", "slot"], set_={"holder": self.holder, "expires_at": expires}))


def _check(key: str, limit: int) -> None:
    if limit < 1:
        raise ValueError("limit must be at least 1")
    if not key or len(key) > MAX_KEY_LENGTH:
        raise ValueError(f"a lease key has 1 to {MAX_KEY_LENGTH} characters")


# ---- the cap: ConcurrencyCap.slot(key) across processes ---------------------------------------------
@dataclass(eq=False)
class _Held:
    key: str
    slot: int
    turn_started: float  # monotonic: when this process took the slot from the table
    expires: float  # monotonic estimate of expires_at
    busy: bool = True
    idle_since: float = 0.0
    yield_requested: bool = False  # hand it over when the current call ends (another process waits)
    release_requested: bool = False  # give it back when the current call ends (the end of a load)
    lost: bool = False  # the table says another holder has it now


@dataclass
class LeaseStats:
    taken: int = 0  # slots taken from the table (a transaction each)
    released: int = 0  # slots given back to the table
    reused: int = 0  # calls served by a lease the process already held (no transaction)
    handed_over: int = 0  # slots given back because another process was waiting
    renewals: int = 0


@dataclass
class _KeyState:
    leases: list[_Held] = field(default_factory=list)
    waiting: int = 0  # threads of this process waiting for a slot of the key
    acquiring: bool = False  # one thread at a time asks the table
    marked_at: float | None = None  # when this process last wrote its waiter row
    cooldown_until: float = 0.0  # after a hand-over: do not take a slot back before this
    peak: int = 0  # the most slots of the key this process has had in use at once (kept across loads)


class LeaseCap:
    """At most ``limit`` calls in flight per key across every process sharing the state store.

    Same interface as :class:`~channelsync.clients.http.ConcurrencyCap` (``with cap.slot(key):``).
    Keys are global, so the caller scopes them (the Autotask client passes "tenant|code|entity").
    """

    tenant_scoped = True  # tells the Autotask client to pass tenant-scoped keys

    def __init__(
        self, store: LeaseStore, limit: int, *, timeout: float = 120.0, turn_s: float = 1.0, tick_s: float = 0.2,
        poll_s: float = 0.02, cooldown_s: float = 0.15, idle_release_s: float = 2.0,
    ) -> None:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        self.store = store
        self.limit = limit
        self.timeout = timeout
        self.turn_s = turn_s
        self.tick_s = tick_s
        self.poll_s = poll_s
        self.cooldown_s = cooldown_s
        self.idle_release_s = idle_release_s
        self.stats = LeaseStats()
        self._keys: dict[str, _KeyState] = {}
        self._cond = threading.Condition(threading.Lock())
        self._stop = threading.Event()
        self._heartbeat: threading.Thread | None = None
        self._pid = os.getpid()

    def __repr__(self) -> str:
        return f"LeaseCap(limit={self.limit}, holder={self.store.holder!r})"

    @contextmanager
    def slot(self, key: str) -> Iterator[None]:
        held = self._take(key.lower())
        try:
            yield
        finally:
            self._give_back(held)

    # ---- taking -------------------------------------------------------------------------------------
    def _take(self, key: str) -> _Held:
        deadline = time.monotonic() + self.timeout
        with self._cond:
            state = self._keys.setdefault(key, _KeyState())
            state.waiting += 1
            try:
                while True:
                    held = self._idle_lease(state)
                    if held is not None:
                        return held
                    now = time.monotonic()
                    wait = 1.0  # woken when a lease of the process comes back; re-checked anyway
                    if len(state.leases) < self.limit and not state.acquiring:
                        if now < state.cooldown_until:
                            wait = state.cooldown_until - now
                        else:
                            held = self._ask_table(key, state)
                            if held is not None:
                                return held
                            wait = self.poll_s * random.uniform(0.5, 1.5)
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        raise self.store.timeout_error(key, self.limit, self.timeout)
                    self._cond.wait(min(wait, remaining))
            finally:
                state.waiting -= 1

    def _idle_lease(self, state: _KeyState) -> _Held | None:
        """An idle lease of the process (still valid), marked busy; called with the lock held."""
        for held in state.leases:
            if held.busy or held.lost:
                continue
            held.busy = True
            state.peak = max(state.peak, sum(1 for h in state.leases if h.busy))
            if held.expires - time.monotonic() < self.store.ttl / 4 and not self._renew_now(held):
                # Never use a slot that may have been taken over; its row expires by itself.
                held.busy, held.lost = False, True
                if held in state.leases:
                    state.leases.remove(held)
                return None
            self.stats.reused += 1
            return held
        return None

    def _renew_now(self, held: _Held) -> bool:
        """The heartbeat fell behind (state store slow or down): renew this lease before using it."""
        started = time.monotonic()
        self._cond.release()
        try:
            kept = self.store.renew_one(held.key, held.slot)
        except LeaseUnavailable:
            kept = False
        finally:
            self._cond.acquire()
        if kept:
            held.expires = started + self.store.ttl
        return kept

    def _ask_table(self, key: str, state: _KeyState) -> _Held | None:
        """One attempt at the table, without the lock; called (and returns) with the lock held. It asks for
        a slot for every thread of the process waiting for the key (a load's workers start together), in
        one transaction: the extra ones are left idle for those threads, instead of one transaction each."""
        state.acquiring = True
        now = time.monotonic()
        mark = state.marked_at is None or now - state.marked_at >= WAITER_REFRESH
        clear = state.marked_at is not None and state.waiting <= 1
        # As many as the threads waiting now, or as the process has used at once before: a load's workers
        # start one after another, so the first asks before the others wait, and each would pay a
        # transaction of its own (a billing customer's 3 writers: 3 transactions on the critical path of
        # every customer). A slot taken and not used stays idle and goes back as idle ones do.
        want = max(1, min(max(state.waiting, state.peak), self.limit - len(state.leases)))
        self._cond.release()
        try:
            slots = self.store.try_acquire_many(key, self.limit, want, mark_waiting=mark, clear_waiting=clear)
        finally:
            self._cond.acquire()
            state.acquiring = False
            self._cond.notify_all()
        if not slots:
            if mark:
                state.marked_at = now
            return None
        if clear:
            state.marked_at = None
        self.stats.taken += len(slots)
        # expires from before the insert (conservative); the turn from after it (see beat_once)
        started = time.monotonic()
        held = _Held(key, slots[0], turn_started=started, expires=now + self.store.ttl)
        state.leases.append(held)
        state.peak = max(state.peak, sum(1 for h in state.leases if h.busy))
        state.leases += [_Held(key, slot, turn_started=started, expires=now + self.store.ttl, busy=False,
                               idle_since=started) for slot in slots[1:]]
        self._ensure_heartbeat()
        return held

    # ---- giving back --------------------------------------------------------------------------------
    def _give_back(self, held: _Held) -> None:
        release = False
        with self._cond:
            held.busy = False
            held.idle_since = time.monotonic()
            state = self._keys[held.key]
            if held.yield_requested or held.release_requested or held.lost:
                if held in state.leases:
                    state.leases.remove(held)
                release = not held.lost
                if release and held.yield_requested:  # the waiting process gets it: do not take it back at once
                    state.cooldown_until = held.idle_since + self.cooldown_s
            if state.waiting:
                self._cond.notify_all()
        if release:
            self._release([held])

    def _release(self, leases: list[_Held]) -> None:
        try:
            self.store.release_many([(h.key, h.slot) for h in leases])
        except LeaseUnavailable as exc:  # the rows expire by themselves
            log.warning("could not release %d concurrency lease(s): %s", len(leases), exc)
        with self._cond:
            self.stats.released += len(leases)

    def release_all(self) -> None:
        """Give every slot back (the end of a load). Calls still in flight give theirs back as they end."""
        with self._cond:
            idle: list[_Held] = []
            busy = False
            marked = any(state.marked_at is not None for state in self._keys.values())
            for state in self._keys.values():
                state.marked_at = None
                for held in list(state.leases):
                    if held.busy:
                        # Given back as its call ends; no cooldown (nobody else asked for it): another
                        # load of this process still running takes a slot again at once.
                        held.release_requested = busy = True
                    else:
                        state.leases.remove(held)
                        idle.append(held)
        if not idle and not busy and not marked:
            return  # nothing in the table is ours
        if busy:
            self._release(idle)
            return
        try:
            self.store.release_all()
        except LeaseUnavailable as exc:
            log.warning("could not release the concurrency leases: %s", exc)
        with self._cond:
            self.stats.released += len(idle)

    def close(self) -> None:
        self.release_all()
        self._stop.set()

    # ---- heartbeat ----------------------------------------------------------------------------------
    def _ensure_heartbeat(self) -> None:
        if self._heartbeat is None or not self._heartbeat.is_alive():
            self._stop.clear()
            self._heartbeat = threading.Thread(target=self._beat, name="lease-heartbeat", daemon=True)
            self._heartbeat.start()

    def _beat(self) -> None:
        while not self._stop.wait(self.tick_s):
            try:
                self.beat_once()
            except Exception:  # the heartbeat must survive a bad moment of the state store
                log.warning("concurrency lease heartbeat failed", exc_info=True)

    def beat_once(self) -> None:
        """Renew when due, hand slots to waiting processes, give idle ones back (public for tests)."""
        with self._cond:
            keys = [key for key, state in self._keys.items() if state.leases]
            if not keys:
                return
            started = time.monotonic()
            due = any(h.expires - started < self.store.ttl / 2 for k in keys for h in self._keys[k].leases)
        if due:
            kept = self.store.renew()
            with self._cond:
                self.stats.renewals += 1
                for key in keys:
                    state = self._keys[key]
                    for held in list(state.leases):
                        if (held.key, held.slot) in kept:
                            held.expires = started + self.store.ttl
                        elif held.turn_started < started:  # (one taken during the renewal is not lost)
                            log.warning("concurrency lease %s slot %d was lost (expired)", held.key, held.slot)
                            held.lost = True
                            if not held.busy:
                                state.leases.remove(held)
        contended = self.store.contended(keys)
        give_back: list[_Held] = []
        with self._cond:
            now = time.monotonic()
            for key in keys:
                state = self._keys[key]
                waiting = key in contended
                idle_after = self.tick_s / 4 if waiting else self.idle_release_s
                idle = [h for h in state.leases if not h.busy and now - h.idle_since >= idle_after]
                give_back.extend(idle)
                if waiting and not idle:
                    turns = [h for h in state.leases if h.busy and not h.yield_requested
                             and now - h.turn_started >= self.turn_s]
                    if turns:
                        min(turns, key=lambda h: h.turn_started).yield_requested = True
                        self.stats.handed_over += 1
                if waiting and idle:
                    state.cooldown_until = now + self.cooldown_s
                    self.stats.handed_over += len(idle)
                for held in idle:
                    state.leases.remove(held)
                if state.waiting:
                    self._cond.notify_all()
        if give_back:
            self._release(give_back)


# ---- one cap per (state store, limit) per process ---------------------------------------------------
_CAPS: dict[tuple[str, int, str], LeaseCap] = {}
_CAPS_LOCK = threading.Lock()


def shared_lease_cap(url: str, limit: int, *, system: str = "channelsync", **options: Any) -> LeaseCap:
    """The process-wide cap of a state store: every client of the process shares its leases, so
    threads of different clients hand slots to each other without a transaction."""
    key = (url, limit, system)
    with _CAPS_LOCK:
        cap = _CAPS.get(key)
        if cap is None or cap._pid != os.getpid():
            cap = _CAPS[key] = LeaseCap(LeaseStore(url, system=system), limit, **options)
        return cap


def release_all_caps() -> None:
    """Release every lease this process holds (atexit; a loader may call it at the end of a load)."""
    with _CAPS_LOCK:
        caps = [cap for cap in _CAPS.values() if cap._pid == os.getpid()]
    for cap in caps:
        try:
            cap.release_all()
        except Exception:  # at interpreter exit: the rows expire by themselves
            log.debug("releasing concurrency leases at exit failed", exc_info=True)


def _forget_caps_after_fork() -> None:
    _CAPS.clear()  # the child is a new holder; the parent's heartbeat threads did not survive the fork


os.register_at_fork(after_in_child=_forget_caps_after_fork)
atexit.register(release_all_caps)
