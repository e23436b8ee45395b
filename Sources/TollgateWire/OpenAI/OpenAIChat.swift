import TollgateCore

/// `openai_chat`: OpenAI Chat Completions, spoken by OpenAI and every OpenAI-compatible server.
/// The client's request passes through unchanged except for the model id. Request encoding is in
/// `OpenAIChat+Request.swift`, answers in `+Response`, streams in `+Stream`, errors in `+Errors`.
/// Reference: https://platform.openai.com/docs/api-reference/chat (wire-formats.md §1).
public struct OpenAIChat: ChatProtocol {
    public let name = "openai_chat"
    public let path = "/chat/completions"
    public init() {}

    /// Everything passes through: the upstream speaks this dialect natively, and vendor
    /// extensions (vLLM's `top_k`, OpenRouter's `provider`) are the client's to send.
    public let acceptedParameters: Set<String>? = nil

    /// OpenAI's documented request parameters, for protocols that translate from them.
    public static let standardParameters: Set<String> = [
        "model", "messages", "stream", "stream_options", "temperature", "top_p", "n", "stop", "max_tokens",
        "max_completion_tokens", "presence_penalty", "frequency_penalty", "logit_bias", "logprobs", "top_logprobs",
        "user", "seed", "tools", "tool_choice", "parallel_tool_calls", "response_format", "reasoning_effort",
        "modalities", "audio", "prediction", "store", "metadata", "service_tier", "web_search_options",
        "verbosity", "prompt_cache_key", "safety_identifier", "functions", "function_call",
    ]
}
