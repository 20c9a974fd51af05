"""Load routing policies from files: the one module that reads files and parses YAML.

JSON Schema runs here (the policy schema) and in ``input_check`` (a request's input).

Loading is an ordered table of named stages (read, parse, schema, input_schema, then the
compiler's semantic stages). Every stage's issues are collected with file, line, JSON path and a
stable code; a policy with any error is refused as a whole with all of them (``PolicyError``).
Line numbers come from composing the YAML node tree, which also catches duplicate keys that
PyYAML would silently collapse.
"""

from __future__ import annotations

import difflib
import functools
import importlib.resources
import json
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from gateway.errors import PolicyError
from gateway.policy import compiler, personal
from gateway.policy.canonical import digest
from gateway.policy.input_check import make_input_check
from gateway.policy.model import EvalRequest, Issue, Policy

__all__ = [
    "MAX_BYTES",
    "CaseFile",
    "PolicyCase",
    "lint_paths",
    "load_cases",
    "load_document",
    "load_policy",
    "load_policy_dir",
    "load_policy_text",
    "schema_text",
    "text_digest",
]

MAX_BYTES = 1024 * 1024
"""Files larger than this are refused before parsing."""

_MAX_NODES = 100_000
_CONDITION_FIELDS = ["confidence", "outcome", "model", "scores.<label>", "input.<path>", "all", "any", "not"]
Parts = tuple[str | int, ...]


class _Stop(Exception):
    """A stage found problems the later stages cannot look past."""


class _Loader(yaml.SafeLoader):
    """SafeLoader that keeps dates as strings: a policy is JSON data, and JSON has no dates."""

    yaml_implicit_resolvers = {
        first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }


@functools.cache
def schema_text() -> str:
    """The routing-policy JSON Schema, exactly as shipped."""
    return importlib.resources.files("gateway.policy").joinpath("routing-policy.schema.json").read_text("utf-8")


@functools.cache
def _validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(json.loads(schema_text()))


@dataclass
class _Load:
    """The state the load stages pass along."""

    file: str
    text: str
    issues: list[Issue] = field(default_factory=list)
    lines: dict[Parts, int] = field(default_factory=dict)
    doc: Any = None
    staff: Mapping[str, frozenset[str]] | None = None

    def locate(self, parts: Parts) -> int | None:
        """The line of ``parts``, or of its nearest ancestor that has one."""
        while True:
            if parts in self.lines:
                return self.lines[parts]
            if not parts:
                return None
            parts = parts[:-1]

    def add(self, parts: Parts, code: str, message: str, line: int | None = None) -> None:
        line = self.locate(parts) if line is None else line
        self.issues.append(Issue(self.file, line, compiler.json_path(parts), code, message))


def _parse(ld: _Load) -> None:
    """YAML text to data, refusing tabs, duplicate keys, non-string keys and non-mappings."""
    if len(ld.text.encode("utf-8", "surrogatepass")) > MAX_BYTES:
        ld.add((), "file_too_large", f"file is larger than {MAX_BYTES} bytes", line=1)
        raise _Stop
    for number, line in enumerate(ld.text.splitlines(), 1):
        if "\t" in line[: len(line) - len(line.lstrip(" \t"))]:
            ld.add((), "tab_indent", "tab in indentation; YAML indents with spaces only", line=number)
    if ld.issues:
        raise _Stop
    loader = _Loader(ld.text)
    try:
        node = loader.get_single_node()
        if node is None:
            ld.add((), "empty_file", "the file holds no YAML document", line=1)
            raise _Stop
        ld.lines[()] = node.start_mark.line + 1
        _walk(ld, node, (), [0])
        if ld.issues:
            raise _Stop
        ld.doc = loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        code = "tab_indent" if "'\\t'" in str(exc.problem) else "yaml_syntax"
        message = ": ".join(p for p in (exc.context, exc.problem) if p)
        ld.add((), code, message, line=mark.line + 1 if mark else None)
        raise _Stop from None
    except yaml.YAMLError as exc:
        ld.add((), "yaml_syntax", str(exc).splitlines()[0], line=None)
        raise _Stop from None
    finally:
        loader.dispose()
    if not isinstance(ld.doc, dict):
        kind = "a list" if isinstance(ld.doc, list) else f"a {type(ld.doc).__name__}"
        ld.add((), "not_a_mapping", f"the document is {kind}, not a mapping of policy keys")
        raise _Stop


def _walk(ld: _Load, node: yaml.Node, parts: Parts, count: list[int]) -> None:
    """Record each path's line; flag duplicate and non-string keys and runaway alias expansion."""
    count[0] += 1
    if count[0] > _MAX_NODES:
        ld.add((), "file_too_large", f"the document expands to more than {_MAX_NODES} nodes", line=1)
        raise _Stop
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            line = key_node.start_mark.line + 1
            if not (isinstance(key_node, yaml.ScalarNode) and key_node.tag == "tag:yaml.org,2002:str"):
                ld.add(parts, "wrong_type", f"key {key_node.value!r} is not a string; quote it", line=line)
                continue
            key = key_node.value
            if key in seen:
                ld.add(
                    (*parts, key),
                    "duplicate_key",
                    f"key '{key}' appears twice (first at line {seen[key]}); YAML would keep only the last",
                    line=line,
                )
                continue
            seen[key] = line
            ld.lines[(*parts, key)] = line
            _walk(ld, value_node, (*parts, key), count)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            ld.lines[(*parts, i)] = item.start_mark.line + 1
            _walk(ld, item, (*parts, i), count)
    elif node.tag in (
        "tag:yaml.org,2002:binary",
        "tag:yaml.org,2002:set",
        "tag:yaml.org,2002:omap",
        "tag:yaml.org,2002:pairs",
    ):
        ld.add(parts, "wrong_type", f"{node.tag.rsplit(':', 1)[-1]} values are not JSON data")


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


def _schema_issue(ld: _Load, error: jsonschema.ValidationError) -> None:
    """One schema error as one issue with the best path and a stable code."""
    parts: Parts = tuple(error.absolute_path)
    kind, value, instance = error.validator, error.validator_value, error.instance
    if kind == "additionalProperties" and isinstance(instance, dict):
        known = list(error.schema.get("properties") or {})
        patterns = error.schema.get("patternProperties") or {}
        for key in instance:
            if key in known or any(re.search(p, key) for p in patterns):
                continue
            choices = _CONDITION_FIELDS if "not" in known else known
            close = difflib.get_close_matches(key, choices, n=1)
            hint = f"; did you mean '{close[0]}'?" if close else f"; expected one of: {', '.join(choices)}"
            ld.add((*parts, key), "unknown_key", f"unknown key '{key}'{hint}")
    elif kind == "type":
        expected = value if isinstance(value, str) else " or ".join(value)
        got = {dict: "mapping", list: "list", str: "string", bool: "boolean", type(None): "null"}.get(
            type(instance), "integer" if isinstance(instance, int) else "number"
        )
        ld.add(parts, "wrong_type", f"expected {expected}, got {got} {_short(instance)}")
    elif kind == "required" and isinstance(instance, dict):
        for key in value:
            if key not in instance:
                ld.add((*parts, key), "missing_key", f"required key '{key}' is missing")
    elif kind == "maxProperties" and isinstance(instance, dict) and {"all", "any", "not"} & set(instance):
        ld.add(
            parts,
            "schema",
            "a combinator (all, any, not) must be the only key of its condition; put the other predicates inside 'all'",
        )
    elif kind == "const":
        ld.add(parts, "schema", f"expected {_short(value)}, got {_short(instance)}")
    else:
        message = error.message if len(error.message) <= 200 else error.message[:197] + "..."
        ld.add(parts, "schema", message)


def _schema(ld: _Load) -> None:
    """Validate against the routing-policy schema; later stages assume a schema-valid document."""
    for error in sorted(_validator().iter_errors(ld.doc), key=lambda e: list(map(str, e.absolute_path))):
        _schema_issue(ld, error)
    if ld.issues:
        raise _Stop


def _input_schema(ld: _Load) -> None:
    """The policy's ``input_schema`` must itself be a valid draft 2020-12 schema."""
    try:
        jsonschema.Draft202012Validator.check_schema(ld.doc["input_schema"])
    except jsonschema.SchemaError as exc:
        ld.add(("input_schema", *exc.absolute_path), "invalid_input_schema", exc.message[:200])
        return
    for path, message in personal.issues(ld.doc["input_schema"]):
        ld.add(("input_schema", *path), "invalid_personal", message)


def _semantics(ld: _Load) -> None:
    """The compiler's semantic stages (references, ranges, contradictions, GDPR, ...)."""
    ctx = compiler.Context(ld.file, ld.doc, ld.locate, staff=ld.staff)
    ld.issues.extend(compiler.check(ctx))


#: The load stages, in order: each appends issues; ``_Stop`` ends the run early.
STAGES: tuple[tuple[str, Callable[[_Load], None]], ...] = (
    ("parse", _parse),
    ("schema", _schema),
    ("input_schema", _input_schema),
    ("semantics", _semantics),
)


def _sorted(issues: Sequence[Issue]) -> list[Issue]:
    return sorted(issues, key=lambda i: (i.file, i.line or 0, i.code, i.json_path))


def _run(
    text: str,
    path: str,
    staff: Mapping[str, frozenset[str]] | None = None,
) -> tuple[Policy | None, list[Issue]]:
    ld = _Load(path, text, staff=staff)
    try:
        for _name, stage in STAGES:
            stage(ld)
    except _Stop:
        pass
    issues = _sorted(ld.issues)
    errors = [i for i in issues if i.severity == "error"]
    if errors:
        return None, issues
    policy = compiler.compile_policy(
        ld.doc,
        source_path=path,
        source_text=text,
        validate_input=make_input_check(ld.doc["input_schema"]),
        warnings=issues,
    )
    return policy, issues


def _read(path: str | Path) -> tuple[str | None, list[Issue]]:
    """The file's text, or the one issue that says why it cannot be read."""
    p, name = Path(path), str(path)
    try:
        if p.is_dir():
            return None, [Issue(name, None, "$", "not_a_file", "is a directory, not a policy file")]
        if p.stat().st_size > MAX_BYTES:
            return None, [
                Issue(name, 1, "$", "file_too_large", f"file is {p.stat().st_size} bytes; the limit is {MAX_BYTES}")
            ]
        data = p.read_bytes()
    except FileNotFoundError:
        return None, [Issue(name, None, "$", "file_not_found", "no such file")]
    except OSError as exc:
        return None, [Issue(name, None, "$", "unreadable", exc.strerror or type(exc).__name__)]
    try:
        return data.decode("utf-8"), []
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        return None, [Issue(name, line, "$", "encoding", f"not UTF-8 text (byte {exc.start})")]


def load_policy_text(text: str, path: str) -> Policy:
    """Load a policy from its text; ``path`` names it in issues. Raises PolicyError."""
    policy, issues = _run(text, path)
    if policy is None:
        raise PolicyError([i for i in issues if i.severity == "error"])
    return policy


@functools.lru_cache(maxsize=64)
def text_digest(text: str) -> str | None:
    """The digest of a stored policy text, recomputed as loading computes it; None if unparsable.

    What decisions record is this digest, so a reader of ``policy_versions`` recomputes it
    before presenting a text: a text edited in the table no longer matches. Cached by the text
    itself (a few versions are read over and over), so an edited text is always recomputed.
    """
    ld = _Load("<stored>", text)
    try:
        _parse(ld)
    except _Stop:
        return None
    return digest(ld.doc)


def load_policy(path: str | Path) -> Policy:
    """Load, check and compile one policy file. Raises PolicyError with every error."""
    text, issues = _read(path)
    if text is None:
        raise PolicyError(issues)
    return load_policy_text(text, str(path))


def _expand(paths: Sequence[str | Path]) -> Iterator[Path]:
    for path in map(Path, paths):
        if path.is_dir():
            found = [
                f
                for f in sorted(path.rglob("*"))
                if f.suffix in (".yaml", ".yml")
                and f.is_file()
                and not {"tests", "schema"} & set(f.relative_to(path).parts[:-1])
            ]
            yield from found
        else:
            yield path


def _check_files(
    files: Sequence[Path],
    staff: Mapping[str, frozenset[str]] | None = None,
) -> tuple[list[Policy], list[Issue]]:
    policies: list[Policy] = []
    issues: list[Issue] = []
    claimed: dict[str, Policy] = {}
    for file in files:
        text, read_issues = _read(file)
        if text is None:
            issues.extend(read_issues)
            continue
        policy, found = _run(text, str(file), staff)
        issues.extend(found)
        if policy is None:
            continue
        if policy.decision in claimed:
            issues.append(
                Issue(
                    str(file),
                    1,
                    "$.decision",
                    "duplicate_decision",
                    f"decision '{policy.decision}' is already decided by {claimed[policy.decision].source_path}",
                )
            )
            continue
        claimed[policy.decision] = policy
        policies.append(policy)
    return policies, _sorted(issues)


def lint_paths(paths: Sequence[str | Path], staff: Mapping[str, frozenset[str]] | None = None) -> list[Issue]:
    """Every issue (errors and warnings) of the policy files at ``paths``; directories expand.

    ``staff`` (principal name to roles, from the principals file) adds the checks that need to
    know who exists: enough distinct reviewers for a quorum, someone to hear a contest.
    """
    return _check_files(list(_expand(paths)), staff)[1]


def load_policy_dir(directory: str | Path) -> list[Policy]:
    """Load every policy in a directory; raises PolicyError with every error of every file."""
    policies, issues = _check_files(list(_expand([directory])))
    errors = [i for i in issues if i.severity == "error"]
    if errors:
        raise PolicyError(errors)
    return policies


@dataclass(frozen=True, slots=True)
class PolicyCase:
    """One YAML test case: a request and the route and rule it must get."""

    name: str
    line: int | None
    request: EvalRequest
    expect_route: str
    expect_rule: str | None = None


@dataclass(frozen=True, slots=True)
class CaseFile:
    """A test-case file: the policy it tests (resolved against the file) and its cases."""

    path: str
    policy_path: Path
    cases: tuple[PolicyCase, ...]


def _case(ld: _Load, i: int, raw: Any) -> PolicyCase | None:
    """Check one case's shape; add an issue and return None when it is malformed."""
    at: Parts = ("cases", i)
    if not isinstance(raw, dict) or not isinstance(raw.get("name"), str):
        ld.add(at, "bad_case", "a case is a mapping with a string 'name'")
        return None
    unknown = set(raw) - {"name", "input", "proposal", "expect"}
    proposal, expect = raw.get("proposal"), raw.get("expect")
    problem = (
        f"unknown key '{min(unknown)}'"
        if unknown
        else "'input' must be a mapping"
        if not isinstance(raw.get("input", {}), dict)
        else "'proposal' must be a mapping with outcome and confidence"
        if not isinstance(proposal, dict) or not {"outcome", "confidence"} <= set(proposal)
        else "'expect' must be a mapping with a 'route'"
        if not isinstance(expect, dict) or "route" not in expect
        else None
    )
    if problem or not isinstance(proposal, dict) or not isinstance(expect, dict):
        ld.add(at, "bad_case", f"case '{raw['name']}': {problem}")
        return None
    request = EvalRequest(
        input=raw.get("input", {}),
        outcome=proposal["outcome"],
        confidence=proposal["confidence"],
        scores=proposal.get("scores") or {},
        model=proposal.get("model", ""),
    )
    return PolicyCase(raw["name"], ld.locate(at), request, str(expect["route"]), expect.get("rule"))


def load_cases(path: str | Path) -> CaseFile:
    """Read a test-case file; raises PolicyError naming every malformed part."""
    text, issues = _read(path)
    if text is None:
        raise PolicyError(issues)
    ld = _Load(str(path), text)
    try:
        _parse(ld)
    except _Stop:
        raise PolicyError(_sorted(ld.issues)) from None
    doc = ld.doc
    if not isinstance(doc.get("policy"), str):
        ld.add(("policy",), "bad_case", "'policy' must name the policy file, relative to this file")
    if not isinstance(doc.get("cases"), list) or not doc["cases"]:
        ld.add(("cases",), "bad_case", "'cases' must be a non-empty list")
    cases = [_case(ld, i, raw) for i, raw in enumerate(doc.get("cases") or []) if isinstance(doc.get("cases"), list)]
    if ld.issues:
        raise PolicyError(_sorted(ld.issues))
    return CaseFile(str(path), Path(path).parent / doc["policy"], tuple(c for c in cases if c))


def load_document(path: str | Path) -> tuple[Any, Callable[[Parts], int | None]]:
    """Any YAML data file checked like a policy file (size, tabs, duplicate keys, a mapping): the
    data and a function giving the line of a path in it. Raises PolicyError naming file and line."""
    text, issues = _read(path)
    if text is None:
        raise PolicyError(issues)
    ld = _Load(str(path), text)
    try:
        _parse(ld)
    except _Stop:
        raise PolicyError(_sorted(ld.issues)) from None
    return ld.doc, ld.locate
