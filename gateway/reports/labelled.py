"""The labelled history a threshold is certified on, read from the database or from a feedback export.

From the database every decision of the type in the window is read (labelled or not), so each
inclusion-probability stratum's size is counted, not estimated. A row is labelled when a person
signed it off (held decisions, pi = 1) or audited it (automatic decisions drawn with the recorded
``sample_probability``). From an export file (``signoff export feedback``, JSONL or Parquet) only
labelled rows exist; stratum sizes are then estimated as ``sum(1/pi)``, which the certificate says.

A row's label is "the proposal was wrong": the final outcome differs from the proposal, or the
reviewer's action is one of ``error_actions`` (an EDIT of the payload alone is not, by default).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import Connection, and_, or_, select

from audit.record import iso_utc
from gateway.adapters.tables import decision_log as decisions  # gold cases excluded
from gateway.adapters.tables import review_tasks
from gateway.errors import InvalidRequest

__all__ = ["DEFAULT_ERROR_ACTIONS", "History", "read_database", "read_file"]

_D = decisions.c
_T = review_tasks.c

DEFAULT_ERROR_ACTIONS = frozenset({"OVERRIDE", "REJECT"})
"""Reviewer actions that count as a model error even when the outcome string is unchanged."""


@dataclass
class History:
    """Columns of the labelled rows (and, from the database, of every decision in the window)."""

    source: str
    decision_type: str
    since: str
    until: str
    conf: NDArray[np.float64]
    err: NDArray[np.float64]
    pi: NDArray[np.float64]
    model: list[str]
    policies: dict[tuple[str, int], str] = field(default_factory=dict)
    pop_conf: NDArray[np.float64] | None = None
    pop_pi: NDArray[np.float64] | None = None
    pop_model: list[str] | None = None
    first: str = ""
    last: str = ""
    """When the first and the last decision read were created (the data's own span)."""

    def models(self) -> list[str]:
        """The distinct ``model@version`` of the labelled rows, sorted."""
        return sorted(set(self.model))

    def only_model(self, model: str) -> History:
        """The rows (labelled and population) of one ``model@version``."""
        keep = np.array([m == model for m in self.model], bool)
        pop = None if self.pop_model is None else np.array([m == model for m in self.pop_model], bool)
        return History(
            source=self.source,
            decision_type=self.decision_type,
            since=self.since,
            until=self.until,
            conf=self.conf[keep],
            err=self.err[keep],
            pi=self.pi[keep],
            model=[m for m, k in zip(self.model, keep, strict=True) if k],
            policies=self.policies,
            pop_conf=None if pop is None or self.pop_conf is None else self.pop_conf[pop],
            pop_pi=None if pop is None or self.pop_pi is None else self.pop_pi[pop],
            pop_model=None if pop is None else [m for m, k in zip(self.pop_model or [], pop, strict=True) if k],
            first=self.first,
            last=self.last,
        )


def _is_error(proposal: str, final: str, action: str | None, error_actions: frozenset[str]) -> float:
    return 1.0 if final != proposal or (action or "") in error_actions else 0.0


def read_database(
    conn: Connection,
    decision_type: str,
    since: datetime,
    until: datetime,
    error_actions: frozenset[str] = DEFAULT_ERROR_ACTIONS,
    *,
    labelled_only: bool = False,
) -> History:
    """Every decision of ``decision_type`` created in ``[since, until)``, labelled where a person looked.

    ``labelled_only`` reads only the labelled rows (for descriptions such as ECE; stratum sizes
    are then those of the labelled rows, so do not certify from it).
    """
    audited = (select(_T.decision_id).where(_T.kind == "audit", _T.state == "done")).subquery()
    q = (
        select(
            _D.proposal_confidence,
            _D.sample_probability,
            _D.status,
            _D.route,
            _D.proposal_outcome,
            _D.final_outcome,
            _D.action,
            _D.correction_json,
            _D.proposal_model,
            _D.proposal_model_version,
            _D.policy_name,
            _D.policy_version,
            _D.policy_digest,
            _D.created_at,
            audited.c.decision_id.label("audit_done"),
        )
        .select_from(decisions.outerjoin(audited, audited.c.decision_id == _D.decision_id))
        .where(_D.decision_type == decision_type, and_(_D.created_at >= since, _D.created_at < until))
        .order_by(_D.created_at, _D.decision_id)
    )
    if labelled_only:
        q = q.where(or_(_D.status == "HUMAN_DECIDED", audited.c.decision_id.is_not(None)))
    pop_conf: list[float] = []
    pop_pi: list[float] = []
    pop_model: list[str] = []
    conf: list[float] = []
    err: list[float] = []
    pi: list[float] = []
    model: list[str] = []
    policies: dict[tuple[str, int], str] = {}
    first = last = None
    for r in conn.execute(q.execution_options(yield_per=20000)):
        first = first or r.created_at
        last = r.created_at
        c = float(r.proposal_confidence)
        if not math.isfinite(c):
            raise InvalidRequest(
                "proposal_confidence",
                f"NaN or infinite confidence in the database (decision created {iso_utc(r.created_at)})",
            )
        m = f"{r.proposal_model}@{r.proposal_model_version}"
        p = float(r.sample_probability)
        pop_conf.append(c)
        pop_pi.append(p)
        pop_model.append(m)
        policies[(r.policy_name, int(r.policy_version))] = r.policy_digest
        if r.status == "HUMAN_DECIDED":
            final, act, label_pi = r.final_outcome, r.action, 1.0
        elif r.audit_done is not None and r.status == "AUTO_DECIDED":
            corr = json.loads(r.correction_json) if r.correction_json else None
            final = corr["outcome"] if corr else r.final_outcome
            act = corr["action"] if corr else "APPROVE"
            label_pi = p
        else:
            continue
        conf.append(c)
        err.append(_is_error(r.proposal_outcome, final, act, error_actions))
        pi.append(label_pi)
        model.append(m)
    return History(
        source="database",
        decision_type=decision_type,
        since=iso_utc(since),
        until=iso_utc(until),
        conf=np.array(conf, float),
        err=np.array(err, float),
        pi=np.array(pi, float),
        model=model,
        policies=policies,
        pop_conf=np.array(pop_conf, float),
        pop_pi=np.array(pop_pi, float),
        pop_model=pop_model,
        first=iso_utc(first) if first else "",
        last=iso_utc(last) if last else "",
    )


_REQUIRED: dict[str, type | tuple[type, ...]] = {
    "decision_type": str,
    "created_at": str,
    "proposal_outcome": str,
    "proposal_confidence": (int, float),
    "model": str,
    "model_version": str,
    "final_outcome": str,
    "policy_name": str,
    "policy_version": int,
    "route": str,
    "label_source": str,
    "pi": (int, float),
}


def _check(where: str, row: Any) -> dict[str, Any]:
    if not isinstance(row, dict):
        raise InvalidRequest(where, "not a JSON object (expected one feedback row per line)")
    for name, kind in _REQUIRED.items():
        if name not in row or row[name] is None:
            raise InvalidRequest(f"{where}: {name}", "missing (not in the feedback export format)")
        value = row[name]
        if not isinstance(value, kind) or isinstance(value, bool):
            raise InvalidRequest(
                f"{where}: {name}",
                f"expected {'a number' if kind is not str else 'a string'}, got {type(value).__name__}",
            )
    c = float(row["proposal_confidence"])
    if math.isnan(c):
        raise InvalidRequest(f"{where}: proposal_confidence", "NaN (a row needs a real confidence)")
    if not 0.0 <= c <= 1.0:
        raise InvalidRequest(f"{where}: proposal_confidence", f"{c} is outside [0, 1]")
    p = float(row["pi"])
    if not 0.0 < p <= 1.0:
        raise InvalidRequest(f"{where}: pi", f"{p} is outside (0, 1]")
    return row


def _rows_jsonl(path: Path) -> list[tuple[str, dict[str, Any]]]:
    out = []
    with path.open(encoding="utf-8") as fh:
        for i, line in enumerate(fh, 1):
            if not line.strip():
                continue
            where = f"{path}:{i}"
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InvalidRequest(where, f"not JSON ({exc.msg} at column {exc.colno})") from None
            out.append((where, _check(where, row)))
    return out


def _parquet(path: Path, decision_type: str | None, lo: str, hi: str, error_actions: frozenset[str]) -> History:
    """A Parquet export read and checked column by column (a million rows in about a second)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except Exception as exc:  # noqa: BLE001 - pyarrow raises several unrelated types for a bad file
        raise InvalidRequest(str(path), f"not a Parquet file ({type(exc).__name__})") from None
    for name, kind in _REQUIRED.items():
        if name not in table.column_names:
            raise InvalidRequest(f"{path}: {name}", "missing column (not in the feedback export format)")
        col = table.column(name)
        if col.null_count:
            first = int(pc.index(pc.is_null(col), True).as_py())
            raise InvalidRequest(f"{path}: row {first + 1}: {name}", "missing (null)")
        numeric = pa.types.is_integer(col.type) or pa.types.is_floating(col.type)
        if (kind is str) != pa.types.is_string(col.type) and (kind is str or not numeric):
            raise InvalidRequest(
                f"{path}: {name}", f"column of type {col.type}, expected {'a string' if kind is str else 'a number'}"
            )
    conf = table.column("proposal_confidence").to_numpy().astype(float)
    pi = table.column("pi").to_numpy().astype(float)
    for name, values, ok, problem in (
        ("proposal_confidence", conf, ~np.isnan(conf), "NaN (a row needs a real confidence)"),
        ("proposal_confidence", conf, (conf >= 0) & (conf <= 1), "outside [0, 1]"),
        ("pi", pi, (pi > 0) & (pi <= 1), "outside (0, 1]"),
    ):
        if not ok.all():
            first = int(np.flatnonzero(~ok)[0])
            raise InvalidRequest(
                f"{path}: row {first + 1}: {name}", f"{values[first]} is {problem}" if "NaN" not in problem else problem
            )
    types = pc.unique(table.column("decision_type")).to_pylist()
    if decision_type is None:
        if len(types) > 1:
            raise InvalidRequest("--decision-type", f"the file holds {', '.join(sorted(types))}; name one")
        decision_type = types[0] if types else ""
    created_col = table.column("created_at")
    keep = pc.equal(table.column("decision_type"), decision_type)
    if lo:
        keep = pc.and_(keep, pc.greater_equal(created_col, lo))
    if hi:
        keep = pc.and_(keep, pc.less(created_col, hi))
    t = table.filter(keep)
    proposal, final = t.column("proposal_outcome"), t.column("final_outcome")
    action = (
        t.column("action").fill_null("") if "action" in t.column_names else pa.array([""] * t.num_rows, pa.string())
    )
    wrong = pc.or_(pc.not_equal(proposal, final), pc.is_in(action, pa.array(sorted(error_actions), pa.string())))
    model = pc.binary_join_element_wise(t.column("model"), t.column("model_version"), "@").to_pylist()
    span = pc.min_max(t.column("created_at")).as_py() if t.num_rows else {"min": "", "max": ""}
    refs = t.group_by(["policy_name", "policy_version"]).aggregate([]).to_pylist()
    return History(
        source=str(path),
        decision_type=decision_type,
        since=lo or span["min"],
        until=hi or span["max"],
        conf=t.column("proposal_confidence").to_numpy().astype(float),
        err=wrong.to_numpy(zero_copy_only=False).astype(float),
        pi=t.column("pi").to_numpy().astype(float),
        model=model,
        policies={(r["policy_name"], int(r["policy_version"])): "" for r in refs},
    )


def read_file(
    path: Path,
    decision_type: str | None,
    since: datetime | None,
    until: datetime | None,
    error_actions: frozenset[str] = DEFAULT_ERROR_ACTIONS,
) -> History:
    """Labelled rows from a feedback export (``.parquet`` by suffix, else JSONL), checked line by line."""
    if not path.is_file():
        raise InvalidRequest(str(path), "no such file")
    lo0, hi0 = (iso_utc(since) if since else ""), (iso_utc(until) if until else "")
    if path.suffix == ".parquet":
        return _parquet(path, decision_type, lo0, hi0, error_actions)
    rows = _rows_jsonl(path)
    types = sorted({r["decision_type"] for _, r in rows})
    if decision_type is None:
        if len(types) > 1:
            raise InvalidRequest("--decision-type", f"the file holds {', '.join(types)}; name one")
        decision_type = types[0] if types else ""
    lo, hi = (iso_utc(since) if since else ""), (iso_utc(until) if until else "")
    keep = [
        (w, r)
        for w, r in rows
        if r["decision_type"] == decision_type
        and (not lo or r["created_at"] >= lo)
        and (not hi or r["created_at"] < hi)
    ]
    created = [r["created_at"] for _, r in keep]
    return History(
        source=str(path),
        decision_type=decision_type,
        since=lo or (min(created) if created else ""),
        until=hi or (max(created) if created else ""),
        conf=np.array([float(r["proposal_confidence"]) for _, r in keep], float),
        err=np.array(
            [_is_error(r["proposal_outcome"], r["final_outcome"], r.get("action"), error_actions) for _, r in keep],
            float,
        ),
        pi=np.array([float(r["pi"]) for _, r in keep], float),
        model=[f"{r['model']}@{r['model_version']}" for _, r in keep],
        policies={(r["policy_name"], int(r["policy_version"])): "" for _, r in keep},
    )
