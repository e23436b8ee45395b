import TollgateCore

/// Builds `chat.completion.chunk` objects from a whole `chat.completion`, for an upstream
/// that answered a streamed request with one JSON body.
public enum ChunkSynthesis {
    public static func chunks(fromCompletion completion: JSONValue, includeUsage: Bool) -> [JSONValue] {
        let id = completion["id"] ?? "chatcmpl-tollgate"
        let created = completion["created"] ?? 0
        let model = completion["model"] ?? ""
        func chunk(_ choices: [JSONValue], usage: JSONValue? = nil) -> JSONValue {
            var o = JSONObject([("id", id), ("object", "chat.completion.chunk"), ("created", created), ("model", model),
                                ("choices", .array(choices))])
            if let usage { o["usage"] = usage }
            return .object(o)
        }
        var out: [JSONValue] = []
        for choice in completion["choices"]?.arrayValue ?? [] {
            let index = choice["index"] ?? 0
            let message = choice["message"] ?? [:]
            var delta = JSONObject([("role", message["role"] ?? "assistant")])
            if let content = message["content"], !content.isNull { delta["content"] = content }
            if let refusal = message["refusal"], !refusal.isNull { delta["refusal"] = refusal }
            if let calls = message["tool_calls"]?.arrayValue {
                delta["tool_calls"] = .array(calls.enumerated().map { i, call in
                    var c = call.objectValue ?? JSONObject()
                    c["index"] = .int(i)
                    return .object(c)
                })
            }
            out.append(chunk([.object(JSONObject([("index", index), ("delta", .object(delta)), ("finish_reason", .null)]))]))
            out.append(chunk([.object(JSONObject([("index", index), ("delta", [:]),
                                                  ("finish_reason", choice["finish_reason"] ?? "stop")]))]))
        }
        if includeUsage, let usage = completion["usage"], !usage.isNull { out.append(chunk([], usage: usage)) }
        return out
    }
}
