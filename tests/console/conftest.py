"""Fixtures for the console: a real gateway with the console on port 0, an HTTP client that
signs in like a browser does, and Debian's Chromium for the browser tests."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import ROOT, TOKENS

CHROMIUM = Path("/usr/bin/chromium")
ARTEFACTS = ROOT / "tests" / "console" / "artefacts"


class ManualClock:
    """A monotonic clock the test moves by hand, so idle expiry needs no sleeping."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        """Move the clock forward."""
        self.now += seconds


def off_loop(fn: Callable[..., Any], *args: Any) -> Any:
    """Run ``fn`` on a thread of its own: Playwright's sync API keeps an event loop marked
    running on the main thread, and start-up and shutdown use ``asyncio.run``."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(fn, *args).result()


@pytest.fixture
def console_app(db_url: str, policy_dir: Path) -> Iterator[Any]:
    """A running gateway (gRPC and the console) on 127.0.0.1, both on port 0."""
    from gateway.bootstrap import Settings, build_app, configure_logging

    configure_logging("warning")
    app = off_loop(
        build_app,
        Settings(
            address="127.0.0.1:0",
            database_url=db_url,
            policy_dir=policy_dir,
            principals_file=ROOT / "config" / "dev-principals.yaml",
            reload_seconds=0.2,
            sweep_seconds=0.5,
            http_address="127.0.0.1:0",
        ),
    )
    app.console.console.sessions.clock = ManualClock()
    yield app
    off_loop(app.stop)


@pytest.fixture
def clock(console_app: Any) -> ManualClock:
    """The console's session clock."""
    return console_app.console.console.sessions.clock  # type: ignore[no-any-return]


@pytest.fixture
def console_url(console_app: Any) -> str:
    """The console's URL."""
    return str(console_app.console.url)


@pytest.fixture
def grpc_client(console_app: Any) -> Iterator[Any]:
    """Generated stubs connected to the same gateway."""
    import grpc

    from tests.conftest import Client

    address = f"127.0.0.1:{console_app.port}"
    channel = grpc.insecure_channel(address)
    yield Client(channel, address)
    channel.close()


def csrf_of(html: str) -> str:
    """The CSRF token in a page's first form."""
    m = re.search(r'name="csrf" value="([^"]*)"', html)
    assert m, "no csrf field in the page"
    return m.group(1)


def sign_in(base: str, who: str) -> httpx.Client:
    """An HTTP client signed in with the development token of ``who``."""
    c = httpx.Client(base_url=base, follow_redirects=False, timeout=30)
    page = c.get("/signin")
    r = c.post("/signin", data={"token": TOKENS[who], "csrf": csrf_of(page.text)})
    assert r.status_code == 303, r.text
    return c


@pytest.fixture
def http_as(console_url: str) -> Iterator[Callable[[str], httpx.Client]]:
    """Make signed-in HTTP clients; all are closed at the end."""
    made: list[httpx.Client] = []

    def make(who: str) -> httpx.Client:
        c = sign_in(console_url, who)
        made.append(c)
        return c

    yield make
    for c in made:
        c.close()


@pytest.fixture(scope="session")
def browser_type_launch_args() -> dict[str, Any]:
    """pytest-playwright launches Debian's Chromium (``playwright install`` cannot download here)."""
    return {"executable_path": str(CHROMIUM), "args": ["--no-sandbox"]}


# pytest-playwright's Playwright lives for the whole session, and its sync API keeps an event
# loop marked as running on the main thread: every later ``asyncio.run`` in the suite would
# fail. These overrides give it the lifetime of this package instead; the rest of the plugin
# (contexts, pages, artefacts, options) is unchanged.


@pytest.fixture(scope="package")
def playwright() -> Iterator[Any]:
    """Playwright for this package's browser tests, stopped when the package is done."""
    from playwright.sync_api import sync_playwright

    pw = sync_playwright().start()
    yield pw
    pw.stop()


@pytest.fixture(scope="package")
def browser_type(playwright: Any, browser_name: str) -> Any:
    """The browser type pytest-playwright was asked for (chromium by default)."""
    return getattr(playwright, browser_name)


@pytest.fixture(scope="package")
def launch_browser(browser_type_launch_args: dict[str, Any], browser_type: Any) -> Callable[..., Any]:
    """Launch Debian's Chromium with the arguments above."""
    return lambda **kwargs: browser_type.launch(**{**browser_type_launch_args, **kwargs})


@pytest.fixture(scope="package")
def browser(launch_browser: Callable[..., Any]) -> Iterator[Any]:
    """One browser for this package's tests."""
    b = launch_browser()
    yield b
    b.close()


@pytest.fixture(scope="package")
def browser_context_args() -> dict[str, Any]:
    """Contexts with no extra options (the console's URL is given to each goto)."""
    return {}


@pytest.fixture(scope="session")
def artefacts() -> Path:
    """Where the browser tests keep their screenshots (a test artefact, not committed)."""
    shutil.rmtree(ARTEFACTS, ignore_errors=True)
    ARTEFACTS.mkdir(parents=True)
    return ARTEFACTS
