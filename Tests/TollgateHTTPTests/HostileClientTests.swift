import Foundation
import Testing
import TollgateCore
import TollgateTestSupport
@testable import TollgateHTTP

/// Clients that misbehave on purpose, on loopback with lowered limits: each gets its status
/// (or its timeout), and a normal client meanwhile still gets `/health` at once.
@Suite struct HostileClientTests {
    /// A normal client is served quickly while `client` misbehaves.
    private func expectHealthy(_ live: LiveServer) {
        let waited = secondsUntilHealthy(port: live.port, limit: 2)
        #expect(waited != nil && waited! < 0.5)
    }

    @Test func slowlorisHeadersTimeOut() throws {
        var settings = ServerSettings()
        settings.headerTimeoutSeconds = 0.5
        let live = try LiveServer(settings: settings)
        let client = try live.client(timeout: 3)
        try client.send("GET /echo HTTP/1.1\r\n")
        trickle(client.fd, "X-Slow: y\r\n", every: 0.05, for: 3)
        expectHealthy(live)
        let start = Date()
        #expect(try client.readResponse().status == 408)
        #expect(Date().timeIntervalSince(start) < 1)
    }

    @Test func hugeHeadersGet431() throws {
        var settings = ServerSettings()
        settings.maxHeaderBytes = 8192
        let live = try LiveServer(settings: settings)
        let client = try live.client()
        let lines = (0..<200).map { "X-Filler-\($0): " + String(repeating: "h", count: 100) + "\r\n" }.joined()
        try? client.send("GET /echo HTTP/1.1\r\nHost: a\r\n" + lines + "\r\n")
        let response = try client.readResponse()
        #expect(response.status == 431)
        #expect(response.json?["error"] != nil)
        expectHealthy(live)
    }

    @Test(arguments: [
        ("Content-Length: 5\r\nTransfer-Encoding: chunked\r\n", 400),
        ("Content-Length: 5\r\nContent-Length: 6\r\n", 400),
        ("Content-Length: 5, 6\r\n", 400),
        ("Transfer-Encoding: chunked, identity\r\n", 501),
        ("Transfer-Encoding: identity, chunked\r\n", 501),
        ("Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n", 501),
        ("Content-Length: +5\r\n", 400),
    ])
    func smugglingAttemptsAreRefusedAndClosed(framing: String, status: Int) throws {
        let live = try LiveServer()
        let client = try live.client()
        try client.send("POST /echo HTTP/1.1\r\nHost: a\r\n" + framing + "\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n")
        let response = try client.readResponse()
        #expect(response.status == status)
        #expect(response.json?["error"] != nil)
        // Nothing after the refused request is read as a request of its own.
        #expect(client.isClosedByServer())
        expectHealthy(live)
    }

    @Test func aClientThatClosesMidBodyIsForgotten() throws {
        let live = try LiveServer()
        do {
            let client = try live.client()
            try client.send(partialBody(length: 10_000, sent: 100))
            #expect(waitUntil { live.server.bufferedBodyBytes == 10_000 })
        }
        #expect(waitUntil { live.server.openConnections == 0 && live.server.bufferedBodyBytes == 0 })
        #expect(live.server.requestsInFlight == 0)
        expectHealthy(live)
    }
}
