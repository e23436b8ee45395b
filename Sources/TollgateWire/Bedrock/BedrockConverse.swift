import TollgateCore

/// `bedrock_converse`: AWS Bedrock Runtime's Converse and ConverseStream operations.
/// Reference: https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_Converse.html
/// and botocore's bedrock-runtime `service-2.json` (wire-formats.md §5). Request encoding is in
/// `BedrockConverse+Request.swift`, answers in `+Response`, streams in `+Stream`, errors in `+Errors`.
///
/// Choices where OpenAI and Converse differ:
/// - Images must be bytes: `data:` URLs are inlined, `https:` URLs are refused (tollgate does not
///   download on a client's behalf).
/// - `tool_choice: "none"` has no Converse value: the tools are left out, unless the history holds
///   tool calls (Converse then requires `toolConfig`), in which case the tools stay without a choice.
///   A history with tool calls but no `tools` gets stub tools named after the calls.
/// - `temperature` above 1 (OpenAI allows 2) is clamped to Converse's maximum of 1.
/// - No `max_tokens`: `maxTokens` is left out, and Converse uses the model's maximum.
/// - `response_format: json_object` has no Converse form: it becomes a system instruction.
/// - `user` goes to `requestMetadata.user` when it fits AWS's character set, else it is dropped.
/// - `seed`, `n`, `parallel_tool_calls`, penalties and logprobs have no Converse field and are
///   not accepted (`accepting(_:)` drops them).
/// - `reasoning_effort` becomes `outputConfig.effort` (`minimal` → `low`); models without effort
///   support answer with a ValidationException.
/// - Reasoning text in answers is not forwarded.
public struct BedrockConverse: ChatProtocol {
    public let name = "bedrock_converse"
    public init() {}

    public let acceptedParameters: Set<String>? = [
        "model", "messages", "stream", "stream_options", "temperature", "top_p", "stop", "max_tokens",
        "max_completion_tokens", "tools", "tool_choice", "response_format", "user", "reasoning_effort",
    ]

    /// The system instruction standing in for OpenAI's JSON mode.
    static let jsonObjectInstruction = "Respond with a single valid JSON object and nothing else."
}
