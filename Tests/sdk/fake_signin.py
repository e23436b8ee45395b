"""Fakes for the subscription and CLI sign-in providers: every token endpoint (Claude Code's
OAuth refresh, Codex's refresh, GitHub's device flow, the Copilot token exchange) and the
APIs behind them (Anthropic Messages, the Codex Responses backend, Copilot's Chat
Completions), in one server on 127.0.0.1. Each test sets `state` (what to answer) and reads
`fake.requests` (what tollgate sent). Every answer leaves in one `send` (head and body together).

The shapes follow wire-formats.md §3.5 and §6, several of which are unverified; the fake
checks only what tollgate must send (bearer, beta flag, account id), not guesses.
"""

from __future__ import annotations

import base64
import json
import time
from typing import Any

from fake_server import Exchange, FakeServer


def jwt(claims: dict[str, Any]) -> str:
    """An unsigned JWT with these claims (tollgate reads `exp` and the account claim only)."""
    def part(obj: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")
    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}.c2lnbmF0dXJl"


class SignInExchange(Exchange):
    family = "signin"
    match = "raw"
    state: dict[str, Any] = {}

    def send_once(self, status: int, obj: Any, content_type: str = "application/json") -> None:
        data = obj if isinstance(obj, bytes) else json.dumps(obj).encode()
        head = (f"HTTP/1.1 {status} X\r\nContent-Type: {content_type}\r\nContent-Length: {len(data)}\r\n"
                f"Connection: keep-alive\r\n\r\n").encode()
        self.entry["sent"] = data
        self.wfile.write(head + data)
        self.wfile.flush()

    def answer_get(self, entry: dict[str, Any]) -> None:
        if entry["route"] == "/copilot_internal/v2/token":
            return self.copilot_exchange(entry)
        self.send_once(404, {"message": f"no route GET {entry['route']}"})

    def answer(self, entry: dict[str, Any], body: Any) -> None:
        route = entry["route"]
        if route == "/v1/oauth/token":
            return self.refresh("claude")
        if route == "/oauth/token":
            return self.refresh("codex")
        if route == "/login/device/code":
            return self.device_code(entry)
        if route == "/login/oauth/access_token":
            return self.device_poll(entry)
        if route == "/v1/messages":
            return self.messages(body)
        if route.endswith("/responses"):
            return self.responses(body)
        if route.endswith("/chat/completions"):
            return self.chat(body)
        self.send_once(404, {"error": {"message": f"no route POST {route}"}})

    # token endpoints ---------------------------------------------------------------
    def refresh(self, which: str) -> None:
        time.sleep(self.state.get("refresh_delay", 0))
        answers = self.state.setdefault(f"{which}_refresh", [])
        status, body = answers.pop(0) if answers else (500, {"error": "no refresh answer planned"})
        self.send_once(status, body)

    def copilot_exchange(self, entry: dict[str, Any]) -> None:
        plan = self.state.get("copilot_exchange")
        if plan is None:
            return self.send_once(500, {"message": "no exchange planned"})
        status, make = plan
        self.send_once(status, make() if callable(make) else make)

    def device_code(self, entry: dict[str, Any]) -> None:
        self.send_once(200, {"device_code": "dev-code-1", "user_code": "WDJB-MJHT",
                             "verification_uri": "https://github.com/login/device",
                             "expires_in": 900, "interval": 0})

    def device_poll(self, entry: dict[str, Any]) -> None:
        answers = self.state.setdefault("device_poll", [])
        self.send_once(200, answers.pop(0) if answers else {"error": "expired_token"})

    # APIs ----------------------------------------------------------------------------
    def refused(self) -> bool:
        """A bearer listed in state["refuse_tokens"] gets 401 (a revoked token)."""
        auth = self.entry["headers"].get("authorization", "")
        if auth.removeprefix("Bearer ") not in self.state.get("refuse_tokens", ()):
            return False
        self.send_once(401, {"type": "error", "error": {"type": "authentication_error", "message": "token revoked"}})
        return True

    def messages(self, body: Any) -> None:
        if self.refused():
            return
        if self.state.get("echo_auth"):
            # An upstream error that echoes the credential it was sent.
            auth = self.entry["headers"].get("authorization", "")
            return self.send_once(400, {"type": "error", "error": {"type": "invalid_request_error",
                                                                   "message": f"token {auth.removeprefix('Bearer ')} is odd"}})
        if body.get("stream"):
            return self.messages_stream(body)
        self.send_once(200, {"id": "msg_1", "type": "message", "role": "assistant", "model": body.get("model"),
                             "content": [{"type": "text", "text": "hello from the subscription"}],
                             "stop_reason": "end_turn", "stop_sequence": None,
                             "usage": {"input_tokens": 1000, "output_tokens": 500}})

    def messages_stream(self, body: Any) -> None:
        events = [
            ("message_start", {"type": "message_start", "message": {
                "id": "msg_1", "type": "message", "role": "assistant", "model": body.get("model"), "content": [],
                "stop_reason": None, "stop_sequence": None, "usage": {"input_tokens": 1000, "output_tokens": 1}}}),
            ("content_block_start", {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
            ("content_block_delta", {"type": "content_block_delta", "index": 0,
                                     "delta": {"type": "text_delta", "text": "hello from the subscription"}}),
            ("content_block_stop", {"type": "content_block_stop", "index": 0}),
            ("message_delta", {"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                               "usage": {"output_tokens": 500}}),
            ("message_stop", {"type": "message_stop"}),
        ]
        data = "".join(f"event: {name}\ndata: {json.dumps(obj)}\n\n" for name, obj in events).encode()
        self.send_once(200, data, content_type="text/event-stream")

    def responses(self, body: Any) -> None:
        if self.refused():
            return
        self.send_once(200, {"id": "resp_1", "object": "response", "created_at": int(time.time()),
                             "status": "completed", "model": body.get("model"),
                             "output": [{"type": "message", "id": "msg_1", "role": "assistant", "status": "completed",
                                         "content": [{"type": "output_text", "text": "hello from codex",
                                                      "annotations": []}]}],
                             "usage": {"input_tokens": 1000, "output_tokens": 500, "total_tokens": 1500,
                                       "input_tokens_details": {"cached_tokens": 0},
                                       "output_tokens_details": {"reasoning_tokens": 0}}})

    def chat(self, body: Any) -> None:
        if self.refused():
            return
        self.send_once(200, {"id": "chatcmpl-1", "object": "chat.completion", "created": int(time.time()),
                             "model": body.get("model"),
                             "choices": [{"index": 0, "finish_reason": "stop",
                                          "message": {"role": "assistant", "content": "hello from copilot"}}],
                             "usage": {"prompt_tokens": 1000, "completion_tokens": 500, "total_tokens": 1500}})


def start() -> FakeServer:
    return FakeServer(SignInExchange, name="signin").start()
