import CCurl
import CShims
import TollgateCore

extension UpstreamClient {
    /// Who signs a request that carries `awsSigV4` (Bedrock with an access key pair).
    public enum SigV4Signer: Sendable {
        /// libcurl when `curlSignsSigV4Correctly`, else tollgate.
        case automatic
        /// libcurl (`CURLOPT_AWS_SIGV4`) whatever its version, e.g. to test curl's own signing.
        case curl
        /// tollgate's `SigV4`, with the date of the moment the transfer is made.
        case tollgate
    }

    /// The linked libcurl's version as `0xXXYYZZ` (8.14.0 is `0x080E00`). `CURLVERSION_NOW` is a
    /// macro alias Swift cannot import; `version_num` is filled for every age, the first included.
    public static let curlVersionNumber: UInt32 = curl_version_info(CURLVERSION_FIRST)?.pointee.version_num ?? 0

    /// True when libcurl signs Bedrock requests as AWS checks them: since 8.14.0 it encodes the
    /// path once more for services other than S3, so a model id sent with `%3A` is signed as
    /// `%253A`. Older versions sign the path as sent, which AWS rejects.
    public static let curlSignsSigV4Correctly = curlVersionNumber >= 0x080E00

    /// Since 8.3.0 curl leaves out of its signature a header line that removes a header (`Expect:`).
    static let curlSignsOnlySentHeaders = curlVersionNumber >= 0x080300

    /// Arranges the SigV4 signature of `request`: sets curl's signing options and returns true, or
    /// adds tollgate's signature to `headers` (which curl then sends unchanged) and returns false.
    func prepareSigV4(for request: UpstreamRequest, easy: UnsafeMutableRawPointer, headers: inout HTTPHeaders) -> Bool {
        guard let option = request.awsSigV4, let credentials = request.awsCredentials else { return false }
        let curlSigns = switch sigV4Signer {
        case .automatic: Self.curlSignsSigV4Correctly
        case .curl: true
        case .tollgate: false
        }
        if curlSigns {
            _ = tg_curl_easy_setopt_string(easy, CURLOPT_AWS_SIGV4, option)
            _ = tg_curl_easy_setopt_string(easy, CURLOPT_USERNAME, credentials.accessKey)
            _ = tg_curl_easy_setopt_string(easy, CURLOPT_PASSWORD, credentials.secretKey)
            return true
        }
        // curl sends every header line as given except those with an empty value, which it drops;
        // it adds Host from the URL (signed from the URL too) and unsigned defaults such as Accept.
        let sent = headers.entries.filter { !$0.value.trimmingWhitespaceASCII().isEmpty }.map { ($0.name, $0.value) }
        let scope = SigV4.scope(curlOption: option, url: request.url)
        let signature = SigV4.sign(method: request.method, url: request.url, headers: sent,
                                   body: request.method == "GET" ? [] : request.body,
                                   date: SigV4.timestamp(secondsSince1970: sigV4Clock()),
                                   region: scope.region, service: scope.service,
                                   accessKey: credentials.accessKey, secretKey: credentials.secretKey)
        for (name, value) in signature { headers.add(name, value) }
        return false
    }
}
