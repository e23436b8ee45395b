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
        "listen", "ledger", "log_level", "shutdown_grace_seconds", "server", "providers", "routes", "models",
    ]
    static let serverKeys: Set<String> = [
        "loops", "max_body_bytes", "max_header_bytes", "max_connections",
        "header_timeout_seconds", "body_timeout_seconds", "idle_timeout_seconds",
    ]
    static let providerKeys: Set<String> = [
        "type", "base_url", "protocol", "auth", "api_key", "priority", "models", "headers",
        "timeout_seconds", "connect_timeout_seconds",
        // type-specific
        "endpoint", "deployment", "api_version", "region", "access_key_id", "secret_access_key", "session_token",
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
        let grace = try root.seconds("shutdown_grace_seconds", path: "shutdown_grace_seconds") ?? 30

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
            server.headerTimeoutSeconds = try s.seconds("header_timeout_seconds", path: "server.header_timeout_seconds")
                ?? server.headerTimeoutSeconds
            server.bodyTimeoutSeconds = try s.seconds("body_timeout_seconds", path: "server.body_timeout_seconds")
                ?? server.bodyTimeoutSeconds
            server.idleTimeoutSeconds = try s.seconds("idle_timeout_seconds", path: "server.idle_timeout_seconds")
                ?? server.idleTimeoutSeconds
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
        if let value = root["routes"] {
            guard case .object(let r) = value else { throw ConfigError(key: "routes", problem: "must be an object") }
            for (alias, body) in r.entries {
                let path = "routes.\(alias)"
                guard case .array(let items) = body, !items.isEmpty else {
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

        return Config(listen: listen, ledgerPath: ledger, logLevel: logLevel, server: server,
                      shutdownGraceSeconds: grace, providers: providers, routes: routes, unknownKeys: unknown)
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
        if let key = try o.string("api_key", path: "\(path).api_key") { p.apiKey = SecretReference(key) }
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
        p.timeoutSeconds = try o.seconds("timeout_seconds", path: "\(path).timeout_seconds") ?? p.timeoutSeconds
        p.connectTimeoutSeconds = try o.seconds("connect_timeout_seconds", path: "\(path).connect_timeout_seconds")
            ?? p.connectTimeoutSeconds
        return p
    }
}

extension SecretReference {
    /// The secret's value, or why it is missing (never the secret itself).
    public func resolve(environment: [String: String]) -> Result<String, ConfigError> {
        switch self {
        case .literal(let value):
            return .success(value)
        case .env(let name):
            guard let value = environment[name], !value.isEmpty else {
                return .failure(ConfigError(key: "", problem: "environment variable \(name) is not set"))
            }
            return .success(value)
        case .file(let path):
            guard let bytes = readWholeFile(path) else {
                return .failure(ConfigError(key: "", problem: "file \(path) cannot be read"))
            }
            let value = String(decoding: bytes, as: UTF8.self).trimmingWhitespace()
            guard !value.isEmpty else { return .failure(ConfigError(key: "", problem: "file \(path) is empty")) }
            return .success(value)
        }
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

    func int(_ key: String, path: String, min: Int = Int.min, max: Int = Int.max) throws(ConfigError) -> Int? {
        guard let v = self[key] else { return nil }
        guard let i = v.intValue else { throw ConfigError(key: path, problem: "must be an integer, got \(v)") }
        guard i >= min, i <= max else {
            throw ConfigError(key: path, problem: max == Int.max ? "must be at least \(min)" : "must be between \(min) and \(max)")
        }
        return i
    }

    func seconds(_ key: String, path: String) throws(ConfigError) -> Double? {
        guard let v = self[key] else { return nil }
        guard let d = v.doubleValue, d > 0, d.isFinite else {
            throw ConfigError(key: path, problem: "must be a positive number of seconds, got \(v)")
        }
        return d
    }
}
