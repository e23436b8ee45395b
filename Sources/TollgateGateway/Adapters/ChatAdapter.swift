import TollgateCore
import TollgateHTTP
import TollgateLedger
import TollgateWire

/// POST /v1/chat/completions over the exchange: each attempt encoded by the candidate's chat
/// protocol, its answer decoded back to OpenAI's completion or chunks. Lives on the loop queue.
final class ChatAdapter: ExchangeAdapter {
    let input: ChatRequestInput
    let gateway: Gateway
    private var context: ChatContext?

    /// The client speaks Chat Completions itself, so an `openai_chat` stream is relayed as the
    /// upstream's bytes; false when another API's adapter renders the chunks (`InboundAdapter`).
    let relaysBytes: Bool

    init(input: ChatRequestInput, gateway: Gateway, relaysBytes: Bool = false) {
        self.input = input
        self.gateway = gateway
        self.relaysBytes = relaysBytes
    }

    var api: InboundAPI { .chat }
    var route: String { input.model }
    var streamed: Bool { input.stream }
    private lazy var clientWantsUsage: Bool = input.member("stream_options")?["include_usage"]?.boolValue ?? false
    private lazy var inputTokens: Int = input.estimatedInputTokens
    var estimatedInputTokens: Int { inputTokens }

    /// Estimated input plus the output cap at the model's prices.
    func worstCaseCost(_ c: Candidate) -> Double {
        guard c.info.priced, !c.info.isFree else { return 0 }
        let output = input.maxOutputTokens ?? c.info.maxOutputTokens ?? 4096
        return c.info.cost(Usage(promptTokens: inputTokens, completionTokens: output))
    }

    func request(for c: Candidate, requestID: String) throws(GatewayError) -> UpstreamRequest {
        let context = c.provider.chatContext(upstreamModel: c.model, stream: input.stream, clientWantsUsage: clientWantsUsage,
                                             maxOutputTokens: c.info.maxOutputTokens, requestID: requestID,
                                             created: Int(wallClockSeconds()))
        self.context = context
        let (accepted, dropped) = c.provider.acceptedChatInput(input)
        if !dropped.isEmpty {
            gateway.logger.warning("dropped parameters \(dropped.joined(separator: ", ")) not supported by \(c.provider.chat.name) (provider \(c.provider.name))",
                                   metadata: ["request_id": "\(requestID)"])
        }
        return try c.provider.upstreamRequest(for: accepted, context: context)
    }

    func failure(for c: Candidate, status: Int, headers: HTTPHeaders, body: [UInt8]) -> UpstreamFailure {
        c.provider.chatFailure(status: status, headers: headers, body: body)
    }

    func streamDecoder(for c: Candidate, headers: HTTPHeaders) -> (any ChatStreamDecoder)? {
        guard let context else { return nil }
        if let type = headers["Content-Type"], type.containsIgnoringASCIICase("json"), !type.containsIgnoringASCIICase("stream") {
            return nil  // Not a stream after all: taken whole and replayed as one.
        }
        if relaysBytes, c.provider.chat.name == "openai_chat" {
            return OpenAIChat.makeRelay(forwardUsageChunk: context.clientWantsUsage)
        }
        return c.provider.chat.makeStreamDecoder(context: context)
    }

    func answer(for c: Candidate, status: Int, headers: HTTPHeaders, body: [UInt8]) throws(UpstreamFailure) -> ExchangeAnswer {
        guard let context else { throw .badResponse("No attempt context.") }
        do {
            let result = try c.provider.chat.decodeResponse(status: status, headers: headers, body: body, context: context)
            return ExchangeAnswer(body: result.body, usage: result.usage)
        } catch {
            throw UpstreamFailure(kind: error.status >= 500 ? .badResponse : .badRequest, status: status, error: error)
        }
    }

    func replay(_ answer: ExchangeAnswer) throws(UpstreamFailure) -> [StreamOutput] {
        guard let json = try? JSONValue.parse(answer.body) else { throw .badResponse("The upstream answer is not JSON.") }
        return ChunkSynthesis.chunks(fromCompletion: json, includeUsage: clientWantsUsage).map { .chunk($0.serializedString()) }
    }

    func estimatedUsage(streamedTextBytes: Int, answer: ExchangeAnswer?) -> Usage {
        var estimated = Usage(promptTokens: inputTokens)
        if let answer, let json = try? JSONValue.parse(answer.body) {
            estimated.completionTokens = TokenEstimator.outputTokens(completion: json)
        } else {
            estimated.completionTokens = TokenEstimator.tokens(forTextBytes: streamedTextBytes)
        }
        return estimated
    }

    func textBytes(ofChunk chunk: String) -> Int {
        var chunk = chunk
        return chunk.withUTF8 { TokenEstimator.outputBytes(rawChunk: UnsafeRawBufferPointer($0)) }
    }
}
