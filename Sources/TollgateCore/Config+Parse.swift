#if canImport(Glibc)
import Glibc
#endif

/// A configuration problem: the key path it concerns and what is wrong.
public struct ConfigError: Error, Sendable, CustomStringConvertible {
    public let key: String
    public let problem: String
    public init(key: String, problem: String) {
        self.key = key
        self.problem = problem
    }
    public var description: String { key.isEmpty ? problem : "\(key): \(problem)" }
}

extension Config {
    static let topLevelKeys: Set<String> = [
        "listen", "ledger", "log_level", "server", "providers", "routes", "models", "failover", "shutdown_grace_seconds",
        "admin_key", "clients", "listen_unix", "listen_unix_mode", "credentials_dir", "otel",
    ]
    static let failoverKeys: Set<String> = [
        "failure_threshold", "cooldown_seconds", "max_cooldown_seconds", "max_retry_wait_seconds",
        "retry_base_delay_seconds", "first_byte_timeout_seconds", "idle_timeout_seconds", "balance",
    ]
    static let modelKeys: Set<String> = [
        "context_window", "max_output_tokens", "capabilities", "input_usd_per_mtok", "output_usd_per_mtok",
        "cached_input_usd_per_mtok",
    ]
    static let serverKeys: Set<String> = [
        "loops", "max_body_bytes", "max_header_bytes", "max_connections", "max_buffered_body_bytes",
        "header_timeout_seconds", "body_timeout_seconds", "idle_timeout_seconds", "allowed_hosts", "cors_origins",
        "loop_linger_microseconds",
    ]
    static let providerKeys: Set<String> = [
        "type", "base_url", "protocol", "auth", "api_key", "priority", "weight", "models", "headers",
        "timeout_seconds", "connect_timeout_seconds", "idle_timeout_seconds",
        // type-specific
        "endpoint", "deployment", "api_version", "region", "access_key_id", "secret_access_key", "session_token",
        "fallbacks", "retries", "budget", "stream_usage", "account_id", "project", "location", "service_account_file", "byok",
    ]
    static let logLevels: Set<String> = ["trace", "debug", "info", "notice", "warning", "error", "critical"]

    /// Parses and validates a config file's bytes. Type-specific provider checks happen in
    /// the wire registry, which knows the provider types.
    public static func parse(_ bytes: [UInt8]) throws(ConfigError) -> Config {
        let json: JSONValue
        do {
            json = try JSONValue.parse(bytes)
        } catch {
            throw ConfigError(key: "", problem: "not valid JSON: \(error)")
        }
        guard case .object(let root) = json else { throw ConfigError(key: "", problem: "the top level must be a JSON object") }

        var unknown: [String] = root.keys.filter { !topLevelKeys.contains($0) }

        let listenText = try root.string("listen", path: "listen") ?? "127.0.0.1:4100"
        guard let listen = ListenAddress.parse(listenText) else {
            throw ConfigError(key: "listen", problem: "expected HOST:PORT, got \"\(listenText)\"")
        }
        let ledger = try root.string("ledger", path: "ledger") ?? "tollgate.sqlite"
        guard !ledger.isEmpty else { throw ConfigError(key: "ledger", problem: "must not be empty") }
        let logLevel = try root.string("log_level", path: "log_level") ?? "info"
        guard logLevels.contains(logLevel) else {
            throw ConfigError(key: "log_level", problem: "must be one of \(logLevels.sorted().joined(separator: ", "))")
        }

        var server = ServerSettings()
        if let value = root["server"] {
            guard case .object(let s) = value else { throw ConfigError(key: "server", problem: "must be an object") }
            unknown += s.keys.filter { !serverKeys.contains($0) }.map { "server.\($0)" }
            server.loops = try s.int("loops", path: "server.loops", min: 0, max: 256) ?? server.loops
            server.maxBodyBytes = try s.int("max_body_bytes", path: "server.max_body_bytes", min: 1) ?? server.maxBodyBytes
            server.maxHeaderBytes = try s.int("max_header_bytes", path: "server.max_header_bytes", min: 256)
                ?? server.maxHeaderBytes
            server.maxConnections = try s.int("max_connections", path: "server.max_connections", min: 1)
                ?? server.maxConnections
            server.maxBufferedBodyBytes = try s.int("max_buffered_body_bytes", path: "server.max_buffered_body_bytes",
                                                    min: 1) ?? server.maxBufferedBodyBytes
            server.headerTimeoutSeconds = try s.seconds("header_timeout_seconds", path: "server.header_timeout_seconds")
                ?? server.headerTimeoutSeconds
            server.bodyTimeoutSeconds = try s.seconds("body_timeout_seconds", path: "server.body_timeout_seconds")
                ?? server.bodyTimeoutSeconds
            server.idleTimeoutSeconds = try s.seconds("idle_timeout_seconds", path: "server.idle_timeout_seconds")
                ?? server.idleTimeoutSeconds
            server.loopLingerMicroseconds = try s.int("loop_linger_microseconds", path: "server.loop_linger_microseconds",
                                                      min: 0, max: 2000) ?? server.loopLingerMicroseconds
            server.allowedHosts = try s.strings("allowed_hosts", path: "server.allowed_hosts")?.map { $0.lowercased() } ?? []
            server.corsOrigins = try s.strings("cors_origins", path: "server.cors_origins")?.map { $0.lowercased() } ?? []
            for origin in server.corsOrigins where origin != "*" && !origin.hasPrefix("http://") && !origin.hasPrefix("https://") {
                throw ConfigError(key: "server.cors_origins", problem: "\"\(origin)\" is not an origin (scheme://host[:port])")
            }
        }

        var providers: [ProviderConfig] = []
        if let value = root["providers"] {
            guard case .object(let p) = value else { throw ConfigError(key: "providers", problem: "must be an object") }
            for (name, body) in p.entries {
                let path = "providers.\(name)"
                guard !name.isEmpty, !name.contains("/") else {
                    throw ConfigError(key: path, problem: "a provider name must be non-empty and contain no '/'")
                }
                guard case .object(let o) = body else { throw ConfigError(key: path, problem: "must be an object") }
                unknown += o.keys.filter { !providerKeys.contains($0) }.map { "\(path).\($0)" }
                providers.append(try parseProvider(name: name, object: o, path: path))
            }
        }

        var routes: [(alias: String, targets: [ModelTarget])] = []
        var routeBalance: [String: BalanceMode] = [:]
        if let value = root["routes"] {
            guard case .object(let r) = value else { throw ConfigError(key: "routes", problem: "must be an object") }
            for (alias, body) in r.entries {
                var path = "routes.\(alias)"
                var list = body
                if case .object(let o) = body {
                    // {"targets": [...], "balance": "weighted" | "least_busy"}
                    for key in o.keys where key != "targets" && key != "balance" { unknown.append("\(path).\(key)") }
                    if let mode = try o.string("balance", path: "\(path).balance") {
                        guard let balance = BalanceMode(rawValue: mode) else {
                            throw ConfigError(key: "\(path).balance", problem: BalanceMode.problem(mode))
                        }
                        routeBalance[alias] = balance
                    }
                    list = o["targets"] ?? .null
                    path += ".targets"
                }
                guard case .array(let items) = list, !items.isEmpty else {
                    throw ConfigError(key: path, problem: "must be a non-empty list of \"PROVIDER/model\" strings")
                }
                var targets: [ModelTarget] = []
                for (i, item) in items.enumerated() {
                    guard let text = item.stringValue, let target = ModelTarget.split(text) else {
                        throw ConfigError(key: "\(path)[\(i)]", problem: "expected \"PROVIDER/model\", got \(item)")
                    }
                    guard providers.contains(where: { $0.name == target.provider }) else {
                        throw ConfigError(key: "\(path)[\(i)]", problem: "no provider named \"\(target.provider)\"")
                    }
                    targets.append(target)
                }
                routes.append((alias, targets))
            }
        }

        let names = Set(providers.map(\.name))
        for p in providers {
            for (j, f) in p.fallbacks.enumerated() where !names.contains(f.provider) {
                throw ConfigError(key: "providers.\(p.name).fallbacks[\(j)]", problem: "no provider named \"\(f.provider)\"")
            }
        }

        var failover = FailoverSettings()
        if let value = root["failover"] {
            guard case .object(let f) = value else { throw ConfigError(key: "failover", problem: "must be an object") }
            unknown += f.keys.filter { !failoverKeys.contains($0) }.map { "failover.\($0)" }
            failover.failureThreshold = try f.int("failure_threshold", path: "failover.failure_threshold", min: 1)
                ?? failover.failureThreshold
            failover.cooldownSeconds = try f.seconds("cooldown_seconds", path: "failover.cooldown_seconds") ?? failover.cooldownSeconds
            failover.maxCooldownSeconds = try f.seconds("max_cooldown_seconds", path: "failover.max_cooldown_seconds")
                ?? max(failover.maxCooldownSeconds, failover.cooldownSeconds)
            failover.maxRetryWaitSeconds = try f.seconds("max_retry_wait_seconds", path: "failover.max_retry_wait_seconds")
                ?? failover.maxRetryWaitSeconds
            failover.retryBaseDelaySeconds = try f.seconds("retry_base_delay_seconds", path: "failover.retry_base_delay_seconds")
                ?? failover.retryBaseDelaySeconds
            failover.firstByteTimeoutSeconds = try f.seconds("first_byte_timeout_seconds",
                                                             path: "failover.first_byte_timeout_seconds")
                ?? failover.firstByteTimeoutSeconds
            failover.idleTimeoutSeconds = try f.seconds("idle_timeout_seconds", path: "failover.idle_timeout_seconds")
                ?? failover.idleTimeoutSeconds
            if let mode = try f.string("balance", path: "failover.balance") {
                guard let balance = BalanceMode(rawValue: mode) else {
                    throw ConfigError(key: "failover.balance", problem: BalanceMode.problem(mode))
                }
                failover.balance = balance
            }
            guard failover.maxCooldownSeconds >= failover.cooldownSeconds else {
                throw ConfigError(key: "failover.max_cooldown_seconds", problem: "must be at least cooldown_seconds")
            }
        }

        var overrides: [(target: ModelTarget, override: ModelOverride)] = []
        if let value = root["models"] {
            guard case .object(let m) = value else {
                throw ConfigError(key: "models", problem: "must be an object of \"PROVIDER/model\": {...}")
            }
            for (key, body) in m.entries {
                let path = "models.\(key)"
                guard let target = ModelTarget.split(key) else {
                    throw ConfigError(key: path, problem: "keys must be \"PROVIDER/model\"")
                }
                guard names.contains(target.provider) else {
                    throw ConfigError(key: path, problem: "no provider named \"\(target.provider)\"")
                }
                guard case .object(let o) = body else { throw ConfigError(key: path, problem: "must be an object") }
                unknown += o.keys.filter { !modelKeys.contains($0) }.map { "\(path).\($0)" }
                overrides.append((target, try parseModelOverride(o, path: path)))
            }
        }

        var config = Config(listen: listen, ledgerPath: ledger, logLevel: logLevel, server: server,
                            providers: providers, routes: routes, unknownKeys: unknown)
        config.failover = failover
        config.routeBalance = routeBalance
        config.modelOverrides = overrides
        if let key = try root.string("admin_key", path: "admin_key") {
            guard !key.isEmpty else { throw ConfigError(key: "admin_key", problem: "must not be empty") }
            config.adminKey = SecretReference(key)
        }
        if let dir = try root.string("credentials_dir", path: "credentials_dir") {
            guard dir.hasPrefix("/") else { throw ConfigError(key: "credentials_dir", problem: "must be an absolute path") }
            config.credentialsDir = dir
        }
        if let grace = try root.seconds("shutdown_grace_seconds", path: "shutdown_grace_seconds") {
            config.shutdownGraceSeconds = grace
        }
        if let value = root["clients"] { config.clients = try parseClients(value, unknown: &config.unknownKeys) }
        if let path = try root.string("listen_unix", path: "listen_unix") {
            guard path.hasPrefix("/") else { throw ConfigError(key: "listen_unix", problem: "must be an absolute path") }
            config.listenUnix = path
        }
        if let value = root["listen_unix_mode"] { config.listenUnixMode = try parseMode(value, path: "listen_unix_mode") }
        if let otel = root["otel"] { config.otel = try OTelSettings.parse(otel, unknown: &config.unknownKeys) }
        return config
    }

    static func parseProvider(name: String, object o: JSONObject, path: String) throws(ConfigError) -> ProviderConfig {
        guard let type = try o.string("type", path: "\(path).type") else {
            throw ConfigError(key: "\(path).type", problem: "is required")
        }
        var p = ProviderConfig(name: name, type: type)
        p.raw = o
        p.baseURL = try o.string("base_url", path: "\(path).base_url")
        if let url = p.baseURL, !(url.hasPrefix("http://") || url.hasPrefix("https://")) {
            throw ConfigError(key: "\(path).base_url", problem: "must start with http:// or https://")
        }
        p.protocolName = try o.string("protocol", path: "\(path).protocol")
        p.authName = try o.string("auth", path: "\(path).auth")
        p.priority = try o.int("priority", path: "\(path).priority", min: 0) ?? p.priority
        if let models = o["models"] {
            guard case .array(let items) = models else {
                throw ConfigError(key: "\(path).models", problem: "must be a list of model ids")
            }
            for (i, item) in items.enumerated() {
                guard let id = item.stringValue, !id.isEmpty else {
                    throw ConfigError(key: "\(path).models[\(i)]", problem: "must be a non-empty string")
                }
                p.models.append(id)
            }
        }
        if let headers = o["headers"] {
            guard case .object(let h) = headers else { throw ConfigError(key: "\(path).headers", problem: "must be an object") }
            for (k, v) in h.entries {
                guard let s = v.stringValue else {
                    throw ConfigError(key: "\(path).headers.\(k)", problem: "must be a string")
                }
                p.headers.append((k, s))
            }
        }
        if let value = o["fallbacks"] {
            guard case .array(let items) = value else {
                throw ConfigError(key: "\(path).fallbacks", problem: "must be a list of \"PROVIDER/model\" strings")
            }
            for (i, item) in items.enumerated() {
                guard let text = item.stringValue, let target = ModelTarget.split(text) else {
                    throw ConfigError(key: "\(path).fallbacks[\(i)]", problem: "expected \"PROVIDER/model\", got \(item)")
                }
                p.fallbacks.append(target)
            }
        }
        // Secrets are read by the wire registry; here only their form is checked.
        for key in ["api_key", "access_key_id", "secret_access_key", "session_token"] {
            if let text = try o.string(key, path: "\(path).\(key)"), case .credential(let name) = SecretReference(text),
               let problem = SecretReference.credentialNameProblem(name) {
                throw ConfigError(key: "\(path).\(key)", problem: problem)
            }
        }
        if let value = o["byok"] {
            guard let flag = value.boolValue else { throw ConfigError(key: "\(path).byok", problem: "must be true or false") }
            p.byok = flag
        }
        p.retries = try o.int("retries", path: "\(path).retries", min: 0, max: 10) ?? p.retries
        if let value = o["weight"] {
            guard let weight = value.doubleValue, weight > 0, weight <= 1_000_000 else {
                throw ConfigError(key: "\(path).weight", problem: "must be a number above 0")
            }
            p.weight = weight
        }
        if let value = o["stream_usage"] {
            guard let flag = value.boolValue else { throw ConfigError(key: "\(path).stream_usage", problem: "must be true or false") }
            p.streamUsage = flag
        }
        if let value = o["budget"] { p.budget = try parseBudget(value, path: "\(path).budget") }
        p.timeoutSeconds = try o.seconds("timeout_seconds", path: "\(path).timeout_seconds") ?? p.timeoutSeconds
        p.connectTimeoutSeconds = try o.seconds("connect_timeout_seconds", path: "\(path).connect_timeout_seconds")
            ?? p.connectTimeoutSeconds
        p.idleTimeoutSeconds = try o.seconds("idle_timeout_seconds", path: "\(path).idle_timeout_seconds")
        return p
    }
}

extension Config {
    static func parseModelOverride(_ o: JSONObject, path: String) throws(ConfigError) -> ModelOverride {
        var m = ModelOverride()
        m.contextWindow = try o.int("context_window", path: "\(path).context_window", min: 1)
        m.maxOutputTokens = try o.int("max_output_tokens", path: "\(path).max_output_tokens", min: 0)
        if let value = o["capabilities"] {
            guard case .array(let items) = value else {
                throw ConfigError(key: "\(path).capabilities", problem: "must be a list")
            }
            var set: Set<Capability> = []
            for item in items {
                guard let name = item.stringValue, let c = Capability(rawValue: name) else {
                    throw ConfigError(key: "\(path).capabilities",
                                      problem: "unknown capability \(item); known: \(Capability.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                set.insert(c)
            }
            m.capabilities = set
        }
        m.inputUSDPerMTok = try o.amount("input_usd_per_mtok", path: "\(path).input_usd_per_mtok")
        m.outputUSDPerMTok = try o.amount("output_usd_per_mtok", path: "\(path).output_usd_per_mtok")
        m.cachedInputUSDPerMTok = try o.amount("cached_input_usd_per_mtok", path: "\(path).cached_input_usd_per_mtok")
        return m
    }
}

/// Reads a whole file with POSIX calls; nil when it cannot be opened or read.
public func readWholeFile(_ path: String) -> [UInt8]? {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var out: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n < 0 {
            if errno == EINTR { continue }
            return nil
        }
        if n == 0 { break }
        out.append(contentsOf: chunk[0..<n])
    }
    return out
}

extension String {
    public func trimmingWhitespace() -> String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
              let last = scalars.lastIndex(where: { !$0.properties.isWhitespace }) else { return "" }
        return String(scalars[first...last])
    }
}

extension JSONObject {
    func string(_ key: String, path: String) throws(ConfigError) -> String? {
        guard let v = self[key] else { return nil }
        guard case .string(let s) = v else { throw ConfigError(key: path, problem: "must be a string, got \(v.typeName)") }
        return s
    }

    func strings(_ key: String, path: String) throws(ConfigError) -> [String]? {
        guard let v = self[key] else { return nil }
        guard let list = v.arrayValue, let strings = Optional(list.compactMap(\.stringValue)), strings.count == list.count else {
            throw ConfigError(key: path, problem: "must be a list of strings")
        }
        return strings
    }

    func int(_ key: String, path: String, min: Int = Int.min, max: Int = Int.max) throws(ConfigError) -> Int? {
        guard let v = self[key] else { return nil }
        guard let i = v.intValue else { throw ConfigError(key: path, problem: "must be an integer, got \(v)") }
        guard i >= min, i <= max else {
            throw ConfigError(key: path, problem: max == Int.max ? "must be at least \(min)" : "must be between \(min) and \(max)")
        }
        return i
    }

    func amount(_ key: String, path: String) throws(ConfigError) -> Double? {
        guard let v = self[key] else { return nil }
        guard let d = v.doubleValue, d >= 0, d.isFinite else {
            throw ConfigError(key: path, problem: "must be a number of at least 0, got \(v)")
        }
        return d
    }

    func seconds(_ key: String, path: String) throws(ConfigError) -> Double? {
        guard let v = self[key] else { return nil }
        guard let d = v.doubleValue, d > 0, d.isFinite else {
            throw ConfigError(key: path, problem: "must be a positive number of seconds, got \(v)")
        }
        return d
    }
}
