import TollgateCore
import TollgateHTTP

/// The client's side of an exchange: the headers tollgate adds, a whole answer or an SSE
/// stream, error events, and the back-pressure signal when the client reads slowly.
/// Lives on the loop queue of the client's connection.
struct ResponseSide {
    let writer: any ResponseWriter
    let adapter: any ExchangeAdapter
    /// Unsent output above which the upstream is paused until the client has taken it all.
    static let highWaterBytes = 256 << 10

    var isStreaming: Bool { writer.hasStarted && !writer.isFinished }
    var hasStarted: Bool { writer.hasStarted }
    /// The client reads more slowly than the upstream sends.
    var isBackedUp: Bool { writer.bufferedBytes > Self.highWaterBytes }

    /// `x-tollgate-*`: who answered, after how many attempts, under which request id.
    static func tollgateHeaders(_ candidate: Candidate?, attempts: Int, requestID: String) -> HTTPHeaders {
        var h = HTTPHeaders()
        if let candidate {
            h.add("x-tollgate-provider", candidate.provider.name)
            h.add("x-tollgate-model", candidate.model)
        }
        h.add("x-tollgate-attempts", String(attempts))
        h.add("x-tollgate-request-id", requestID)
        return h
    }

    func startStream(headers: HTTPHeaders) {
        var h = headers
        h.add("Content-Type", "text/event-stream")
        h.add("Cache-Control", "no-cache")
        writer.startStream(status: 200, headers: h)
    }

    func send(_ bytes: [UInt8]) {
        if !bytes.isEmpty { writer.writeChunk(bytes) }
    }

    func endStream(usage: Usage?) {
        send(adapter.renderStreamEnd(usage: usage))
        writer.endStream()
    }

    /// Ends a stream with an error event and no end marker: a client that ignores the event
    /// must not mistake a cut answer for a complete one.
    func endStream(error: GatewayError) {
        send(adapter.renderStreamError(error))
        writer.endStream()
    }

    func respond(body: [UInt8], headers: HTTPHeaders, cost: Double) {
        var h = headers
        h.add("x-tollgate-cost-usd", formatUSD(cost))
        h.add("Content-Type", "application/json")
        writer.respond(status: 200, headers: h, body: body)
    }

    func respond(error: GatewayError, headers: HTTPHeaders) {
        let rendered = adapter.renderError(error)
        var h = headers
        for (name, value) in rendered.headers { h.set(name, value) }
        writer.respond(status: error.status, headers: h, body: rendered.body)
    }
}
