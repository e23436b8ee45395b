/// The daemon's configuration, parsed from JSON (see config.example.json and the README).
/// Immutable once built; a reload builds a new one.
public struct Config: Sendable {
    public var listen: ListenAddress
    public var ledgerPath: String
    public var logLevel: String
    public var server: ServerSettings
    /// Providers in the order the file lists them (ties in priority keep this order).
    public var providers: [ProviderConfig]
    /// Route aliases in file order: alias → ordered `NAME/model` targets.
    public var routes: [(alias: String, targets: [ModelTarget])]
    /// Keys the file has that tollgate does not know; reported as warnings.
    public var unknownKeys: [String]
    /// Catalog additions and overrides, keyed `NAME/model` (`"models"` in the file).
    public var modelOverrides: [(target: ModelTarget, override: ModelOverride)] = []
    public var failover = FailoverSettings()
    /// Routes that set their own `"balance"` (`{"targets": [...], "balance": ...}`).
    public var routeBalance: [String: BalanceMode] = [:]
    /// How long a stopping daemon lets requests in flight finish (`"shutdown_grace_seconds"`).
    public var shutdownGraceSeconds: Double = 30
    /// The key `/admin/*` requires (`"admin_key"`, a secret reference); nil: loopback clients only.
    public var adminKey: SecretReference?
    /// Who may call, and what each may spend (`"clients"`); empty: anyone who can connect.
    public var clients: [ClientConfig] = []
    /// A Unix socket to listen on besides TCP (`"listen_unix"`), and its file mode.
    public var listenUnix: String?
    public var listenUnixMode: UInt32 = 0o660
    /// Where `credential:NAME` looks for `NAME.cred` outside systemd (`"credentials_dir"`); nil:
    /// `SecretReference.defaultCredentialsDir`.
    public var credentialsDir: String?
    /// Where traces are exported (`"otel"`); nil: no tracing.
    public var otel: OTelSettings?

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
    /// Request bytes all connections together may hold for bodies still arriving (`"max_buffered_body_bytes"`).
    public var maxBufferedBodyBytes: Int = 256 << 20
    /// A request head must be complete this long after its first byte (after connect, for a new connection).
    public var headerTimeoutSeconds: Double = 10
    /// A request body must be complete this long after its head (a total, not the longest pause).
    public var bodyTimeoutSeconds: Double = 30
    public var idleTimeoutSeconds: Double = 75
    /// Host names (`Host:` header, without or with a port) accepted besides the loopback names
    /// and the listen address (`"allowed_hosts"`); `*` accepts any.
    public var allowedHosts: [String] = []
    /// Browser origins (`https://app.example`) allowed to call tollgate cross-origin (`"cors_origins"`); `*` allows any.
    public var corsOrigins: [String] = []
    /// How long a loop's thread waits in its epoll set for more events after a batch before it
    /// goes back to Dispatch (`"loop_linger_microseconds"`; 0 turns it off).
    public var loopLingerMicroseconds: Int = 100
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

/// Where a secret comes from: `env:VAR`, `file:PATH`, `credential:NAME` (systemd's credentials,
/// or a `NAME.cred` file decrypted with `systemd-creds`) or the literal text.
public enum SecretReference: Sendable, Equatable {
    case env(String)
    case file(String)
    case credential(String)
    case literal(String)

    public init(_ text: String) {
        if text.hasPrefix("env:") {
            self = .env(String(text.dropFirst(4)))
        } else if text.hasPrefix("file:") {
            self = .file(String(text.dropFirst(5)))
        } else if text.hasPrefix("credential:") {
            self = .credential(String(text.dropFirst(11)))
        } else {
            self = .literal(text)
        }
    }

    /// A description that never contains the secret itself.
    public var redacted: String {
        switch self {
        case .env(let name): "environment variable \(name)"
        case .file(let path): "file \(path)"
        case .credential(let name): "credential \(name)"
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
    public var priority: Int
    public var models: [String]
    public var headers: [(String, String)]
    public var timeoutSeconds: Double
    public var connectTimeoutSeconds: Double
    /// Longest silence of the upstream once its head arrived (`"idle_timeout_seconds"`); nil: the failover default.
    public var idleTimeoutSeconds: Double?
    /// Where a `NAME/model` request goes when this provider fails (`"fallbacks"`).
    public var fallbacks: [ModelTarget] = []
    /// Extra attempts on this provider after a retryable failure, before the next candidate.
    public var retries: Int = 1
    /// Share of the traffic among providers of equal priority (`"weight"`, default 1).
    public var weight: Double = 1
    public var budget = Budget()
    /// Whether tollgate asks an OpenAI-style upstream for a usage chunk in streams (`"stream_usage"`).
    public var streamUsage: Bool?
    /// Requests may bring their own key for this provider (`"byok"`, header `x-tollgate-provider-key`).
    public var byok = false
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

/// Spend limits of one provider in USD; nil means no limit. Days and months are UTC.
public struct Budget: Sendable, Equatable {
    public var dailyUSD: Double?
    public var monthlyUSD: Double?
    public var totalUSD: Double?
    public init(dailyUSD: Double? = nil, monthlyUSD: Double? = nil, totalUSD: Double? = nil) {
        self.dailyUSD = dailyUSD
        self.monthlyUSD = monthlyUSD
        self.totalUSD = totalUSD
    }
    public var isEmpty: Bool { dailyUSD == nil && monthlyUSD == nil && totalUSD == nil }
}

/// How failures move requests between providers (`"failover"` in the file).
public struct FailoverSettings: Sendable, Equatable {
    /// Consecutive failures after which a provider cools down.
    public var failureThreshold = 3
    public var cooldownSeconds: Double = 30
    public var maxCooldownSeconds: Double = 300
    /// Longest wait before retrying the same provider (longer retry-after hints move on instead).
    public var maxRetryWaitSeconds: Double = 10
    /// First delay of the exponential backoff between retries on one provider.
    public var retryBaseDelaySeconds: Double = 0.25
    /// An upstream that sends no response head within this long is abandoned for the next candidate.
    public var firstByteTimeoutSeconds: Double = 120
    /// An upstream that sends no byte for this long after its head is abandoned: for the next
    /// candidate before the client saw anything, else the stream ends with an error event.
    public var idleTimeoutSeconds: Double = 60
    /// How candidates of equal priority share the load (`"balance"`; routes may set their own).
    public var balance: BalanceMode = .weighted
    public init() {}
}

/// How a request picks among candidates of equal priority.
public enum BalanceMode: String, Sendable, Equatable, CaseIterable {
    /// At random, in proportion to each provider's `weight`.
    case weighted
    /// The provider with the fewest requests in flight first (ties by weight).
    case leastBusy = "least_busy"
    /// In the order of the config file.
    case ordered

    static func problem(_ text: String) -> String {
        "unknown balance \"\(text)\"; use " + allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", ")
    }
}

/// A model capability a request may need.
public enum Capability: String, Sendable, CaseIterable, Comparable {
    case chat, streaming, tools, vision, json_schema, embeddings, reasoning
    public static func < (a: Capability, b: Capability) -> Bool { a.rawValue < b.rawValue }
}

/// Catalog fields a config file may set for one `NAME/model` (any subset).
public struct ModelOverride: Sendable, Equatable {
    public var contextWindow: Int?
    public var maxOutputTokens: Int?
    public var capabilities: Set<Capability>?
    public var inputUSDPerMTok: Double?
    public var outputUSDPerMTok: Double?
    public var cachedInputUSDPerMTok: Double?
    public init() {}
}
