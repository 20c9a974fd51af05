"""The console's status table covers the error tree, and the vendored assets are the pinned ones."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from gateway import errors
from gateway.console.errors import HTTP_STATUS_FOR, http_status_for, public_message

ROOT = Path(__file__).resolve().parents[2]
VENDOR = ROOT / "gateway" / "console" / "static" / "vendor"


class TestHttpStatusTable:
    """``console/errors.py`` maps every domain error, like the gRPC table does."""

    def test_every_error_class_has_a_row(self) -> None:
        """Each SignoffError subclass named in the tree has its own HTTP status."""
        classes = {getattr(errors, n) for n in errors.__all__}
        assert classes <= set(HTTP_STATUS_FOR)

    def test_caller_mistakes_are_client_errors(self) -> None:
        """Bad input is 400, a stranger's task 403, an unknown one 404, a moved-on case 409."""
        assert http_status_for(errors.InvalidRequest("reason", "needed")) == 400
        assert http_status_for(errors.UnknownDecisionType("x")) == 400
        assert http_status_for(errors.PermissionDenied("no")) == 403
        assert http_status_for(errors.NotFound("no")) == 404
        assert http_status_for(errors.PreconditionFailed("lapsed")) == 409
        assert http_status_for(errors.StoreUnavailable("db")) == 503

    def test_the_catch_all_shows_no_internals(self) -> None:
        """A bare SignoffError's text never reaches the page."""
        assert "secret detail" not in public_message(errors.SignoffError("secret detail"))


class TestVendoredAssets:
    """htmx and axe-core ship inside the package at the versions tools/vendor_assets.sh pins."""

    def _pins(self) -> dict[str, str]:
        script = (ROOT / "tools" / "vendor_assets.sh").read_text()
        return {
            "htmx.org": re.search(r"HTMX_VERSION=(\S+)", script).group(1),  # type: ignore[union-attr]
            "axe-core": re.search(r"AXE_VERSION=(\S+)", script).group(1),
        }  # type: ignore[union-attr]

    def test_the_versions_file_matches_the_script(self) -> None:
        """VERSIONS lists exactly the pinned versions."""
        listed = dict(line.split() for line in (VENDOR / "VERSIONS").read_text().splitlines())
        assert listed == self._pins()

    def test_htmx_is_the_pinned_2x(self) -> None:
        """The shipped htmx.min.js declares the pinned 2.x version."""
        version = self._pins()["htmx.org"]
        assert version.startswith("2.")
        assert f'version:"{version}"' in (VENDOR / "htmx.min.js").read_text()

    def test_axe_is_the_pinned_version(self) -> None:
        """The shipped axe.min.js starts with its pinned version banner."""
        assert (VENDOR / "axe.min.js").read_text()[:40].startswith(f"/*! axe v{self._pins()['axe-core']}")

    def test_the_assets_are_tracked_by_git(self) -> None:
        """The vendored files are committed, so nothing is fetched at run time."""
        out = subprocess.run(
            ["git", "ls-files", "gateway/console/static/vendor"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.split()
        assert {"gateway/console/static/vendor/htmx.min.js", "gateway/console/static/vendor/axe.min.js"} <= set(out)
