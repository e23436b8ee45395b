"""The family fakes of Anthropic Messages, Google Gemini and Bedrock Converse: each
a FamilyExchange (family_upstreams.py) filled with that family's table: path
matcher, errors, usage, request reading and answer rendering."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import unquote

from family_upstreams import (ANTHROPIC_ERRORS, ANTHROPIC_USAGE, BEDROCK_ERRORS, BEDROCK_USAGE, GEMINI_ERRORS,
                              GEMINI_THOUGHT_SIGNATURE, GEMINI_USAGE, MIDSTREAM_MESSAGES, TITAN_INPUT_TOKENS,
                              TOOL_NAME, TOOL_PREAMBLE, FamilyExchange, Turn, ValidationError, embedding_for,
                              eventstream_frame, split_pieces)


# --------------------------------------------------------------------------- Anthropic


def anthropic_texts(content: Any) -> list[str]:
    if isinstance(content, str):
        return [content]
    if isinstance(content, list):
        return [b.get("text", "") for b in content if isinstance(b, dict) and b.get("type") == "text"]
    return []


# What the fake's /v1/messages/count_tokens answers: a count no estimate would give.
ANTHROPIC_COUNT_TOKENS = 4242


class AnthropicExchange(FamilyExchange):
    family = "anthropic"
    route = re.compile(r"^/v1/messages$")

    def answer(self, entry: dict[str, Any], body: Any) -> None:
        if entry["route"] == "/v1/messages/count_tokens":
            if not isinstance(body, dict) or not isinstance(body.get("model"), str) or not body.get("messages"):
                raise ValidationError("count_tokens needs model and messages")
            return self.send_json(200, {"input_tokens": ANTHROPIC_COUNT_TOKENS})
        return super().answer(entry, body)
    errors = ANTHROPIC_ERRORS
    usage = ANTHROPIC_USAGE

    def reject(self, message: str) -> None:
        self.send_json(400, {"type": "error", "error": {"type": "invalid_request_error", "message": message}})

    def not_found(self, entry: dict[str, Any]) -> None:
        self.send_json(404, {"type": "error", "error": {"type": "not_found_error",
                                                        "message": f"fake anthropic: no route {entry['path']}"}})

    def read_turn(self, entry: dict[str, Any], body: dict[str, Any], match: re.Match[str]) -> Turn:
        messages = body.get("messages")
        if not isinstance(body.get("model"), str):
            raise ValidationError("model: Field required")
        if not isinstance(body.get("max_tokens"), int):
            raise ValidationError("max_tokens: Field required")
        if not isinstance(messages, list) or not messages:
            raise ValidationError("messages: at least one message is required")
        tool_ids: set[str] = set()
        pending: list[str] = []  # tool_use ids of the previous assistant turn
        for i, m in enumerate(messages):
            role = m.get("role")
            if role != ("user" if i % 2 == 0 else "assistant"):
                raise ValidationError(f"messages.{i}: roles must alternate between user and assistant, starting with user")
            content = m.get("content")
            if not content:
                raise ValidationError(f"messages.{i}: content must not be empty")
            blocks = content if isinstance(content, list) else []
            answered = {b.get("tool_use_id") for b in blocks if b.get("type") == "tool_result"}
            if role == "user" and pending and not set(pending) <= answered:
                raise ValidationError(f"messages.{i}: `tool_use` ids were found without `tool_result` blocks "
                                      f"immediately after: {sorted(set(pending) - answered)}")
            pending = [b.get("id") for b in blocks if b.get("type") == "tool_use"]
            for block in blocks:
                if block.get("type") == "tool_use":
                    tool_ids.add(block.get("id"))
                if block.get("type") == "tool_result" and block.get("tool_use_id") not in tool_ids:
                    raise ValidationError(f"messages.{i}: tool_result block(s) provided when previous message "
                                          f"does not contain a matching tool_use ({block.get('tool_use_id')!r})")
        last = messages[-1]
        user_text = "".join(anthropic_texts(last.get("content"))) if last.get("role") == "user" else ""
        results = [b for b in last.get("content") if isinstance(b, dict) and b.get("type") == "tool_result"] \
            if isinstance(last.get("content"), list) else []
        pairs = []
        for result in results:
            content = result.get("content")
            text = content if isinstance(content, str) else "".join(anthropic_texts(content))
            pairs.append((result.get("tool_use_id"), text))
        return Turn(body, bool(body.get("stream")), user_text, pairs)

    def message_id(self) -> str:
        return f"msg_fake_{self.entry['seq']:04d}"

    def text(self, turn: Turn, text: str, fail: str | None = None) -> None:
        body = turn.body
        if not turn.stream:
            self.send_json(200, {
                "id": self.message_id(), "type": "message", "role": "assistant", "model": body["model"],
                "content": [{"type": "text", "text": text}],
                "stop_reason": "end_turn", "stop_sequence": None, "usage": ANTHROPIC_USAGE,
            })
            return
        self.start_stream()
        self.message_start(body)
        self.sse({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
                 "content_block_start")
        self.sse({"type": "ping"}, "ping")
        for i, piece in enumerate(split_pieces(text)):
            if fail and i == 3:
                self.sse({"type": "error", "error": {"type": "overloaded_error",
                                                     "message": MIDSTREAM_MESSAGES["anthropic"]}}, "error")
                self.end_stream()
                return
            self.sse({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": piece}},
                     "content_block_delta")
        self.sse({"type": "content_block_stop", "index": 0}, "content_block_stop")
        self.message_end("end_turn")

    def message_start(self, body: dict) -> None:
        usage = dict(ANTHROPIC_USAGE, output_tokens=1)
        self.sse({"type": "message_start", "message": {
            "id": self.message_id(), "type": "message", "role": "assistant", "model": body["model"], "content": [],
            "stop_reason": None, "stop_sequence": None, "usage": usage}}, "message_start")

    def message_end(self, stop_reason: str) -> None:
        self.sse({"type": "message_delta", "delta": {"stop_reason": stop_reason, "stop_sequence": None},
                  "usage": {"output_tokens": ANTHROPIC_USAGE["output_tokens"]}}, "message_delta")
        self.sse({"type": "message_stop"}, "message_stop")
        self.end_stream()

    def tool(self, turn: Turn, calls: list[tuple[str, dict, str]]) -> None:
        body = turn.body
        if not turn.stream:
            self.send_json(200, {
                "id": self.message_id(), "type": "message", "role": "assistant", "model": body["model"],
                "content": [{"type": "text", "text": TOOL_PREAMBLE["anthropic"]}] + [
                    {"type": "tool_use", "id": call_id, "name": TOOL_NAME, "input": args}
                    for call_id, args, _ in calls],
                "stop_reason": "tool_use", "stop_sequence": None, "usage": ANTHROPIC_USAGE,
            })
            return
        self.start_stream()
        self.message_start(body)
        self.sse({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
                 "content_block_start")
        self.sse({"type": "content_block_delta", "index": 0,
                  "delta": {"type": "text_delta", "text": TOOL_PREAMBLE["anthropic"]}}, "content_block_delta")
        self.sse({"type": "content_block_stop", "index": 0}, "content_block_stop")
        for block, (call_id, _, args_json) in enumerate(calls, start=1):
            self.sse({"type": "content_block_start", "index": block,
                      "content_block": {"type": "tool_use", "id": call_id, "name": TOOL_NAME, "input": {}}},
                     "content_block_start")
            for piece in [""] + split_pieces(args_json, 6):
                self.sse({"type": "content_block_delta", "index": block,
                          "delta": {"type": "input_json_delta", "partial_json": piece}}, "content_block_delta")
            self.sse({"type": "content_block_stop", "index": block}, "content_block_stop")
        self.message_end("tool_use")


# --------------------------------------------------------------------------- Gemini


def gemini_texts(parts: Any) -> list[str]:
    return [p["text"] for p in parts or [] if isinstance(p, dict) and isinstance(p.get("text"), str)]


class GeminiExchange(FamilyExchange):
    family = "gemini"
    route = re.compile(r"^/v1beta/models/([^:/]+):([A-Za-z]+)$")
    errors = GEMINI_ERRORS
    usage = GEMINI_USAGE

    def reject(self, message: str) -> None:
        self.send_json(400, {"error": {"code": 400, "message": message, "status": "INVALID_ARGUMENT"}})

    def not_found(self, entry: dict[str, Any]) -> None:
        self.send_json(404, {"error": {"code": 404, "message": f"fake gemini: no route {entry['path']}",
                                       "status": "NOT_FOUND"}})

    def read_turn(self, entry: dict[str, Any], body: dict[str, Any], match: re.Match[str]) -> Turn | None:
        model, method = match.groups()
        entry["model"] = model
        if method == "batchEmbedContents":
            self.embed(body, model)
            return None
        if method == "streamGenerateContent":
            if entry["query"].get("alt") != "sse":
                raise ValidationError("streamGenerateContent without alt=sse answers a JSON array, not SSE")
            stream = True
        elif method == "generateContent":
            stream = False
        else:
            self.send_json(404, {"error": {"code": 404, "message": f"fake gemini: unknown method {method}",
                                           "status": "NOT_FOUND"}})
            return None
        contents = body.get("contents")
        if not isinstance(contents, list) or not contents:
            raise ValidationError("* GenerateContentRequest.contents: contents is not specified")
        calls_before = 0  # functionCall parts of the previous turn
        for i, c in enumerate(contents):
            if c.get("role") not in ("user", "model") or not c.get("parts"):
                raise ValidationError(f"contents[{i}]: a role (user or model) and parts are required")
            for part in c["parts"]:
                if "functionResponse" in part and not part["functionResponse"].get("name"):
                    raise ValidationError(f"contents[{i}]: functionResponse.name is required")
            responses_here = sum("functionResponse" in p for p in c["parts"])
            if calls_before and responses_here != calls_before:
                raise ValidationError("Please ensure that the number of function response parts is equal to the "
                                      "number of function call parts of the function call turn.")
            calls_before = sum("functionCall" in p for p in c["parts"])
        last = contents[-1]
        user_text = "".join(gemini_texts(last.get("parts"))) if last.get("role") == "user" else ""
        responses = [p["functionResponse"] for p in last.get("parts") or [] if "functionResponse" in p]
        pairs = [(f"name={fr.get('name')}", str((fr.get("response") or {}).get("output")))
                 for fr in responses] if last.get("role") == "user" else []
        return Turn(body, stream, user_text, pairs, model=model)

    def response_id(self) -> str:
        return f"fakeGeminiResponse{self.entry['seq']:04d}"

    def document(self, model: str, parts: list, finish: str | None, usage: dict | None) -> dict:
        candidate: dict[str, Any] = {"content": {"parts": parts, "role": "model"}, "index": 0}
        if finish:
            candidate["finishReason"] = finish
        doc: dict[str, Any] = {"candidates": [candidate]}
        if usage:
            doc["usageMetadata"] = usage
        doc["modelVersion"] = model
        doc["responseId"] = self.response_id()
        return doc

    def text(self, turn: Turn, text: str, fail: str | None = None) -> None:
        model = turn.model
        if not turn.stream:
            self.send_json(200, self.document(model, [{"text": text}], "STOP", GEMINI_USAGE))
            return
        self.start_stream()
        pieces = split_pieces(text)
        partial_usage = {"promptTokenCount": GEMINI_USAGE["promptTokenCount"],
                         "totalTokenCount": GEMINI_USAGE["promptTokenCount"]}
        for i, piece in enumerate(pieces):
            if fail and i == 3:
                self.sse({"error": {"code": 503, "message": MIDSTREAM_MESSAGES["gemini"], "status": "UNAVAILABLE"}})
                self.end_stream()
                return
            last = i == len(pieces) - 1
            self.sse(self.document(model, [{"text": piece}], "STOP" if last else None,
                                   GEMINI_USAGE if last else partial_usage))
        self.end_stream()

    def tool(self, turn: Turn, calls: list[tuple[str, dict, str]]) -> None:
        model = turn.model
        # Only the first call of a turn carries the thought signature, as Gemini does.
        parts = [{"functionCall": {"name": TOOL_NAME, "args": args}} for _, args, _ in calls]
        parts[0]["thoughtSignature"] = GEMINI_THOUGHT_SIGNATURE
        if not turn.stream:
            self.send_json(200, self.document(model, parts, "STOP", GEMINI_USAGE))
            return
        self.start_stream()
        for i, part in enumerate(parts):  # one event per call; the last one finishes
            last = i == len(parts) - 1
            self.sse(self.document(model, [part], "STOP" if last else None, GEMINI_USAGE if last else None))
        self.end_stream()

    def embed(self, body: dict, model: str) -> None:
        requests = body.get("requests")
        if not isinstance(requests, list) or not requests:
            raise ValidationError("requests: at least one request is required")
        embeddings = []
        for i, r in enumerate(requests):
            if r.get("model") != f"models/{model}":
                raise ValidationError(f"requests[{i}].model {r.get('model')!r} does not match the URL's models/{model}")
            texts = gemini_texts((r.get("content") or {}).get("parts"))
            if not texts:
                raise ValidationError(f"requests[{i}].content has no text part")
            dims = r.get("outputDimensionality") or 8
            embeddings.append({"values": embedding_for("".join(texts), dims)})
        self.send_json(200, {"embeddings": embeddings})


# --------------------------------------------------------------------------- Bedrock


def bedrock_texts(content: Any) -> list[str]:
    return [b["text"] for b in content or [] if isinstance(b, dict) and isinstance(b.get("text"), str)]


class BedrockExchange(FamilyExchange):
    family = "bedrock"
    route = re.compile(r"^/model/([^/]+)/(converse|converse-stream|invoke)$")
    errors = BEDROCK_ERRORS
    usage = BEDROCK_USAGE

    def reject(self, message: str) -> None:
        self.send_json(400, {"message": message},
                       {"x-amzn-errortype": "ValidationException:http://internal.amazon.com/coral/com.amazon.bedrock/"})

    def not_found(self, entry: dict[str, Any]) -> None:
        self.send_json(404, {"message": f"fake bedrock: no route {entry['path']}"},
                       {"x-amzn-errortype": "UnknownOperationException"})

    def read_turn(self, entry: dict[str, Any], body: dict[str, Any], match: re.Match[str]) -> Turn | None:
        model_id, operation = unquote(match.group(1)), match.group(2)
        entry["model_id"] = model_id
        if operation == "invoke":
            self.invoke(body, model_id)
            return None
        stream = operation == "converse-stream"
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            raise ValidationError("messages: at least one message is required")
        tool_ids: set[str] = set()
        uses_tools = False
        pending: list[str] = []  # toolUse ids of the previous assistant turn
        for i, m in enumerate(messages):
            if m.get("role") != ("user" if i % 2 == 0 else "assistant"):
                raise ValidationError("A conversation must alternate between user and assistant roles "
                                      "and start with a user message.")
            if not isinstance(m.get("content"), list) or not m["content"]:
                raise ValidationError(f"messages.{i}.content: at least one content block is required")
            answered = {b["toolResult"].get("toolUseId") for b in m["content"] if "toolResult" in b}
            if m["role"] == "user" and pending and answered != set(pending):
                raise ValidationError(f"Expected toolResult blocks at messages.{i}.content for the following "
                                      f"Ids: {', '.join(sorted(set(pending) - answered))}")
            pending = [b["toolUse"].get("toolUseId") for b in m["content"] if "toolUse" in b]
            for block in m["content"]:
                if "toolUse" in block:
                    uses_tools = True
                    tool_ids.add(block["toolUse"].get("toolUseId"))
                if "toolResult" in block:
                    uses_tools = True
                    if block["toolResult"].get("toolUseId") not in tool_ids:
                        raise ValidationError("The toolResult blocks at messages.%d.content contain a toolUseId "
                                              "that does not match the previous turn's toolUse blocks." % i)
        if uses_tools and not body.get("toolConfig"):
            raise ValidationError("The toolConfig field must be defined when using toolUse and toolResult "
                                  "content blocks.")
        last = messages[-1]
        user_text = "".join(bedrock_texts(last.get("content"))) if last.get("role") == "user" else ""
        results = [b["toolResult"] for b in last.get("content") if "toolResult" in b]
        pairs = [(r.get("toolUseId"), "".join(bedrock_texts(r.get("content")))) for r in results]
        return Turn(body, stream, user_text, pairs, model=model_id)

    # event stream ----------------------------------------------------------------
    def start_eventstream(self) -> None:
        self.start_stream("application/vnd.amazon.eventstream")

    def frame(self, event_type: str, payload: dict) -> None:
        payload = dict(payload, p="abcdefghijklmnopqrstuvwxyzABCDEFGH"[: 4 + len(event_type)])
        self.write_event(eventstream_frame(
            {":event-type": event_type, ":content-type": "application/json", ":message-type": "event"},
            json.dumps(payload).encode("utf-8")))

    def exception_frame(self, exception_type: str, message: str) -> None:
        self.write_event(eventstream_frame(
            {":exception-type": exception_type, ":content-type": "application/json", ":message-type": "exception"},
            json.dumps({"message": message, "originalStatusCode": 500}).encode("utf-8")))

    def finish_eventstream(self, stop_reason: str) -> None:
        self.frame("messageStop", {"stopReason": stop_reason})
        self.frame("metadata", {"usage": BEDROCK_USAGE, "metrics": {"latencyMs": 321}})
        self.end_stream()

    def text(self, turn: Turn, text: str, fail: str | None = None) -> None:
        if not turn.stream:
            self.send_json(200, {"output": {"message": {"role": "assistant", "content": [{"text": text}]}},
                                 "stopReason": "end_turn", "usage": BEDROCK_USAGE, "metrics": {"latencyMs": 321}})
            return
        self.start_eventstream()
        self.frame("messageStart", {"role": "assistant"})
        for i, piece in enumerate(split_pieces(text)):
            if fail and i == 3:
                self.exception_frame("modelStreamErrorException", MIDSTREAM_MESSAGES["bedrock"])
                self.end_stream()
                return
            self.frame("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": piece}})
        self.frame("contentBlockStop", {"contentBlockIndex": 0})
        self.finish_eventstream("end_turn")

    def tool(self, turn: Turn, calls: list[tuple[str, dict, str]]) -> None:
        if not turn.stream:
            self.send_json(200, {"output": {"message": {"role": "assistant", "content": [
                {"text": TOOL_PREAMBLE["bedrock"]}] + [
                {"toolUse": {"toolUseId": call_id, "name": TOOL_NAME, "input": args}} for call_id, args, _ in calls
            ]}}, "stopReason": "tool_use", "usage": BEDROCK_USAGE, "metrics": {"latencyMs": 321}})
            return
        self.start_eventstream()
        self.frame("messageStart", {"role": "assistant"})
        self.frame("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": TOOL_PREAMBLE["bedrock"]}})
        self.frame("contentBlockStop", {"contentBlockIndex": 0})
        for block, (call_id, _, args_json) in enumerate(calls, start=1):
            self.frame("contentBlockStart", {"contentBlockIndex": block,
                                             "start": {"toolUse": {"toolUseId": call_id, "name": TOOL_NAME}}})
            for piece in split_pieces(args_json, 6):
                self.frame("contentBlockDelta", {"contentBlockIndex": block, "delta": {"toolUse": {"input": piece}}})
            self.frame("contentBlockStop", {"contentBlockIndex": block})
        self.finish_eventstream("tool_use")

    # embeddings ------------------------------------------------------------------
    def invoke(self, body: dict, model_id: str) -> None:
        if not model_id.startswith("amazon.titan-embed-text"):
            raise ValidationError(f"fake bedrock only serves Titan text embeddings through invoke, not {model_id}")
        text = body.get("inputText")
        if not isinstance(text, str) or not text:
            raise ValidationError("inputText: expected a non-empty string")
        unknown = set(body) - {"inputText", "dimensions", "normalize", "embeddingTypes"}
        if unknown:
            raise ValidationError(f"extraneous key [{sorted(unknown)[0]}] is not permitted")
        self.entry["user_text"] = text
        self.send_json(200, {"embedding": embedding_for(text, body.get("dimensions") or 8),
                             "inputTextTokenCount": TITAN_INPUT_TOKENS},
                       {"x-amzn-bedrock-input-token-count": str(TITAN_INPUT_TOKENS)})
