import TollgateCore
import TollgateHTTP
import TollgateLedger
import TollgateWire

/// POST /v1/messages/count_tokens to an Anthropic upstream: the client's request as it is (model
/// id rewritten), the count answered as the upstream gave it. Counting is free: rows cost $0.
final class CountTokensAdapter: ExchangeAdapter {
    let rawBody: [UInt8]
    let modelRange: Range<Int>
    let route: String
    let clientHeaders: HTTPHeaders

    init(rawBody: [UInt8], modelRange: Range<Int>, route: String, clientHeaders: HTTPHeaders) {
        self.rawBody = rawBody
        self.modelRange = modelRange
        self.route = route
        self.clientHeaders = clientHeaders
    }

    var api: InboundAPI { .countTokens }
    var streamed: Bool { false }
    var clientBearer: String? { bearerToken(clientHeaders) }

    func worstCaseCost(_ c: Candidate) -> Double { 0 }

    func request(for c: Candidate, requestID: String) throws(GatewayError) -> UpstreamRequest {
        InboundAdapter.passThroughRequest(rawBody, modelRange: modelRange, route: route, candidate: c,
                                          path: "/v1/messages/count_tokens",
                                          headers: MessagesDialect.forwardedHeaders(clientHeaders), stream: false)
    }

    func failure(for c: Candidate, status: Int, headers: HTTPHeaders, body: [UInt8]) -> UpstreamFailure {
        c.provider.chatFailure(status: status, headers: headers, body: body)
    }

    func answer(for c: Candidate, status: Int, headers: HTTPHeaders, body: [UInt8]) throws(UpstreamFailure) -> ExchangeAnswer {
        guard let json = try? JSONValue.parse(body), json["input_tokens"]?.intValue != nil else {
            throw .badResponse("The upstream's token count has no input_tokens.")
        }
        return ExchangeAnswer(body: body, usage: Usage())
    }

    func estimatedUsage(streamedTextBytes: Int, answer: ExchangeAnswer?) -> Usage { Usage() }

    func renderError(_ error: GatewayError) -> (headers: HTTPHeaders, body: [UInt8]) { MessagesDialect.renderError(error) }
}
