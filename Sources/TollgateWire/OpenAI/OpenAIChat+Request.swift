import TollgateCore

/// The client's request as it is: its bytes pass through, with the upstream model id written
/// in place and (in streams) a usage request added. Only a stream whose client set its own
/// `stream_options` without usage is re-encoded.
extension OpenAIChat {
    public func encode(_ request: ChatRequestInput, context: ChatContext) throws(GatewayError) -> UpstreamRequest {
        // Streams always ask for usage so the ledger records real tokens; the usage chunk is
        // forwarded only to clients that asked for it themselves.
        let addUsage = context.stream && context.streamUsage && !context.clientWantsUsage
        let body: [UInt8]
        if request.model == context.upstreamModel, !addUsage, request.scan != nil || request.json["model"]?.stringValue == request.model {
            body = request.rawBody
        } else if let modelRange = request.memberRange("model"), !(addUsage && request.hasMember("stream_options")) {
            body = Self.passThrough(request.rawBody, modelRange: modelRange, model: context.upstreamModel, addUsage: addUsage)
        } else {
            var json = request.json
            json["model"] = .string(context.upstreamModel)
            if addUsage {
                var options = json["stream_options"]?.objectValue ?? JSONObject()
                options["include_usage"] = true
                json["stream_options"] = .object(options)
            }
            body = json.serialized()
        }
        var headers = HTTPHeaders()
        headers.add("Content-Type", "application/json")
        headers.add("Accept", context.stream ? "text/event-stream" : "application/json")
        return UpstreamRequest(url: context.endpoint.url(path: path), headers: headers, body: body)
    }

    /// The client's bytes with the model value replaced and, when asked, `stream_options`
    /// inserted as the first member.
    public static func passThrough(_ raw: [UInt8], modelRange: Range<Int>, model: String, addUsage: Bool) -> [UInt8] {
        let modelJSON = JSONValue.string(model).serialized()
        var out: [UInt8] = []
        out.reserveCapacity(raw.count + modelJSON.count + 40)
        var from = 0
        if addUsage, let brace = raw.firstIndex(of: UInt8(ascii: "{")), brace < modelRange.lowerBound {
            out.append(contentsOf: raw[...brace])
            out.append(contentsOf: #""stream_options":{"include_usage":true},"#.utf8)
            from = brace + 1
        }
        out.append(contentsOf: raw[from..<modelRange.lowerBound])
        out.append(contentsOf: modelJSON)
        out.append(contentsOf: raw[modelRange.upperBound...])
        return out
    }
}
