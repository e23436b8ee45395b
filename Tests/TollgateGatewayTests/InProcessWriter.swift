import Dispatch
import Foundation
import Logging
import TollgateCore
import TollgateGateway
import TollgateHTTP
import TollgateLedger
import TollgateWire

/// A `ResponseWriter` that records what a handler answers, for driving the gateway in-process
/// (no listening socket, no HTTP parsing). Lives on its loop's queue; read it after `wait()`.
final class RecordingWriter: ResponseWriter, @unchecked Sendable {
    let request: HTTPRequest
    let loop: EventLoop
    let startedAt = DispatchTime.now().uptimeNanoseconds
    private(set) var status = 0
    private(set) var headers = HTTPHeaders()
    private(set) var body: [UInt8] = []
    private(set) var chunks: [[UInt8]] = []
    private(set) var hasStarted = false
    private(set) var isFinished = false
    private(set) var isClientGone = false
    var bufferedBytes: Int { 0 }
    var onClientGone: (() -> Void)?
    var onDrained: (() -> Void)?
    var onUndelivered: (() -> Void)?
    private let done = DispatchSemaphore(value: 0)
    /// Called on the loop after each chunk (a test may hang up from here).
    var onChunk: ((RecordingWriter) -> Void)?

    init(request: HTTPRequest, loop: EventLoop) {
        self.request = request
        self.loop = loop
    }

    func respond(status: Int, headers: HTTPHeaders, body: [UInt8]) {
        guard !hasStarted, !isClientGone else { return }
        self.status = status
        self.headers = headers
        self.body = body
        hasStarted = true
        finish()
    }

    func startStream(status: Int, headers: HTTPHeaders) {
        guard !hasStarted, !isClientGone else { return }
        self.status = status
        self.headers = headers
        hasStarted = true
    }

    func writeChunk(_ bytes: [UInt8]) {
        guard hasStarted, !isFinished, !isClientGone else { return }
        chunks.append(bytes)
        body += bytes
        onChunk?(self)
    }

    func endStream() {
        guard hasStarted, !isFinished else { return }
        finish()
    }

    /// The client hangs up (call on the loop's queue).
    func hangUp() {
        guard !isClientGone else { return }
        isClientGone = true
        let callback = onClientGone
        onClientGone = nil
        if !isFinished { callback?() }
        finish()
    }

    private func finish() {
        guard !isFinished else { return }
        isFinished = true
        onClientGone = nil
        onDrained = nil
        done.signal()
    }

    /// Waits until the response is complete (or the client hung up); false on timeout.
    func wait(timeout: Double = 10) -> Bool { done.wait(timeout: .now() + timeout) == .success }

    var text: String { String(decoding: body, as: UTF8.self) }
    var json: JSONValue? { try? JSONValue.parse(body) }
}

/// The gateway with its ledger but no HTTP server: requests go straight to `Gateway.handle`.
final class InProcessGateway: @unchecked Sendable {
    let gateway: Gateway
    let ledger: Ledger
    let loop = EventLoop(index: 0)
    let directory: URL

    init(config json: String, logger custom: Logger? = nil) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("tollgate-inproc-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let config = try Config.parse(Array(json.utf8))
        let resolved = try WireRegistry.resolve(config, environment: [:])
        ledger = try Ledger(path: directory.appendingPathComponent("ledger.sqlite").path)
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        if let custom { logger = custom }
        gateway = Gateway(snapshot: GatewaySnapshot(config: config, providers: resolved.providers), ledger: ledger,
                          logger: logger)
        loop.startSweeping(interval: 0.05)
    }

    deinit {
        loop.queue.sync { loop.stopSweeping() }
        ledger.close()
        try? FileManager.default.removeItem(at: directory)
    }

    /// Hands one request to the gateway on the loop's queue and returns its writer.
    /// `peer` is the client's address (loopback unless a test says otherwise).
    func send(_ method: String, _ path: String, body: String = "", headers: [(String, String)] = [],
              peer: String? = "127.0.0.1", prepare: ((RecordingWriter) -> Void)? = nil) -> RecordingWriter {
        var h = HTTPHeaders()
        for (name, value) in headers { h.add(name, value) }
        var request = HTTPRequest(method: method, target: path, headers: h, body: Array(body.utf8))
        request.peer = peer
        let sent = request
        let writer = RecordingWriter(request: request, loop: loop)
        prepare?(writer)
        let box = LoopBound((gateway, writer))
        loop.queue.async { box.value.0.handle(sent, box.value.1) }
        return writer
    }
}
