import TollgateCore

/// A provider type's defaults: the base URL its official SDK uses, its wire protocols and auth,
/// and the config fields it reads. `{field}` in a URL template is replaced by that field's value.
/// Each family declares its types next to its protocols (`ProviderType+Anthropic.swift`, ...).
public struct ProviderType: Sendable {
    public var name: String
    /// Base URL template, e.g. `https://bedrock-runtime.{region}.amazonaws.com`; nil means base_url is required.
    public var baseURL: String?
    /// Query string template appended to every request URL (Azure's `api-version={api_version}`).
    public var query: String?
    public var protocolName: String
    public var embedProtocolName: String?
    public var authName: String
    /// The type's own config fields (besides credentials), in the order they are documented.
    public var fields: [ProviderField]
    public var notes: String
    /// Whether an OpenAI-style upstream accepts `stream_options.include_usage` (so tollgate can
    /// always get usage in streams).
    public var streamUsage = true
    /// Prefixes of the filled base URL replaced by others (Vertex's global location has no regional host).
    public var baseURLAliases: [(String, String)] = []
    /// Environment variables read when the config leaves a field out, by field, in order of
    /// preference (`api_key` ← `OPENAI_API_KEY`): the names the provider's own SDKs read. Secret
    /// fields fall back only when the provider configures none of them.
    public var environment: [String: [String]] = [:]
    /// A subscription or CLI sign-in: its requests cost $0 (the list price is still recorded)
    /// and no budget blocks them.
    public var subscription = false

    public init(name: String, baseURL: String?, query: String? = nil, protocolName: String,
                embedProtocolName: String? = nil, authName: String, fields: [ProviderField] = [], notes: String = "",
                streamUsage: Bool = true) {
        self.name = name
        self.baseURL = baseURL
        self.query = query
        self.protocolName = protocolName
        self.embedProtocolName = embedProtocolName
        self.authName = authName
        self.fields = fields
        self.notes = notes
        self.streamUsage = streamUsage
    }

    /// Config fields that must be present (besides credentials).
    public var requiredFields: [String] { fields.filter(\.required).map(\.name) }
}
