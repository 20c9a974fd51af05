"""``signoff policy``: lint, test, explain and schema, the tools compliance officers use in pull requests."""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

from gateway.bootstrap import load_principals
from gateway.cli import CommandError
from gateway.errors import PolicyError, SignoffError
from gateway.policy import (
    EvalRequest,
    Policy,
    lint_paths,
    load_cases,
    load_policy,
    schema_text,
)

__all__ = ["register"]


def register(subparsers: Any) -> None:
    """Add the ``policy`` command group."""
    group = subparsers.add_parser("policy", help="lint, test and explain routing policies")
    commands = group.add_subparsers(dest="policy_command", metavar="COMMAND")
    commands.required = True

    lint = commands.add_parser("lint", help="check policy files; exit 1 on any error")
    lint.add_argument("paths", nargs="*", default=["policies/"], metavar="PATH")
    lint.add_argument(
        "--principals",
        metavar="FILE",
        help="the principals file: also check that enough people hold each queue's roles "
        "for its reviewers and for hearing contests",
    )
    lint.set_defaults(handler=_lint)

    test = commands.add_parser("test", help="run YAML test cases; exit 1 on any failure")
    test.add_argument("paths", nargs="*", default=["policies/tests/"], metavar="PATH")
    test.set_defaults(handler=_test)

    explain = commands.add_parser("explain", help="show which rule routes a request, and why")
    explain.add_argument("file", metavar="FILE")
    explain.add_argument("--input", required=True, metavar="JSON", help="the caller's input object")
    explain.add_argument(
        "--proposal", required=True, metavar="JSON", help='the model\'s proposal: {"outcome": ..., "confidence": ...}'
    )
    explain.add_argument("--json", action="store_true", help="machine-readable output")
    explain.set_defaults(handler=_explain)

    schema = commands.add_parser("schema", help="print the routing-policy JSON Schema")
    schema.set_defaults(handler=_schema)

    from gateway.cli.replay import add_replay

    add_replay(commands)


def _existing(paths: list[str]) -> list[Path]:
    for path in paths:
        if not Path(path).exists():
            raise CommandError(f"{path}: no such file or directory", 2)
    return [Path(p) for p in paths]


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _staff(path: str | None) -> dict[str, frozenset[str]] | None:
    """Principal name to roles from the principals file, or None when lint is not given one."""
    if path is None:
        return None
    try:
        auth = load_principals(Path(_existing([path])[0]))
    except SignoffError as exc:
        raise CommandError(str(exc), 2) from None
    return {p.name: p.roles for p in auth.by_hash.values()}


def _lint(args: argparse.Namespace) -> int:
    issues = lint_paths(_existing(args.paths), _staff(args.principals))
    for issue in issues:
        print(issue)
    errors = sum(i.severity == "error" for i in issues)
    print(f"{_plural(errors, 'error')}, {_plural(len(issues) - errors, 'warning')}")
    return 1 if errors else 0


def _case_files(paths: list[Path]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        files.extend(sorted(f for f in path.rglob("*") if f.suffix in (".yaml", ".yml")) if path.is_dir() else [path])
    return files


def _test(args: argparse.Namespace) -> int:
    rows: list[tuple[str, str, str, str, str]] = []
    problems: list[str] = []
    policies: dict[Path, Policy | None] = {}
    for file in _case_files(_existing(args.paths)):
        try:
            case_file = load_cases(file)
        except PolicyError as exc:
            problems.extend(map(str, exc.issues))
            continue
        key = case_file.policy_path.resolve()
        if key not in policies:
            try:
                policies[key] = load_policy(case_file.policy_path)
            except PolicyError as exc:
                policies[key] = None
                problems.extend(map(str, exc.issues))
        policy = policies[key]
        if policy is None:
            problems.append(f"{file}: cases not run: policy {case_file.policy_path} did not load")
            continue
        for case in case_file.cases:
            got = policy.evaluate(case.request)
            ok = got.route == case.expect_route and case.expect_rule in (None, got.rule)
            want = f"{case.expect_route}/{case.expect_rule}" if case.expect_rule else case.expect_route
            rows.append(("PASS" if ok else "FAIL", f"{file}:{case.line}", case.name, want, f"{got.route}/{got.rule}"))
    if rows:
        header = ("RESULT", "CASE FILE", "CASE", "EXPECTED", "GOT")
        widths = [max(len(r[i]) for r in [header, *rows]) for i in range(5)]
        for row in [header, *rows]:
            print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    for problem in problems:
        print(problem)
    failed = sum(r[0] == "FAIL" for r in rows)
    print(
        f"{_plural(len(rows) - failed, 'case')} passed, {failed} failed"
        + (f", {_plural(len(problems), 'load error')}" if problems else "")
    )
    return 1 if failed or problems or not rows else 0


def _json_arg(name: str, text: str) -> dict[str, Any]:
    try:
        value = json.loads(text, parse_constant=lambda c: math.nan if c == "NaN" else float(c))
    except json.JSONDecodeError as exc:
        raise CommandError(f"{name}: not valid JSON ({exc.msg} at column {exc.colno})", 2) from None
    if not isinstance(value, dict):
        raise CommandError(f"{name}: expected a JSON object", 2)
    return value


def _explain(args: argparse.Namespace) -> int:
    data = _json_arg("--input", args.input)
    proposal = _json_arg("--proposal", args.proposal)
    missing = {"outcome", "confidence"} - set(proposal)
    if missing:
        raise CommandError(f"--proposal: missing {', '.join(sorted(missing))}", 2)
    policy = load_policy(args.file)
    request = EvalRequest(
        data, proposal["outcome"], proposal["confidence"], proposal.get("scores") or {}, proposal.get("model", "")
    )
    route = policy.evaluate(request)
    problems = policy.validate_input(data)
    if args.json:
        print(
            json.dumps(
                {
                    "route": route.route,
                    "rule": route.rule,
                    "reasons": list(route.reasons),
                    "failed_closed": route.failed_closed,
                    "policy": {
                        "name": route.policy.name,
                        "version": route.policy.version,
                        "digest": route.policy.digest,
                    },
                    "input_problems": [{"path": p, "message": m} for p, m in problems],
                },
                indent=2,
                ensure_ascii=False,
            )
        )
        return 0
    print(f"route:   {route.route}" + ("  (failed closed)" if route.failed_closed else ""))
    print(f"rule:    {route.rule}")
    print("reasons:")
    for reason in route.reasons:
        print(f"  - {reason}")
    print(f"policy:  {route.policy.name} v{route.policy.version} sha256:{route.policy.digest}")
    if problems:
        print("input does not match input_schema:")
        for path, message in problems:
            print(f"  - {path}: {message}")
    return 0


def _schema(args: argparse.Namespace) -> int:
    sys.stdout.write(schema_text())
    return 0
