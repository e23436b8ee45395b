import TollgateCore

/// Answers one request on a client connection: a whole response, or a chunked stream. Lives on its loop's queue.
/// Calls after the client has gone are ignored, so a handler never needs to check first.
public final class HTTPResponseWriter: ResponseWriter {
    public let request: HTTPRequest
    public let loop: EventLoop
    let connection: Connection
    /// Called once, on the loop's queue, if the client disconnects before the response ends.
    public var onClientGone: (() -> Void)?
    /// Called when the client has taken everything buffered so far (for flow control).
    public var onDrained: (() -> Void)?
    /// Kept past the end of the response until its bytes have been sent (or the connection died).
    public var onUndelivered: (() -> Void)?
    public private(set) var isClientGone = false
    public private(set) var status = 0
    private var state: State = .idle
    /// Time the request was handed to the handler (monotonic nanoseconds).
    public let startedAt: UInt64

    enum State { case idle, streaming, finished }

    init(connection: Connection, request: HTTPRequest) {
        self.connection = connection
        self.request = request
        loop = connection.loop
        startedAt = DispatchTime.now().uptimeNanoseconds
    }

    /// True once a status line has been sent (or the response is complete).
    public var hasStarted: Bool { state != .idle }
    public var isFinished: Bool { state == .finished }
    /// Bytes written but not yet taken by the client.
    public var bufferedBytes: Int { connection.bufferedBytes }
    public func peerIdentity(needPID: Bool) -> PeerIdentity? { connection.peerIdentity(needPID: needPID) }

    /// Drops the handler's callbacks once the response is complete (they usually capture the
    /// handler, which holds this writer: keeping them would leak both).
    private func releaseCallbacks() {
        onClientGone = nil
        onDrained = nil
    }

    public func respond(status: Int, headers: HTTPHeaders = HTTPHeaders(), body: [UInt8]) {
        guard state == .idle else { return }
        state = .finished
        releaseCallbacks()
        self.status = status
        guard !isClientGone else { return }
        let keepAlive = connection.shouldKeepAlive(after: request)
        var out: [UInt8] = []
        out.reserveCapacity(256 + body.count)
        HTTPResponseHead.encode(status: status, headers: headers, contentLength: body.count, keepAlive: keepAlive,
                                date: loop.date, into: &out)
        if request.method != "HEAD" { out.append(contentsOf: body) }
        connection.write(out)
        connection.responseFinished(keepAlive: keepAlive)
    }

    /// Sends the head of a chunked response; the body follows with `writeChunk`.
    public func startStream(status: Int, headers: HTTPHeaders) {
        guard state == .idle else { return }
        state = .streaming
        self.status = status
        guard !isClientGone else { return }
        var out: [UInt8] = []
        HTTPResponseHead.encode(status: status, headers: headers, contentLength: nil,
                                keepAlive: connection.shouldKeepAlive(after: request), date: loop.date, into: &out)
        connection.write(out)
    }

    public func writeChunk(_ bytes: [UInt8]) {
        guard state == .streaming, !isClientGone, !bytes.isEmpty else { return }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count + 12)
        out.append(contentsOf: String(bytes.count, radix: 16).utf8)
        out.append(contentsOf: [0x0D, 0x0A])
        out.append(contentsOf: bytes)
        out.append(contentsOf: [0x0D, 0x0A])
        connection.write(out)
    }

    public func endStream() {
        guard state == .streaming else { return }
        state = .finished
        releaseCallbacks()
        guard !isClientGone else { return }
        connection.write(Array("0\r\n\r\n".utf8))
        connection.responseFinished(keepAlive: connection.shouldKeepAlive(after: request))
    }

    func clientDidGo() {
        guard !isClientGone else { return }
        isClientGone = true
        let callback = onClientGone
        onClientGone = nil
        onDrained = nil
        if state != .finished { callback?() }
    }

    func drained() { onDrained?() }

    /// The response's last bytes left (true) or the connection died first (false).
    func delivered(_ yes: Bool) {
        let callback = onUndelivered
        onUndelivered = nil
        if !yes { callback?() }
    }
}

import Dispatch
