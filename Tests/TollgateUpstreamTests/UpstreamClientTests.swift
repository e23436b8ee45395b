import Dispatch
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Testing
import TollgateCore
import TollgateHTTP
import TollgateTestSupport
import TollgateUpstream

/// UpstreamClient and UpstreamTransfer against a fake upstream on 127.0.0.1, driven on a
/// serial queue as an event loop drives them.
@Suite struct UpstreamClientTests {
    @Test func headBodyAndCompletionArriveInOrder() throws {
        let upstream = try FakeUpstream { _, conn in
            try conn.write("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nX-Upstream: yes\r\nTransfer-Encoding: chunked\r\n\r\n")
            for piece in ["data: one\n\n", "data: two\n\n", "data: [DONE]\n\n"] { try conn.chunk(piece) }
            try conn.endChunks()
        }
        defer { upstream.stop() }
        let loop = Loop()
        defer { loop.close() }
        var headers = HTTPHeaders()
        headers.add("Content-Type", "application/json")
        headers.add("X-Custom", "abc")
        let request = UpstreamRequest(url: upstream.baseURL + "/chat/completions", headers: headers,
                                      body: Array(#"{"model":"m"}"#.utf8))
        let recorder = try loop.run(request)

        let events = recorder.events
        try #require(events.count >= 3)
        guard case .head(let status, let head) = events[0] else {
            Issue.record("first event is \(events[0])")
            return
        }
        #expect(status == 200)
        #expect(head["X-Upstream"] == "yes")
        #expect(head["Content-Type"] == "text/event-stream")
        #expect(events.last == .complete(nil))
        #expect(events.dropFirst().dropLast().allSatisfy { if case .body = $0 { true } else { false } })
        #expect(recorder.body == "data: one\n\ndata: two\n\ndata: [DONE]\n\n")

        let sent = try #require(upstream.requests.first)
        #expect(sent.method == "POST")
        #expect(sent.path == "/v1/chat/completions")
        #expect(sent.header("x-custom") == "abc")
        #expect(sent.header("expect") == nil)  // no 100-continue round trip
        #expect(String(decoding: sent.body, as: UTF8.self) == #"{"model":"m"}"#)
    }

    @Test func anErrorStatusIsAResponseNotATransferError() throws {
        let upstream = try FakeUpstream { _, conn in
            try conn.respond(status: 503, headers: [("Retry-After", "7")], body: #"{"error":"busy"}"#)
        }
        defer { upstream.stop() }
        let loop = Loop()
        defer { loop.close() }
        let recorder = try loop.run(UpstreamRequest(url: upstream.baseURL + "/x", body: Array("{}".utf8)))
        #expect(recorder.events.first == .head(503, ["Content-Type": "application/json",
                                                      "Content-Length": "16", "Retry-After": "7"]))
        #expect(recorder.body == #"{"error":"busy"}"#)
        #expect(recorder.events.last == .complete(nil))
    }

    @Test func aGETSendsNoBody() throws {
        let upstream = try FakeUpstream { _, conn in try conn.respond(status: 200, body: #"{"data":[]}"#) }
        defer { upstream.stop() }
        let loop = Loop()
        defer { loop.close() }
        let recorder = try loop.run(UpstreamRequest(method: "GET", url: upstream.baseURL + "/models"))
        #expect(recorder.body == #"{"data":[]}"#)
        let sent = try #require(upstream.requests.first)
        #expect(sent.method == "GET")
        #expect(sent.path == "/v1/models")
        #expect(sent.body.isEmpty)
    }

    @Test func anEmptyBodyStillDeliversTheHead() throws {
        let upstream = try FakeUpstream { _, conn in try conn.write("HTTP/1.1 204 No Content\r\n\r\n") }
        defer { upstream.stop() }
        let loop = Loop()
        defer { loop.close() }
        let recorder = try loop.run(UpstreamRequest(url: upstream.baseURL + "/x"))
        #expect(recorder.events.count == 2)
        #expect(recorder.events.first == .head(204, [:]))
        #expect(recorder.events.last == .complete(nil))
    }

    @Test func aSecondTransferReusesTheConnection() throws {
        let upstream = try FakeUpstream { request, conn in
            try conn.respond(status: 200, body: "answer to \(request.path)")
        }
        defer { upstream.stop() }
        let loop = Loop()
        defer { loop.close() }
        let first = try loop.run(UpstreamRequest(url: upstream.baseURL + "/a", body: Array("1".utf8)))
        let second = try loop.run(UpstreamRequest(url: upstream.baseURL + "/b", body: Array("2".utf8)))
        #expect(first.body == "answer to /v1/a")
        #expect(second.body == "answer to /v1/b")
        #expect(upstream.requests.map(\.path) == ["/v1/a", "/v1/b"])
        #expect(upstream.connectionsAccepted == 1)
        #expect(loop.activeTransfers == 0)
    }

    @Test func cancellingInsideACallbackSilencesTheTransfer() throws {
        let upstream = try FakeUpstream { _, conn in
            try conn.startStream()
            // Streams until tollgate hangs up (a write fails) or gives up after a long while.
            for i in 0..<2_000 {
                try conn.chunk("data: \(i)\n\n")
                usleep(5_000)
            }
            try conn.endChunks()
        }
        defer { upstream.stop() }
        let loop = Loop()
        defer { loop.close() }
        let recorder = Recorder()
        recorder.cancelOnFirstBody = true
        let transfer = loop.start(UpstreamRequest(url: upstream.baseURL + "/stream"), recorder: recorder)
        // The fake upstream sees the connection closed once the transfer is gone.
        #expect(upstream.wait(timeout: 10) { upstream.disconnects == 1 })
        loop.queue.sync {}  // anything curl still had queued has run
        #expect(recorder.events.count == 2)
        #expect(recorder.events.first.map { if case .head(200, _) = $0 { true } else { false } } == true)
        #expect(recorder.body.hasPrefix("data: 0\n\n"))
        #expect(!recorder.events.contains { if case .complete = $0 { true } else { false } })
        #expect(loop.queue.sync { transfer.isRunning } == false)
        #expect(loop.activeTransfers == 0)
    }

    @Test func cancellingFromTheLoopBetweenCallbacksSilencesTheTransfer() throws {
        let release = DispatchSemaphore(value: 0)
        let upstream = try FakeUpstream { _, conn in
            try conn.startStream()
            try conn.chunk("data: first\n\n")
            _ = release.wait(timeout: .now() + 10)
            for _ in 0..<200 {
                try conn.chunk("data: more\n\n")
                usleep(5_000)
            }
            try conn.endChunks()
        }
        defer { upstream.stop() }
        let loop = Loop()
        defer { loop.close() }
        let recorder = Recorder()
        let transfer = loop.start(UpstreamRequest(url: upstream.baseURL + "/stream"), recorder: recorder)
        #expect(recorder.waitForBody(timeout: 10))
        loop.queue.sync { transfer.cancel() }
        release.signal()
        #expect(upstream.wait(timeout: 10) { upstream.disconnects == 1 })
        loop.queue.sync {}
        #expect(recorder.body == "data: first\n\n")
        #expect(!recorder.events.contains { if case .complete = $0 { true } else { false } })
        #expect(loop.activeTransfers == 0)
        // The client is still good for the next transfer (on a new connection).
        let again = try FakeUpstream { _, conn in try conn.respond(status: 200, body: "fine") }
        defer { again.stop() }
        #expect(try loop.run(UpstreamRequest(url: again.baseURL + "/x")).body == "fine")
    }

    @Test func cancellingBeforeStartSendsNothing() throws {
        let upstream = try FakeUpstream { _, conn in try conn.respond(status: 200, body: "x") }
        defer { upstream.stop() }
        let loop = Loop()
        defer { loop.close() }
        let recorder = Recorder()
        loop.queue.sync {
            let transfer = loop.client.makeTransfer(UpstreamRequest(url: upstream.baseURL + "/x"), delegate: recorder)
            transfer.cancel()
            transfer.start()
            #expect(!transfer.isRunning)
        }
        // A later transfer on the same client (and handle pool) works and is the only request sent.
        #expect(try loop.run(UpstreamRequest(url: upstream.baseURL + "/y")).body == "x")
        #expect(recorder.events.isEmpty)
        #expect(upstream.requests.map(\.path) == ["/v1/y"])
    }

    @Test func aTransferStartedFromACallbackRuns() throws {
        let upstream = try FakeUpstream { request, conn in try conn.respond(status: 200, body: request.path) }
        defer { upstream.stop() }
        let loop = Loop()
        defer { loop.close() }
        let second = Recorder()
        let first = Recorder()
        first.onComplete = { [client = loop.client] in
            // Inside the delegate's callback, while the client is collecting finished transfers.
            let next = client.makeTransfer(UpstreamRequest(url: upstream.baseURL + "/second"), delegate: second)
            second.transfer = next
            next.start()
        }
        _ = loop.start(UpstreamRequest(url: upstream.baseURL + "/first"), recorder: first)
        #expect(second.waitForCompletion(timeout: 10))
        #expect(first.body == "/v1/first")
        #expect(second.body == "/v1/second")
        #expect(second.events.last == .complete(nil))
    }

    @Test func aRefusedConnectionIsAConnectError() throws {
        let closed = try FakeUpstream { _, _ in }
        let url = closed.baseURL + "/x"
        closed.stop()
        _ = closed.wait(timeout: 5) { connectRefused(port: closed.port) }
        let loop = Loop()
        defer { loop.close() }
        let recorder = try loop.run(UpstreamRequest(url: url, connectTimeoutSeconds: 5, timeoutSeconds: 10))
        #expect(recorder.events.count == 1)
        let error = try #require(recorder.error)
        #expect(error.kind == .connect)
        #expect(error.curlCode == 7)
        #expect(!error.message.isEmpty)
    }

    @Test func anUpstreamThatNeverAnswersHitsTheTotalTimeout() throws {
        let hangUp = DispatchSemaphore(value: 0)
        let upstream = try FakeUpstream { _, _ in _ = hangUp.wait(timeout: .now() + 30) }
        defer {
            hangUp.signal()
            upstream.stop()
        }
        let loop = Loop()
        defer { loop.close() }
        let recorder = try loop.run(UpstreamRequest(url: upstream.baseURL + "/slow", connectTimeoutSeconds: 5,
                                                    timeoutSeconds: 0.5))
        #expect(recorder.events.count == 1)
        let error = try #require(recorder.error)
        #expect(error.kind == .timeout)
        #expect(error.curlCode == 28)
    }

    @Test func aConnectionCutMidBodyIsAnIOError() throws {
        let upstream = try FakeUpstream { _, conn in
            try conn.write("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly part")
            conn.close()
        }
        defer { upstream.stop() }
        let loop = Loop()
        defer { loop.close() }
        let recorder = try loop.run(UpstreamRequest(url: upstream.baseURL + "/x"))
        #expect(recorder.body == "only part")
        let error = try #require(recorder.error)
        #expect(error.kind == .io)
        #expect(recorder.events.first.map { if case .head(200, _) = $0 { true } else { false } } == true)
    }

    @Test func manyTransfersAtOnceAllComplete() throws {
        let upstream = try FakeUpstream { request, conn in try conn.respond(status: 200, body: request.path) }
        defer { upstream.stop() }
        let loop = Loop()
        defer { loop.close() }
        let recorders = (0..<20).map { _ in Recorder() }
        loop.queue.sync {
            for (i, r) in recorders.enumerated() {
                let t = loop.client.makeTransfer(UpstreamRequest(url: upstream.baseURL + "/n\(i)"), delegate: r)
                r.transfer = t
                t.start()
            }
        }
        for r in recorders { #expect(r.waitForCompletion(timeout: 20)) }
        #expect(recorders.enumerated().allSatisfy { i, r in r.body == "/v1/n\(i)" && r.events.last == .complete(nil) })
        #expect(loop.activeTransfers == 0)
    }
}

/// True when nothing listens on 127.0.0.1:`port`.
func connectRefused(port: UInt16) -> Bool {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_port = port.bigEndian
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    let rc = withUnsafePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    return rc != 0 && errno == ECONNREFUSED
}

/// An event loop for the test: a serial queue owning an UpstreamClient, touched only on it.
final class Loop: @unchecked Sendable {
    let loop = EventLoop(index: 0)
    let queue: DispatchQueue
    let client: UpstreamClient

    init() {
        let loop = self.loop
        queue = loop.queue
        client = loop.queue.sync { UpstreamClient(loop: loop) }
    }

    var activeTransfers: Int { queue.sync { client.activeTransfers } }

    /// Starts `request` on the loop; `recorder` hears its events.
    func start(_ request: UpstreamRequest, recorder: Recorder) -> UpstreamTransfer {
        queue.sync {
            let transfer = client.makeTransfer(request, delegate: recorder)
            recorder.transfer = transfer
            transfer.start()
            return transfer
        }
    }

    /// Runs `request` to its end and returns what the delegate heard.
    func run(_ request: UpstreamRequest, timeout: Double = 20) throws -> Recorder {
        let recorder = Recorder()
        _ = start(request, recorder: recorder)
        try #require(recorder.waitForCompletion(timeout: timeout), "the transfer never completed")
        return recorder
    }

    func close() { queue.sync { client.close() } }
}

/// A transfer delegate that records what it hears. Its callbacks run on the loop's queue; the
/// test reads the record after waiting on a semaphore (which orders the memory accesses).
final class Recorder: UpstreamTransferDelegate, @unchecked Sendable {
    enum Event: Equatable, CustomStringConvertible {
        case head(Int, [String: String])
        case body([UInt8])
        case complete(UpstreamError.Kind?)

        var description: String {
            switch self {
            case .head(let s, let h): "head(\(s), \(h))"
            case .body(let b): "body(\(String(decoding: b, as: UTF8.self)))"
            case .complete(let k): "complete(\(k.map { "\($0)" } ?? "ok"))"
            }
        }
    }

    private let lock = NSLock()
    private var _events: [Event] = []
    private var _error: UpstreamError?
    private let completed = DispatchSemaphore(value: 0)
    private let firstBody = DispatchSemaphore(value: 0)
    /// Kept alive by the recorder, since a transfer holds its delegate weakly.
    var transfer: UpstreamTransfer?
    var cancelOnFirstBody = false
    var onComplete: (() -> Void)?

    var events: [Event] { lock.withLock { _events } }
    var error: UpstreamError? { lock.withLock { _error } }
    var body: String {
        var bytes: [UInt8] = []
        for case .body(let b) in events { bytes += b }
        return String(decoding: bytes, as: UTF8.self)
    }

    func waitForCompletion(timeout: Double) -> Bool { completed.wait(timeout: .now() + timeout) == .success }
    func waitForBody(timeout: Double) -> Bool { firstBody.wait(timeout: .now() + timeout) == .success }

    func transferDidReceiveHead(_ transfer: UpstreamTransfer, status: Int, headers: HTTPHeaders) {
        var dict: [String: String] = [:]
        for (name, value) in headers { dict[name] = value }
        lock.withLock { _events.append(.head(status, dict)) }
    }

    func transferDidReceive(_ transfer: UpstreamTransfer, bytes: UnsafeRawBufferPointer) {
        let first = lock.withLock { () -> Bool in
            _events.append(.body(Array(bytes)))
            return _events.count == 2
        }
        if first { firstBody.signal() }
        if cancelOnFirstBody { transfer.cancel() }
    }

    func transferDidComplete(_ transfer: UpstreamTransfer, error: UpstreamError?) {
        lock.withLock {
            _events.append(.complete(error?.kind))
            _error = error
        }
        onComplete?()
        completed.signal()
    }
}
