import TollgateCore

/// GitHub's OAuth device flow (docs.github.com, "Authorizing OAuth apps", device flow): ask
/// for a device and user code, show the user code and URL, poll for the token at the interval
/// GitHub gives — `authorization_pending` keeps polling, `slow_down` waits longer (the interval
/// it names, else 5 s more), `expired_token` and `access_denied` end it. Blocking; the
/// endpoints are settings so tests run it against a fake on 127.0.0.1.
public struct GitHubDeviceFlow {
    /// The client id third-party Copilot clients use (not documented by GitHub: wire-formats.md §6.1).
    public static let copilotClientID = "Iv1.b507a08c87ecfe98"
    public static let defaultDeviceCodeURL = "https://github.com/login/device/code"
    public static let defaultAccessTokenURL = "https://github.com/login/oauth/access_token"

    public var clientID = copilotClientID
    public var scope = "read:user"
    public var deviceCodeURL = defaultDeviceCodeURL
    public var accessTokenURL = defaultAccessTokenURL
    public var http: any TokenHTTPClient
    /// Waits this many seconds (the CLI sleeps; tests may record instead).
    public var sleep: (Double) -> Void
    public var now: () -> Double = wallClockSeconds

    public init(http: any TokenHTTPClient, sleep: @escaping (Double) -> Void) {
        self.http = http
        self.sleep = sleep
    }

    /// What the user must do.
    public struct Prompt {
        public var userCode: String
        public var verificationURI: String
        public var expiresIn: Double
    }

    public struct Failure: Error, CustomStringConvertible {
        public var message: String
        public var description: String { message }
    }

    /// Runs the flow; `show` is called once with the code and URL. Returns the GitHub token.
    public func run(show: (Prompt) -> Void) -> Result<String, Failure> {
        let start: JSONValue
        switch post(deviceCodeURL, ["client_id": clientID, "scope": scope], what: "the device code request") {
        case .failure(let f): return .failure(f)
        case .success(let json): start = json
        }
        guard let deviceCode = start["device_code"]?.stringValue, let userCode = start["user_code"]?.stringValue,
              let uri = start["verification_uri"]?.stringValue else {
            return .failure(Failure(message: "GitHub's device code answer lacks device_code, user_code or verification_uri\(Self.errorText(start))."))
        }
        let expiresIn = start["expires_in"]?.doubleValue ?? 900
        var interval = max(start["interval"]?.doubleValue ?? 5, 0)
        show(Prompt(userCode: userCode, verificationURI: uri, expiresIn: expiresIn))
        let deadline = now() + expiresIn
        while true {
            sleep(interval)
            let answer: JSONValue
            switch post(accessTokenURL, ["client_id": clientID, "device_code": deviceCode,
                                         "grant_type": "urn:ietf:params:oauth:grant-type:device_code"],
                        what: "polling for the token") {
            case .failure(let f): return .failure(f)
            case .success(let json): answer = json
            }
            if let token = answer["access_token"]?.stringValue, !token.isEmpty { return .success(token) }
            switch answer["error"]?.stringValue {
            case "authorization_pending":
                break
            case "slow_down":
                interval = answer["interval"]?.doubleValue ?? interval + 5
            case "expired_token":
                return .failure(Failure(message: "The code expired before it was entered: run `tollgate login copilot` again."))
            case "access_denied":
                return .failure(Failure(message: "The authorization was denied on GitHub."))
            default:
                return .failure(Failure(message: "GitHub refused the device flow\(Self.errorText(answer))."))
            }
            if now() > deadline {
                return .failure(Failure(message: "The code expired before it was entered: run `tollgate login copilot` again."))
            }
        }
    }

    private func post(_ url: String, _ form: KeyValuePairs<String, String>, what: String) -> Result<JSONValue, Failure> {
        let body = form.map { "\(Self.formEncode($0.key))=\(Self.formEncode($0.value))" }.joined(separator: "&")
        var request = UpstreamRequest(url: url, body: Array(body.utf8), timeoutSeconds: 30)
        request.headers.set("Accept", "application/json")
        request.headers.set("Content-Type", "application/x-www-form-urlencoded")
        switch http.send(request) {
        case .failure(let e):
            return .failure(Failure(message: "GitHub could not be reached (\(what), \(url)): \(e.message)."))
        case .success(let response):
            guard let json = response.json, json.objectValue != nil else {
                return .failure(Failure(message: "GitHub answered \(what) with status \(response.status) and no JSON."))
            }
            // Pending and slow_down come with 200 (or 400 on some servers): the error field decides.
            guard (200..<300).contains(response.status) || json["error"] != nil else {
                return .failure(Failure(message: "GitHub answered \(what) with status \(response.status)\(Self.errorText(json))."))
            }
            return .success(json)
        }
    }

    static func errorText(_ json: JSONValue) -> String {
        let parts = [json["error"]?.stringValue, json["error_description"]?.stringValue].compactMap { $0 }
        return parts.isEmpty ? "" : ": " + parts.joined(separator: ", ")
    }

    static func formEncode(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."),
                 UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let hex = Array("0123456789ABCDEF".utf8)
                out += "%" + String(decoding: [hex[Int(byte >> 4)], hex[Int(byte & 15)]], as: UTF8.self)
            }
        }
        return out
    }
}
