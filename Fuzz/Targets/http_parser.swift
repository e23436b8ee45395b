import TollgateCore
import TollgateHTTP

/// What the parser made of a byte stream: the requests, then the error that stopped it, if any.
private struct Outcome: Equatable {
    struct Request: Equatable {
        var method: String
        var target: String
        var version: HTTPVersion
        var headers: HTTPHeaders
        var body: [UInt8]
    }
    var requests: [Request] = []
    var error: HTTPParseError?
    var partial = false
}

private func parse(_ chunks: [ArraySlice<UInt8>], maxHeaderBytes: Int, maxBodyBytes: Int) -> Outcome {
    var parser = HTTPParser(maxHeaderBytes: maxHeaderBytes, maxBodyBytes: maxBodyBytes)
    var outcome = Outcome()
    feeding: for chunk in chunks {
        parser.append(Array(chunk))
        while true {
            do {
                guard let request = try parser.next() else { break }
                outcome.requests.append(.init(method: request.method, target: request.target, version: request.version,
                                              headers: request.headers, body: request.body))
            } catch {
                outcome.error = error
                break feeding
            }
        }
    }
    outcome.partial = parser.hasPartialRequest
    return outcome
}

/// The request without its framing headers, which `serialize` replaces.
private func unframed(_ request: Outcome.Request) -> Outcome.Request {
    var copy = request
    copy.headers.remove("Content-Length")
    copy.headers.remove("Transfer-Encoding")
    return copy
}

/// A parsed request written back as bytes with a Content-Length body.
private func serialize(_ request: Outcome.Request) -> [UInt8] {
    var text = "\(request.method) \(request.target) \(request.version.text)\r\n"
    for (name, value) in request.headers
    where !name.equalsIgnoringASCIICase("Content-Length") && !name.equalsIgnoringASCIICase("Transfer-Encoding") {
        text += "\(name): \(value)\r\n"
    }
    text += "Content-Length: \(request.body.count)\r\n\r\n"
    return Array(text.utf8) + request.body
}

/// The HTTP/1.1 request parser: fed whole and in pieces it must agree, and every request it
/// accepts, written back out, must parse to the same request.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    var input = FuzzInput(data, size)
    let mode = input.byte()
    let seed = input.byte()
    // Small limits half the time so the limit paths are reached by small inputs.
    let maxHeaderBytes = mode & 1 == 0 ? 64 << 10 : 64 + Int(mode >> 1)
    let maxBodyBytes = mode & 1 == 0 ? 1 << 20 : Int(mode >> 1)
    let bytes = input.rest

    let whole = parse([bytes], maxHeaderBytes: maxHeaderBytes, maxBodyBytes: maxBodyBytes)
    let split = parse(pieces(bytes, seed: seed), maxHeaderBytes: maxHeaderBytes, maxBodyBytes: maxBodyBytes)
    require(whole == split, "whole \(whole) != split \(split)")

    for request in whole.requests {
        require(request.version == .http10 || request.headers.values("Host").count == 1, "HTTP/1.1 without one Host")
        let again = parse([serialize(request)[...]], maxHeaderBytes: 1 << 20, maxBodyBytes: 1 << 20)
        require(again.requests.map(unframed) == [unframed(request)] && again.error == nil && !again.partial,
                "round trip of \(request) gave \(again)")
    }
    return 0
}
