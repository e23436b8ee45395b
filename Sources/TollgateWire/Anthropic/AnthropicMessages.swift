import TollgateCore

/// `anthropic_messages`: Anthropic's Messages API (`POST {base}/v1/messages`), translated from and
/// back to OpenAI Chat Completions. Request encoding is in `AnthropicMessages+Request.swift`, answers
/// in `+Response`, streams in `+Stream`, errors in `+Errors`.
/// Reference: https://docs.anthropic.com/en/api/messages (wire-formats.md §3, cheat sheet §0).
public struct AnthropicMessages: ChatProtocol {
    public let name = "anthropic_messages"
    public let path = "/v1/messages"
    /// The API version every request names. The `anthropic` auth strategy sets it too; sending it
    /// here keeps the protocol usable behind other auth (a bearer-token proxy).
    public static let apiVersion = "2023-06-01"
    public init() {}

    /// The OpenAI parameters this protocol translates. `seed`, `n`, penalties, `logprobs` and the
    /// rest have no Anthropic equivalent; `accepting(_:)` drops them.
    public let acceptedParameters: Set<String>? = [
        "model", "messages", "stream", "stream_options", "max_tokens", "max_completion_tokens", "temperature",
        "top_p", "stop", "user", "safety_identifier", "tools", "tool_choice", "parallel_tool_calls",
        "response_format",
    ]

    /// Anthropic's token counters as reported so far; stream events update them field by field.
    struct UsageCounts: Equatable {
        var input = 0
        var cacheRead = 0
        var cacheCreation = 0
        var output = 0
        var thinking = 0

        init() {}
        init(_ json: JSONValue) { merge(json) }

        /// Takes every counter `json` carries; absent ones keep their value (`message_delta` usage is
        /// cumulative, and may or may not repeat the input counts).
        mutating func merge(_ json: JSONValue) {
            if let n = json["input_tokens"]?.intValue { input = n }
            if let n = json["cache_read_input_tokens"]?.intValue { cacheRead = n }
            if let n = json["cache_creation_input_tokens"]?.intValue { cacheCreation = n }
            if let n = json["output_tokens"]?.intValue { output = n }
            if let n = json["output_tokens_details"]?["thinking_tokens"]?.intValue { thinking = n }
        }

        var usage: Usage {
            Usage(promptTokens: input + cacheRead + cacheCreation, completionTokens: output, cachedTokens: cacheRead,
                  reasoningTokens: thinking)
        }
    }
}
