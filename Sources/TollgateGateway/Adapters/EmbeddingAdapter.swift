import TollgateCore
import TollgateHTTP
import TollgateLedger
import TollgateWire

/// POST /v1/embeddings over the exchange: each attempt encoded by the candidate's embeddings
/// protocol, the vectors re-encoded as the client asked (`float` or `base64`). Lives on the loop queue.
final class EmbeddingAdapter: ExchangeAdapter {
    let input: EmbeddingRequestInput

    init(input: EmbeddingRequestInput) { self.input = input }

    var api: InboundAPI { .embeddings }
    var route: String { input.model }
    var streamed: Bool { false }

    private var inputTokens: Int {
        if let counts = input.tokenCounts { return counts.reduce(0, +) }
        return input.inputs.reduce(0) { $0 + TokenEstimator.tokens(forTextBytes: $1.utf8.count) }
    }

    var estimatedInputTokens: Int { inputTokens }

    func worstCaseCost(_ c: Candidate) -> Double {
        c.info.priced ? c.info.cost(Usage(promptTokens: inputTokens)) : 0
    }

    func request(for c: Candidate, requestID: String) throws(GatewayError) -> UpstreamRequest {
        guard let request = try c.provider.embeddingRequest(for: input, upstreamModel: c.model) else {
            throw .invalidRequest("Provider \"\(c.provider.name)\" does not serve embeddings.", param: "model",
                                  code: "embeddings_not_supported")
        }
        return request
    }

    func failure(for c: Candidate, status: Int, headers: HTTPHeaders, body: [UInt8]) -> UpstreamFailure {
        c.provider.embeddingFailure(status: status, headers: headers, body: body)
    }

    func answer(for c: Candidate, status: Int, headers: HTTPHeaders, body: [UInt8]) throws(UpstreamFailure) -> ExchangeAnswer {
        guard let embed = c.provider.embed else { throw .badResponse("The provider has no embeddings protocol.") }
        var result: EmbeddingResult
        do {
            result = try embed.decodeResponse(status: status, headers: headers, body: body)
        } catch {
            throw UpstreamFailure(kind: error.status >= 500 ? .badResponse : .badRequest, status: status, error: error)
        }
        guard result.vectors.count == input.count else {
            throw .badResponse("The upstream returned \(result.vectors.count) embeddings for \(input.count) inputs.")
        }
        // Some providers (Gemini) report no tokens: the row is estimated, never $0.
        let estimated = result.promptTokens == 0
        if estimated { result.promptTokens = inputTokens }
        let json = EmbeddingEncoding.responseJSON(result, model: c.model, format: input.encodingFormat)
        return ExchangeAnswer(body: json.serialized(), usage: Usage(promptTokens: result.promptTokens), estimated: estimated)
    }

    func estimatedUsage(streamedTextBytes: Int, answer: ExchangeAnswer?) -> Usage {
        Usage(promptTokens: inputTokens)
    }
}
