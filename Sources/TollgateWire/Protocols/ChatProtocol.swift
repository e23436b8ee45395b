import TollgateCore

/// A wire protocol for chat: pure functions from OpenAI requests to provider requests and
/// from provider answers back to OpenAI answers. No I/O.
public protocol ChatProtocol: Sendable {
    /// The registry name (`openai_chat`, ...).
    var name: String { get }
    /// The OpenAI request parameters this protocol can carry; `accepting(_:)` drops any other
    /// before `encode`. nil: everything passes through.
    var acceptedParameters: Set<String>? { get }
    func encode(_ request: ChatRequestInput, context: ChatContext) throws(GatewayError) -> UpstreamRequest
    func decodeResponse(status: Int, headers: HTTPHeaders, body: [UInt8], context: ChatContext) throws(GatewayError) -> ChatResult
    func makeStreamDecoder(context: ChatContext) -> any ChatStreamDecoder
    /// An upstream error status and body as one classified failure, its error keeping the provider's message.
    func decodeFailure(status: Int, headers: HTTPHeaders, body: [UInt8]) -> UpstreamFailure
}
