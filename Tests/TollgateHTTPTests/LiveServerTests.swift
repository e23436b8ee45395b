import Dispatch
import Foundation
import Testing
import TollgateCore
import TollgateTestSupport
@testable import TollgateHTTP

/// Answers `/echo` with what it received, `/later` after a short delay, `/stream` as chunks.
final class EchoHandler: HTTPHandler, @unchecked Sendable {
    func handle(_ request: HTTPRequest, _ response: any ResponseWriter) {
        var headers = HTTPHeaders()
        headers.add("Content-Type", "text/plain")
        switch request.path {
        case "/later":
            let box = LoopBound(response)
            let fixed = headers
            response.loop.queue.asyncAfter(deadline: .now() + .milliseconds(50)) {
                box.value.respond(status: 200, headers: fixed, body: Array("later".utf8))
            }
        case "/stream":
            response.startStream(status: 200, headers: headers)
            for part in ["one", "two", "three"] { response.writeChunk(Array(part.utf8)) }
            response.endStream()
        default:
            let text = "\(request.method) \(request.target) \(request.body.count) " + String(decoding: request.body, as: UTF8.self)
            response.respond(status: 200, headers: headers, body: Array(text.utf8))
        }
    }
}

/// Starts a server on 127.0.0.1:0 with `settings`; stops it when the test ends.
final class LiveServer {
    let server: HTTPServer
    let port: UInt16

    init(settings: ServerSettings = ServerSettings(), loops: Int = 2) throws {
        server = HTTPServer(settings: settings, loops: loops, handler: EchoHandler())
        port = try server.start(listen: ListenAddress(host: "127.0.0.1", port: 0))
    }

    deinit { server.shutdown() }

    func client(timeout: Double = 5) throws -> RawClient { try RawClient(port: port, timeout: timeout) }
}

@Suite struct LiveServerTests {
    @Test func keepAliveServesSeveralRequestsOnOneConnection() throws {
        let live = try LiveServer()
        let client = try live.client()
        for i in 0..<3 {
            try client.send(postRequest("/echo", json: "{\"n\":\(i)}"))
            let response = try client.readResponse()
            #expect(response.status == 200)
            #expect(response.text == "POST /echo 7 {\"n\":\(i)}")
            #expect(response.header("Connection") == "keep-alive")
        }
    }

    @Test func pipelinedRequestsAreAnsweredInOrder() throws {
        let live = try LiveServer()
        let client = try live.client()
        // The first answer is delayed; the others must still come after it.
        try client.send("GET /later HTTP/1.1\r\nHost: a\r\n\r\nGET /echo?2 HTTP/1.1\r\nHost: a\r\n\r\n"
            + postRequest("/echo", json: "3") + "GET /stream HTTP/1.1\r\nHost: a\r\n\r\n")
        #expect(try client.readResponse().text == "later")
        #expect(try client.readResponse().text == "GET /echo?2 0 ")
        #expect(try client.readResponse().text == "POST /echo 1 3")
        let streamed = try client.readResponse()
        #expect(streamed.text == "onetwothree")
        #expect(streamed.header("Transfer-Encoding") == "chunked")
    }

    @Test func chunkedRequestBodyAndExpectContinue() throws {
        let live = try LiveServer()
        let client = try live.client()
        try client.send("POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n2\r\nef\r\n0\r\n\r\n")
        #expect(try client.readResponse().text == "POST /echo 6 abcdef")

        try client.send("POST /echo HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n")
        let interim = try client.readHead()
        #expect(interim.status == 100)
        try client.send("hello")
        #expect(try client.readResponse().text == "POST /echo 5 hello")
    }

    @Test func connectionCloseIsHonoured() throws {
        let live = try LiveServer()
        let client = try live.client()
        try client.send("GET /echo HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
        let response = try client.readResponse()
        #expect(response.header("Connection") == "close")
        #expect(client.isClosedByServer())
    }

    @Test func malformedRequestGets400AndClose() throws {
        let live = try LiveServer()
        let client = try live.client()
        try client.send("HELLO THERE\r\n\r\n")
        let response = try client.readResponse()
        #expect(response.status == 400)
        #expect(response.errorType == "invalid_request_error")
        #expect(response.errorMessage?.contains("Malformed HTTP request") == true)
        #expect(client.isClosedByServer())
    }

    @Test func oversizedHeadersGet431() throws {
        var settings = ServerSettings()
        settings.maxHeaderBytes = 1024
        let live = try LiveServer(settings: settings)
        let client = try live.client()
        try client.send("GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + String(repeating: "x", count: 4000) + "\r\n\r\n")
        let response = try client.readResponse()
        #expect(response.status == 431)
        #expect(response.json?["error"] != nil)
    }

    @Test func oversizedBodyGets413WithoutSendingIt() throws {
        var settings = ServerSettings()
        settings.maxBodyBytes = 1000
        let live = try LiveServer(settings: settings)
        let client = try live.client()
        try client.send("POST /echo HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 5000\r\n\r\n")
        let response = try client.readResponse()
        #expect(response.status == 413)
        #expect(response.errorMessage?.contains("1000") == true)
        #expect(client.isClosedByServer())
    }

    @Test func unsupportedTransferCodingGets501() throws {
        let live = try LiveServer()
        let client = try live.client()
        try client.send("POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n")
        #expect(try client.readResponse().status == 501)
    }

    @Test func slowHeadersTimeOutWith408() throws {
        var settings = ServerSettings()
        settings.headerTimeoutSeconds = 0.3
        let live = try LiveServer(settings: settings)
        let client = try live.client()
        try client.send("GET /echo HTTP/1.1\r\nHost: a\r\n")  // never finishes the head
        let response = try client.readResponse()
        #expect(response.status == 408)
        #expect(client.isClosedByServer())
    }

    @Test func slowBodyTimesOutWith408() throws {
        var settings = ServerSettings()
        settings.bodyTimeoutSeconds = 0.3
        let live = try LiveServer(settings: settings)
        let client = try live.client()
        try client.send("POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\nonly a little")
        #expect(try client.readResponse().status == 408)
    }

    @Test func idleConnectionsAreClosed() throws {
        var settings = ServerSettings()
        settings.idleTimeoutSeconds = 0.3
        let live = try LiveServer(settings: settings)
        let client = try live.client()
        try client.send("GET /echo HTTP/1.1\r\nHost: a\r\n\r\n")
        #expect(try client.readResponse().status == 200)
        #expect(client.isClosedByServer())
    }

    @Test func connectionLimitAnswers503() throws {
        var settings = ServerSettings()
        settings.maxConnections = 2
        let live = try LiveServer(settings: settings)
        let first = try live.client()
        let second = try live.client()
        // Make sure both are accepted and counted before the third arrives.
        for c in [first, second] {
            try c.send("GET /echo HTTP/1.1\r\nHost: a\r\n\r\n")
            #expect(try c.readResponse().status == 200)
        }
        let third = try live.client()
        let refused = try third.readResponse()
        #expect(refused.status == 503)
        #expect(refused.json?["error"] != nil)
        // The first two keep working.
        try first.send("GET /echo HTTP/1.1\r\nHost: a\r\n\r\n")
        #expect(try first.readResponse().status == 200)
    }

    @Test func manyConcurrentClients() async throws {
        let live = try LiveServer()
        let port = live.port
        try await withThrowingTaskGroup(of: Int.self) { group in
            for i in 0..<32 {
                group.addTask {
                    let client = try RawClient(port: port)
                    var ok = 0
                    for j in 0..<10 {
                        try client.send(postRequest("/echo", json: "\(i)-\(j)"))
                        if try client.readResponse().text.hasSuffix("\(i)-\(j)") { ok += 1 }
                    }
                    return ok
                }
            }
            var total = 0
            for try await ok in group { total += ok }
            #expect(total == 320)
        }
        #expect(live.server.openConnections <= 32)
    }
}

/// `server.loop_linger_microseconds`: the loop's thread waits in its own epoll set after a
/// batch, so back-to-back requests on one connection are taken there, without a Dispatch
/// wake-up; work queued on the loop still runs while traffic keeps it busy; 0 turns it off.
@Suite struct LoopLingerTests {
    static func hammer(_ live: LiveServer, for seconds: Double) throws -> Int {
        let client = try live.client()
        let end = Date().addingTimeInterval(seconds)
        var answered = 0
        while Date() < end {
            try client.send("GET /echo HTTP/1.1\r\nHost: a\r\n\r\n")
            if try client.readResponse().status == 200 { answered += 1 }
        }
        return answered
    }

    @Test func backToBackRequestsAreTakenWhileTheLoopLingers() throws {
        var settings = ServerSettings()
        settings.loopLingerMicroseconds = 2000
        let live = try LiveServer(settings: settings, loops: 1)
        let loop = live.server.loops[0]
        // Queued work runs while the loop is kept busy (a Dispatch wake-up holds it ≤ 2 ms).
        let ran = DispatchSemaphore(value: 0)
        let done = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            for _ in 0..<20 {
                loop.queue.async { ran.signal() }
                if ran.wait(timeout: .now() + 1) == .timedOut { return }
            }
            done.signal()
        }
        #expect(try Self.hammer(live, for: 0.5) > 20)
        #expect(done.wait(timeout: .now() + 5) == .success)
        #expect(loop.queue.sync { loop.lingerWakes } > 0)
    }

    /// `execute` hands work to the loop from other threads: it runs on the loop's queue, inside
    /// a batch (taken through the loop's eventfd, not after the drain as `queue.async` work
    /// is), in the order each thread posted it, both while traffic keeps the loop lingering and
    /// when the loop is idle.
    @Test func workPostedFromOtherThreadsRunsInsideABatch() throws {
        var settings = ServerSettings()
        settings.loopLingerMicroseconds = 2000
        let live = try LiveServer(settings: settings, loops: 1)
        let loop = live.server.loops[0]
        final class Record: @unchecked Sendable {
            let lock = NSLock()
            var seen: [Int: [Int]] = [:]
            var outsideBatch = 0
            var offQueue = 0
        }
        let record = Record()
        let ran = DispatchSemaphore(value: 0)
        @Sendable func post(_ poster: Int, _ n: Int) {
            loop.execute {
                let onQueue = DispatchQueue.getSpecific(key: LoopLingerTests.queueKey) == loop.index
                let batch = loop.isInBatch
                record.lock.lock()
                record.seen[poster, default: []].append(n)
                if !batch { record.outsideBatch += 1 }
                if !onQueue { record.offQueue += 1 }
                record.lock.unlock()
                ran.signal()
            }
        }
        loop.queue.setSpecific(key: Self.queueKey, value: loop.index)
        // Idle loop: woken through its Dispatch source.
        post(0, 0)
        #expect(ran.wait(timeout: .now() + 5) == .success)
        // Busy loop: two threads post while a client keeps it lingering.
        let posters = DispatchGroup()
        for poster in 1...2 {
            DispatchQueue.global().async(group: posters) {
                for n in 0..<200 {
                    post(poster, n)
                    usleep(500)
                }
            }
        }
        #expect(try Self.hammer(live, for: 0.4) > 20)
        posters.wait()
        for _ in 0..<400 { #expect(ran.wait(timeout: .now() + 5) == .success) }
        record.lock.lock()
        defer { record.lock.unlock() }
        #expect(record.seen[0] == [0])
        #expect(record.seen[1] == Array(0..<200))
        #expect(record.seen[2] == Array(0..<200))
        #expect(record.outsideBatch == 0)
        #expect(record.offQueue == 0)
    }

    static let queueKey = DispatchSpecificKey<Int>()

    @Test func zeroTurnsItOff() throws {
        var settings = ServerSettings()
        settings.loopLingerMicroseconds = 0
        let live = try LiveServer(settings: settings, loops: 1)
        #expect(try Self.hammer(live, for: 0.2) > 5)
        let loop = live.server.loops[0]
        #expect(loop.queue.sync { loop.lingerWakes } == 0)
        #expect(loop.queue.sync { loop.lingerNanoseconds } == 0)
    }
}
