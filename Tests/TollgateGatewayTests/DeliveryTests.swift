import Foundation
import Testing
import TollgateCore
import TollgateTestSupport

/// `ok` is recorded only for an answer that left tollgate: when the client's connection dies
/// after the row was committed but before the answer's last bytes were sent, the row becomes
/// `client_cancelled`.
@Suite struct DeliveryTests {
    @Test func anAnswerThatNeverLeftIsNotBookedOK() throws {
        // A large answer the client never reads: it cannot all be sent.
        let text = String(repeating: "y", count: 8 << 20)
        let upstream = try FakeUpstream { _, conn in
            try conn.respond(status: 200, body: Canned.completion(model: "m", text: text))
        }
        let gate = try GatewayHarness(config: GatewayHarness.config([("a", upstream.baseURL, ["m"])]))
        var client: RawClient? = try gate.client()
        let fd = client!.fd
        var small: Int32 = 4096
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, socklen_t(MemoryLayout<Int32>.size))
        try client!.send(postRequest("/v1/chat/completions", json: chatBody(model: "m")))
        // The row is committed (ok) before the answer is written.
        let committed = try gate.ledgerRows(atLeast: 1)
        #expect(committed.first?.outcome == .ok)
        // The client goes away with most of the answer unsent: closed with SO_LINGER 0, so the
        // kernel resets the connection. (A shutdown alone left it open when the client's receive
        // window was already closed: tollgate then waited on zero-window probes, and the test
        // depended on how far the answer had got.)
        var linger = linger(l_onoff: 1, l_linger: 0)
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<linger>.size))
        client = nil
        // Generous: on a loaded machine (the whole suite in parallel) the re-booking can take seconds.
        let deadline = Date().addingTimeInterval(20)
        var rows = try gate.ledger.allRows()
        while rows.first?.outcome == .ok, Date() < deadline {
            usleep(20_000)
            rows = try gate.ledger.allRows()
        }
        #expect(rows.count == 1)
        #expect(rows.first?.outcome == .clientCancelled)
        #expect(rows.first?.status == 499)
    }

    @Test func aDeliveredAnswerStaysOK() throws {
        let upstream = try Upstreams.healthy("delivered")
        let gate = try GatewayHarness(config: GatewayHarness.config([("a", upstream.baseURL, ["m"])]))
        let response = try gate.chat(chatBody(model: "m"))
        #expect(response.status == 200)
        usleep(100_000)
        #expect(try gate.ledger.allRows().map(\.outcome) == [.ok])
    }
}
