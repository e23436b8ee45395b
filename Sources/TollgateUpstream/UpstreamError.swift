import CCurl

/// Why an upstream transfer failed below HTTP: curl's code and message, classified.
public struct UpstreamError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// Could not resolve or connect: nothing was sent.
        case connect
        /// The connect or total timeout expired.
        case timeout
        /// The connection broke while sending or receiving.
        case io
        case other
    }

    public let kind: Kind
    public let curlCode: Int
    public let message: String

    init(code: CURLcode, detail: String) {
        curlCode = Int(code.rawValue)
        switch code {
        case CURLE_COULDNT_CONNECT, CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY:
            kind = .connect
        case CURLE_OPERATION_TIMEDOUT:
            kind = .timeout
        case CURLE_RECV_ERROR, CURLE_SEND_ERROR, CURLE_PARTIAL_FILE, CURLE_GOT_NOTHING, CURLE_HTTP2,
             CURLE_HTTP2_STREAM, CURLE_SSL_CONNECT_ERROR:
            kind = .io
        default:
            kind = .other
        }
        let base = String(cString: curl_easy_strerror(code))
        message = detail.isEmpty ? base : "\(base): \(detail)"
    }

    public var description: String { message }
}
