/// Where traces go (`"otel": {"endpoint": "http://127.0.0.1:4318", "service_name": "tollgate"}`):
/// an OTLP/HTTP collector, sent JSON-encoded to `{endpoint}/v1/traces`.
public struct OTelSettings: Sendable, Equatable {
    /// The collector's base URL as given (`OTEL_EXPORTER_OTLP_ENDPOINT` style).
    public var endpoint: String
    /// `service.name` of the resource.
    public var serviceName = "tollgate"
    /// Extra request headers (e.g. a collector's auth), `env:`/`file:` values allowed.
    public var headers: [(String, SecretReference)] = []

    public init(endpoint: String) { self.endpoint = endpoint }

    /// The traces URL: the endpoint itself when it already names `/v1/traces`, else the endpoint plus it.
    public var tracesURL: String {
        if endpoint.hasSuffix("/v1/traces") { return endpoint }
        return (endpoint.hasSuffix("/") ? String(endpoint.dropLast()) : endpoint) + "/v1/traces"
    }

    public static func == (a: OTelSettings, b: OTelSettings) -> Bool {
        a.endpoint == b.endpoint && a.serviceName == b.serviceName
            && a.headers.map(\.0) == b.headers.map(\.0)
    }

    static let keys: Set<String> = ["endpoint", "service_name", "headers"]

    /// Parses the `otel` object; unknown keys are added to `unknown`.
    static func parse(_ value: JSONValue, unknown: inout [String]) throws(ConfigError) -> OTelSettings {
        guard case .object(let o) = value else { throw ConfigError(key: "otel", problem: "must be an object") }
        unknown += o.keys.filter { !keys.contains($0) }.map { "otel.\($0)" }
        guard let endpoint = try o.string("endpoint", path: "otel.endpoint") else {
            throw ConfigError(key: "otel.endpoint", problem: "is required (e.g. \"http://127.0.0.1:4318\")")
        }
        let lower = endpoint.lowercased()
        guard lower.hasPrefix("http://") || lower.hasPrefix("https://") else {
            throw ConfigError(key: "otel.endpoint", problem: "must be an http:// or https:// URL")
        }
        var settings = OTelSettings(endpoint: endpoint)
        if let name = try o.string("service_name", path: "otel.service_name") {
            guard !name.isEmpty else { throw ConfigError(key: "otel.service_name", problem: "must not be empty") }
            settings.serviceName = name
        }
        if let headers = o["headers"] {
            guard case .object(let h) = headers else { throw ConfigError(key: "otel.headers", problem: "must be an object") }
            for (name, v) in h.entries {
                guard let s = v.stringValue else {
                    throw ConfigError(key: "otel.headers.\(name)", problem: "must be a string")
                }
                settings.headers.append((name, SecretReference(s)))
            }
        }
        return settings
    }
}
