"""The web console: reviewers work their queues and auditors read the log, in a browser.

Starlette with autoescaped Jinja2 templates and htmx (vendored from npm), served by
``signoff serve --http-address`` in the gateway's process, calling the same use cases as gRPC.
"""

from gateway.console.app import build_console_app
from gateway.console.server import ConsoleServer
from gateway.console.sessions import SessionStore
from gateway.console.web import Console, ConsoleConfig

__all__ = ["Console", "ConsoleConfig", "ConsoleServer", "SessionStore", "build_console_app"]
