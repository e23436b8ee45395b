import Dispatch
import Foundation
import Testing
import TollgateCore
@testable import TollgateLedger
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

    /// While the ledger's connection is held (a checkpoint's fsync, the other loop's commit, a
    /// report), a loop queues its rows instead of waiting: the answer still waits for its row,
    /// but the loop goes on serving other connections.
    @Test func aBusyLedgerHoldsTheAnswerButNotTheLoop() throws {
        let upstream = try Upstreams.healthy("held")
        let gate = try GatewayHarness(config: GatewayHarness.config([("a", upstream.baseURL, ["m"])]), loops: 1)
        let held = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
        let ledger = gate.ledger
        DispatchQueue.global().async {
            try? ledger.onQueue { () throws(SQLiteError) in
                held.signal()
                _ = release.wait(timeout: .now() + 30)
            }
        }
        held.wait()
        var released = false
        defer { if !released { release.signal() } }

        let chat = try gate.client()
        try chat.send(postRequest("/v1/chat/completions", json: chatBody(model: "m")))
        // Time for the upstream's answer to reach the loop, which then finds the ledger busy.
        usleep(300_000)
        // The only loop still answers another client...
        let other = try gate.client(timeout: 5)
        try other.send("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        let health = try other.readResponse()
        #expect(health.status == 200, "\(health.status) \(String(decoding: health.body, as: UTF8.self))")
        // ...while the chat answer waits for its row to be committed.
        var pfd = pollfd(fd: chat.fd, events: Int16(POLLIN), revents: 0)
        #expect(poll(&pfd, 1, 200) == 0)

        release.signal()
        released = true
        let answer = try chat.readResponse()
        #expect(answer.status == 200)
        let rows = try gate.ledgerRows(atLeast: 1)
        #expect(rows.map(\.outcome) == [.ok])
    }
}
