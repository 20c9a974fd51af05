"""Serve the console over HTTP from the gateway's process: uvicorn on a thread of its own, with
its own event loop, beside the gRPC server's loop.

The writes the console awaits (claim, submit, release) settle on this loop: the store's group
commit finds the loop through each awaited future.
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import uvicorn

__all__ = ["ConsoleServer"]


class ConsoleServer:
    """A running HTTP server for an ASGI app; ``port`` is known once ``start`` returns."""

    def __init__(self, app: Any, address: str, *, tls: tuple[Path, Path] | None = None) -> None:
        host, _, port = address.rpartition(":")
        if not host or not port.isdigit():
            raise ValueError(f"--http-address: {address!r} is not HOST:PORT")
        options: dict[str, Any] = {}
        if tls is not None:
            options = {"ssl_certfile": str(tls[0]), "ssl_keyfile": str(tls[1])}
        self.config = uvicorn.Config(
            app,
            host=host.strip("[]"),
            port=int(port),
            log_config=None,
            access_log=False,
            lifespan="off",
            loop="asyncio",
            http="httptools",
            timeout_graceful_shutdown=5,
            **options,
        )
        self.server = uvicorn.Server(self.config)
        self.server.install_signal_handlers = lambda: None  # type: ignore[method-assign,attr-defined]  # signoff serve owns signals (uvicorn has no public switch)
        self.port = 0
        self.scheme = "https" if tls else "http"
        self._thread = threading.Thread(target=self._run, name="signoff-console", daemon=True)
        self._error: BaseException | None = None

    def _run(self) -> None:
        try:
            asyncio.run(self.server.serve())
        except BaseException as exc:  # noqa: BLE001 - reported to start() on the caller's thread
            self._error = exc

    def start(self, timeout: float = 10.0) -> None:
        """Start serving; raise if the address cannot be bound."""
        self._thread.start()
        deadline = threading.Event()
        waited = 0.0
        while not self.server.started and self._thread.is_alive() and waited < timeout:
            deadline.wait(0.02)
            waited += 0.02
        if not self.server.started:
            self.stop()
            raise OSError(
                f"--http-address: cannot serve on {self.config.host}:{self.config.port}"
                + (f" ({self._error})" if self._error else "")
            )
        sock = self.server.servers[0].sockets[0]
        self.port = int(sock.getsockname()[1])

    @property
    def url(self) -> str:
        """The base URL the console answers on."""
        host = self.config.host
        return f"{self.scheme}://{'[' + host + ']' if ':' in host else host}:{self.port}"

    def stop(self) -> None:
        """Stop accepting, finish what is in flight, and join the thread."""
        self.server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(timeout=10)
