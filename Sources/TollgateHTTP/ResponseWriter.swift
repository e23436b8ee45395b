import TollgateCore

/// How a handler answers one request: a whole response, or a stream of chunks. The server's
/// `HTTPResponseWriter` writes to a client socket; tests can pass their own writer and drive a
/// handler in-process. Lives on `loop`'s queue; calls after the client has gone are ignored.
public protocol ResponseWriter: AnyObject {
    var request: HTTPRequest { get }
    var loop: EventLoop { get }
    /// Monotonic nanoseconds when the request was handed to the handler.
    var startedAt: UInt64 { get }
    /// The status sent (0 until a head is sent).
    var status: Int { get }
    var hasStarted: Bool { get }
    var isFinished: Bool { get }
    var isClientGone: Bool { get }
    /// Bytes written but not yet taken by the client.
    var bufferedBytes: Int { get }
    /// Called once if the client disconnects before the response ends.
    var onClientGone: (() -> Void)? { get set }
    /// Called when the client has taken everything buffered so far (for flow control).
    var onDrained: (() -> Void)? { get set }
    /// Called if the connection dies after the response was complete but before its last
    /// bytes were sent: the answer was never delivered.
    var onUndelivered: (() -> Void)? { get set }

    func respond(status: Int, headers: HTTPHeaders, body: [UInt8])
    /// Sends the head of a chunked response; the body follows with `writeChunk`.
    func startStream(status: Int, headers: HTTPHeaders)
    func writeChunk(_ bytes: [UInt8])
    func endStream()
    /// Who is at the other end of the connection, when it is on this machine (see `PeerIdentity`).
    func peerIdentity(needPID: Bool) -> PeerIdentity?
}

extension ResponseWriter {
    public func peerIdentity(needPID: Bool) -> PeerIdentity? { nil }

    /// An OpenAI-shaped error response, with the headers the error calls for.
    public func respond(error: GatewayError, headers: HTTPHeaders = HTTPHeaders()) {
        var h = headers
        for (name, value) in error.responseHeaders { h.set(name, value) }
        respond(status: error.status, headers: h, body: error.body)
    }
}
