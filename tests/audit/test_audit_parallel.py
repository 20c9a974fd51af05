"""Verification in parallel seq ranges: the same report as one walk, whatever row was tampered.

Each scenario tampers with a fresh twelve-event log at every position, then compares
``AuditLog.verify`` walked once with the walk cut into 2, 3 and 5 ranges (forked workers,
``min_rows_per_worker=1`` so even a tiny log is cut), so every seam meets every kind of tampering. A well-forged row squeezed in (rule 5)
shares its ``prev_hash`` with the row it displaced: PostgreSQL's unique ``prev_hash`` refuses it,
so that scenario runs on SQLite only (which has no such index since migration 0004).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import Engine, delete, insert, select, text
from sqlalchemy.exc import IntegrityError

from audit import AuditLog, Event, NewEvent, audit_events, chain
from audit.record import GENESIS

LOG = AuditLog()
N = 12
WORKERS = (2, 3, 5)


def _sql(engine: Engine, sql: str, **params: object) -> None:
    with engine.begin() as conn:
        conn.execute(text(sql), params)


def _row(engine: Engine, seq: int) -> Event:
    with engine.connect() as conn:
        row = conn.execute(select(audit_events).where(audit_events.c.seq == seq)).one()
    return Event(**row._asdict())


def _put(engine: Engine, event: Event) -> None:
    with engine.begin() as conn:
        conn.execute(insert(audit_events).values(dataclasses.asdict(event)))


def _edit(engine: Engine, k: int) -> None:
    _sql(engine, "UPDATE audit_events SET actor = 'mallory' WHERE seq = :k", k=k)


def _delete(engine: Engine, k: int) -> None:
    _sql(engine, "DELETE FROM audit_events WHERE seq = :k", k=k)


def _delete_renumber(engine: Engine, k: int) -> None:
    _delete(engine, k)
    _sql(engine, "UPDATE audit_events SET seq = seq + 1000 WHERE seq > :k", k=k)
    _sql(engine, "UPDATE audit_events SET seq = seq - 1001 WHERE seq > 1000")


def _squeeze_junk(engine: Engine, k: int) -> None:
    template = _row(engine, k)
    _sql(engine, "UPDATE audit_events SET seq = seq + 1000 WHERE seq >= :k", k=k)
    _sql(engine, "UPDATE audit_events SET seq = seq - 999 WHERE seq >= 1000")
    _put(engine, dataclasses.replace(template, seq=k, prev_hash="1" * 64, hash="2" * 64))


def _rehash(engine: Engine, k: int) -> None:
    """Row k edited and its hash recomputed (the next row still commits to the old hash)."""
    old = _row(engine, k)
    new = chain(
        [
            NewEvent(
                type=old.type,
                time=old.time,
                actor="mallory",
                decision_id=old.decision_id,
                policy_name=old.policy_name,
                policy_version=old.policy_version,
                policy_digest=old.policy_digest,
                body_json=old.body_json,
                decision_type=old.decision_type,
            )
        ],
        k - 1,
        old.prev_hash,
    )[0]
    _delete(engine, k)
    _put(engine, new)


def _cut_head(engine: Engine, k: int) -> None:
    _sql(engine, "DELETE FROM audit_events WHERE seq <= :k", k=k)


def _cut_tail(engine: Engine, k: int) -> None:
    _sql(engine, "DELETE FROM audit_events WHERE seq >= :k", k=k)


def _time_moved(engine: Engine, k: int) -> None:
    old = _row(engine, k)
    _delete(engine, k)
    _put(engine, dataclasses.replace(old, time=old.time + timedelta(microseconds=1)))


def _negative(engine: Engine, k: int) -> None:
    _put(engine, dataclasses.replace(_row(engine, k), seq=-k, prev_hash=f"{k:064x}", hash=f"{k:064X}"))


TAMPERS: dict[str, Callable[[Engine, int], None]] = {
    "edit": _edit,
    "delete": _delete,
    "delete_renumber": _delete_renumber,
    "squeeze_junk": _squeeze_junk,
    "rehash": _rehash,
    "cut_head": _cut_head,
    "cut_tail": _cut_tail,
    "time_moved": _time_moved,
    "negative_seq": _negative,
}


def _refill(engine: Engine, events: list[NewEvent]) -> None:
    with engine.begin() as conn:
        conn.execute(delete(audit_events))
        LOG.append(conn, events)


@pytest.mark.parametrize("tamper", sorted(TAMPERS))
def test_parallel_report_equals_the_sequential_one(
    audit_engine: Engine, make_events: Callable[..., list[NewEvent]], tamper: str
) -> None:
    """At every position, every range count reports the same first bad seq, problem and count."""
    events = make_events(N)
    for k in range(1, N + 1):
        _refill(audit_engine, events)
        TAMPERS[tamper](audit_engine, k)
        expected = LOG.verify(audit_engine)
        for workers in WORKERS:
            got = LOG.verify(audit_engine, workers=workers, min_rows_per_worker=1)
            assert got == expected, (tamper, k, workers)


def _squeeze_forged(engine: Engine, k: int) -> None:
    """A row with a correct hash inserted at seq k, the rows from k on renumbered up by one."""
    old = _row(engine, k)
    _sql(engine, "UPDATE audit_events SET seq = seq + 1000 WHERE seq >= :k", k=k)
    _sql(engine, "UPDATE audit_events SET seq = seq - 999 WHERE seq >= 1000")
    forged = NewEvent(
        type=old.type, time=old.time, actor="mallory", decision_id=old.decision_id, body_json=old.body_json
    )
    _put(engine, chain([forged], k - 1, old.prev_hash)[0])


@pytest.mark.parametrize("k", range(1, N + 1))
def test_a_well_forged_row_squeezed_in_is_found_alike(
    audit_engine: Engine, make_events: Callable[..., list[NewEvent]], k: int
) -> None:
    """A forged row with a correct hash at seq k: inserted at k, whatever the range count.

    PostgreSQL keeps UNIQUE(prev_hash) (migration 0004 drops it on SQLite only), so there the
    forged row is refused outright and never stored; the renumbering that made room for it is
    still found at k.
    """
    _refill(audit_engine, make_events(N))
    if audit_engine.dialect.name == "postgresql":
        with pytest.raises(IntegrityError, match="prev_hash"):
            _squeeze_forged(audit_engine, k)
        with audit_engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM audit_events WHERE actor = 'mallory'")).scalar() == 0
        found = LOG.verify(audit_engine)
        assert (found.ok, found.first_bad_seq) == (False, k)
        return
    _squeeze_forged(audit_engine, k)

    expected = LOG.verify(audit_engine)

    assert (expected.ok, expected.first_bad_seq, expected.problem) == (False, k, "inserted")
    for workers in WORKERS:
        assert LOG.verify(audit_engine, workers=workers, min_rows_per_worker=1) == expected


def test_an_intact_log_verifies_in_parallel(audit_engine: Engine, make_events: Callable[..., list[NewEvent]]) -> None:
    """An untouched log gives the whole count and the head, cut into any number of ranges."""
    _refill(audit_engine, make_events(N))
    expected = LOG.verify(audit_engine)
    assert expected.ok and expected.count == N
    for workers in (2, 3, 4, N, N + 5):
        assert LOG.verify(audit_engine, workers=workers, min_rows_per_worker=1) == expected


def test_an_empty_log_verifies_in_parallel(audit_engine: Engine) -> None:
    """No rows: ok, nothing counted, the genesis as head."""
    report = LOG.verify(audit_engine, workers=4, min_rows_per_worker=1)
    assert (report.ok, report.count, report.head_seq, report.head_hash) == (True, 0, 0, GENESIS)


def test_a_small_log_is_walked_once(
    audit_engine: Engine, make_events: Callable[..., list[NewEvent]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Under ``min_rows_per_worker`` rows per worker no process is forked."""
    _refill(audit_engine, make_events(N))

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("forked for a small log")

    monkeypatch.setattr("concurrent.futures.ProcessPoolExecutor", refuse)
    assert LOG.verify(audit_engine, workers=4).count == N
