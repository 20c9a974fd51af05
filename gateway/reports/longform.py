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

    def nested(v: Any) -> bool:
        return isinstance(v, Mapping) or isinstance(v, list) and any(isinstance(x, Mapping) for x in v)

    def walk(section: str, node: Any, key: str = "") -> Iterator[tuple[str, str, str, Any]]:
        if isinstance(node, Mapping):
            for k, v in node.items():
                if nested(v):
                    yield from walk(f"{section}.{k}" if section else k, v, key)
                else:
                    yield (section, key, k, _scalar(v))
        elif isinstance(node, list):
            for row in node:
                keys = [f for f in _KEY_FIELDS if f in row]
                row_key = ";".join(x for x in (key, *(f"{f}={row[f]}" for f in keys)) if x)
                for k, v in row.items():
                    if k in keys:
                        continue
                    if nested(v):  # e.g. a drift monitor's models: one level deeper, same key
                        yield from walk(f"{section}.{k}", v, row_key)
                    else:
                        yield (section, row_key, k, _scalar(v))

    for section, node in report.items():
        if isinstance(node, Mapping | list):
            yield from walk(section, node)
        else:
            yield ("report", "", section, node)
