"""What tollgate must send each provider family, and what the client must get back
where families differ, as one class per family (its `checks` entry in the family
table, families.py): the translated body of a chat with a system prompt, of
`tools`, of a tool-result turn and of an embedding request; the tool call ids and
extra fields the client sees; the inputs its embedding tests send; where an
upstream error's message is. Used by test_provider_families.py and
test_cost_per_protocol.py; the tests hold no per-family branches."""

from __future__ import annotations

from typing import Any

import family_upstreams as fu

SYSTEM = "You are a terse assistant."
WEATHER_PARAMETERS = {
    "type": "object",
    "properties": {
        "city": {"type": "string"},
        "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
    },
    "required": ["city"],
}
WEATHER_DESCRIPTION = "Get the current weather for a city."
WEATHER_TOOL = {
    "type": "function",
    "function": {"name": fu.TOOL_NAME, "description": WEATHER_DESCRIPTION, "parameters": WEATHER_PARAMETERS},
}


def text_of_anthropic(content: Any) -> str:
    """An Anthropic message's (or system's) text: a string, or text blocks."""
    if isinstance(content, str):
        return content
    assert isinstance(content, list) and all(b.get("type") == "text" for b in content), content
    return "".join(b["text"] for b in content)


class FamilyChecks:
    """What the families share; each subclass is one family's entry (a family that has
    no chat, or no embeddings, leaves those checks out)."""

    family = ""
    # What a tool call carries in `extra_content` for the client to send back (None: nothing).
    tool_extra_content: dict[str, Any] | None = None
    embed_texts_per_call: int | None = None  # how many texts one embedding request may carry (None: many)

    def text_body(self, rec: dict[str, Any], messages: list[dict], stream: bool) -> None:
        """The request of a system + user chat with max_tokens=77, temperature=0.5, seed=7."""
        raise NotImplementedError(self.family)

    def tools_body(self, body: dict[str, Any]) -> None:
        """The translated `tools` and `tool_choice: auto`."""
        raise NotImplementedError(self.family)

    def tool_result_body(self, body: dict[str, Any], question: str, calls: list[dict[str, Any]],
                         args: list[dict], results: list[str], messages: list[dict]) -> None:
        """The second request of a round trip: the assistant's tool calls and the `tool` results,
        in the family's own shapes (several results of one turn go together in one turn)."""
        raise NotImplementedError(self.family)

    def tool_call_ids(self, ids: list[str]) -> None:
        """The ids of one answer's tool calls, in order: the fake's own."""
        assert ids == [fu.TOOL_CALL_IDS[self.family], fu.SECOND_TOOL_CALL_IDS[self.family]][:len(ids)], ids

    def tool_ok_key(self, call_id: str) -> str:
        """How the fake names a tool result in its TOOL_OK answer."""
        return call_id

    def streamed_tool_args(self, call: dict[str, Any], deltas: int) -> None:
        """A streamed tool call: the arguments arrive as the upstream sent them, in several deltas."""
        assert call["arguments"] == fu.TOOL_ARGS_JSON
        assert deltas > 2, "the arguments should arrive in several deltas"

    def error_message(self, body: Any) -> str:
        """The message of one of the fake's error bodies (family_upstreams.ERRORS)."""
        return body["error"]["message"]

    def embed_inputs(self, tag: str) -> list[str] | str:
        return [f"alpha {tag}", f"beta {tag}", f"gamma ✓ {tag}"]

    def embed_body(self, body: dict[str, Any], inputs: Any, texts: list[str], dimensions: int | None) -> None:
        raise NotImplementedError(self.family)


class AnthropicChecks(FamilyChecks):
    family = "anthropic"

    def text_body(self, rec: dict[str, Any], messages: list[dict], stream: bool) -> None:
        body = rec["body"]
        assert body["model"] == "claude-x"
        assert body["max_tokens"] == 77
        assert body["temperature"] == 0.5
        assert text_of_anthropic(body.get("system")) == SYSTEM, "system prompt not hoisted to `system`"
        assert len(body["messages"]) == 1 and body["messages"][0]["role"] == "user", body["messages"]
        assert text_of_anthropic(body["messages"][0]["content"]) == messages[-1]["content"]
        assert bool(body.get("stream")) is stream
        assert "seed" not in body, "Anthropic has no seed; it must not be sent"

    def tools_body(self, body: dict[str, Any]) -> None:
        assert body["tools"] == [{"name": fu.TOOL_NAME, "description": WEATHER_DESCRIPTION,
                                  "input_schema": WEATHER_PARAMETERS}]
        assert body["tool_choice"] == {"type": "auto"}

    def tool_result_body(self, body: dict[str, Any], question: str, calls: list[dict[str, Any]],
                         args: list[dict], results: list[str], messages: list[dict]) -> None:
        turns = body["messages"]
        assert [t["role"] for t in turns] == ["user", "assistant", "user"], turns
        assert text_of_anthropic(turns[0]["content"]) == question
        assert turns[1]["content"] == [{"type": "text", "text": fu.TOOL_PREAMBLE[self.family]}] + [
            {"type": "tool_use", "id": c["id"], "name": fu.TOOL_NAME, "input": a} for c, a in zip(calls, args)]
        assert turns[2]["content"] == [{"type": "tool_result", "tool_use_id": c["id"], "content": r}
                                       for c, r in zip(calls, results)]


class GeminiChecks(FamilyChecks):
    family = "gemini"
    # The thought signature rides along for the client to send back.
    tool_extra_content = {"google": {"thought_signature": fu.GEMINI_THOUGHT_SIGNATURE}}

    def text_body(self, rec: dict[str, Any], messages: list[dict], stream: bool) -> None:
        body = rec["body"]
        assert body["systemInstruction"] == {"parts": [{"text": SYSTEM}]}
        assert body["contents"] == [{"role": "user", "parts": [{"text": messages[-1]["content"]}]}]
        config = body["generationConfig"]
        assert config["maxOutputTokens"] == 77
        assert config["temperature"] == 0.5
        assert config.get("seed") == 7
        assert "messages" not in body and "model" not in body

    def tools_body(self, body: dict[str, Any]) -> None:
        assert body["tools"] == [{"functionDeclarations": [
            {"name": fu.TOOL_NAME, "description": WEATHER_DESCRIPTION, "parametersJsonSchema": WEATHER_PARAMETERS}]}]
        assert body["toolConfig"] == {"functionCallingConfig": {"mode": "AUTO"}}

    def tool_result_body(self, body: dict[str, Any], question: str, calls: list[dict[str, Any]],
                         args: list[dict], results: list[str], messages: list[dict]) -> None:
        call_parts = [{"functionCall": {"name": fu.TOOL_NAME, "args": a}} for a in args]
        call_parts[0]["thoughtSignature"] = fu.GEMINI_THOUGHT_SIGNATURE  # sent back as it came
        assert body["contents"] == [
            {"role": "user", "parts": [{"text": question}]},
            {"role": "model", "parts": call_parts},
            {"role": "user", "parts": [{"functionResponse": {"name": fu.TOOL_NAME, "response": {"output": r}}}
                                       for r in results]},
        ]

    def tool_call_ids(self, ids: list[str]) -> None:
        # Gemini gives no ids; tollgate makes them up.
        assert all(isinstance(i, str) and i for i in ids), f"tool call ids {ids}"

    def tool_ok_key(self, call_id: str) -> str:
        return f"name={fu.TOOL_NAME}"  # a functionResponse names its function, not a call

    def streamed_tool_args(self, call: dict[str, Any], deltas: int) -> None:
        # Gemini sends a call whole (no argument pieces to pass on as they came).
        assert deltas >= 1

    def embed_body(self, body: dict[str, Any], inputs: Any, texts: list[str], dimensions: int | None) -> None:
        item = {"model": "models/text-embedding-x"}
        if dimensions:
            item["outputDimensionality"] = dimensions
        assert body == {"requests": [dict(item, content={"parts": [{"text": t}]}) for t in texts]}


class BedrockChecks(FamilyChecks):
    family = "bedrock"
    embed_texts_per_call = 1  # Titan embeds one text per call

    def text_body(self, rec: dict[str, Any], messages: list[dict], stream: bool) -> None:
        body = rec["body"]
        assert body["system"] == [{"text": SYSTEM}]
        assert body["messages"] == [{"role": "user", "content": [{"text": messages[-1]["content"]}]}]
        assert body["inferenceConfig"] == {"maxTokens": 77, "temperature": 0.5}
        assert "seed" not in rec["raw"] and "model" not in body and "stream" not in body

    def tools_body(self, body: dict[str, Any]) -> None:
        assert body["toolConfig"] == {
            "tools": [{"toolSpec": {"name": fu.TOOL_NAME, "description": WEATHER_DESCRIPTION,
                                    "inputSchema": {"json": WEATHER_PARAMETERS}}}],
            "toolChoice": {"auto": {}},
        }

    def tool_result_body(self, body: dict[str, Any], question: str, calls: list[dict[str, Any]],
                         args: list[dict], results: list[str], messages: list[dict]) -> None:
        assert body["messages"] == [
            {"role": "user", "content": [{"text": question}]},
            {"role": "assistant", "content": [{"text": fu.TOOL_PREAMBLE[self.family]}] + [
                {"toolUse": {"toolUseId": c["id"], "name": fu.TOOL_NAME, "input": a}} for c, a in zip(calls, args)]},
            {"role": "user", "content": [{"toolResult": {"toolUseId": c["id"], "content": [{"text": r}]}}
                                         for c, r in zip(calls, results)]},
        ]
        assert body["toolConfig"]["tools"][0]["toolSpec"]["name"] == fu.TOOL_NAME

    def error_message(self, body: Any) -> str:
        return body["message"]  # Bedrock's error bodies are {"message": ...}

    def embed_inputs(self, tag: str) -> list[str] | str:
        return f"alpha {tag}"

    def embed_body(self, body: dict[str, Any], inputs: Any, texts: list[str], dimensions: int | None) -> None:
        expected = {"inputText": texts[0], "normalize": True}
        if dimensions:
            expected["dimensions"] = dimensions
        assert body == expected


class ResponsesChecks(FamilyChecks):
    family = "responses"

    def text_body(self, rec: dict[str, Any], messages: list[dict], stream: bool) -> None:
        body = rec["body"]
        assert body["model"] == "gpt-r"
        assert body["input"] == [
            {"type": "message", "role": "system", "content": SYSTEM},
            {"type": "message", "role": "user", "content": messages[-1]["content"]},
        ]
        assert body["max_output_tokens"] == 77
        assert body["temperature"] == 0.5
        assert body["store"] is False
        assert bool(body.get("stream")) is stream
        assert "seed" not in body and "messages" not in body

    def tools_body(self, body: dict[str, Any]) -> None:
        assert body["tools"] == [{"type": "function", "name": fu.TOOL_NAME, "description": WEATHER_DESCRIPTION,
                                  "parameters": WEATHER_PARAMETERS, "strict": False}]
        assert body["tool_choice"] == "auto"

    def tool_result_body(self, body: dict[str, Any], question: str, calls: list[dict[str, Any]],
                         args: list[dict], results: list[str], messages: list[dict]) -> None:
        assert body["input"] == [{"type": "message", "role": "user", "content": question}] + [
            {"type": "function_call", "call_id": c["id"], "name": fu.TOOL_NAME, "arguments": c["arguments"]}
            for c in calls] + [
            {"type": "function_call_output", "call_id": c["id"], "output": r} for c, r in zip(calls, results)]


class CompatibleChecks(FamilyChecks):
    """An OpenAI-compatible server (embeddings only): requests pass through."""
    family = "openai"

    def embed_body(self, body: dict[str, Any], inputs: Any, texts: list[str], dimensions: int | None) -> None:
        assert body["model"] == "emb-oai"
        assert body["input"] == inputs
        assert body.get("dimensions") == dimensions
        assert body.get("encoding_format") in (None, "float"), "upstream asked for a format tollgate must decode"


class AzureChecks(FamilyChecks):
    """Azure OpenAI: Chat Completions pass through."""
    family = "azure"

    def text_body(self, rec: dict[str, Any], messages: list[dict], stream: bool) -> None:
        body = rec["body"]
        assert body["messages"] == messages
        assert body["max_tokens"] == 77
        assert body["temperature"] == 0.5
        assert body["seed"] == 7
        assert bool(body.get("stream")) is stream
        if stream:
            # tollgate always asks for usage (for its ledger), whatever the client asked.
            assert body.get("stream_options", {}).get("include_usage") is True, body

    def tools_body(self, body: dict[str, Any]) -> None:
        assert body["tools"] == [WEATHER_TOOL]
        assert body["tool_choice"] == "auto"

    def tool_result_body(self, body: dict[str, Any], question: str, calls: list[dict[str, Any]],
                         args: list[dict], results: list[str], messages: list[dict]) -> None:
        assert body["messages"] == messages

    def embed_body(self, body: dict[str, Any], inputs: Any, texts: list[str], dimensions: int | None) -> None:
        assert body["input"] == inputs
        assert body.get("encoding_format") in (None, "float"), "upstream asked for a format tollgate must decode"
