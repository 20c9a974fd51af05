"""The auditor's desk: the period compliance report, the retraining export, one decision's trail.

``trail`` is pure; ``report``, ``export`` and ``explain`` read the database with SQLAlchemy
Core; ``html`` renders a report as one self-contained file.
"""

from gateway.reports.explain import check_events, load_trail
from gateway.reports.export import FIELDS, feedback_rows, write_parquet
from gateway.reports.html import render_html
from gateway.reports.longform import report_rows
from gateway.reports.report import build_report, percentile
from gateway.reports.trail import build_trail, render_trail

__all__ = [
    "FIELDS",
    "build_report",
    "build_trail",
    "check_events",
    "feedback_rows",
    "load_trail",
    "percentile",
    "render_html",
    "render_trail",
    "report_rows",
    "write_parquet",
]
