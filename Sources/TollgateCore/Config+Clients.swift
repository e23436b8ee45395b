/// A client of tollgate (`"clients": {"NAME": {...}}`): how it is recognised — by its key, by the
/// local user who owns its socket, or by the systemd unit of its process — and what it may spend
/// and ask for. A client named `anonymous` takes the requests no other client matches.
public struct ClientConfig: Sendable {
    public var name: String
    /// `Authorization: Bearer KEY` (or `x-api-key: KEY`), a secret reference.
    public var key: SecretReference?
    /// The local user owning the calling socket (Unix socket or loopback TCP).
    public var unixUser: String?
    /// The systemd unit of the calling process (`nightly-report.service`).
    public var systemdUnit: String?
    public var budget = Budget()
    /// Routes and models it may ask for (`fast`, `openai/*`, `*`); empty: all.
    public var allow: [String] = []
    /// Requests per minute; nil: no limit.
    public var rpm: Int?
    /// Tokens (input and output) per minute; nil: no limit.
    public var tpm: Int?

    public init(name: String) { self.name = name }

    public static let anonymousName = "anonymous"
    public var isAnonymous: Bool { name == Self.anonymousName }
}

extension Config {
    static let clientKeys: Set<String> = ["key", "unix_user", "systemd_unit", "budget", "allow", "rpm", "tpm"]

    static func parseClients(_ value: JSONValue, unknown: inout [String]) throws(ConfigError) -> [ClientConfig] {
        guard case .object(let all) = value else { throw ConfigError(key: "clients", problem: "must be an object") }
        var clients: [ClientConfig] = []
        for (name, body) in all.entries {
            let path = "clients.\(name)"
            guard !name.isEmpty, !name.contains("/") else {
                throw ConfigError(key: path, problem: "a client name must be non-empty and contain no '/'")
            }
            guard case .object(let o) = body else { throw ConfigError(key: path, problem: "must be an object") }
            unknown += o.keys.filter { !clientKeys.contains($0) }.map { "\(path).\($0)" }
            var c = ClientConfig(name: name)
            c.key = try o.string("key", path: "\(path).key").map(SecretReference.init)
            c.unixUser = try o.string("unix_user", path: "\(path).unix_user")
            c.systemdUnit = try o.string("systemd_unit", path: "\(path).systemd_unit")
            if let unit = c.systemdUnit, !unit.contains(".") {
                throw ConfigError(key: "\(path).systemd_unit", problem: "must name a unit with its suffix (e.g. \"\(unit).service\")")
            }
            guard c.isAnonymous || c.key != nil || c.unixUser != nil || c.systemdUnit != nil else {
                throw ConfigError(key: path, problem: "needs a key, a unix_user or a systemd_unit to be recognised by (or name it \"anonymous\")")
            }
            if let b = o["budget"] { c.budget = try parseBudget(b, path: "\(path).budget") }
            c.allow = try o.strings("allow", path: "\(path).allow") ?? []
            c.rpm = try o.int("rpm", path: "\(path).rpm", min: 1)
            c.tpm = try o.int("tpm", path: "\(path).tpm", min: 1)
            clients.append(c)
        }
        return clients
    }

    /// `{"daily_usd", "monthly_usd", "total_usd"}`, any subset.
    static func parseBudget(_ value: JSONValue, path: String) throws(ConfigError) -> Budget {
        guard case .object(let b) = value else { throw ConfigError(key: path, problem: "must be an object") }
        for key in b.keys where !["daily_usd", "monthly_usd", "total_usd"].contains(key) {
            throw ConfigError(key: "\(path).\(key)", problem: "unknown budget; use daily_usd, monthly_usd or total_usd")
        }
        return Budget(dailyUSD: try b.amount("daily_usd", path: "\(path).daily_usd"),
                      monthlyUSD: try b.amount("monthly_usd", path: "\(path).monthly_usd"),
                      totalUSD: try b.amount("total_usd", path: "\(path).total_usd"))
    }

    /// `"listen_unix_mode"`: an octal string (`"0660"`) or a number.
    static func parseMode(_ value: JSONValue, path: String) throws(ConfigError) -> UInt32 {
        if let text = value.stringValue, let mode = UInt32(text, radix: 8), mode <= 0o777 { return mode }
        if let n = value.intValue, n >= 0, n <= 0o777 { return UInt32(n) }
        throw ConfigError(key: path, problem: "must be a file mode such as \"0660\"")
    }
}
