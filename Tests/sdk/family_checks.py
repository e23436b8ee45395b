"""What tollgate must send each provider family, request by request: the translated
body of a chat with a system prompt, of `tools`, and of a tool-result turn, per
family (used by test_provider_families.py)."""

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


def check_text_body(family: str, rec: dict[str, Any], messages: list[dict], stream: bool) -> None:
    """The request of a system + user chat with max_tokens=77, temperature=0.5, seed=7."""
    body = rec["body"]
    user_text = messages[-1]["content"]
    if family == "anthropic":
        assert body["model"] == "claude-x"
        assert body["max_tokens"] == 77
        assert body["temperature"] == 0.5
        assert text_of_anthropic(body.get("system")) == SYSTEM, "system prompt not hoisted to `system`"
        assert len(body["messages"]) == 1 and body["messages"][0]["role"] == "user", body["messages"]
        assert text_of_anthropic(body["messages"][0]["content"]) == user_text
        assert bool(body.get("stream")) is stream
        assert "seed" not in body, "Anthropic has no seed; it must not be sent"
    elif family == "gemini":
        assert body["systemInstruction"] == {"parts": [{"text": SYSTEM}]}
        assert body["contents"] == [{"role": "user", "parts": [{"text": user_text}]}]
        config = body["generationConfig"]
        assert config["maxOutputTokens"] == 77
        assert config["temperature"] == 0.5
        assert config.get("seed") == 7
        assert "messages" not in body and "model" not in body
    elif family == "bedrock":
        assert body["system"] == [{"text": SYSTEM}]
        assert body["messages"] == [{"role": "user", "content": [{"text": user_text}]}]
        assert body["inferenceConfig"] == {"maxTokens": 77, "temperature": 0.5}
        assert "seed" not in rec["raw"] and "model" not in body and "stream" not in body
    elif family == "responses":
        assert body["model"] == "gpt-r"
        assert body["input"] == [
            {"type": "message", "role": "system", "content": SYSTEM},
            {"type": "message", "role": "user", "content": user_text},
        ]
        assert body["max_output_tokens"] == 77
        assert body["temperature"] == 0.5
        assert body["store"] is False
        assert bool(body.get("stream")) is stream
        assert "seed" not in body and "messages" not in body
    elif family == "azure":
        assert body["messages"] == messages
        assert body["max_tokens"] == 77
        assert body["temperature"] == 0.5
        assert body["seed"] == 7
        assert bool(body.get("stream")) is stream
        if stream:
            # tollgate always asks for usage (for its ledger), whatever the client asked.
            assert body.get("stream_options", {}).get("include_usage") is True, body


def check_tools_body(family: str, body: dict[str, Any]) -> None:
    """The translated `tools` and `tool_choice: auto`."""
    if family == "anthropic":
        assert body["tools"] == [{"name": fu.TOOL_NAME, "description": WEATHER_DESCRIPTION,
                                  "input_schema": WEATHER_PARAMETERS}]
        assert body["tool_choice"] == {"type": "auto"}
    elif family == "gemini":
        assert body["tools"] == [{"functionDeclarations": [
            {"name": fu.TOOL_NAME, "description": WEATHER_DESCRIPTION, "parametersJsonSchema": WEATHER_PARAMETERS}]}]
        assert body["toolConfig"] == {"functionCallingConfig": {"mode": "AUTO"}}
    elif family == "bedrock":
        assert body["toolConfig"] == {
            "tools": [{"toolSpec": {"name": fu.TOOL_NAME, "description": WEATHER_DESCRIPTION,
                                    "inputSchema": {"json": WEATHER_PARAMETERS}}}],
            "toolChoice": {"auto": {}},
        }
    elif family == "responses":
        assert body["tools"] == [{"type": "function", "name": fu.TOOL_NAME, "description": WEATHER_DESCRIPTION,
                                  "parameters": WEATHER_PARAMETERS, "strict": False}]
        assert body["tool_choice"] == "auto"
    elif family == "azure":
        assert body["tools"] == [WEATHER_TOOL]
        assert body["tool_choice"] == "auto"


def check_tool_result_body(family: str, body: dict[str, Any], question: str, calls: list[dict[str, Any]],
                           args: list[dict], results: list[str], messages: list[dict]) -> None:
    """The second request of a round trip: the assistant's tool calls and the `tool` results,
    in the family's own shapes (several results of one turn go together in one turn)."""
    preamble = fu.TOOL_PREAMBLE.get(family)
    if family == "anthropic":
        turns = body["messages"]
        assert [t["role"] for t in turns] == ["user", "assistant", "user"], turns
        assert text_of_anthropic(turns[0]["content"]) == question
        assert turns[1]["content"] == [{"type": "text", "text": preamble}] + [
            {"type": "tool_use", "id": c["id"], "name": fu.TOOL_NAME, "input": a} for c, a in zip(calls, args)]
        assert turns[2]["content"] == [{"type": "tool_result", "tool_use_id": c["id"], "content": r}
                                       for c, r in zip(calls, results)]
    elif family == "gemini":
        call_parts = [{"functionCall": {"name": fu.TOOL_NAME, "args": a}} for a in args]
        call_parts[0]["thoughtSignature"] = fu.GEMINI_THOUGHT_SIGNATURE  # sent back as it came
        assert body["contents"] == [
            {"role": "user", "parts": [{"text": question}]},
            {"role": "model", "parts": call_parts},
            {"role": "user", "parts": [{"functionResponse": {"name": fu.TOOL_NAME, "response": {"output": r}}}
                                       for r in results]},
        ]
    elif family == "bedrock":
        assert body["messages"] == [
            {"role": "user", "content": [{"text": question}]},
            {"role": "assistant", "content": [{"text": preamble}] + [
                {"toolUse": {"toolUseId": c["id"], "name": fu.TOOL_NAME, "input": a}} for c, a in zip(calls, args)]},
            {"role": "user", "content": [{"toolResult": {"toolUseId": c["id"], "content": [{"text": r}]}}
                                         for c, r in zip(calls, results)]},
        ]
        assert body["toolConfig"]["tools"][0]["toolSpec"]["name"] == fu.TOOL_NAME
    elif family == "responses":
        assert body["input"] == [{"type": "message", "role": "user", "content": question}] + [
            {"type": "function_call", "call_id": c["id"], "name": fu.TOOL_NAME, "arguments": c["arguments"]}
            for c in calls] + [
            {"type": "function_call_output", "call_id": c["id"], "output": r} for c, r in zip(calls, results)]
    elif family == "azure":
        assert body["messages"] == messages
