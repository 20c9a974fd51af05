"""``signoff serve --http-address`` serves the console; the trusted-proxy mode, off by default."""

from __future__ import annotations

import signal
import socket
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.cli import main as cli
from tests.conftest import ROOT, spawn_serve
from tests.console.conftest import off_loop


class TestServeCommand:
    """The command line."""

    def test_serve_prints_the_console_url_and_serves_it(self, db_url: str, policy_dir: Path) -> None:
        """The second line names the console's URL; its sign-in page answers; SIGTERM stops it."""
        proc, _ = spawn_serve(db_url, policy_dir, "--http-address", "127.0.0.1:0")
        try:
            line = proc.stdout.readline()  # type: ignore[union-attr]
            assert line.startswith("signoff: console on http://127.0.0.1:"), line
            url = line.split()[3]
            assert httpx.get(f"{url}signin", timeout=10).status_code == 200
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)
        assert proc.returncode == 0

    def test_a_malformed_http_address_is_one_line(self, capsys, tmp_path: Path, policy_dir: Path) -> None:  # type: ignore[no-untyped-def]
        """--http-address without a port: one line naming the flag, exit 1."""
        code = off_loop(
            cli,
            [
                "serve",
                "--no-checkpoints",
                "--db",
                f"sqlite:///{tmp_path}/x.db",
                "--address",
                "127.0.0.1:0",
                "--policies",
                str(policy_dir),
                "--http-address",
                "localhost",
            ],
        )
        err = capsys.readouterr().err
        assert code == 1 and err.startswith("signoff: --http-address:") and len(err.splitlines()) == 1

    def test_a_taken_port_is_one_line(self, capsys, tmp_path: Path, policy_dir: Path) -> None:  # type: ignore[no-untyped-def]
        """A port another process holds: one line naming the flag, exit 1."""
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            s.listen()
            code = off_loop(
                cli,
                [
                    "serve",
                    "--no-checkpoints",
                    "--db",
                    f"sqlite:///{tmp_path}/x.db",
                    "--address",
                    "127.0.0.1:0",
                    "--policies",
                    str(policy_dir),
                    "--http-address",
                    f"127.0.0.1:{s.getsockname()[1]}",
                ],
            )
        err = capsys.readouterr().err
        assert code == 1 and "--http-address: cannot serve on" in err and len(err.strip().splitlines()) == 1


@pytest.fixture
def proxied(db_url: str, policy_dir: Path, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A gateway whose console believes X-Forwarded-User from the addresses given as the param."""
    from gateway.bootstrap import Settings, build_app, configure_logging

    configure_logging("warning")
    app = off_loop(
        build_app,
        Settings(
            address="127.0.0.1:0",
            database_url=db_url,
            policy_dir=policy_dir,
            principals_file=ROOT / "config" / "dev-principals.yaml",
            http_address="127.0.0.1:0",
            http_trusted_proxy_header="X-Forwarded-User",
            http_trusted_proxies=tuple(request.param),
        ),
    )
    yield app
    off_loop(app.stop)


class TestTrustedProxy:
    """The oauth2-proxy pattern: the proxy authenticates, the console believes its header."""

    @pytest.mark.parametrize("proxied", [("127.0.0.1",)], indirect=True)
    def test_the_header_signs_the_named_principal_in(self, proxied) -> None:  # type: ignore[no-untyped-def]
        """X-Forwarded-User: alice from the trusted address is alice, with a session cookie."""
        with httpx.Client(base_url=proxied.console.url, headers={"X-Forwarded-User": "alice"}) as c:
            r = c.get("/")
            assert r.status_code == 200 and "Hello, alice" in r.text
            assert "signoff_session" in r.headers.get("set-cookie", "")
            assert c.get("/queues/senior").status_code == 403  # the same roles as her token

    @pytest.mark.parametrize("proxied", [("127.0.0.1",)], indirect=True)
    def test_an_unknown_user_is_refused(self, proxied) -> None:  # type: ignore[no-untyped-def]
        """A name that is not in the principals file is a 401 page."""
        r = httpx.get(f"{proxied.console.url}/", headers={"X-Forwarded-User": "mallory"})
        assert r.status_code == 401 and "not in the principals file" in r.text

    @pytest.mark.parametrize("proxied", [("10.255.255.1",)], indirect=True)
    def test_the_header_from_an_untrusted_address_is_ignored(self, proxied) -> None:  # type: ignore[no-untyped-def]
        """From an address that is not the proxy's, the header signs nobody in."""
        r = httpx.get(f"{proxied.console.url}/", headers={"X-Forwarded-User": "alice"})
        assert r.status_code == 303 and r.headers["location"] == "/signin"

    def test_the_mode_is_off_by_default(self) -> None:
        """Settings and the serve flag leave the header mode off."""
        from gateway.bootstrap import Settings
        from gateway.cli import build_parser

        assert Settings().http_trusted_proxy_header == ""
        args = build_parser().parse_args(["serve"])
        assert args.http_trusted_proxy_header == "" and args.http_address is None


class TestTls:
    """Under TLS the console speaks HTTPS and its cookie is Secure."""

    def test_the_session_cookie_is_secure_under_tls(
        self, db_url: str, policy_dir: Path, tls_files: tuple[Path, Path]
    ) -> None:
        """With --tls-cert/--tls-key the console answers over HTTPS and marks the cookie Secure."""
        from gateway.bootstrap import Settings, build_app, configure_logging
        from tests.conftest import TOKENS
        from tests.console.conftest import csrf_of

        key, cert = tls_files
        configure_logging("warning")
        app = off_loop(
            build_app,
            Settings(
                address="127.0.0.1:0",
                database_url=db_url,
                policy_dir=policy_dir,
                principals_file=ROOT / "config" / "dev-principals.yaml",
                http_address="127.0.0.1:0",
                tls_cert=cert,
                tls_key=key,
            ),
        )
        try:
            assert app.console.url.startswith("https://")
            with httpx.Client(base_url=app.console.url, verify=ssl.create_default_context(cafile=str(cert))) as c:
                page = c.get("/signin")
                r = c.post("/signin", data={"token": TOKENS["alice"], "csrf": csrf_of(page.text)})
            cookie = next(
                v for k, v in r.headers.multi_items() if k == "set-cookie" and v.startswith("signoff_session=")
            )
            assert r.status_code == 303 and "Secure" in cookie and "HttpOnly" in cookie
        finally:
            off_loop(app.stop)
