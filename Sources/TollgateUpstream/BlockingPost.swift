import CCurl
import CShims
import TollgateCore

/// A plain HTTP POST that blocks its caller until it ends: for work on a queue of its own
/// (the trace exporter), never on an event loop. The answer body is read and discarded.
public enum BlockingPost {
    /// The response status, or why the request failed.
    public static func send(url: String, headers: [(String, String)], body: [UInt8],
                            timeoutSeconds: Double) -> Result<Int, UpstreamPostError> {
        guard let easy = curl_easy_init() else { return .failure(UpstreamPostError(message: "curl_easy_init failed")) }
        defer { curl_easy_cleanup(easy) }
        _ = tg_curl_easy_setopt_string(easy, CURLOPT_URL, url)
        _ = tg_curl_easy_setopt_long(easy, CURLOPT_NOSIGNAL, 1)
        _ = tg_curl_easy_setopt_long(easy, CURLOPT_POST, 1)
        _ = tg_curl_easy_setopt_long(easy, CURLOPT_CONNECTTIMEOUT_MS, Int(min(timeoutSeconds, 5) * 1000))
        _ = tg_curl_easy_setopt_long(easy, CURLOPT_TIMEOUT_MS, Int(timeoutSeconds * 1000))
        _ = tg_curl_easy_setopt_data_callback(easy, CURLOPT_WRITEFUNCTION) { _, size, count, _ in size * count }
        var list: UnsafeMutablePointer<curl_slist>?
        for (name, value) in headers { list = curl_slist_append(list, "\(name): \(value)") }
        list = curl_slist_append(list, "Expect:")
        defer { curl_slist_free_all(list) }
        _ = tg_curl_easy_setopt_slist(easy, CURLOPT_HTTPHEADER, list)
        let code: CURLcode = body.withUnsafeBufferPointer { buffer in
            _ = tg_curl_easy_setopt_offt(easy, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(buffer.count))
            _ = tg_curl_easy_setopt_pointer(easy, CURLOPT_POSTFIELDS, UnsafeMutableRawPointer(mutating: buffer.baseAddress))
            return curl_easy_perform(easy)
        }
        guard code == CURLE_OK else {
            return .failure(UpstreamPostError(message: String(cString: curl_easy_strerror(code))))
        }
        var status = 0
        _ = tg_curl_easy_getinfo_long(easy, CURLINFO_RESPONSE_CODE, &status)
        return .success(status)
    }
}

/// Why a `BlockingPost` failed (curl's own words).
public struct UpstreamPostError: Error, Sendable, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}
