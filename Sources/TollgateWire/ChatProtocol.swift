import TollgateCore

/// What the gateway knows about one attempt when it asks a protocol to encode a request.
public struct ChatContext: Sendable {
    /// The model id the upstream is asked for (after `NAME/` and aliases are resolved).
    public var upstreamModel: String
    public var stream: Bool
    /// The client asked for a usage chunk (`stream_options.include_usage`).
    public var clientWantsUsage: Bool
    public var provider: ResolvedProvider
    /// The model's largest output in tokens, from the catalog (Anthropic requires max_tokens).
    public var maxOutputTokens: Int?
    /// Used in synthesized chunk and completion ids.
    public var requestID: String
    /// Unix seconds, for `created` fields the provider does not supply.
    public var created: Int

    public init(upstreamModel: String, stream: Bool, clientWantsUsage: Bool, provider: ResolvedProvider,
                maxOutputTokens: Int? = nil, requestID: String = "tollgate", created: Int = 0) {
        self.upstreamModel = upstreamModel
        self.stream = stream
        self.clientWantsUsage = clientWantsUsage
        self.provider = provider
        self.maxOutputTokens = maxOutputTokens
        self.requestID = requestID
        self.created = created
    }
}

/// A client's chat request: the parsed JSON and the bytes it came from.
public struct ChatRequestInput: Sendable {
    public var json: JSONValue
    public var rawBody: [UInt8]
    public var model: String
    public var stream: Bool

    public init(json: JSONValue, rawBody: [UInt8], model: String, stream: Bool) {
        self.json = json
        self.rawBody = rawBody
        self.model = model
        self.stream = stream
    }
}

/// A complete, non-streamed answer in OpenAI's `chat.completion` format.
public struct ChatResult: Sendable {
    public var body: [UInt8]
    public var usage: Usage?
    public init(body: [UInt8], usage: Usage?) {
        self.body = body
        self.usage = usage
    }
}

/// What a stream decoder makes of the provider's bytes.
public enum StreamOutput: Sendable, Equatable {
    /// A `chat.completion.chunk` as JSON text, to send as one SSE `data:` event.
    case chunk(String)
    /// Usage reported by the provider (sent to the client only when it asked).
    case usage(Usage)
    /// The provider reported an error mid-stream.
    case error(GatewayError)
    /// The provider said the answer is complete.
    case done
}

/// Turns a provider's streamed bytes into OpenAI chunks, fed in any split.
public protocol ChatStreamDecoder {
    mutating func feed(_ bytes: UnsafeRawBufferPointer) -> [StreamOutput]
    /// The byte stream ended; anything still buffered is flushed.
    mutating func finish() -> [StreamOutput]
}

/// A wire protocol for chat: pure functions from OpenAI requests to provider requests and
/// from provider answers back to OpenAI answers. No I/O.
public protocol ChatProtocol: Sendable {
    /// The registry name (`openai_chat`, ...).
    var name: String { get }
    /// The OpenAI request parameters this protocol can carry; the gateway drops any other
    /// (with a warning naming it) before `encode`. nil: everything passes through.
    var acceptedParameters: Set<String>? { get }
    func encode(_ request: ChatRequestInput, context: ChatContext) throws(GatewayError) -> UpstreamRequest
    func decodeResponse(status: Int, headers: HTTPHeaders, body: [UInt8], context: ChatContext) throws(GatewayError) -> ChatResult
    func makeStreamDecoder(context: ChatContext) -> any ChatStreamDecoder
    /// An upstream error status and body as an OpenAI-shaped error keeping the provider's message.
    func decodeError(status: Int, headers: HTTPHeaders, body: [UInt8]) -> GatewayError
}
