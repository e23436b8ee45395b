import TollgateCore
import TollgateWire

/// How a protocol's stream arrives: SSE text, or AWS event-stream frames (Bedrock).
enum StreamFraming { case sse, eventStream }

/// Fuzzes one chat protocol's decoders. Mode byte (low two bits): 0 the stream decoder, 1 the
/// response decoder, 2 the failure decoder, 3 both response and failure on the same body.
/// Checks: answers are JSON objects; stream output is the same fed whole or in pieces, its
/// chunks are JSON objects and nothing follows `.done` or `.error`; failures carry an HTTP
/// error status and a sane retry-after.
func fuzzChat(_ chat: any ChatProtocol, framing: StreamFraming, _ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    var input = FuzzInput(data, size)
    let mode = input.byte()
    let seed = input.byte()
    let context = ChatContext(endpoint: UpstreamEndpoint(baseURL: "https://upstream.test"), upstreamModel: "model-x",
                              stream: mode & 3 == 0, clientWantsUsage: mode & 4 != 0, streamUsage: mode & 8 != 0,
                              maxOutputTokens: 4096, requestID: "fuzz", created: 1_700_000_000)
    switch mode & 3 {
    case 0:
        let bytes = framing == .sse ? Array(input.rest) : EventStreamFraming.frames(from: &input)
        let whole = decodeStream(chat, context, [bytes[...]])
        let split = decodeStream(chat, context, pieces(bytes[...], seed: seed))
        require(whole == split, "whole \(whole) != split \(split)")
        checkStream(whole)
    case 1:
        decodeResponse(chat, context, status: 200, body: Array(input.rest))
    case 2:
        decodeFailure(chat, status: 400 + Int(seed) % 200, retryAfter: nil, body: Array(input.rest))
    default:
        let retryLength = Int(input.byte() % 24)
        let retryAfter = String(decoding: input.rest.prefix(retryLength), as: UTF8.self)
        for _ in 0..<retryLength { _ = input.byte() }
        let body = Array(input.rest)
        decodeResponse(chat, context, status: 200 + Int(seed) % 100, body: body)
        decodeFailure(chat, status: 400 + Int(seed) % 200, retryAfter: retryAfter, body: body)
    }
    return 0
}

private func decodeStream(_ chat: any ChatProtocol, _ context: ChatContext, _ chunks: [ArraySlice<UInt8>])
    -> [StreamOutput]
{
    var decoder = chat.makeStreamDecoder(context: context)
    var outputs: [StreamOutput] = []
    for chunk in chunks {
        outputs += chunk.withUnsafeBytes { decoder.feed($0) }
    }
    return outputs + decoder.finish()
}

private func checkStream(_ outputs: [StreamOutput]) {
    for (i, output) in outputs.enumerated() {
        switch output {
        case .chunk(let text):
            let json = try? JSONValue.parse(text)
            require(json?.objectValue != nil, "chunk is not a JSON object: \(text)")
        case .done, .error:
            require(i == outputs.count - 1, "\(output) is followed by \(outputs[(i + 1)...])")
        case .usage(let usage):
            checkUsage(usage)
        case .raw:
            require(false, "a translating decoder relayed raw bytes (only same-family relays do)")
        }
        if case .error(let error) = output { checkError(error) }
    }
}

private func decodeResponse(_ chat: any ChatProtocol, _ context: ChatContext, status: Int, body: [UInt8]) {
    do {
        let result = try chat.decodeResponse(status: status, headers: HTTPHeaders([("content-type", "application/json")]),
                                             body: body, context: context)
        let json = try? JSONValue.parse(result.body)
        require(json?.objectValue != nil, "answer is not a JSON object: \(String(decoding: result.body, as: UTF8.self))")
        if let usage = result.usage { checkUsage(usage) }
    } catch {
        checkError(error)
    }
}

private func decodeFailure(_ chat: any ChatProtocol, status: Int, retryAfter: String?, body: [UInt8]) {
    var headers = HTTPHeaders()
    if let retryAfter { headers.add("retry-after", retryAfter) }
    let failure = chat.decodeFailure(status: status, headers: headers, body: body)
    if let seconds = failure.retryAfter { require(seconds.isFinite && seconds >= 0, "retry-after \(seconds)") }
    checkError(failure.error)
}

func checkError(_ error: GatewayError) {
    require((400...599).contains(error.status), "error status \(error.status)")
    let body = try? JSONValue.parse(error.body)
    require(body?["error"]?["message"]?.stringValue != nil, "error body \(String(decoding: error.body, as: UTF8.self))")
    if let seconds = error.retryAfter { require(seconds.isFinite && seconds >= 0, "retry-after \(seconds)") }
    // What the client is sent: the headers convert retry-after to whole seconds.
    _ = error.responseHeaders
}

/// Negative token counts would lower a provider's recorded spend.
func checkUsage(_ usage: Usage) {
    require(usage.promptTokens >= 0 && usage.completionTokens >= 0 && usage.cachedTokens >= 0
            && usage.reasoningTokens >= 0, "negative usage \(usage)")
}
