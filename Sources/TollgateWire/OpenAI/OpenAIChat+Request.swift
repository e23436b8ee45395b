import TollgateCore

/// The client's request as it is, with the upstream model id and (in streams) a usage request.
extension OpenAIChat {
    public func encode(_ request: ChatRequestInput, context: ChatContext) throws(GatewayError) -> UpstreamRequest {
        // Streams always ask for usage so the ledger records real tokens; the usage chunk is
        // forwarded only to clients that asked for it themselves.
        let addUsage = context.stream && context.streamUsage && !context.clientWantsUsage
        let body: [UInt8]
        if request.json["model"]?.stringValue == context.upstreamModel, !addUsage {
            body = request.rawBody
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
}
