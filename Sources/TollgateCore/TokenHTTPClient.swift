/// A blocking HTTP client for token work (refresh, exchange, device flow). Implemented over
/// libcurl's easy interface in `TollgateUpstream`; never called on an event loop.
public protocol TokenHTTPClient: Sendable {
    func send(_ request: UpstreamRequest) -> Result<TokenHTTPResponse, TokenHTTPError>
}

public struct TokenHTTPResponse: Sendable {
    public var status: Int
    public var body: [UInt8]
    public init(status: Int, body: [UInt8]) {
        self.status = status
        self.body = body
    }
    public var json: JSONValue? { try? JSONValue.parse(body) }
}

/// A transport failure (could not connect, timed out).
public struct TokenHTTPError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
