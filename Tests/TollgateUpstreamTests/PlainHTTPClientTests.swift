import Dispatch
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Testing
import TollgateCore
import TollgateTestSupport
@testable import TollgateUpstream

/// The built-in plain-HTTP client's own parts: which URLs it takes, the request bytes, the
/// response reader at every split of its input, and connection reuse against fake upstreams.
@Suite struct PlainHTTPClientTests {
    // MARK: targets

    @Test func numericHTTPURLsAreTakenAndEverythingElseIsLeftToCurl() throws {
        let v4 = try #require(PlainTarget(url: "http://127.0.0.1:8080/v1/chat/completions?x=1"))
        #expect(v4.addresses == ["127.0.0.1"])
        #expect(v4.port == 8080)
        #expect(v4.authority == "127.0.0.1:8080")
        #expect(v4.target == "/v1/chat/completions?x=1")
        let v6 = try #require(PlainTarget(url: "http://[::1]:11434/api/chat"))
        #expect(v6.addresses == ["::1"])
        #expect(v6.authority == "[::1]:11434")
        let local = try #require(PlainTarget(url: "HTTP://localhost/v1"))
        #expect(local.addresses == ["127.0.0.1", "::1"])
        #expect(local.port == 80)
        #expect(PlainTarget(url: "http://10.0.0.2:1")?.target == "/")
        for url in ["https://127.0.0.1/v1", "http://api.example.com/v1", "http://user:pw@127.0.0.1/v1",
                    "http://127.0.0.1:0/v1", "http://127.0.0.1:99999/", "http://127.0.0.1:/v1", "http://[::1/v1",
                    "http://256.0.0.1/v1", "http://127.0.0.1/a b", "http:///v1", "ftp://127.0.0.1/"] {
            #expect(PlainTarget(url: url) == nil, "\(url)")
        }
    }

    @Test func theRequestCarriesHostLengthAndNoLineBreakingHeader() throws {
        var headers = HTTPHeaders()
        headers.add("Authorization", "Bearer k")
        headers.add("X-Evil", "a\r\nX-Injected: 1")
        let request = UpstreamRequest(url: "http://127.0.0.1:9/v1/x", headers: headers, body: Array("{}".utf8))
        let plain = PlainRequest(request, target: try #require(PlainTarget(url: request.url)))
        #expect(String(decoding: plain.bytes, as: UTF8.self)
            == "POST /v1/x HTTP/1.1\r\nAuthorization: Bearer k\r\nHost: 127.0.0.1:9\r\nContent-Length: 2\r\n\r\n{}")
        let get = PlainRequest(UpstreamRequest(method: "GET", url: "http://127.0.0.1:9/m"), target: PlainTarget(url: "http://127.0.0.1:9/m")!)
        #expect(String(decoding: get.bytes, as: UTF8.self) == "GET /m HTTP/1.1\r\nHost: 127.0.0.1:9\r\n\r\n")
    }

    // MARK: the response reader

    /// Feeds `wire` to a parser in pieces of `size` bytes; returns status, body and whether it completed.
    static func read(_ wire: String, pieces size: Int) throws -> (status: Int, body: String, complete: Bool, keepAlive: Bool) {
        var parser = ResponseParser()
        var body: [UInt8] = []
        var status = 0
        let bytes = Array(wire.utf8)
        var start = 0
        var complete = false
        while start < bytes.count, !complete {
            let end = min(start + size, bytes.count)
            let result = try bytes[start..<end].withUnsafeBytes { piece in
                try parser.feed(piece, head: { s, _ in status = s; return true }, body: { body += $0; return .taken })
            }
            complete = result.stop == .complete
            start = end
        }
        if !complete { complete = parser.finishAtClose() }
        return (status, String(decoding: body, as: UTF8.self), complete, parser.keepAlive)
    }

    static let sizes = [1, 2, 7, 64, 1 << 20]

    @Test(arguments: sizes) func framingByLengthChunksAndClose(_ size: Int) throws {
        let length = try Self.read("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX: y\r\n\r\nhello", pieces: size)
        #expect(length.status == 200 && length.body == "hello" && length.complete && length.keepAlive)

        let chunked = try Self.read("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
            + "5;ext=1\r\nhello\r\n1A\r\n abcdefghijklmnopqrstuvwxy\r\n0\r\nTrailer: t\r\n\r\n", pieces: size)
        #expect(chunked.body == "hello abcdefghijklmnopqrstuvwxy" && chunked.complete && chunked.keepAlive)

        let informational = try Self.read("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok", pieces: size)
        #expect(informational.status == 201 && informational.body == "ok" && informational.complete)

        let untilClose = try Self.read("HTTP/1.1 200 OK\r\n\r\nstream until the end", pieces: size)
        #expect(untilClose.body == "stream until the end" && untilClose.complete && !untilClose.keepAlive)

        let bareLF = try Self.read("HTTP/1.0 404 Not Found\nContent-Length: 0\n\n", pieces: size)
        #expect(bareLF.status == 404 && bareLF.body == "" && bareLF.complete && !bareLF.keepAlive)

        let closing = try Self.read("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\nx", pieces: size)
        #expect(closing.complete && !closing.keepAlive)

        let noContent = try Self.read("HTTP/1.1 204 No Content\r\n\r\n", pieces: size)
        #expect(noContent.status == 204 && noContent.complete && noContent.keepAlive)
    }

    @Test func malformedResponsesAreRefused() {
        for wire in ["SSH-2.0-OpenSSH\r\n\r\n", "HTTP/1.1 2x0 OK\r\n\r\n", "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
                     "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
                     "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
                     "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n",
                     "HTTP/1.1 101 Switching Protocols\r\n\r\n", "HTTP/1.1 200 OK\r\nno colon here\r\n\r\n"] {
            #expect(throws: ResponseParser.Failure.self, "\(wire)") { try Self.read(wire, pieces: 1 << 20) }
        }
        let huge = "HTTP/1.1 200 OK\r\n" + String(repeating: "X-Pad: 0123456789abcdef\r\n", count: 4000)
        #expect(throws: ResponseParser.Failure.self) { try Self.read(huge, pieces: 1000) }
    }

    @Test func aPausedPieceIsGivenAgain() throws {
        var parser = ResponseParser()
        let wire = Array("HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nabcdef".utf8)
        var taken: [UInt8] = []
        var pause = true
        let first = try wire.withUnsafeBytes { bytes in
            try parser.feed(bytes, head: { _, _ in true }, body: { piece in
                if pause { return .pause }
                taken += piece
                return .taken
            })
        }
        #expect(first.stop == .paused)
        #expect(first.consumed == wire.count - 6)
        pause = false
        let second = try wire[first.consumed...].withUnsafeBytes { bytes in
            try parser.feed(bytes, head: { _, _ in true }, body: { taken += $0; return .taken })
        }
        #expect(second.stop == .complete && taken == Array("abcdef".utf8))
    }

    // MARK: connections

    @Test func anIdleConnectionTheServerClosedIsNotUsedAgain() throws {
        let upstream = try FakeUpstream { request, conn in
            try conn.respond(status: 200, body: "answer to \(request.path)")
            conn.close()  // without saying `Connection: close`
        }
        defer { upstream.stop() }
        let loop = Loop(.builtin)
        defer { loop.close() }
        #expect(try loop.run(UpstreamRequest(url: upstream.baseURL + "/a")).body == "answer to /v1/a")
        #expect(try loop.run(UpstreamRequest(url: upstream.baseURL + "/b")).body == "answer to /v1/b")
        #expect(upstream.requests.map(\.path) == ["/v1/a", "/v1/b"])
        #expect(upstream.connectionsAccepted == 2)
    }

    @Test func aReusedConnectionThatDiesBeforeAnsweringIsRetriedOnceOnANewOne() throws {
        let counts = Counts()
        let upstream = try FakeUpstream { request, conn in
            // The second request on any connection is read and dropped, as by a server that
            // closed an idle keep-alive connection just as the request arrived.
            if counts.next(conn) == 2 { return conn.close() }
            try conn.respond(status: 200, body: "answer to \(request.path)")
        }
        defer { upstream.stop() }
        let loop = Loop(.builtin)
        defer { loop.close() }
        #expect(try loop.run(UpstreamRequest(url: upstream.baseURL + "/a")).body == "answer to /v1/a")
        let second = try loop.run(UpstreamRequest(url: upstream.baseURL + "/b"))
        #expect(second.events.last == .complete(nil))
        #expect(second.body == "answer to /v1/b")
        #expect(upstream.requests.map(\.path) == ["/v1/a", "/v1/b", "/v1/b"])
        #expect(upstream.connectionsAccepted == 2)
    }

    @Test func aNewConnectionClosedWithoutAnAnswerIsAnErrorNotARetry() throws {
        let upstream = try FakeUpstream { _, conn in conn.close() }
        defer { upstream.stop() }
        let loop = Loop(.builtin)
        defer { loop.close() }
        let recorder = try loop.run(UpstreamRequest(url: upstream.baseURL + "/x"))
        let error = try #require(recorder.error)
        #expect(error.kind == .io)
        #expect(error.curlCode == 52)
        #expect(upstream.requests.count == 1)
    }

    @Test func aConnectionCloseAnswerIsNotReused() throws {
        let upstream = try FakeUpstream { _, conn in
            try conn.respond(status: 200, headers: [("Connection", "close")], body: "bye")
        }
        defer { upstream.stop() }
        let loop = Loop(.builtin)
        defer { loop.close() }
        #expect(try loop.run(UpstreamRequest(url: upstream.baseURL + "/a")).body == "bye")
        #expect(try loop.run(UpstreamRequest(url: upstream.baseURL + "/b")).body == "bye")
        #expect(upstream.connectionsAccepted == 2)
    }

    @Test func localhostIsTriedAtItsAddresses() throws {
        let upstream = try FakeUpstream { _, conn in try conn.respond(status: 200, body: "local") }
        defer { upstream.stop() }
        let loop = Loop(.builtin)
        defer { loop.close() }
        let url = "http://localhost:\(upstream.port)/v1/x"
        let transfer = loop.queue.sync { loop.client.makeTransfer(UpstreamRequest(url: url), delegate: Recorder()) }
        #expect(transfer.plain != nil)
        #expect(try loop.run(UpstreamRequest(url: url)).body == "local")
        let named = loop.queue.sync { loop.client.makeTransfer(UpstreamRequest(url: "http://upstream.invalid/x"), delegate: Recorder()) }
        #expect(named.plain == nil && named.easy != nil)
    }

    @Test func closingTheClientClosesEachSocketOnce() throws {
        let upstream = try FakeUpstream { _, conn in try conn.respond(status: 200, body: "ok") }
        defer { upstream.stop() }
        let loop = Loop(.builtin)
        #expect(try loop.run(UpstreamRequest(url: upstream.baseURL + "/a")).body == "ok")
        // `close()` closes the idle connection; a descriptor opened right after takes the freed
        // number, and the work the loop runs next must not close it a second time.
        var fds: [Int32] = [-1, -1]
        var taken: Int32 = -1
        loop.queue.sync {
            let socket = loop.client.plain.connections.keys.first ?? -1
            loop.client.close()
            _ = pipe(&fds)
            // The socket's number now belongs to the pipe.
            taken = socket >= 0 && fcntl(socket, F_GETFD) < 0 ? dup2(fds[0], socket) : -1
        }
        defer { for fd in fds + [taken] where fd >= 0 { _ = Glibc.close(fd) } }
        #expect(taken >= 0)
        Thread.sleep(forTimeInterval: 0.05)
        loop.queue.sync {}
        #expect(fcntl(taken, F_GETFD) >= 0)
    }

    @Test func aPausedTransferGetsEveryByteAfterItResumes() throws {
        let piece = String(repeating: "x", count: 100_000)
        let upstream = try FakeUpstream { _, conn in
            try conn.startStream()
            for _ in 0..<20 { try conn.chunk(piece) }
            try conn.endChunks()
        }
        defer { upstream.stop() }
        let loop = Loop(.builtin)
        defer { loop.close() }
        let recorder = Recorder()
        recorder.pauseOnFirstBody = true
        let transfer = loop.start(UpstreamRequest(url: upstream.baseURL + "/s"), recorder: recorder)
        #expect(recorder.waitForBody(timeout: 10))
        Thread.sleep(forTimeInterval: 0.3)
        let before = recorder.body.utf8.count
        #expect(before < 2_000_000)
        loop.queue.sync { transfer.resume() }
        #expect(recorder.waitForCompletion(timeout: 20))
        #expect(recorder.body.utf8.count == 2_000_000)
        #expect(recorder.events.last == .complete(nil))
    }
}

/// Requests seen per fake-upstream connection.
final class Counts: @unchecked Sendable {
    private let lock = NSLock()
    private var counts: [ObjectIdentifier: Int] = [:]
    func next(_ connection: UpstreamConnection) -> Int {
        lock.withLock {
            counts[ObjectIdentifier(connection), default: 0] += 1
            return counts[ObjectIdentifier(connection)]!
        }
    }
}
