import TollgateCore
import TollgateHTTP
import TollgateLedger
import TollgateWire

/// What one kind of request (chat, embeddings, and the inbound protocols to come) adds to the
/// shared exchange: how to encode an attempt, read its answer, and render what the client gets.
/// Everything else — the failover walk, breakers, budgets, the ledger, streaming with
/// back-pressure, the headers tollgate adds — is the exchange's. Lives on the loop queue.
protocol ExchangeAdapter: AnyObject {
    /// The API the client spoke (recorded on the ledger rows).
    var api: InboundAPI { get }
    /// The model the client asked for (a route, `NAME/model` or a bare id).
    var route: String { get }
    /// The client asked for a stream.
    var streamed: Bool { get }
    /// The bearer token the client sent, for auth strategies that pass it upstream (a Claude
    /// subscription's, on `/v1/messages`); nil for APIs whose bearer is not an upstream credential.
    var clientBearer: String? { get }

    /// Input tokens as estimated before any attempt (for a client's tokens-per-minute limit).
    var estimatedInputTokens: Int { get }
    /// The most an attempt on `candidate` can cost, reserved against its budgets.
    func worstCaseCost(_ candidate: Candidate) -> Double
    /// The upstream request of one attempt.
    func request(for candidate: Candidate, requestID: String) throws(GatewayError) -> UpstreamRequest
    /// An upstream error status and body, classified.
    func failure(for candidate: Candidate, status: Int, headers: HTTPHeaders, body: [UInt8]) -> UpstreamFailure
    /// A 2xx head arrived: a decoder to relay the body as a stream, or nil to take it whole.
    func streamDecoder(for candidate: Candidate, headers: HTTPHeaders) -> (any ChatStreamDecoder)?
    /// A whole 2xx answer: what the client gets, and the usage it reports.
    func answer(for candidate: Candidate, status: Int, headers: HTTPHeaders, body: [UInt8]) throws(UpstreamFailure)
        -> ExchangeAnswer
    /// A whole answer replayed as stream events (the client asked for a stream, the upstream sent JSON).
    func replay(_ answer: ExchangeAnswer) throws(UpstreamFailure) -> [StreamOutput]
    /// Tokens guessed from the text when the provider reported none (or too few).
    func estimatedUsage(streamedTextBytes: Int, answer: ExchangeAnswer?) -> Usage
    /// Text bytes of one streamed chunk, for that guess.
    func textBytes(ofChunk chunk: String) -> Int

    // Rendering for the client (OpenAI's shapes unless an adapter speaks another API).
    func render(chunk: String) -> [UInt8]
    /// The end of a complete stream (`usage`: what the provider reported, if anything).
    func renderStreamEnd(usage: Usage?) -> [UInt8]
    func renderStreamError(_ error: GatewayError) -> [UInt8]
    func renderError(_ error: GatewayError) -> (headers: HTTPHeaders, body: [UInt8])
}

/// A whole answer: the bytes for the client and the usage the provider reported (nil: none).
/// The token of an `Authorization: Bearer TOKEN` header, or nil.
func bearerToken(_ headers: HTTPHeaders) -> String? {
    guard let value = headers["Authorization"] else { return nil }
    let text = String(value.trimmingWhitespaceASCII())
    guard text.count > 7, text.prefix(7).lowercased() == "bearer " else { return nil }
    let token = String(text.dropFirst(7)).trimmingWhitespace()
    return token.isEmpty ? nil : token
}

struct ExchangeAnswer {
    var body: [UInt8]
    var usage: Usage?
    /// The usage was estimated by the adapter (e.g. an embeddings provider that reports none).
    var estimated = false
}

extension ExchangeAdapter {
    var clientBearer: String? { nil }
    func render(chunk: String) -> [UInt8] { SSEWriter.encode(data: chunk) }
    /// The end of a complete stream (`usage`: what the provider reported, if anything).
    func renderStreamEnd(usage: Usage?) -> [UInt8] { SSEWriter.done }
    func renderStreamError(_ error: GatewayError) -> [UInt8] { error.sseEvent }
    func renderError(_ error: GatewayError) -> (headers: HTTPHeaders, body: [UInt8]) { (error.responseHeaders, error.body) }
    func streamDecoder(for candidate: Candidate, headers: HTTPHeaders) -> (any ChatStreamDecoder)? { nil }
    func replay(_ answer: ExchangeAnswer) throws(UpstreamFailure) -> [StreamOutput] { [] }
    func textBytes(ofChunk chunk: String) -> Int { 0 }
    var estimatedInputTokens: Int { 0 }
}
