import Testing
import TollgateCore
@testable import TollgateHTTP

/// Feeds `text` to a parser in pieces of `split` bytes (0 = whole) and collects every request.
func parseAll(_ text: String, split: Int = 0, maxHeader: Int = 64 << 10, maxBody: Int = 1 << 20) throws(HTTPParseError)
    -> [HTTPRequest]
{
    var parser = HTTPParser(maxHeaderBytes: maxHeader, maxBodyBytes: maxBody)
    let bytes = Array(text.utf8)
    var out: [HTTPRequest] = []
    let size = split == 0 ? max(1, bytes.count) : split
    var offset = 0
    while offset < bytes.count {
        let end = min(offset + size, bytes.count)
        parser.append(Array(bytes[offset..<end]))
        while let request = try parser.next() { out.append(request) }
        offset = end
    }
    return out
}

func parseError(_ text: String, split: Int = 0, maxHeader: Int = 64 << 10, maxBody: Int = 1 << 20) -> HTTPParseError? {
    do {
        _ = try parseAll(text, split: split, maxHeader: maxHeader, maxBody: maxBody)
        return nil
    } catch {
        return error
    }
}

@Suite struct HTTPParserTests {
    static let pipeline =
        "GET /health HTTP/1.1\r\nHost: a\r\n\r\n"
        + "POST /v1/chat/completions HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\nContent-Length: 13\r\n\r\n{\"model\":\"x\"}"
        + "POST /upload?x=1 HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n7\r\n, world\r\n0\r\nX-Trailer: yes\r\n\r\n"
        + "GET /old HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"

    static let splits = [0, 1, 2, 3, 5, 7, 13, 64, 100]

    @Test(arguments: splits)
    func pipelinedRequestsParseIdenticallyAtAnySplit(split: Int) throws {
        let requests = try parseAll(Self.pipeline, split: split)
        #expect(requests.count == 4)
        #expect(requests[0].method == "GET")
        #expect(requests[0].path == "/health")
        #expect(requests[0].body.isEmpty)
        #expect(requests[0].keepAlive)
        #expect(requests[1].method == "POST")
        #expect(requests[1].headers["content-type"] == "application/json")
        #expect(String(decoding: requests[1].body, as: UTF8.self) == "{\"model\":\"x\"}")
        #expect(requests[2].target == "/upload?x=1")
        #expect(requests[2].path == "/upload")
        #expect(String(decoding: requests[2].body, as: UTF8.self) == "hello, world")
        #expect(requests[3].version == .http10)
        #expect(requests[3].keepAlive)
    }

    @Test(arguments: [("/v1/models", "/v1/models"), ("/a?b=1?c", "/a"), ("/a?", "/a"), ("?x", ""), ("", "")])
    func pathIsTheTargetBeforeItsFirstQuestionMark(target: String, path: String) {
        #expect(HTTPRequest(method: "GET", target: target).path == path)
    }

    @Test func connectionSemantics() throws {
        let close = try parseAll("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
        #expect(close[0].keepAlive == false)
        let old = try parseAll("GET / HTTP/1.0\r\n\r\n")
        #expect(old[0].keepAlive == false)
    }

    @Test func leadingEmptyLinesAndBareLFAreTolerated() throws {
        let requests = try parseAll("\r\n\r\nGET /a HTTP/1.1\nHost: a\n\n", split: 1)
        #expect(requests.count == 1)
        #expect(requests[0].path == "/a")
    }

    @Test func expectContinueIsReportedUntilTheBodyArrives() throws {
        var parser = HTTPParser()
        parser.append(Array("POST /x HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n".utf8))
        #expect(try parser.next() == nil)
        #expect(parser.expectsContinue)
        parser.continueSent()
        parser.append(Array("abc".utf8))
        let request = try #require(try parser.next())
        #expect(request.body == Array("abc".utf8))
        #expect(parser.expectsContinue == false)
    }

    @Test(arguments: [
        "GARBAGE\r\n\r\n",
        "GET /\r\nHost: a\r\n\r\n",
        "GET  / HTTP/1.1\r\nHost: a\r\n\r\n",
        "GET / HTTP/1.1 extra\r\nHost: a\r\n\r\n",
        "G(T / HTTP/1.1\r\nHost: a\r\n\r\n",
        "GET / HTTX/1.1\r\nHost: a\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\nNo colon here\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\nBad Name: x\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\r\n folded\r\n\r\n",
        "GET / HTTP/1.1\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: abc\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
        "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcdef\r\n0\r\n\r\n",
    ])
    func malformedRequestsAreBadRequests(text: String) {
        for split in [0, 1, 4] {
            guard case .badRequest = parseError(text, split: split) else {
                Issue.record("expected 400 for \(text.debugDescription) at split \(split), got \(String(describing: parseError(text, split: split)))")
                return
            }
        }
        #expect(parseError(text)?.gatewayError.status == 400)
    }

    @Test func unsupportedVersionIs505() {
        #expect(parseError("GET / HTTP/2.0\r\nHost: a\r\n\r\n") == .versionNotSupported("HTTP/2.0"))
        #expect(parseError("GET / HTTP/2.0\r\nHost: a\r\n\r\n")?.gatewayError.status == 505)
    }

    @Test func unsupportedTransferCodingIs501() {
        let error = parseError("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n")
        #expect(error == .unsupportedTransferCoding("gzip, chunked"))
        #expect(error?.gatewayError.status == 501)
    }

    @Test(arguments: [0, 1, 9])
    func headerBlockTooLargeIs431(split: Int) {
        let big = "GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + String(repeating: "x", count: 2000) + "\r\n\r\n"
        #expect(parseError(big, split: split, maxHeader: 1024) == .headersTooLarge(limit: 1024))
        // Even without the end of the head ever arriving.
        let endless = "GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + String(repeating: "x", count: 2000)
        #expect(parseError(endless, split: split, maxHeader: 1024) == .headersTooLarge(limit: 1024))
        #expect(parseError(big, maxHeader: 1024)?.gatewayError.status == 431)
    }

    @Test func bodyTooLargeIs413BeforeTheBodyArrives() {
        let declared = "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2000\r\n\r\n"
        #expect(parseError(declared, maxBody: 1000) == .bodyTooLarge(limit: 1000))
        #expect(parseError(declared, maxBody: 1000)?.gatewayError.status == 413)
        let chunked = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3e8\r\n" + String(repeating: "y", count: 1000)
            + "\r\n1\r\nz\r\n0\r\n\r\n"
        #expect(parseError(chunked, split: 7, maxBody: 1000) == .bodyTooLarge(limit: 1000))
    }

    @Test func errorsAreStickyAfterAFailure() {
        var parser = HTTPParser()
        parser.append(Array("BAD\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n".utf8))
        #expect(throws: HTTPParseError.self) { try parser.next() }
        #expect(throws: HTTPParseError.self) { try parser.next() }
    }
}
