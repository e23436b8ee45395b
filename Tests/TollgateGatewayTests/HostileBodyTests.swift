import Foundation
import Testing
import TollgateCore
import TollgateLedger
import TollgateTestSupport

/// Hostile request bodies and clients through the whole gateway: each gets its status, no
/// upstream is asked, and a normal client meanwhile still gets `/health` at once.
@Suite struct HostileBodyTests {
    private static func gateway() throws -> (FakeUpstream, GatewayHarness) {
        let upstream = try FakeUpstream { request, conn in
            try conn.respond(status: 200, body: Canned.completion(model: request.json?["model"] as? String ?? "m"))
        }
        return (upstream, try GatewayHarness(config: GatewayHarness.config([("up", upstream.baseURL, ["m"])])))
    }

    private func expectHealthy(_ gate: GatewayHarness) throws {
        let client = try gate.client(timeout: 1)
        let start = Date()
        try client.send("GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n")
        #expect(try client.readResponse().status == 200)
        #expect(Date().timeIntervalSince(start) < 0.5)
    }

    @Test func deeplyNestedJSONGets400() throws {
        let (upstream, gate) = try Self.gateway()
        let deep = String(repeating: "[", count: 5000) + String(repeating: "]", count: 5000)
        let response = try gate.chat(chatBody(model: "m", extra: #","metadata":\#(deep)"#))
        #expect(response.status == 400)
        #expect(response.errorType == "invalid_request_error")
        try expectHealthy(gate)
        #expect(upstream.requests.isEmpty)
    }

    @Test func invalidUTF8InTheBodyGets400() throws {
        let (upstream, gate) = try Self.gateway()
        let client = try gate.client()
        var body = Array(#"{"model":"m","messages":[{"role":"user","content":"bad "#.utf8)
        body += [0xC3, 0x28, 0xFF, 0xFE]
        body += Array(#""}]}"#.utf8)
        try client.send("POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
            + "Content-Length: \(body.count)\r\n\r\n")
        try client.send(body)
        let response = try client.readResponse()
        #expect(response.status == 400)
        #expect(response.errorType == "invalid_request_error")
        try expectHealthy(gate)
        #expect(upstream.requests.isEmpty)
    }

    /// A client that half-closes after its request (`shutdown(SHUT_WR)`) still gets the answer,
    /// and the ledger's `ok` is for an answer that was delivered.
    @Test func aHalfClosedClientGetsItsAnswerAndTheLedgerSaysOK() throws {
        let (_, gate) = try Self.gateway()
        let client = try gate.client()
        try client.send(postRequest("/v1/chat/completions", json: chatBody(model: "m")))
        client.shutdownWrite()
        let response = try client.readResponse()
        #expect(response.status == 200)
        #expect(response.json?["choices"] != nil)
        #expect(client.isClosedByServer())
        let rows = try gate.ledgerRows(atLeast: 1)
        #expect(rows.map(\.outcome) == [.ok])
    }
}
