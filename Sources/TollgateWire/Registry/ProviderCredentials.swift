import TollgateCore

/// Secrets of one provider, read from their `env:`/`file:`/literal references.
public struct ProviderCredentials: Sendable {
    public var apiKey: String? { didSet { bearerAuthorization = apiKey.map { "Bearer " + $0 } } }
    /// `Bearer <apiKey>`, built once rather than for every request.
    public private(set) var bearerAuthorization: String?
    public var accessKeyID: String?
    public var secretAccessKey: String?
    public var sessionToken: String?
    /// Why a configured secret could not be read, by field name.
    public var problems: [String: String] = [:]

    public init(apiKey: String? = nil, accessKeyID: String? = nil, secretAccessKey: String? = nil,
                sessionToken: String? = nil) {
        self.apiKey = apiKey
        bearerAuthorization = apiKey.map { "Bearer " + $0 }
        self.accessKeyID = accessKeyID
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken
    }

    /// Config keys that hold secrets.
    public static let fieldNames = ["api_key", "access_key_id", "secret_access_key", "session_token"]

    /// Every secret read, to be redacted from upstream messages.
    public var all: [String] { [apiKey, accessKeyID, secretAccessKey, sessionToken].compactMap { $0 } }

    /// The reason a field is missing: its read problem, or that it is not configured.
    public func missing(_ field: String) -> String {
        problems[field].map { "\(field): \($0)" } ?? "no \(field) configured"
    }
}
