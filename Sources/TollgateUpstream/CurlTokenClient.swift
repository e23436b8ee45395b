import CCurl
import CShims
import TollgateCore

/// Token work over HTTP (a refresh, an exchange, GitHub's device flow) with one libcurl easy
/// handle per call, performed on the calling thread. Blocking: the gateway calls it from its
/// credential worker queue and the CLI from its main thread, never from an event loop.
public struct CurlTokenClient: TokenHTTPClient {
    public init() {}

    /// At most this much of an answer is kept (token answers are a few kilobytes).
    static let maxBody = 1 << 20

    public func send(_ request: UpstreamRequest) -> Result<TokenHTTPResponse, TokenHTTPError> {
        _ = UpstreamClient.globalInit
        guard let easy = curl_easy_init() else { return .failure(TokenHTTPError("curl_easy_init failed")) }
        defer { curl_easy_cleanup(easy) }
        let sink = Sink()
        let me = Unmanaged.passUnretained(sink).toOpaque()
        _ = tg_curl_easy_setopt_string(easy, CURLOPT_URL, request.url)
        _ = tg_curl_easy_setopt_long(easy, CURLOPT_NOSIGNAL, 1)
        _ = tg_curl_easy_setopt_long(easy, CURLOPT_CONNECTTIMEOUT_MS, Int(request.connectTimeoutSeconds * 1000))
        _ = tg_curl_easy_setopt_long(easy, CURLOPT_TIMEOUT_MS, Int(request.timeoutSeconds * 1000))
        _ = tg_curl_easy_setopt_pointer(easy, CURLOPT_WRITEDATA, me)
        _ = tg_curl_easy_setopt_data_callback(easy, CURLOPT_WRITEFUNCTION) { data, size, count, userdata in
            let sink = Unmanaged<Sink>.fromOpaque(userdata!).takeUnretainedValue()
            let n = size * count
            guard sink.body.count + n <= CurlTokenClient.maxBody else { return 0 }
            if let data { sink.body.append(contentsOf: UnsafeRawBufferPointer(start: data, count: n)) }
            return n
        }
        if request.method == "GET" {
            _ = tg_curl_easy_setopt_long(easy, CURLOPT_HTTPGET, 1)
        } else {
            _ = tg_curl_easy_setopt_long(easy, CURLOPT_POST, 1)
            _ = tg_curl_easy_setopt_offt(easy, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(request.body.count))
            request.body.withUnsafeBufferPointer { buffer in
                let pointer = UnsafeMutableRawPointer(mutating: buffer.baseAddress ?? UnsafePointer(bitPattern: 1)!)
                _ = tg_curl_easy_setopt_pointer(easy, CURLOPT_COPYPOSTFIELDS, pointer)
            }
        }
        var list: UnsafeMutablePointer<curl_slist>?
        for (name, value) in request.headers { list = curl_slist_append(list, "\(name): \(value)") }
        list = curl_slist_append(list, "Expect:")
        defer { curl_slist_free_all(list) }
        _ = tg_curl_easy_setopt_slist(easy, CURLOPT_HTTPHEADER, list)
        let code = curl_easy_perform(easy)
        guard code == CURLE_OK else {
            return .failure(TokenHTTPError(String(cString: curl_easy_strerror(code))))
        }
        var status = 0
        _ = tg_curl_easy_getinfo_long(easy, CURLINFO_RESPONSE_CODE, &status)
        return .success(TokenHTTPResponse(status: status, body: sink.body))
    }

    private final class Sink {
        var body: [UInt8] = []
    }
}
