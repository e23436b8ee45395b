import Foundation
import Synchronization
import Testing
#if canImport(Glibc)
import Glibc
#endif
import TollgateCore
import TollgateTestSupport
@testable import TollgateHTTP

/// Limits that keep hostile or broken clients from holding memory, slots or the CPU
/// (issue 11, items 2–6). Every test lowers the limits so it ends within a few seconds.
@Suite struct ServerLimitsTests {
    // MARK: 2. all bodies in flight together

    @Test func bodiesInFlightBeyondTheSharedBudgetGet503() throws {
        var settings = ServerSettings()
        settings.maxBodyBytes = 1 << 20
        settings.maxBufferedBodyBytes = 1 << 20
        let live = try LiveServer(settings: settings)
        var holders: [RawClient] = []
        for _ in 0..<2 {
            let client = try live.client()
            try client.send(partialBody(length: 400_000, sent: 1000))
            holders.append(client)
        }
        #expect(waitUntil { live.server.bufferedBodyBytes == 800_000 })

        let third = try live.client(timeout: 3)
        try third.send(partialBody(length: 400_000, sent: 1000))
        let refused = try third.readResponse()
        #expect(refused.status == 503)
        #expect(refused.errorType == "service_unavailable")
        #expect(refused.header("Retry-After") == "1")
        #expect(third.isClosedByServer())
        // A chunk that would pass the budget is refused the same way.
        let chunked = try live.client(timeout: 3)
        try chunked.send("POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n61a80\r\nxyz")
        #expect(try chunked.readResponse().status == 503)
        #expect(live.server.bufferedBodyBytes == 800_000)

        // Small requests still fit; a held body completes; a closed one gives its share back.
        let normal = try live.client()
        try normal.send(postRequest("/echo", json: "{}"))
        #expect(try normal.readResponse().status == 200)
        try holders[0].send(String(repeating: "x", count: 399_000))
        #expect(try holders[0].readResponse().status == 200)
        holders.removeAll()
        #expect(waitUntil { live.server.bufferedBodyBytes == 0 })
    }

    // MARK: 3. header and body clocks

    @Test func aSilentNewConnectionGetsTheHeaderTimeout() throws {
        var settings = ServerSettings()
        settings.headerTimeoutSeconds = 0.3
        let live = try LiveServer(settings: settings)
        let client = try live.client(timeout: 2)
        #expect(try client.readResponse().status == 408)
        #expect(client.isClosedByServer())
    }

    @Test func emptyLinesDoNotResetTheHeaderClock() throws {
        var settings = ServerSettings()
        settings.headerTimeoutSeconds = 0.4
        settings.idleTimeoutSeconds = 0.4
        let live = try LiveServer(settings: settings)
        let client = try live.client(timeout: 2)
        trickle(client.fd, "\r\n", every: 0.1, for: 2)
        let start = Date()
        #expect(try client.readResponse().status == 408)
        #expect(Date().timeIntervalSince(start) < 1)
    }

    @Test func aTrickledBodyTimesOutInTotal() throws {
        var settings = ServerSettings()
        settings.bodyTimeoutSeconds = 0.4
        let live = try LiveServer(settings: settings)
        let client = try live.client(timeout: 2)
        try client.send(partialBody(length: 1000, sent: 1))
        trickle(client.fd, "x", every: 0.1, for: 2)
        let start = Date()
        #expect(try client.readResponse().status == 408)
        #expect(Date().timeIntervalSince(start) < 1)
    }

    @Test func aFloodOfStalledConnectionsFreesItsSlotsWithinTheHeaderTimeout() throws {
        var settings = ServerSettings()
        settings.headerTimeoutSeconds = 0.5
        settings.bodyTimeoutSeconds = 0.5
        settings.maxConnections = 6
        let live = try LiveServer(settings: settings)
        var flood: [RawClient] = []
        for i in 0..<6 {
            let client = try live.client()
            switch i % 3 {
            case 0: break  // never sends a byte
            case 1: trickle(client.fd, "\r\n", every: 0.1, for: 3)
            default:
                try client.send(partialBody(length: 1000, sent: 1))
                trickle(client.fd, "x", every: 0.1, for: 3)
            }
            flood.append(client)
        }
        #expect(waitUntil { live.server.openConnections == 6 })
        let waited = try #require(secondsUntilHealthy(port: live.port))
        #expect(waited < 0.5 + 0.5)
        withExtendedLifetime(flood) {}
    }

    // MARK: 4. out of file descriptors

    @Test func outOfDescriptorsPausesAcceptingAndLogsOncePerInterval() throws {
        let calls = Counter()
        let logs = Counter()
        let server = HTTPServer(settings: ServerSettings(), loops: 1, handler: EchoHandler()) { _ in
            calls.add()
            errno = EMFILE
            return -1
        }
        server.acceptBackoffSeconds = 0.1
        server.descriptorLogInterval = 0.25
        server.logger = { entry in if entry.note.contains("out of file descriptors") { logs.add() } }
        let port = try server.start(listen: ListenAddress(host: "127.0.0.1", port: 0))
        defer { server.shutdown() }
        let waiting = try RawClient(port: port)  // stays in the backlog: the listener stays readable
        usleep(600_000)
        // One accept per pause (about 6 in 0.6 s), not a spin; one log line per 0.25 s.
        #expect(calls.value >= 2 && calls.value <= 12)
        #expect(logs.value >= 1 && logs.value <= 3)
        #expect(server.acceptPauses == calls.value)
        withExtendedLifetime(waiting) {}
    }

    // MARK: 5. half-closed clients

    @Test func aHalfClosedClientStillGetsItsAnswers() throws {
        let live = try LiveServer()
        let client = try live.client()
        // The first answer is delayed past the half-close; the second is pipelined behind it.
        try client.send("GET /later HTTP/1.1\r\nHost: a\r\n\r\nGET /echo?2 HTTP/1.1\r\nHost: a\r\n\r\n")
        client.shutdownWrite()
        #expect(try client.readResponse().text == "later")
        let last = try client.readResponse()
        #expect(last.text == "GET /echo?2 0 ")
        #expect(last.header("Connection") == "close")
        #expect(client.isClosedByServer())
        #expect(waitUntil { live.server.openConnections == 0 })
    }

    @Test func aHalfCloseInsideARequestClosesTheConnection() throws {
        let live = try LiveServer()
        let client = try live.client()
        try client.send(partialBody(length: 100, sent: 10))
        client.shutdownWrite()
        #expect(client.isClosedByServer())
        #expect(waitUntil { live.server.openConnections == 0 && live.server.bufferedBodyBytes == 0 })
    }

    // MARK: 6. pipelining after a malformed request

    @Test func requestsBeforeAMalformedOneAreAnsweredThenThe400() throws {
        let live = try LiveServer()
        let client = try live.client()
        try client.send("GET /later HTTP/1.1\r\nHost: a\r\n\r\nGET /echo?2 HTTP/1.1\r\nHost: a\r\n\r\n"
            + "HELLO THERE\r\n\r\nGET /echo?never HTTP/1.1\r\nHost: a\r\n\r\n")
        #expect(try client.readResponse().text == "later")
        #expect(try client.readResponse().text == "GET /echo?2 0 ")
        let refused = try client.readResponse()
        #expect(refused.status == 400)
        #expect(refused.errorType == "invalid_request_error")
        #expect(client.isClosedByServer())
    }
}

/// A thread-safe counter for callbacks.
final class Counter: Sendable {
    private let count = Atomic<Int>(0)
    func add() { count.add(1, ordering: .relaxed) }
    var value: Int { count.load(ordering: .relaxed) }
}
