/// The daemon's configuration, parsed from JSON (see config.example.json and the README).
/// Immutable once built; a reload builds a new one.
public struct Config: Sendable {
    public var listen: ListenAddress
    public var ledgerPath: String
    public var logLevel: String
    public var server: ServerSettings
    /// On SIGTERM, how long requests in flight may take to finish before they are cut.
    public var shutdownGraceSeconds: Double = 30
    /// Providers in the order the file lists them (ties in priority keep this order).
    public var providers: [ProviderConfig]
    /// Route aliases in file order: alias → ordered `NAME/model` targets.
    public var routes: [(alias: String, targets: [ModelTarget])]
    /// Keys the file has that tollgate does not know; reported as warnings.
    public var unknownKeys: [String]

    public func provider(named name: String) -> ProviderConfig? { providers.first { $0.name == name } }
    public func route(_ alias: String) -> [ModelTarget]? { routes.first { $0.alias == alias }?.targets }
}

/// `host:port` to listen on.
public struct ListenAddress: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: UInt16
    public init(host: String, port: UInt16) {
        self.host = host
        self.port = port
    }

    /// Parses `127.0.0.1:4100`, `[::1]:4100` or `:4100` (all addresses).
    public static func parse(_ text: String) -> ListenAddress? {
        guard let colon = text.lastIndex(of: ":"), let port = UInt16(text[text.index(after: colon)...]) else { return nil }
        var host = String(text[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        if host.isEmpty { host = "0.0.0.0" }
        return ListenAddress(host: host, port: port)
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

/// Limits and timeouts of the HTTP server (`"server"` in the config).
public struct ServerSettings: Sendable, Equatable {
    public var loops: Int = 0
    public var maxBodyBytes: Int = 32 << 20
    public var maxHeaderBytes: Int = 64 << 10
    public var maxConnections: Int = 4096
    public var headerTimeoutSeconds: Double = 10
    public var bodyTimeoutSeconds: Double = 30
    public var idleTimeoutSeconds: Double = 75
    public init() {}
}

/// A `NAME/model` reference: a provider and the model id it is asked for.
public struct ModelTarget: Sendable, Equatable, CustomStringConvertible {
    public var provider: String
    public var model: String
    public init(provider: String, model: String) {
        self.provider = provider
        self.model = model
    }
    /// Splits at the first slash; nil when there is none or a side is empty.
    public static func split(_ text: String) -> ModelTarget? {
        guard let slash = text.firstIndex(of: "/") else { return nil }
        let name = String(text[..<slash])
        let model = String(text[text.index(after: slash)...])
        guard !name.isEmpty, !model.isEmpty else { return nil }
        return ModelTarget(provider: name, model: model)
    }
    public var description: String { "\(provider)/\(model)" }
}

/// Where a secret comes from: `env:VAR`, `file:PATH` or the literal text.
public enum SecretReference: Sendable, Equatable {
    case env(String)
    case file(String)
    case literal(String)

    public init(_ text: String) {
        if text.hasPrefix("env:") {
            self = .env(String(text.dropFirst(4)))
        } else if text.hasPrefix("file:") {
            self = .file(String(text.dropFirst(5)))
        } else {
            self = .literal(text)
        }
    }

    /// A description that never contains the secret itself.
    public var redacted: String {
        switch self {
        case .env(let name): "environment variable \(name)"
        case .file(let path): "file \(path)"
        case .literal: "literal value"
        }
    }
}

/// One provider as the config file describes it, before its type's defaults are applied.
public struct ProviderConfig: Sendable {
    public var name: String
    public var type: String
    public var baseURL: String?
    public var protocolName: String?
    public var authName: String?
    public var apiKey: SecretReference?
    public var priority: Int
    public var models: [String]
    public var headers: [(String, String)]
    public var timeoutSeconds: Double
    public var connectTimeoutSeconds: Double
    /// Every key of the provider's object, for type-specific fields added later.
    public var raw: JSONObject

    public init(name: String, type: String) {
        self.name = name
        self.type = type
        priority = 100
        models = []
        headers = []
        timeoutSeconds = 600
        connectTimeoutSeconds = 10
        raw = JSONObject()
    }
}
