import TollgateCore

/// Where a plain-HTTP request goes: the addresses to connect to, in order, and what the
/// request line and `Host` header say. Only `http://` URLs whose host is a numeric IPv4 or
/// IPv6 address or `localhost` qualify; anything else (TLS, names that need DNS, user info
/// in the URL) is left to curl.
struct PlainTarget: Equatable {
    /// Numeric addresses tried in order until one accepts (`localhost`: 127.0.0.1, then ::1).
    var addresses: [String]
    var port: Int
    /// The `Host` header: the URL's authority as written (`127.0.0.1:8080`, `[::1]:8080`).
    var authority: String
    /// The request target: path and query (`/v1/chat/completions?x=1`).
    var target: String
    /// What identifies a reusable connection: the same addresses and port.
    var poolKey: String { addresses[0] + " " + String(port) }

    init?(url: String) {
        var rest = Substring(url)
        guard rest.utf8.count > 7, rest.prefix(7).lowercased() == "http://" else { return nil }
        rest = rest.dropFirst(7)
        let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? rest.endIndex
        let authority = rest[..<authorityEnd]
        var path = rest[authorityEnd...]
        if let fragment = path.firstIndex(of: "#") { path = path[..<fragment] }
        guard !authority.isEmpty, !authority.contains("@") else { return nil }
        var host: Substring
        var portText: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return nil }
            host = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { return nil }
                portText = after.dropFirst()
            }
        } else if let colon = authority.lastIndex(of: ":") {
            host = authority[..<colon]
            portText = authority[authority.index(after: colon)...]
        } else {
            host = authority
        }
        if let portText {
            guard !portText.isEmpty, portText.count <= 5, portText.allSatisfy(\.isASCIIDigit), let p = Int(portText),
                  p > 0, p < 65536 else { return nil }
            port = p
        } else {
            port = 80
        }
        if host.lowercased() == "localhost" {
            addresses = ["127.0.0.1", "::1"]
        } else if Self.isNumericIPv4(host) || (authority.hasPrefix("[") && Self.isNumericIPv6(host)) {
            addresses = [String(host)]
        } else {
            return nil
        }
        self.authority = String(authority)
        target = path.isEmpty ? "/" : (path.hasPrefix("?") ? "/" + path : String(path))
        // Anything but printable ASCII in the target would need encoding curl does itself.
        guard target.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else { return nil }
    }

    static func isNumericIPv4(_ host: Substring) -> Bool {
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts.allSatisfy { part in
            !part.isEmpty && part.count <= 3 && part.allSatisfy(\.isASCIIDigit) && Int(part)! <= 255
        }
    }

    static func isNumericIPv6(_ host: Substring) -> Bool {
        !host.isEmpty && host.contains(":") && host.allSatisfy { $0.isHexDigit || $0 == ":" || $0 == "." }
    }
}

/// One request for the plain-HTTP client: where it goes, its bytes on the wire, and its timeouts.
struct PlainRequest {
    let target: PlainTarget
    let bytes: [UInt8]
    let connectTimeoutSeconds: Double
    let timeoutSeconds: Double

    /// The HTTP/1.1 request for `request` to `target`. Header lines carrying CR or LF are
    /// left out (they could not be sent as one header); `Host` and `Content-Length` are added
    /// unless the request has them.
    init(_ request: UpstreamRequest, target: PlainTarget) {
        self.target = target
        connectTimeoutSeconds = request.connectTimeoutSeconds
        timeoutSeconds = request.timeoutSeconds
        var out: [UInt8] = []
        out.reserveCapacity(256 + request.body.count)
        out.append(contentsOf: request.method.utf8)
        out.append(0x20)
        out.append(contentsOf: target.target.utf8)
        out.append(contentsOf: " HTTP/1.1\r\n".utf8)
        var hasHost = false
        var hasLength = false
        for (name, value) in request.headers {
            guard !name.isEmpty, !name.utf8.contains(where: Self.breaksLine), !value.utf8.contains(where: Self.breaksLine)
            else { continue }
            if !hasHost, name.equalsIgnoringASCIICase("host") { hasHost = true }
            if !hasLength, name.equalsIgnoringASCIICase("content-length") { hasLength = true }
            out.append(contentsOf: name.utf8)
            out.append(contentsOf: ": ".utf8)
            out.append(contentsOf: value.utf8)
            out.append(contentsOf: "\r\n".utf8)
        }
        if !hasHost {
            out.append(contentsOf: "Host: ".utf8)
            out.append(contentsOf: target.authority.utf8)
            out.append(contentsOf: "\r\n".utf8)
        }
        let sendsBody = request.method != "GET" && request.method != "HEAD"
        if !hasLength, sendsBody || !request.body.isEmpty {
            out.append(contentsOf: "Content-Length: ".utf8)
            out.append(contentsOf: String(request.body.count).utf8)
            out.append(contentsOf: "\r\n".utf8)
        }
        out.append(contentsOf: "\r\n".utf8)
        if sendsBody { out.append(contentsOf: request.body) }
        bytes = out
    }

    static func breaksLine(_ byte: UInt8) -> Bool { byte == 0x0D || byte == 0x0A || byte == 0 }
}

fileprivate extension Character {
    var isASCIIDigit: Bool { isASCII && isNumber }
}
