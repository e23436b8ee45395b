import TollgateCore

/// `google_gemini`: the Gemini API (AI Studio) `generateContent` and `streamGenerateContent`.
/// Requests are translated in `GeminiChat+Request.swift`, answers in `+Response`, streams in
/// `+Stream`, errors in `+Errors` (on the shared `Gemini+Errors.swift`).
/// Reference: https://ai.google.dev/api/generate-content (wire-formats.md §4).
///
/// Choices worth knowing:
/// - Tool-call ids are `call_{requestID}_{n}` (Gemini gives none); a tool result finds its
///   function name through the assistant message that made the call, in the same request.
/// - A call's thought signature travels as `tool_calls[].extra_content.google.thought_signature`,
///   the field Google's own OpenAI-compatible endpoint uses; a replayed call without one is sent
///   with Google's documented skip sentinel on Gemini 3 and later.
/// - No `max_tokens` from the client means no `maxOutputTokens`: Gemini then allows the model's maximum.
public struct GeminiChat: ChatProtocol {
    public let name: String
    /// What every path starts with: `/v1beta` on the Gemini API; nothing on Vertex AI, whose
    /// base URL already names the version, project, location and publisher.
    let apiVersion: String

    public init(name: String = "google_gemini", apiVersion: String = Gemini.apiVersion) {
        self.name = name
        self.apiVersion = apiVersion
    }

    /// What this protocol translates; `user`, `parallel_tool_calls`, `logprobs`, `logit_bias`,
    /// `reasoning_effort` and the rest have no Gemini equivalent here and are dropped by `accepting(_:)`.
    public let acceptedParameters: Set<String>? = [
        "model", "messages", "stream", "stream_options", "temperature", "top_p", "n", "stop", "max_tokens",
        "max_completion_tokens", "presence_penalty", "frequency_penalty", "seed", "tools", "tool_choice",
        "response_format",
    ]
}
