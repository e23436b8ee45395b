import TollgateCore

/// What Bedrock Runtime's chat and embedding protocols share: model-id paths, stop reasons and
/// token usage (errors are in `Bedrock+Errors.swift`). Reference: botocore `data/bedrock-runtime/2023-09-30/service-2.json`
/// (wire-formats.md §5).
public enum Bedrock {
    // MARK: paths

    /// `/model/{modelId}/{operation}` with the model id percent-encoded as one path segment, as
    /// the AWS SDKs do (`PathSegment`): `:` becomes `%3A` and the `/` of an ARN `%2F`. An id
    /// that cannot be one segment (empty, `..`, control characters) is refused with a 400.
    public static func modelPath(_ modelID: String, _ operation: String) throws(GatewayError) -> String {
        "/model/" + (try PathSegment.encode(modelID)) + "/" + operation
    }

    // MARK: answers

    /// Converse `stopReason` → OpenAI `finish_reason` (wire-formats.md §0.2).
    public static func finishReason(_ stopReason: String?, sawToolUse: Bool) -> String {
        switch stopReason {
        case "end_turn", "stop_sequence": "stop"
        case "tool_use": "tool_calls"
        case "max_tokens", "model_context_window_exceeded": "length"
        case "guardrail_intervened", "content_filtered": "content_filter"
        // malformed_model_output, malformed_tool_use and values newer than this file.
        default: sawToolUse ? "tool_calls" : "stop"
        }
    }

    /// Converse `TokenUsage` → OpenAI usage (wire-formats.md §0.3): cache reads and writes are
    /// counted outside `inputTokens`, so the prompt is their sum.
    public static func usage(_ json: JSONValue?) -> Usage? {
        guard let json, case .object = json else { return nil }
        let input = json["inputTokens"]?.intValue ?? 0
        let cacheRead = json["cacheReadInputTokens"]?.intValue ?? 0
        let cacheWrite = json["cacheWriteInputTokens"]?.intValue ?? 0
        return Usage(promptTokens: input + cacheRead + cacheWrite, completionTokens: json["outputTokens"]?.intValue ?? 0,
                     cachedTokens: cacheRead)
    }
}
