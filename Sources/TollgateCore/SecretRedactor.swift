/// Removes secrets from text that came from an upstream (an error message that echoes the
/// key it was sent, `Incorrect API key provided: sk-…`) before it reaches a client, a log line
/// or the providers' health: every configured secret, and anything shaped like a provider key
/// (`sk-…`, `sk-ant-…`, `AIza…`, `AKIA…`/`ASIA…`, a `Bearer` token, a long random-looking token).
public struct SecretRedactor: Sendable {
    /// What a secret is replaced with.
    public static let mask = "[redacted]"
    /// Configured secrets, longest first (one may contain another).
    public let secrets: [String]

    /// `secrets` shorter than 6 characters are ignored: replacing them would garble ordinary text.
    public init(secrets: [String]) {
        self.secrets = Set(secrets.filter { $0.utf8.count >= 6 }).sorted { $0.utf8.count > $1.utf8.count }
    }

    /// `text` without configured secrets or key-shaped tokens.
    public func redact(_ text: String) -> String {
        var out = text
        for secret in secrets where out.contains(secret) {
            out = out.replacing(secret, with: Self.mask)
        }
        return Self.redactKeyShapedTokens(out)
    }

    /// `error` with its message and param redacted.
    public func redact(_ error: GatewayError) -> GatewayError {
        var e = error
        e.message = redact(e.message)
        e.param = e.param.map(redact)
        return e
    }

    /// `failure` with the error the client, the logs and the health see redacted.
    public func redact(_ failure: UpstreamFailure) -> UpstreamFailure {
        var f = failure
        f.error = redact(f.error)
        return f
    }

    // MARK: key shapes

    /// Replaces each run of token characters (`A-Z a-z 0-9 - _`) that looks like a key, and
    /// the token after `Bearer `.
    static func redactKeyShapedTokens(_ text: String) -> String {
        let bytes = Array(text.utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = 0
        var afterBearer = false
        while i < bytes.count {
            guard isTokenByte(bytes[i]) else {
                out.append(bytes[i])
                i += 1
                continue
            }
            var end = i
            while end < bytes.count, isTokenByte(bytes[end]) { end += 1 }
            let token = bytes[i..<end]
            if (afterBearer && token.count >= 12) || looksLikeKey(token) {
                out += Array(mask.utf8)
            } else {
                out += token
            }
            afterBearer = String(decoding: token, as: UTF8.self).lowercased() == "bearer"
                && end < bytes.count && bytes[end] == UInt8(ascii: " ")
            i = end
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Provider key prefixes with the least length a real key has, else 32+ characters
    /// mixing letters and digits (an opaque token, not a word or a model id).
    static func looksLikeKey(_ token: ArraySlice<UInt8>) -> Bool {
        let text = String(decoding: token, as: UTF8.self)
        if text.hasPrefix("sk-") || text.hasPrefix("sk_") { return token.count >= 16 }
        if text.hasPrefix("AIza") { return token.count >= 30 }
        if text.hasPrefix("AKIA") || text.hasPrefix("ASIA") { return token.count >= 16 }
        if text.hasPrefix("xai-") || text.hasPrefix("gsk_") || text.hasPrefix("fw_") { return token.count >= 20 }
        guard token.count >= 32 else { return false }
        let digits = token.filter { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }.count
        let letters = token.filter { isLetter($0) }.count
        return digits >= 4 && letters >= 8
    }

    static func isLetter(_ b: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(b) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(b)
    }

    static func isTokenByte(_ b: UInt8) -> Bool {
        isLetter(b) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(b) || b == UInt8(ascii: "-") || b == UInt8(ascii: "_")
    }
}
