#if canImport(Glibc)
import Glibc
#endif
import FoundationEssentials
import TollgateCore

/// `google_vertex`: Vertex AI takes an OAuth bearer token. With `service_account_file` (a
/// service account's JSON key), tollgate signs a JWT with the key (RS256, through the `openssl`
/// command: the key goes in on a pipe, never to another file), exchanges it at the key's
/// `token_uri` for an access token (`grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer`,
/// scope `cloud-platform`), and caches it until five minutes before it expires — all off the
/// event loop. Without one, `api_key` is the access token itself (`gcloud auth print-access-token`).
public struct VertexAuth: AuthStrategy {
    public let name = "google_vertex"
    public init() {}

    static let scope = "https://www.googleapis.com/auth/cloud-platform"
    static let defaultTokenURL = "https://oauth2.googleapis.com/token"
    private let cache = SessionCache()

    public func missingCredential(_ c: ProviderCredentials) -> String? { nil }

    public func readiness(of p: ResolvedProvider) -> AuthReadiness {
        guard let file = p.fields["service_account_file"], !file.isEmpty else {
            return p.credentials.apiKey == nil
                ? .failed(.signIn("Vertex AI needs service_account_file (a service account's JSON key) or api_key (an access token)."))
                : .ready(nil)
        }
        return cache.readiness(p.name, source: file)
    }

    public func prepare(_ p: ResolvedProvider, http: any TokenHTTPClient) -> Result<SessionCredential, UpstreamFailure> {
        guard let file = p.fields["service_account_file"], !file.isEmpty else { return .success(SessionCredential(token: "")) }
        return cache.prepared(p.name, source: file) { Self.exchange(keyFile: file, tokenURL: p.fields["token_url"], http: http) }
    }

    public func apply(to request: inout UpstreamRequest, provider: ResolvedProvider) {
        if let session = provider.session, !session.token.isEmpty {
            session.applyBearer(to: &request)
        } else if let key = provider.credentials.apiKey {
            request.headers.set("Authorization", "Bearer \(key)")
        }
    }

    public func rejected(_ p: ResolvedProvider, token: String) { cache.reject(p.name, token: token) }

    /// Reads the key file, signs the assertion and exchanges it for an access token.
    static func exchange(keyFile: String, tokenURL: String?, http: any TokenHTTPClient,
                         now: Double = wallClockSeconds()) -> Result<SessionCredential, UpstreamFailure> {
        guard let bytes = readWholeFile(keyFile), let key = try? JSONValue.parse(bytes) else {
            return .failure(.signIn("The service account key \(keyFile) cannot be read as JSON."))
        }
        guard let email = key["client_email"]?.stringValue, let pem = key["private_key"]?.stringValue else {
            return .failure(.signIn("The service account key \(keyFile) has no client_email or private_key."))
        }
        let audience = tokenURL ?? key["token_uri"]?.stringValue ?? defaultTokenURL
        var header: JSONValue = ["alg": "RS256", "typ": "JWT"]
        if let id = key["private_key_id"]?.stringValue { header["kid"] = .string(id) }
        let issued = Int(now)
        let claims: JSONValue = ["iss": .string(email), "scope": .string(scope), "aud": .string(audience),
                                 "iat": .int(issued), "exp": .int(issued + 3600)]
        let signingInput = base64URL(header.serialized()) + "." + base64URL(claims.serialized())
        let signature: [UInt8]
        switch sign(Array(signingInput.utf8), pem: pem) {
        case .failure(let why): return .failure(.signIn("Cannot sign the Vertex AI assertion with \(keyFile): \(why)."))
        case .success(let s): signature = s
        }
        let assertion = signingInput + "." + base64URL(signature)
        var request = UpstreamRequest(method: "POST", url: audience, timeoutSeconds: 30)
        request.headers.set("Content-Type", "application/x-www-form-urlencoded")
        request.headers.set("Accept", "application/json")
        request.body = Array("grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=\(assertion)".utf8)
        let response: TokenHTTPResponse
        switch http.send(request) {
        case .failure(let e): return .failure(.tokenEndpoint("The Google token endpoint \(audience) failed", e))
        case .success(let r): response = r
        }
        guard (200..<300).contains(response.status), let json = response.json,
              let token = json["access_token"]?.stringValue, !token.isEmpty else {
            let why = response.json?["error_description"]?.stringValue ?? response.json?["error"]?.stringValue ?? "HTTP \(response.status)"
            return .failure(.signIn("Google refused the service account assertion for \(email): \(why)."))
        }
        let lifetime = json["expires_in"]?.doubleValue ?? 3600
        return .success(SessionCredential(token: token, expiresAt: now + lifetime, refreshAt: now + max(60, lifetime - 300)))
    }

    /// RSASSA-PKCS1-v1_5 with SHA-256 by `openssl dgst -sha256 -sign`: the key on its stdin, the
    /// (public) signing input in a private temporary file.
    struct SignError: Error, CustomStringConvertible {
        var description: String
    }

    static func sign(_ input: [UInt8], pem: String) -> Result<[UInt8], SignError> {
        var template = Array("/tmp/tollgate-jwt-XXXXXX".utf8CString)
        let fd = mkstemp(&template)
        guard fd >= 0 else { return .failure(SignError(description: "cannot create a temporary file")) }
        let path = String(cString: template)
        defer { unlink(path) }
        let written = input.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        close(fd)
        guard written == input.count else { return .failure(SignError(description: "cannot write a temporary file")) }
        let environment = ["PATH": "/usr/local/bin:/usr/bin:/bin"]
        switch Subprocess.run(["openssl", "dgst", "-sha256", "-sign", "/dev/stdin", path], environment: environment,
                              input: Array(pem.utf8)) {
        case .failure(let f): return .failure(SignError(description: "openssl: \(f)"))
        case .success(let run) where run.status == 0 && !run.stdout.isEmpty: return .success(run.stdout)
        case .success(let run):
            let text = String(decoding: run.stderr.prefix(200), as: UTF8.self)
            return .failure(SignError(description: "openssl exited \(run.status)\(text.isEmpty ? "" : ": " + text)"))
        }
    }

    static func base64URL(_ bytes: [UInt8]) -> String {
        var text = Data(bytes).base64EncodedString()
        text = text.replacing("+", with: "-").replacing("/", with: "_")
        while text.hasSuffix("=") { text.removeLast() }
        return text
    }
}
