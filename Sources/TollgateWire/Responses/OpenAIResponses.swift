import TollgateCore

/// `openai_responses`: OpenAI's Responses API (`POST {base}/responses`), translated from and back to
/// OpenAI Chat Completions. Select it on an `openai` provider with `"protocol": "openai_responses"`.
/// Request encoding is in `OpenAIResponses+Request.swift`, answers in `+Response`, streams in `+Stream`,
/// errors in `+Errors`.
/// Reference: https://platform.openai.com/docs/api-reference/responses (wire-formats.md §2, cheat sheet §0).
public struct OpenAIResponses: ChatProtocol {
    public let name = "openai_responses"
    public let path = "/responses"
    public init() {}

    /// The OpenAI parameters this protocol translates. The Responses API has no `stop`, `seed`, `n`,
    /// penalties, `logit_bias` or chat-style `logprobs`; `accepting(_:)` drops those.
    public let acceptedParameters: Set<String>? = [
        "model", "messages", "stream", "stream_options", "max_tokens", "max_completion_tokens", "temperature",
        "top_p", "user", "safety_identifier", "prompt_cache_key", "prompt_cache_retention", "service_tier", "tools",
        "tool_choice", "parallel_tool_calls", "response_format", "verbosity", "reasoning_effort", "metadata", "store",
    ]
}
