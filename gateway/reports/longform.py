"""The report in the long format ``section,key,metric,value``: one figure a row, for spreadsheets."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

__all__ = ["report_rows"]

_KEY_FIELDS = (
    "decision_type",
    "route",
    "status",
    "queue",
    "policy_name",
    "policy_version",
    "rule",
    "reviewer",
    "band",
    "bucket",
    "name",
    "version",
)


def _scalar(value: Any) -> Any:
    if isinstance(value, list):
        return ";".join(str(v) for v in value)
    return value


def report_rows(report: Mapping[str, Any]) -> Iterator[tuple[str, str, str, Any]]:
    """The report as ``(section, key, metric, value)`` rows; ``key`` is ``field=value;...``."""

    def walk(section: str, node: Any) -> Iterator[tuple[str, str, str, Any]]:
        if isinstance(node, Mapping):
            for k, v in node.items():
                if isinstance(v, Mapping | list) and not (
                    isinstance(v, list) and not any(isinstance(x, Mapping) for x in v)
                ):
                    yield from walk(f"{section}.{k}" if section else k, v)
                else:
                    yield (section, "", k, _scalar(v))
        elif isinstance(node, list):
            for row in node:
                keys = [f for f in _KEY_FIELDS if f in row]
                key = ";".join(f"{f}={row[f]}" for f in keys)
                for k, v in row.items():
                    if k not in keys:
                        yield (section, key, k, _scalar(v))

    for section, node in report.items():
        if isinstance(node, Mapping | list):
            yield from walk(section, node)
        else:
            yield ("report", "", section, node)
