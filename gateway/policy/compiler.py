"""Semantic checks and compilation of a schema-valid policy document: an ordered table of stages.

Pure: stdlib only. The loader parses and schema-validates the YAML, then hands the document to
:func:`check` (every stage runs, every issue is collected, OPA style) and, when no stage found an
error, to :func:`compile_policy`, which turns the rules into closures once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from gateway.policy import analysis, depth, personal
from gateway.policy.canonical import digest
from gateway.policy.evaluator import CompiledRule, build_evaluator, compile_condition
from gateway.policy.model import (
    AUTO,
    Issue,
    Policy,
    PolicyRef,
    ProposalSource,
    Sampling,
    Severity,
)

__all__ = ["STAGES", "Context", "check", "compile_policy", "fail_closed_queue", "json_path"]

Path = tuple[str | int, ...]
_RESERVED_RULES = frozenset({"default", "fail_closed"})
_BASIS_ARTICLE = {"contract": "Art. 22(2)(a)", "law": "Art. 22(2)(b)", "consent": "Art. 22(2)(c)"}


def json_path(parts: Sequence[str | int]) -> str:
    """Render ``("rules", 2, "to")`` as ``$.rules[2].to``; odd keys as ``['input.amount']``."""
    out = ["$"]
    for part in parts:
        if isinstance(part, int):
            out.append(f"[{part}]")
        elif part.isidentifier():
            out.append(f".{part}")
        else:
            out.append(f"[{part!r}]")
    return "".join(out)


@dataclass
class Context:
    """What every stage sees: the document, where things are in the file, and the issues so far."""

    file: str
    doc: Mapping[str, Any]
    locate: Callable[[Path], int | None] = lambda parts: None
    issues: list[Issue] = field(default_factory=list)
    staff: Mapping[str, frozenset[str]] | None = None
    """Principal name to roles, when the principals file is known (lint ``--principals``)."""

    def add(self, parts: Path, code: str, message: str, severity: Severity = "error") -> None:
        """Record one issue at ``parts``."""
        self.issues.append(Issue(self.file, self.locate(parts), json_path(parts), code, message, severity))


def _rules(ctx: Context) -> Iterator[tuple[int, Mapping[str, Any]]]:
    return enumerate(ctx.doc.get("rules") or [])


def _leaves(ctx: Context) -> Iterator[tuple[Path, str, str, Any]]:
    """Every ``(path, field, op, arg)`` predicate in every rule."""
    for i, rule in _rules(ctx):
        yield from analysis.leaves(rule["when"], ("rules", i, "when"))


def check_reserved_names(ctx: Context) -> None:
    """``auto`` is not a queue; ``default`` and ``fail_closed`` are not rule names."""
    if AUTO in ctx.doc.get("queues", {}):
        ctx.add(("queues", AUTO), "reserved_queue_name", "'auto' is reserved: it means no human review")
    for i, rule in _rules(ctx):
        if rule["name"] in _RESERVED_RULES:
            ctx.add(
                ("rules", i, "name"),
                "reserved_rule_name",
                f"rule name '{rule['name']}' is reserved for routes no rule decided",
            )


def check_references(ctx: Context) -> None:
    """Every route names ``auto`` or a declared queue; fail-closed and audit routes name a queue."""
    queues = ctx.doc.get("queues", {})
    for i, rule in _rules(ctx):
        if rule["to"] != AUTO and rule["to"] not in queues:
            ctx.add(("rules", i, "to"), "unknown_queue", f"queue '{rule['to']}' is not declared")
    if ctx.doc["default"] != AUTO and ctx.doc["default"] not in queues:
        ctx.add(("default",), "unknown_queue", f"queue '{ctx.doc['default']}' is not declared")
    for parts, name in (
        (("fail_closed_to",), ctx.doc.get("fail_closed_to")),
        (("sampling", "queue"), (ctx.doc.get("sampling") or {}).get("queue")),
    ):
        if name is not None and name not in queues:
            hint = "; 'auto' is not a queue" if name == AUTO else ""
            ctx.add(parts, "unknown_queue", f"queue '{name}' is not declared{hint}")


def check_duplicate_rules(ctx: Context) -> None:
    """Rule names are unique: a decision records the name, so it must say which rule."""
    seen: dict[str, int] = {}
    for i, rule in _rules(ctx):
        if rule["name"] in seen:
            ctx.add(
                ("rules", i, "name"),
                "duplicate_rule",
                f"rule '{rule['name']}' is already defined at $.rules[{seen[rule['name']]}]",
            )
        seen.setdefault(rule["name"], i)


def check_outcomes(ctx: Context) -> None:
    """Adverse outcomes and outcome predicates name declared outcomes."""
    outcomes = set(ctx.doc["outcomes"])
    for j, label in enumerate(ctx.doc.get("adverse_outcomes", [])):
        if label not in outcomes:
            ctx.add(
                ("adverse_outcomes", j),
                "adverse_not_in_outcomes",
                f"adverse outcome '{label}' is not listed in outcomes",
            )
    for parts, name, op, arg in _leaves(ctx):
        if name == "outcome" and op in ("eq", "ne", "in", "not_in"):
            for label in arg if isinstance(arg, list) else [arg]:
                if label not in outcomes:
                    ctx.add(parts, "unknown_outcome", f"outcome '{label}' is not listed in outcomes")


def check_thresholds(ctx: Context) -> None:
    """Confidence and score thresholds lie in [0, 1]."""
    for parts, name, op, arg in _leaves(ctx):
        if analysis.is_unit_field(name) and op in analysis.NUMERIC_OPS | {"eq", "ne"}:
            for value in arg if isinstance(arg, list) else [arg]:
                if isinstance(value, (int, float)) and not isinstance(value, bool) and not 0 <= value <= 1:
                    ctx.add(parts, "threshold_range", f"{name} threshold {value} is outside [0, 1]")


def check_input_paths(ctx: Context) -> None:
    """Every ``input.`` path is declared under the input schema's (nested) ``properties``."""
    for parts, name, _op, _arg in _leaves(ctx):
        if name.startswith("input."):
            problem = analysis.undeclared_input(ctx.doc.get("input_schema"), name.split(".")[1:])
            if problem:
                ctx.add(parts[:-1], "unknown_input_path", f"{name} is not declared in input_schema ({problem})")


def check_contradictions(ctx: Context) -> None:
    """No conjunction asks one field for two things that cannot both hold."""
    seen: set[Path] = set()
    for i, rule in _rules(ctx):
        for parts, message in analysis.contradictions(rule["when"], ("rules", i, "when")):
            if parts not in seen:
                seen.add(parts)
                ctx.add(parts, "contradictory_condition", message)


def check_reachability(ctx: Context) -> None:
    """No rule is shadowed by earlier rules on the same single numeric field."""
    earlier: list[tuple[str, analysis.Interval, str]] = []
    for i, rule in _rules(ctx):
        single = analysis.single_field_interval(rule["when"])
        if single is None:
            continue
        name, interval = single
        covering = [n for f, iv, n in earlier if f == name]
        if covering and analysis.covered(interval, [iv for f, iv, _ in earlier if f == name], name):
            ctx.add(
                ("rules", i),
                "unreachable_rule",
                f"rule '{rule['name']}' can never match: earlier rule(s) "
                f"{', '.join(repr(n) for n in covering)} already cover {name}",
            )
        earlier.append((name, interval, rule["name"]))


def check_gdpr(ctx: Context) -> None:
    """On a significant decision, no adverse outcome reaches ``auto`` without an Art. 22(2) basis."""
    adverse = set(ctx.doc.get("adverse_outcomes", []))
    if not ctx.doc.get("significant") or not adverse:
        return
    basis = ctx.doc.get("gdpr_basis")
    severity: Severity = "warning" if basis else "error"
    if basis:
        tail = (
            f"allowed under gdpr_basis '{basis}' ({_BASIS_ARTICLE[basis]}): the data subject must "
            "be able to contest it and obtain human intervention (Art. 22(3))"
        )
    else:
        tail = "route them to a queue, or state gdpr_basis (contract, law or consent)"
    outcomes = set(ctx.doc["outcomes"])
    for i, rule in _rules(ctx):
        if rule["to"] == AUTO:
            reach = analysis.reachable_outcomes(rule["when"], outcomes) & adverse
            if reach:
                ctx.add(
                    ("rules", i, "to"),
                    "gdpr_auto_adverse",
                    f"rule '{rule['name']}' can decide adverse outcome(s) "
                    f"{', '.join(sorted(reach))} automatically on a significant decision; {tail}",
                    severity,
                )
    if ctx.doc["default"] == AUTO and adverse & outcomes:
        ctx.add(
            ("default",),
            "gdpr_auto_adverse",
            f"default route auto can decide adverse outcome(s) {', '.join(sorted(adverse & outcomes))} "
            f"automatically on a significant decision; {tail}",
            severity,
        )


def check_fail_closed(ctx: Context) -> None:
    """Say which queue receives what cannot be judged when the policy does not."""
    if "fail_closed_to" not in ctx.doc and ctx.doc.get("queues"):
        ctx.add(
            (),
            "implicit_fail_closed_queue",
            f"fail_closed_to is not set: requests that cannot be judged go to '{fail_closed_queue(ctx.doc)}'",
            "warning",
        )


#: The semantic stages, in order. Each reads the context and appends issues; none raises.
STAGES: tuple[tuple[str, Callable[[Context], None]], ...] = (
    ("reserved_names", check_reserved_names),
    ("references", check_references),
    ("duplicate_rules", check_duplicate_rules),
    ("outcomes", check_outcomes),
    ("thresholds", check_thresholds),
    ("input_paths", check_input_paths),
    ("contradictions", check_contradictions),
    ("reachability", check_reachability),
    ("gdpr", check_gdpr),
    ("fail_closed", check_fail_closed),
    *depth.STAGES,
)


def check(ctx: Context) -> list[Issue]:
    """Run every semantic stage on a schema-valid document; return the issues they found."""
    for _name, stage in STAGES:
        stage(ctx)
    return ctx.issues


def fail_closed_queue(doc: Mapping[str, Any]) -> str:
    """``fail_closed_to``, else the default route if it is a queue, else the first queue."""
    if doc.get("fail_closed_to"):
        return str(doc["fail_closed_to"])
    if doc["default"] != AUTO and doc["default"] in doc["queues"]:
        return str(doc["default"])
    return str(next((q for q in doc["queues"] if q != AUTO), next(iter(doc["queues"]))))


def compile_policy(
    doc: Mapping[str, Any],
    *,
    source_path: str,
    source_text: str,
    validate_input: Callable[[Mapping[str, Any]], list[tuple[str, str]]],
    warnings: Sequence[Issue] = (),
) -> Policy:
    """Compile a checked document (no errors) into a :class:`Policy` with its evaluator."""
    meta = doc["metadata"]
    ref = PolicyRef(meta["name"], meta["version"], digest(doc))
    rules = [CompiledRule(r["name"], r["to"], compile_condition(r["when"]), r.get("reason")) for r in doc["rules"]]
    closed = fail_closed_queue(doc)
    sampling = doc.get("sampling") or {}
    queues = {name: depth.build_queue(name, q) for name, q in doc["queues"].items()}
    proposal = doc.get("proposal") or {}
    return Policy(
        ref=ref,
        decision=doc["decision"],
        description=meta.get("description", ""),
        owners=tuple(meta["owners"]),
        significant=bool(doc["significant"]),
        gdpr_basis=doc.get("gdpr_basis"),
        adverse_outcomes=frozenset(doc.get("adverse_outcomes", [])),
        outcomes=tuple(doc["outcomes"]),
        queues=queues,
        sampling=Sampling(float(sampling.get("audit_auto_rate", 0.0)), sampling.get("queue")),
        fail_closed_queue=closed,
        source_text=source_text,
        source_path=source_path,
        evaluate=build_evaluator(ref, rules, doc["default"], closed, doc["outcomes"]),
        validate_input=validate_input,
        warnings=tuple(warnings),
        contest=depth.build_contest(doc),
        reopen=depth.build_reopen(doc),
        rule_quorums=depth.build_rule_quorums(doc, queues),
        proposal=ProposalSource(proposal.get("source", "caller"), proposal.get("binding")),
        personal=personal.fields(doc.get("input_schema") or {}),
    )
