"""Small HTTP servers for the model tests, on 127.0.0.1 port 0, in a thread.

``ChatServer`` follows the OpenAI chat-completions API (``POST /v1/chat/completions`` with
``logprobs``/``top_logprobs``): no language model can run on this machine and nothing may be
downloaded, so it answers from a fixed table of label log-probabilities instead of a model.
``OipServer`` follows the Open Inference Protocol v2 REST API; it exists to inject the failures a
real server (MLServer, in ``test_mlserver.py``) cannot be made to produce: slow, 5xx, 4xx,
garbage, another version.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["ChatServer", "OipServer"]


class _Server:
    """A threaded HTTP server whose handler calls ``self.answer(path, body) -> (status, text)``."""

    def __init__(self) -> None:
        self.mode = "ok"
        self.delay = 0.5
        self.requests: list[dict[str, Any]] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                owner.requests.append(body)
                status, text = owner.answer(self.path, body)
                if owner.mode == "slow":
                    time.sleep(owner.delay)
                data = text.encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a deadline test): nothing to answer

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def answer(self, path: str, body: dict[str, Any]) -> tuple[int, str]:
        raise NotImplementedError

    def __enter__(self) -> _Server:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class ChatServer(_Server):
    """Answers with the most likely label of ``self.logprobs`` and its top_logprobs."""

    def __init__(self, logprobs: dict[str, float]) -> None:
        super().__init__()
        self.logprobs = logprobs

    def answer(self, path: str, body: dict[str, Any]) -> tuple[int, str]:
        if path != "/v1/chat/completions":
            return 404, '{"error": {"message": "not found"}}'
        if self.mode == "500":
            return 500, '{"error": {"message": "overloaded"}}'
        if self.mode == "garbage":
            return 200, "<html>not json"
        best = max(self.logprobs, key=lambda k: self.logprobs[k])
        tops = [{"token": k, "logprob": v, "bytes": list(k.encode())} for k, v in self.logprobs.items()]
        logprobs = (
            None
            if self.mode == "no_logprobs"
            else {
                "content": [
                    {
                        "token": best,
                        "logprob": self.logprobs[best],
                        "bytes": list(best.encode()),
                        "top_logprobs": tops[: body.get("top_logprobs", 0) or len(tops)],
                    }
                ]
            }
        )
        reply = {
            "id": "chatcmpl-test",
            "object": "chat.completion",
            "created": 0,
            "model": body["model"],
            "system_fingerprint": "fp_test1",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": best},
                    "logprobs": logprobs,
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": 10, "completion_tokens": 1, "total_tokens": 11},
        }
        return 200, json.dumps(reply)


class OipServer(_Server):
    """Answers an OIP v2 infer with fixed probabilities; ``mode`` injects one failure."""

    def __init__(self, probabilities: list[float], version: str = "1") -> None:
        super().__init__()
        self.probabilities, self.version = probabilities, version

    def answer(self, path: str, body: dict[str, Any]) -> tuple[int, str]:
        if self.mode in ("500", "503"):
            return int(self.mode), '{"error": "unavailable"}'
        if self.mode == "400":
            return 400, '{"error": "bad input"}'
        if self.mode == "garbage":
            return 200, '{"outputs": [{"name": "predict_proba", "data": "nope"}]}'
        if self.mode == "out_of_range":
            return 200, json.dumps(
                {
                    "model_name": "m",
                    "model_version": self.version,
                    "outputs": [{"name": "predict_proba", "data": [1.5, -0.5]}],
                }
            )
        version = "2" if self.mode == "other_version" else self.version
        return 200, json.dumps(
            {
                "model_name": path.split("/")[3],
                "model_version": version,
                "id": "x",
                "outputs": [
                    {
                        "name": "predict_proba",
                        "shape": [1, len(self.probabilities)],
                        "datatype": "FP64",
                        "data": self.probabilities,
                    }
                ],
            }
        )
