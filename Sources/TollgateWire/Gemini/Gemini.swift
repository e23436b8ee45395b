import TollgateCore

/// Facts shared by the Gemini API (AI Studio) protocols `google_gemini` and `gemini_embed`:
/// model paths, finish reasons and usage (the error body is read in `Gemini+Errors.swift`).
/// Reference: https://ai.google.dev/api (wire-formats.md §4).
public enum Gemini {
    // MARK: constants

    /// The API version every path starts with.
    public static let apiVersion = "/v1beta"

    /// The sentinel Google documents for a `functionCall` part whose thought signature is unknown
    /// (history written by another model or by hand); Gemini 3 refuses such a part without one.
    static let skipSignatureValidation = "skip_thought_signature_validator"

    /// `/v1beta/models/{model}:{method}`. A model id that names its collection (`models/x`,
    /// `tunedModels/x`) keeps it; the rest of the id is percent-encoded as one path segment
    /// (`PathSegment`), so `/`, `..`, `?`, `#` or `:` in it cannot reach another path, query or method.
    static func path(model: String, method: String, apiVersion: String = apiVersion) throws(GatewayError) -> String {
        let (collection, name) = split(model)
        return apiVersion + "/" + collection + "/" + (try PathSegment.encode(name)) + ":" + method
    }

    /// `models/{model}`, the form request bodies name a model in.
    static func resourceName(model: String) -> String {
        let (collection, name) = split(model)
        return collection + "/" + name
    }

    /// The collection a model id names (`models` unless it starts with `models/` or `tunedModels/`) and the rest.
    static func split(_ model: String) -> (collection: String, name: String) {
        for collection in ["models", "tunedModels"] where model.hasPrefix(collection + "/") {
            return (collection, String(model.dropFirst(collection.count + 1)))
        }
        return ("models", model)
    }

    /// True for models that reject a replayed `functionCall` without a thought signature:
    /// Gemini 3 and later, and the `gemini-*-latest` style aliases that point at them.
    static func requiresThoughtSignatures(model: String) -> Bool {
        var name = Substring(model)
        if let slash = name.lastIndex(of: "/") { name = name[name.index(after: slash)...] }
        guard name.hasPrefix("gemini-") else { return false }
        let version = name.dropFirst("gemini-".count).prefix { $0.isNumber }
        guard let major = Int(version) else { return true }
        return major >= 3
    }

    /// The OpenAI id of the `n`th tool call of an answer: made from the request id and the call's
    /// position, the same way streamed or not. Gemini's own optional `functionCall.id` is not used,
    /// and no id is sent back: Gemini pairs calls and responses by name and order.
    static func toolCallID(requestID: String, index: Int) -> String {
        "call_\(requestID)_\(index)"
    }

    // MARK: response facts

    /// `finishReason` → OpenAI `finish_reason` (wire-formats.md §0.2). A candidate that ends
    /// normally with `functionCall` parts reports `STOP`; OpenAI says `tool_calls`.
    static func finishReason(_ reason: String, hasToolCalls: Bool) -> String {
        let mapped: String
        switch reason {
        case "MAX_TOKENS":
            mapped = "length"
        case "SAFETY", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "LANGUAGE", "IMAGE_SAFETY",
             "IMAGE_PROHIBITED_CONTENT", "RECITATION", "IMAGE_RECITATION":
            // Output withheld by a filter (recitation included: the text is cut off for copyright).
            mapped = "content_filter"
        default:
            // STOP, OTHER, MALFORMED_FUNCTION_CALL, UNEXPECTED_TOOL_CALL, TOO_MANY_TOOL_CALLS,
            // NO_IMAGE, IMAGE_OTHER, FINISH_REASON_UNSPECIFIED and values newer than this file.
            mapped = "stop"
        }
        return mapped == "stop" && hasToolCalls ? "tool_calls" : mapped
    }

    /// `usageMetadata` in OpenAI's terms (wire-formats.md §0.3): `promptTokenCount` already
    /// includes cached content; output is candidates plus thinking.
    static func usage(_ metadata: JSONValue?) -> Usage? {
        guard let metadata, case .object = metadata else { return nil }
        let thoughts = metadata["thoughtsTokenCount"]?.intValue ?? 0
        return Usage(promptTokens: metadata["promptTokenCount"]?.intValue ?? 0,
                     completionTokens: (metadata["candidatesTokenCount"]?.intValue ?? 0) + thoughts,
                     cachedTokens: metadata["cachedContentTokenCount"]?.intValue ?? 0,
                     reasoningTokens: thoughts)
    }
}
