"""Sign-in, sessions, sign-out and CSRF, over real HTTP against the gateway's console."""

from __future__ import annotations

import httpx

from tests.conftest import TOKENS
from tests.console.conftest import csrf_of, sign_in


class TestSignIn:
    """POST /signin with the bearer token."""

    def test_a_known_token_starts_a_strict_httponly_session(self, console_url: str) -> None:
        """A good token answers 303 to the start page with an HttpOnly, SameSite=Strict cookie."""
        with httpx.Client(base_url=console_url) as c:
            page = c.get("/signin")
            r = c.post("/signin", data={"token": TOKENS["alice"], "csrf": csrf_of(page.text)})
        assert r.status_code == 303 and r.headers["location"] == "/"
        cookie = next(v for k, v in r.headers.multi_items() if k == "set-cookie" and v.startswith("signoff_session="))
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Secure" not in cookie

    def test_a_wrong_token_gets_a_message_and_no_trace(self, console_url: str) -> None:
        """An unknown token is a 401 page that says so, without a stack trace or a session."""
        with httpx.Client(base_url=console_url) as c:
            page = c.get("/signin")
            r = c.post("/signin", data={"token": "not-a-token", "csrf": csrf_of(page.text)})
        assert r.status_code == 401
        assert "That token is not known to this gateway." in r.text
        assert "Traceback" not in r.text and "signoff_session" not in r.headers.get("set-cookie", "")

    def test_sign_in_without_its_form_token_is_refused(self, console_url: str) -> None:
        """A sign-in post that lacks the form's CSRF token starts no session (login CSRF)."""
        with httpx.Client(base_url=console_url) as c:
            r = c.post("/signin", data={"token": TOKENS["alice"]})
        assert r.status_code == 400 and "sign-in form expired" in r.text
        assert "signoff_session" not in r.headers.get("set-cookie", "")

    def test_pages_without_a_session_send_the_browser_to_sign_in(self, console_url: str) -> None:
        """A page asked for without a session redirects to /signin."""
        with httpx.Client(base_url=console_url) as c:
            r = c.get("/queues/junior")
        assert r.status_code == 303 and r.headers["location"] == "/signin"


class TestSession:
    """Idle expiry and sign-out."""

    def test_an_idle_session_expires(self, console_url: str, clock) -> None:  # type: ignore[no-untyped-def]
        """After the idle limit the session is gone and the sign-in page says why."""
        c = sign_in(console_url, "alice")
        assert c.get("/").status_code == 200
        clock.advance(15 * 60 + 1)
        r = c.get("/queues/junior")
        assert r.status_code == 303 and r.headers["location"] == "/signin?expired=1"
        assert "without activity" in c.get("/signin?expired=1").text
        c.close()

    def test_activity_keeps_a_session_alive(self, console_url: str, clock) -> None:  # type: ignore[no-untyped-def]
        """Each request restarts the idle clock."""
        c = sign_in(console_url, "alice")
        for _ in range(3):
            clock.advance(10 * 60)
            assert c.get("/").status_code == 200
        c.close()

    def test_a_post_after_expiry_is_refused_with_a_message(self, console_url: str, clock) -> None:  # type: ignore[no-untyped-def]
        """A form posted after the session expired gets a 401 page, not a redirect that loses the reason."""
        c = sign_in(console_url, "alice")
        token = csrf_of(c.get("/queues/junior").text)
        clock.advance(16 * 60)
        r = c.post("/queues/junior/claim", data={"csrf": token})
        assert r.status_code == 401 and "nothing was submitted" in r.text
        c.close()

    def test_sign_out_ends_the_session(self, console_url: str) -> None:
        """After sign-out the old cookie opens nothing."""
        c = sign_in(console_url, "alice")
        cookie = c.cookies.get("signoff_session")
        r = c.post("/signout", data={"csrf": csrf_of(c.get("/").text)})
        assert r.status_code == 303 and r.headers["location"] == "/signin"
        with httpx.Client(base_url=console_url, cookies={"signoff_session": cookie or ""}) as stale:
            assert stale.get("/", follow_redirects=False).headers["location"] == "/signin"
        c.close()


class TestCsrf:
    """Every form carries the session's CSRF token."""

    def test_a_claim_without_the_token_is_refused_and_claims_nothing(self, console_url: str, grpc_client) -> None:  # type: ignore[no-untyped-def]
        """A POST without csrf is 400 naming the field, and the task stays in the queue."""
        from tests.console.helpers import held

        held(grpc_client)
        c = sign_in(console_url, "alice")
        r = c.post("/queues/junior/claim", data={})
        assert r.status_code == 400 and "csrf:" in r.text
        assert "1 waiting" in c.get("/queues/junior").text
        c.close()

    def test_a_token_from_another_session_is_refused(self, console_url: str) -> None:
        """One session's CSRF token does not work for another."""
        a, b = sign_in(console_url, "alice"), sign_in(console_url, "alice")
        r = b.post("/signout", data={"csrf": csrf_of(a.get("/").text)})
        assert r.status_code == 400
        a.close()
        b.close()
