"""The family fakes of OpenAI Responses and OpenAI Chat Completions (Azure, and an
OpenAI-compatible server): each a FamilyExchange (family_upstreams.py) filled with
that family's table: path matcher, errors, usage, request reading and rendering."""

from __future__ import annotations

import re
from typing import Any

from family_upstreams import (AZURE_ERRORS, CREATED, MIDSTREAM_MESSAGES, OPENAI_EMBED_PROMPT_TOKENS, OPENAI_USAGE,
                              RESPONSES_ERRORS, RESPONSES_ITEM_ID, RESPONSES_USAGE, TOOL_NAME, FamilyExchange, Turn,
                              ValidationError, embedding_for, split_pieces)


# --------------------------------------------------------------------------- OpenAI Responses


def responses_texts(content: Any) -> list[str]:
    if isinstance(content, str):
        return [content]
    return [p.get("text", "") for p in content or []
            if isinstance(p, dict) and p.get("type") in ("input_text", "output_text")]


class ResponsesExchange(FamilyExchange):
    family = "responses"
    route = re.compile(r"^/v1/responses$")
    errors = RESPONSES_ERRORS
    usage = RESPONSES_USAGE
    failures = {"#midfailed": "failed", "#midstream": "error"}

    def reject(self, message: str) -> None:
        self.send_json(400, {"error": {"message": message, "type": "invalid_request_error", "param": None,
                                       "code": None}})

    def not_found(self, entry: dict[str, Any]) -> None:
        self.send_json(404, {"error": {"message": f"fake responses: no route {entry['path']}",
                                       "type": "invalid_request_error", "param": None, "code": None}})

    def read_turn(self, entry: dict[str, Any], body: dict[str, Any], match: re.Match[str]) -> Turn:
        items = body.get("input")
        if isinstance(items, str):  # the API takes a string for one user message
            items = [{"type": "message", "role": "user", "content": items}]
        # Message items may leave out their type (the SDK's EasyInputMessage).
        items = [dict(it, type="message") if isinstance(it, dict) and "type" not in it and "role" in it else it
                 for it in items or []]
        if not isinstance(body.get("model"), str):
            raise ValidationError("Missing required parameter: 'model'.")
        if not isinstance(items, list) or not items:
            raise ValidationError("Missing required parameter: 'input'.")
        calls: set[str] = set()
        outputs = {it.get("call_id") for it in items if it.get("type") == "function_call_output"}
        for i, item in enumerate(items):
            kind = item.get("type")
            if kind == "function_call":
                calls.add(item.get("call_id"))
                if item.get("call_id") not in outputs:
                    raise ValidationError(f"No tool output found for function call {item.get('call_id')}.")
                if not isinstance(item.get("arguments"), str):
                    raise ValidationError(f"input[{i}].arguments must be a string")
            elif kind == "function_call_output":
                if item.get("call_id") not in calls:
                    raise ValidationError(f"No tool call found for function call output with call_id "
                                          f"{item.get('call_id')}.")
            elif kind == "message":
                if item.get("role") not in ("user", "system", "developer", "assistant"):
                    raise ValidationError(f"input[{i}].role is invalid")
            else:
                raise ValidationError(f"input[{i}].type {kind!r} is invalid")
        stream = bool(body.get("stream"))
        last = items[-1]
        user_msgs = [it for it in items if it.get("type") == "message" and it.get("role") == "user"]
        user_text = "".join(responses_texts(user_msgs[-1].get("content"))) if user_msgs else ""
        trailing: list[tuple[str, str]] = []
        for item in reversed(items):
            if item.get("type") != "function_call_output":
                break
            trailing.insert(0, (item.get("call_id"), str(item.get("output"))))
        return Turn(body, stream, user_text, trailing)

    def response_id(self) -> str:
        return f"resp_fake_{self.entry['seq']:04d}"

    def response(self, body: dict, status: str, output: list, usage: dict | None, error: Any = None) -> dict:
        return {
            "id": self.response_id(), "object": "response", "created_at": CREATED, "status": status,
            "error": error, "incomplete_details": None, "instructions": None,
            "max_output_tokens": body.get("max_output_tokens"), "model": body["model"], "output": output,
            "parallel_tool_calls": True, "previous_response_id": None, "store": False,
            "temperature": body.get("temperature", 1.0), "text": {"format": {"type": "text"}},
            "tool_choice": body.get("tool_choice", "auto"), "tools": body.get("tools", []), "top_p": 1.0,
            "truncation": "disabled", "usage": usage, "user": None, "metadata": {},
        }

    def message_item(self, text: str, status: str = "completed") -> dict:
        return {"id": f"msg_fake_{self.entry['seq']:04d}", "type": "message", "status": status, "role": "assistant",
                "content": [{"type": "output_text", "text": text, "annotations": []}] if text else []}

    def event(self, obj: dict) -> None:
        self.seq_no += 1
        obj["sequence_number"] = self.seq_no
        self.sse(obj, obj["type"])

    def begin(self, body: dict) -> None:
        self.seq_no = -1
        self.start_stream()
        self.event({"type": "response.created", "response": self.response(body, "in_progress", [], None)})
        self.event({"type": "response.in_progress", "response": self.response(body, "in_progress", [], None)})

    def text(self, turn: Turn, text: str, fail: str | None = None) -> None:
        body = turn.body
        item = self.message_item(text)
        if not turn.stream:
            self.send_json(200, self.response(body, "completed", [item], RESPONSES_USAGE))
            return
        self.begin(body)
        item_id = item["id"]
        self.event({"type": "response.output_item.added", "output_index": 0,
                    "item": self.message_item("", "in_progress")})
        self.event({"type": "response.content_part.added", "item_id": item_id, "output_index": 0,
                    "content_index": 0, "part": {"type": "output_text", "text": "", "annotations": []}})
        for i, piece in enumerate(split_pieces(text)):
            if fail and i == 3:
                if fail == "failed":
                    self.event({"type": "response.failed", "response": self.response(
                        body, "failed", [], None,
                        {"code": "server_error", "message": MIDSTREAM_MESSAGES["responses-failed"]})})
                else:
                    self.event({"type": "error", "code": "server_error", "message": MIDSTREAM_MESSAGES["responses"],
                                "param": None})
                self.end_stream()
                return
            self.event({"type": "response.output_text.delta", "item_id": item_id, "output_index": 0,
                        "content_index": 0, "delta": piece, "logprobs": []})
        self.event({"type": "response.output_text.done", "item_id": item_id, "output_index": 0, "content_index": 0,
                    "text": text, "logprobs": []})
        self.event({"type": "response.content_part.done", "item_id": item_id, "output_index": 0, "content_index": 0,
                    "part": {"type": "output_text", "text": text, "annotations": []}})
        self.event({"type": "response.output_item.done", "output_index": 0, "item": item})
        self.event({"type": "response.completed", "response": self.response(body, "completed", [item],
                                                                             RESPONSES_USAGE)})
        self.end_stream()

    def tool(self, turn: Turn, calls: list[tuple[str, dict, str]]) -> None:
        body = turn.body
        items = [{"type": "function_call", "id": RESPONSES_ITEM_ID[:-1] + str(n + 1), "call_id": call_id,
                  "name": TOOL_NAME, "arguments": args_json, "status": "completed"}
                 for n, (call_id, _, args_json) in enumerate(calls)]
        if not turn.stream:
            self.send_json(200, self.response(body, "completed", items, RESPONSES_USAGE))
            return
        self.begin(body)
        for n, item in enumerate(items):
            self.event({"type": "response.output_item.added", "output_index": n,
                        "item": dict(item, arguments="", status="in_progress")})
            for piece in split_pieces(item["arguments"], 6):
                self.event({"type": "response.function_call_arguments.delta", "item_id": item["id"],
                            "output_index": n, "delta": piece})
            self.event({"type": "response.function_call_arguments.done", "item_id": item["id"],
                        "output_index": n, "name": TOOL_NAME, "arguments": item["arguments"]})
            self.event({"type": "response.output_item.done", "output_index": n, "item": item})
        self.event({"type": "response.completed", "response": self.response(body, "completed", items,
                                                                             RESPONSES_USAGE)})
        self.end_stream()


# --------------------------------------------------------------------------- OpenAI Chat (Azure, compatible)


def openai_texts(content: Any) -> list[str]:
    if isinstance(content, str):
        return [content]
    return [p.get("text", "") for p in content or [] if isinstance(p, dict) and p.get("type") == "text"]


class AzureExchange(FamilyExchange):
    """Chat Completions and Embeddings under /openai/deployments/DEP, with api-version."""

    family = "azure"
    route = re.compile(r"^/openai/deployments/dep1/(chat/completions|embeddings)$")
    api_version: str | None = "2024-10-21"
    reverse_embeddings = False
    errors = AZURE_ERRORS
    usage = OPENAI_USAGE

    def reject(self, message: str) -> None:
        self.send_json(400, {"error": {"message": message, "type": "invalid_request_error", "param": None,
                                       "code": None}})

    def not_found(self, entry: dict[str, Any]) -> None:
        self.send_json(404, {"error": {"code": "404", "message": f"fake {self.family}: no route {entry['path']}"}})

    def read_turn(self, entry: dict[str, Any], body: dict[str, Any], match: re.Match[str]) -> Turn | None:
        if self.api_version and entry["query"].get("api-version") != self.api_version:
            self.send_json(404, {"error": {"code": "404", "message": "Resource not found (api-version missing "
                                                                      f"or not {self.api_version})"}})
            return None
        if match.group(1) == "embeddings":
            self.embed(body)
            return None
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            raise ValidationError("'messages' is a required property")
        calls: set[str] = set()
        for i, m in enumerate(messages):
            for call in m.get("tool_calls") or []:
                calls.add(call.get("id"))
            if m.get("role") == "tool" and m.get("tool_call_id") not in calls:
                raise ValidationError("messages with role 'tool' must be a response to a preceeding message "
                                      "with 'tool_calls'.")
            if m.get("tool_calls"):
                following = set()
                for later in messages[i + 1:]:
                    if later.get("role") != "tool":
                        break
                    following.add(later.get("tool_call_id"))
                missing = {c.get("id") for c in m["tool_calls"]} - following
                if missing:
                    raise ValidationError("An assistant message with 'tool_calls' must be followed by tool messages "
                                          f"responding to each 'tool_call_id'. Missing: {sorted(missing)}")
        users = [m for m in messages if m.get("role") == "user"]
        user_text = "".join(openai_texts(users[-1].get("content"))) if users else ""
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        trailing: list[tuple[str, str]] = []
        for m in reversed(messages):
            if m.get("role") != "tool":
                break
            content = m.get("content")
            text = content if isinstance(content, str) else "".join(openai_texts(content))
            trailing.insert(0, (m.get("tool_call_id"), text))
        return Turn(body, bool(body.get("stream")), user_text, trailing, include_usage=include_usage)

    def completion_id(self) -> str:
        return f"chatcmpl-fake-{self.family}-{self.entry['seq']:04d}"

    def chunk(self, body: dict, delta: dict, finish: str | None) -> dict:
        return {"id": self.completion_id(), "object": "chat.completion.chunk", "created": CREATED,
                "model": body.get("model", ""), "system_fingerprint": "fp_fake",
                "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]}

    def stream_end(self, body: dict, finish: str, include_usage: bool) -> None:
        self.sse(self.chunk(body, {}, finish))
        if include_usage:
            self.sse({"id": self.completion_id(), "object": "chat.completion.chunk", "created": CREATED,
                      "model": body.get("model", ""), "system_fingerprint": "fp_fake", "choices": [],
                      "usage": OPENAI_USAGE})
        self.sse("[DONE]")
        self.end_stream()

    def text(self, turn: Turn, text: str, fail: str | None = None) -> None:
        body, include_usage = turn.body, turn.include_usage
        if not turn.stream:
            self.send_json(200, {
                "id": self.completion_id(), "object": "chat.completion", "created": CREATED,
                "model": body.get("model", ""), "system_fingerprint": "fp_fake",
                "choices": [{"index": 0, "message": {"role": "assistant", "content": text, "refusal": None},
                             "logprobs": None, "finish_reason": "stop"}],
                "usage": OPENAI_USAGE,
            })
            return
        self.start_stream()
        self.sse(self.chunk(body, {"role": "assistant", "content": ""}, None))
        for i, piece in enumerate(split_pieces(text)):
            if fail and i == 3:
                self.sse({"error": {"message": MIDSTREAM_MESSAGES["azure"], "type": "server_error", "param": None,
                                    "code": None}})
                self.end_stream()
                return
            self.sse(self.chunk(body, {"content": piece}, None))
        self.stream_end(body, "stop", include_usage)

    def tool(self, turn: Turn, calls: list[tuple[str, dict, str]]) -> None:
        body, include_usage = turn.body, turn.include_usage
        if not turn.stream:
            self.send_json(200, {
                "id": self.completion_id(), "object": "chat.completion", "created": CREATED,
                "model": body.get("model", ""),
                "choices": [{"index": 0, "message": {
                    "role": "assistant", "content": None, "refusal": None,
                    "tool_calls": [{"id": call_id, "type": "function",
                                    "function": {"name": TOOL_NAME, "arguments": args_json}}
                                   for call_id, _, args_json in calls]},
                    "logprobs": None, "finish_reason": "tool_calls"}],
                "usage": OPENAI_USAGE,
            })
            return
        self.start_stream()
        self.sse(self.chunk(body, {"role": "assistant", "content": None}, None))
        for n, (call_id, _, args_json) in enumerate(calls):
            self.sse(self.chunk(body, {"tool_calls": [{"index": n, "id": call_id, "type": "function",
                                                       "function": {"name": TOOL_NAME, "arguments": ""}}]}, None))
            for piece in split_pieces(args_json, 6):
                self.sse(self.chunk(body, {"tool_calls": [{"index": n, "function": {"arguments": piece}}]}, None))
        self.stream_end(body, "tool_calls", include_usage)

    def embed(self, body: dict) -> None:
        inputs = body.get("input")
        if isinstance(inputs, str):
            inputs = [inputs]
        # Token ids, as OpenAI takes them: one list of ints, or a list of such lists.
        if isinstance(inputs, list) and inputs and all(isinstance(t, int) for t in inputs):
            inputs = [inputs]
        if isinstance(inputs, list) and inputs and all(isinstance(t, list) and t and all(isinstance(i, int) for i in t)
                                                       for t in inputs):
            inputs = ["tokens:" + ",".join(map(str, t)) for t in inputs]
        if not isinstance(inputs, list) or not inputs or not all(isinstance(t, str) for t in inputs):
            raise ValidationError("'input' must be a string, an array of strings or token ids")
        fmt = body.get("encoding_format", "float")
        if fmt != "float":
            raise ValidationError(f"this fake answers only encoding_format float, not {fmt!r}")
        self.entry["user_text"] = " | ".join(inputs)
        dims = body.get("dimensions") or 8
        data = [{"object": "embedding", "index": i, "embedding": embedding_for(t, dims)} for i, t in enumerate(inputs)]
        if self.reverse_embeddings:
            data.reverse()  # OpenAI-compatible servers may answer out of order; `index` says where each goes
        self.send_json(200, {"object": "list", "data": data, "model": body.get("model"),
                             "usage": {"prompt_tokens": OPENAI_EMBED_PROMPT_TOKENS,
                                       "total_tokens": OPENAI_EMBED_PROMPT_TOKENS}})


class CompatibleExchange(AzureExchange):
    """The same under /v1 without api-version (an OpenAI-compatible server); Azure's answers and ids."""

    family = "openai"
    tool_family = "azure"
    route = re.compile(r"^/v1/(chat/completions|embeddings)$")
    api_version = None
    reverse_embeddings = True
