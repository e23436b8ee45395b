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
        // curl's error numbers are part of its ABI (curl.h); matched by value because the
        // release (whole-module) build does not resolve the imported constants in patterns.
        switch code.rawValue {
        case 5, 6, 7:  // COULDNT_RESOLVE_PROXY, COULDNT_RESOLVE_HOST, COULDNT_CONNECT
            kind = .connect
        case 28:  // OPERATION_TIMEDOUT
            kind = .timeout
        case 16, 18, 35, 52, 55, 56, 92:  // HTTP2, PARTIAL_FILE, SSL_CONNECT_ERROR, GOT_NOTHING, SEND_ERROR, RECV_ERROR, HTTP2_STREAM
            kind = .io
        default:
            kind = .other
        }
        let base = String(cString: curl_easy_strerror(code))
        message = detail.isEmpty ? base : "\(base): \(detail)"
    }

    public var description: String { message }
}
