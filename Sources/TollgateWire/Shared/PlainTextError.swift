import TollgateCore

/// The fallback every error decoder uses for a body it cannot read as its provider's JSON (a
/// proxy's HTML page, plain text, nothing at all): the status and the body's first bytes.
enum PlainTextError {
    /// How much of an unreadable body the message quotes.
    static let quotedBytes = 2000

    /// `The upstream answered HTTP 502: <text>`, or a note that the body was empty.
    static func message(status: Int, body: [UInt8]) -> String {
        let text = String(decoding: body.prefix(quotedBytes), as: UTF8.self).trimmingWhitespace()
        return text.isEmpty ? "The upstream answered HTTP \(status) with an empty body."
            : "The upstream answered HTTP \(status): \(text)"
    }

    /// The whole error: OpenAI's type for the status, the quoted body, and the headers' retry-after.
    static func error(status: Int, headers: HTTPHeaders, body: [UInt8]) -> GatewayError {
        GatewayError(status: status, type: GatewayError.openAIType(forStatus: status),
                     message: message(status: status, body: body), retryAfter: RetryAfter.seconds(headers))
    }
}
