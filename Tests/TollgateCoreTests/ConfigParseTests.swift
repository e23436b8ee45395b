import Foundation
import Testing
import TollgateCore

/// Refused configs: (config, key, words the problem must contain).
let configRefusals: [(String, String, String)] = [
    ("[1]", "", "the top level must be a JSON object"),
    ("{", "", "not valid JSON"),
    (#"{"listen": 4100}"#, "listen", "must be a string, got number"),
    (#"{"listen": "localhost"}"#, "listen", #"expected HOST:PORT, got "localhost""#),
    (#"{"listen": "h:99999"}"#, "listen", "expected HOST:PORT"),
    (#"{"ledger": ""}"#, "ledger", "must not be empty"),
    (#"{"log_level": "loud"}"#, "log_level", "must be one of critical, debug, error, info, notice, trace, warning"),
    (#"{"server": []}"#, "server", "must be an object"),
    (#"{"server": {"loops": 257}}"#, "server.loops", "must be between 0 and 256"),
    (#"{"server": {"loops": 1.5}}"#, "server.loops", "must be an integer"),
    (#"{"server": {"max_body_bytes": 0}}"#, "server.max_body_bytes", "must be at least 1"),
    (#"{"server": {"max_header_bytes": 255}}"#, "server.max_header_bytes", "must be at least 256"),
    (#"{"server": {"max_connections": 0}}"#, "server.max_connections", "must be at least 1"),
    (#"{"server": {"max_buffered_body_bytes": 0}}"#, "server.max_buffered_body_bytes", "must be at least 1"),
    (#"{"server": {"idle_timeout_seconds": 0}}"#, "server.idle_timeout_seconds", "must be a positive number of seconds"),
    (#"{"server": {"header_timeout_seconds": "5"}}"#, "server.header_timeout_seconds", "must be a positive number"),
    (#"{"server": {"loop_linger_microseconds": 2001}}"#, "server.loop_linger_microseconds", "must be between 0 and 2000"),
    (#"{"providers": []}"#, "providers", "must be an object"),
    (#"{"providers": {"a/b": {"type": "openai"}}}"#, "providers.a/b", "contain no '/'"),
    (#"{"providers": {"": {"type": "openai"}}}"#, "providers.", "must be non-empty"),
    (#"{"providers": {"p": "openai"}}"#, "providers.p", "must be an object"),
    (#"{"providers": {"p": {}}}"#, "providers.p.type", "is required"),
    (#"{"providers": {"p": {"type": 1}}}"#, "providers.p.type", "must be a string"),
    (#"{"providers": {"p": {"type": "openai", "base_url": "ftp://x"}}}"#, "providers.p.base_url", "must start with http:// or https://"),
    (#"{"providers": {"p": {"type": "openai", "api_key": 5}}}"#, "providers.p.api_key", "must be a string"),
    (#"{"providers": {"p": {"type": "openai", "priority": -1}}}"#, "providers.p.priority", "must be at least 0"),
    (#"{"providers": {"p": {"type": "openai", "models": "m"}}}"#, "providers.p.models", "must be a list of model ids"),
    (#"{"providers": {"p": {"type": "openai", "models": ["a", ""]}}}"#, "providers.p.models[1]", "must be a non-empty string"),
    (#"{"providers": {"p": {"type": "openai", "headers": []}}}"#, "providers.p.headers", "must be an object"),
    (#"{"providers": {"p": {"type": "openai", "headers": {"X": 1}}}}"#, "providers.p.headers.X", "must be a string"),
    (#"{"providers": {"p": {"type": "openai", "fallbacks": "p/m"}}}"#, "providers.p.fallbacks", "must be a list"),
    (#"{"providers": {"p": {"type": "openai", "fallbacks": ["nomodel"]}}}"#, "providers.p.fallbacks[0]", #"expected "PROVIDER/model""#),
    (#"{"providers": {"p": {"type": "openai", "fallbacks": ["q/m"]}}}"#, "providers.p.fallbacks[0]", #"no provider named "q""#),
    (#"{"providers": {"p": {"type": "openai", "retries": 11}}}"#, "providers.p.retries", "must be between 0 and 10"),
    (#"{"providers": {"p": {"type": "openai", "stream_usage": "yes"}}}"#, "providers.p.stream_usage", "must be true or false"),
    (#"{"providers": {"p": {"type": "openai", "budget": 5}}}"#, "providers.p.budget", "must be an object"),
    (#"{"providers": {"p": {"type": "openai", "budget": {"weekly_usd": 5}}}}"#, "providers.p.budget.weekly_usd", "unknown budget"),
    (#"{"providers": {"p": {"type": "openai", "budget": {"daily_usd": -1}}}}"#, "providers.p.budget.daily_usd", "must be a number of at least 0"),
    (#"{"providers": {"p": {"type": "openai", "budget": {"total_usd": "1"}}}}"#, "providers.p.budget.total_usd", "must be a number"),
    (#"{"providers": {"p": {"type": "openai", "timeout_seconds": 0}}}"#, "providers.p.timeout_seconds", "must be a positive number"),
    (#"{"providers": {"p": {"type": "openai", "connect_timeout_seconds": -2}}}"#, "providers.p.connect_timeout_seconds", "must be a positive number"),
    (#"{"routes": []}"#, "routes", "must be an object"),
    (#"{"routes": {"r": []}}"#, "routes.r", "must be a non-empty list"),
    (#"{"routes": {"r": "p/m"}}"#, "routes.r", "must be a non-empty list"),
    (#"{"providers": {"p": {"type": "openai"}}, "routes": {"r": ["p/m", "/m"]}}"#, "routes.r[1]", #"expected "PROVIDER/model""#),
    (#"{"providers": {"p": {"type": "openai"}}, "routes": {"r": ["p/m", 3]}}"#, "routes.r[1]", #"expected "PROVIDER/model", got 3"#),
    (#"{"routes": {"r": ["q/m"]}}"#, "routes.r[0]", #"no provider named "q""#),
    (#"{"failover": 1}"#, "failover", "must be an object"),
    (#"{"failover": {"failure_threshold": 0}}"#, "failover.failure_threshold", "must be at least 1"),
    (#"{"failover": {"cooldown_seconds": 0}}"#, "failover.cooldown_seconds", "must be a positive number"),
    (#"{"failover": {"cooldown_seconds": 60, "max_cooldown_seconds": 30}}"#, "failover.max_cooldown_seconds", "must be at least cooldown_seconds"),
    (#"{"failover": {"first_byte_timeout_seconds": -1}}"#, "failover.first_byte_timeout_seconds", "must be a positive number"),
    (#"{"models": []}"#, "models", #"must be an object of "PROVIDER/model""#),
    (#"{"models": {"m": {}}}"#, "models.m", #"keys must be "PROVIDER/model""#),
    (#"{"models": {"q/m": {}}}"#, "models.q/m", #"no provider named "q""#),
    (#"{"providers": {"p": {"type": "openai"}}, "models": {"p/m": 1}}"#, "models.p/m", "must be an object"),
    (#"{"providers": {"p": {"type": "openai"}}, "models": {"p/m": {"context_window": 0}}}"#, "models.p/m.context_window", "must be at least 1"),
    (#"{"providers": {"p": {"type": "openai"}}, "models": {"p/m": {"max_output_tokens": -1}}}"#, "models.p/m.max_output_tokens", "must be at least 0"),
    (#"{"providers": {"p": {"type": "openai"}}, "models": {"p/m": {"capabilities": "chat"}}}"#, "models.p/m.capabilities", "must be a list"),
    (#"{"providers": {"p": {"type": "openai"}}, "models": {"p/m": {"capabilities": ["telepathy"]}}}"#, "models.p/m.capabilities", "unknown capability"),
    (#"{"providers": {"p": {"type": "openai"}}, "models": {"p/m": {"input_usd_per_mtok": -0.1}}}"#, "models.p/m.input_usd_per_mtok", "must be a number of at least 0"),
]

/// `Config.parse`: a valid file's values and defaults, and every refusal's key and problem.
@Suite struct ConfigParseTests {
    static func parse(_ json: String) throws(ConfigError) -> Config { try Config.parse(Array(json.utf8)) }

    /// Parses `json` expecting a refusal; returns it.
    static func refusal(_ json: String) -> ConfigError? {
        do {
            _ = try parse(json)
            return nil
        } catch {
            return error
        }
    }

    @Test func anEmptyObjectGetsEveryDefault() throws {
        let config = try Self.parse("{}")
        #expect(config.listen == ListenAddress(host: "127.0.0.1", port: 4100))
        #expect(config.ledgerPath == "tollgate.sqlite")
        #expect(config.logLevel == "info")
        #expect(config.server == ServerSettings())
        #expect(config.server.maxBodyBytes == 32 << 20)
        #expect(config.server.idleTimeoutSeconds == 75)
        #expect(config.providers.isEmpty)
        #expect(config.routes.isEmpty)
        #expect(config.modelOverrides.isEmpty)
        #expect(config.failover == FailoverSettings())
        #expect(config.failover.failureThreshold == 3)
        #expect(config.failover.cooldownSeconds == 30)
        #expect(config.failover.maxCooldownSeconds == 300)
        #expect(config.shutdownGraceSeconds == 30)
        #expect(config.unknownKeys.isEmpty)
    }

    @Test func theExampleConfigParses() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../config.example.json")
        let bytes = try #require(readWholeFile(url.standardizedFileURL.path))
        let config = try Config.parse(bytes)
        #expect(config.providers.map(\.name) == ["openai", "local"])
        #expect(config.providers[0].raw["api_key"]?.stringValue.map(SecretReference.init) == .env("OPENAI_API_KEY"))
        #expect(config.route("fast") == [ModelTarget(provider: "openai", model: "gpt-4.1-mini"),
                                         ModelTarget(provider: "local", model: "llama3.2")])
        #expect(config.unknownKeys.isEmpty)
    }

    @Test func aFullConfigKeepsEveryValue() throws {
        let config = try Self.parse("""
            {
              "listen": "[::1]:8080", "ledger": "/var/lib/tollgate/ledger.sqlite", "log_level": "debug",
              "server": {"loops": 4, "max_body_bytes": 1024, "max_header_bytes": 256, "max_connections": 10,
                         "max_buffered_body_bytes": 4096, "header_timeout_seconds": 1.5, "body_timeout_seconds": 2, "idle_timeout_seconds": 3,
                         "loop_linger_microseconds": 0},
              "providers": {
                "zeta": {"type": "openai_compatible", "base_url": "http://127.0.0.1:9/v1", "protocol": "openai_chat",
                         "auth": "bearer", "api_key": "file:/run/secrets/zeta", "priority": 0,
                         "models": ["m1", "m2"], "headers": {"X-A": "1", "X-B": "two"},
                         "timeout_seconds": 60, "connect_timeout_seconds": 2.5, "retries": 3,
                         "fallbacks": ["alpha/m9"], "stream_usage": false,
                         "budget": {"daily_usd": 1.5, "monthly_usd": 20, "total_usd": 0}},
                "alpha": {"type": "anthropic", "api_key": "literal-key"}
              },
              "routes": {"fast": ["zeta/m1", "alpha/m9"], "solo": ["alpha/x"]},
              "models": {"zeta/m1": {"context_window": 8192, "max_output_tokens": 0, "capabilities": ["chat", "tools"],
                                     "input_usd_per_mtok": 0.5, "output_usd_per_mtok": 1.5, "cached_input_usd_per_mtok": 0.05}},
              "failover": {"failure_threshold": 5, "cooldown_seconds": 10, "max_cooldown_seconds": 80,
                           "max_retry_wait_seconds": 4, "retry_base_delay_seconds": 0.1, "first_byte_timeout_seconds": 9},
              "shutdown_grace_seconds": 2.5
            }
            """)
        #expect(config.listen == ListenAddress(host: "::1", port: 8080))
        #expect(config.ledgerPath == "/var/lib/tollgate/ledger.sqlite")
        #expect(config.logLevel == "debug")
        var server = ServerSettings()
        server.loops = 4
        server.maxBodyBytes = 1024
        server.maxHeaderBytes = 256
        server.maxConnections = 10
        server.maxBufferedBodyBytes = 4096
        server.headerTimeoutSeconds = 1.5
        server.bodyTimeoutSeconds = 2
        server.idleTimeoutSeconds = 3
        server.loopLingerMicroseconds = 0
        #expect(config.server == server)

        #expect(config.providers.map(\.name) == ["zeta", "alpha"])  // file order, not priority or name
        let zeta = try #require(config.provider(named: "zeta"))
        #expect(zeta.type == "openai_compatible")
        #expect(zeta.baseURL == "http://127.0.0.1:9/v1")
        #expect(zeta.protocolName == "openai_chat")
        #expect(zeta.authName == "bearer")
        #expect(zeta.raw["api_key"]?.stringValue.map(SecretReference.init) == .file("/run/secrets/zeta"))
        #expect(zeta.priority == 0)
        #expect(zeta.models == ["m1", "m2"])
        #expect(zeta.headers.map { "\($0.0)=\($0.1)" } == ["X-A=1", "X-B=two"])
        #expect(zeta.timeoutSeconds == 60)
        #expect(zeta.connectTimeoutSeconds == 2.5)
        #expect(zeta.retries == 3)
        #expect(zeta.fallbacks == [ModelTarget(provider: "alpha", model: "m9")])
        #expect(zeta.streamUsage == false)
        #expect(zeta.budget == Budget(dailyUSD: 1.5, monthlyUSD: 20, totalUSD: 0))
        let alpha = try #require(config.provider(named: "alpha"))
        #expect(alpha.raw["api_key"]?.stringValue.map(SecretReference.init) == .literal("literal-key"))
        #expect(alpha.priority == 100)
        #expect(alpha.retries == 1)
        #expect(alpha.timeoutSeconds == 600)
        #expect(alpha.connectTimeoutSeconds == 10)
        #expect(alpha.budget.isEmpty)
        #expect(alpha.streamUsage == nil)
        #expect(alpha.baseURL == nil)

        #expect(config.routes.map(\.alias) == ["fast", "solo"])
        #expect(config.route("solo") == [ModelTarget(provider: "alpha", model: "x")])
        #expect(config.route("nope") == nil)

        let override = try #require(config.modelOverrides.first)
        #expect(override.target == ModelTarget(provider: "zeta", model: "m1"))
        #expect(override.override.contextWindow == 8192)
        #expect(override.override.maxOutputTokens == 0)
        #expect(override.override.capabilities == [.chat, .tools])
        #expect(override.override.inputUSDPerMTok == 0.5)
        #expect(override.override.outputUSDPerMTok == 1.5)
        #expect(override.override.cachedInputUSDPerMTok == 0.05)

        var failover = FailoverSettings()
        failover.failureThreshold = 5
        failover.cooldownSeconds = 10
        failover.maxCooldownSeconds = 80
        failover.maxRetryWaitSeconds = 4
        failover.retryBaseDelaySeconds = 0.1
        failover.firstByteTimeoutSeconds = 9
        #expect(config.failover == failover)
        #expect(config.shutdownGraceSeconds == 2.5)
        #expect(config.unknownKeys.isEmpty)
    }

    @Test func unknownKeysAreCollectedNotRefused() throws {
        let config = try Self.parse("""
            {"colour": 1, "server": {"turbo": true}, "failover": {"x": 1},
             "providers": {"p": {"type": "openai", "flavour": "x"}}, "models": {"p/m": {"vibes": 1}}}
            """)
        #expect(config.unknownKeys == ["colour", "server.turbo", "providers.p.flavour", "failover.x", "models.p/m.vibes"])
    }

    @Test(arguments: [
        ("127.0.0.1:4100", "127.0.0.1", 4100), ("[::1]:80", "::1", 80), (":9000", "0.0.0.0", 9000),
        ("localhost:1", "localhost", 1),
    ])
    func listenAddresses(text: String, host: String, port: Int) throws {
        let config = try Self.parse(#"{"listen": "\#(text)"}"#)
        #expect(config.listen == ListenAddress(host: host, port: UInt16(port)))
        #expect(ListenAddress.parse(text)?.description == (host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"))
    }

    @Test func aRaisedCooldownRaisesTheDefaultMaximum() throws {
        let config = try Self.parse(#"{"failover": {"cooldown_seconds": 600}}"#)
        #expect(config.failover.cooldownSeconds == 600)
        #expect(config.failover.maxCooldownSeconds == 600)
    }

    @Test(arguments: [#"-1"#, #"0"#, #""30""#])
    func shutdownGraceSecondsMustBePositive(value: String) {
        #expect(Self.refusal(#"{"shutdown_grace_seconds": \#(value)}"#)?.key == "shutdown_grace_seconds")
    }

    @Test(arguments: configRefusals)
    func refusalsNameTheKeyAndTheProblem(json: String, key: String, problem: String) {
        let error = Self.refusal(json)
        #expect(error?.key == key, "\(json)")
        #expect(error?.problem.contains(problem) == true, "\(json): \(error?.problem ?? "accepted")")
        if let error {
            #expect(error.description == (key.isEmpty ? error.problem : "\(key): \(error.problem)"))
        }
    }

    // MARK: secret references

    @Test(arguments: [
        ("env:OPENAI_API_KEY", SecretReference.env("OPENAI_API_KEY")), ("file:/run/k", .file("/run/k")),
        ("sk-literal", .literal("sk-literal")), ("ENV:X", .literal("ENV:X")), ("", .literal("")),
    ])
    func secretReferencesByPrefix(text: String, expected: SecretReference) {
        #expect(SecretReference(text) == expected)
    }

    @Test func secretsResolveFromTheEnvironment() {
        #expect(SecretReference.env("K").resolve(environment: ["K": "v1"]).success == "v1")
        #expect(SecretReference.env("K").resolve(environment: [:]).failure?.problem == "environment variable K is not set")
        #expect(SecretReference.env("K").resolve(environment: ["K": ""]).failure?.problem == "environment variable K is not set")
        #expect(SecretReference.literal("abc").resolve(environment: [:]).success == "abc")
    }

    @Test func secretsResolveFromFilesTrimmed() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tollgate-secret-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let key = dir.appendingPathComponent("key").path
        try Data("  sk-from-file\n".utf8).write(to: URL(fileURLWithPath: key))
        let empty = dir.appendingPathComponent("empty").path
        try Data("\n \n".utf8).write(to: URL(fileURLWithPath: empty))
        for path in [key, empty] { chmod(path, 0o600) }
        #expect(SecretReference.file(key).resolve(environment: [:]).success == "sk-from-file")
        #expect(SecretReference.file(empty).resolve(environment: [:]).failure?.problem == "file \(empty) is empty")
        let missing = dir.appendingPathComponent("missing").path
        #expect(SecretReference.file(missing).resolve(environment: [:]).failure?.problem == "file \(missing) cannot be read")
    }

    @Test func redactedDescriptionsNeverShowTheSecret() {
        #expect(SecretReference("sk-secret").redacted == "literal value")
        #expect(SecretReference("env:KEY").redacted == "environment variable KEY")
        #expect(SecretReference("file:/k").redacted == "file /k")
    }

    @Test(arguments: [("p/m", "p", "m"), ("p/org/model", "p", "org/model")])
    func modelTargetsSplitAtTheFirstSlash(text: String, provider: String, model: String) {
        #expect(ModelTarget.split(text) == ModelTarget(provider: provider, model: model))
        #expect(ModelTarget.split(text)?.description == text)
    }

    @Test(arguments: ["plain", "/m", "p/", "/"])
    func modelTargetsNeedBothSides(text: String) {
        #expect(ModelTarget.split(text) == nil)
    }
}

extension Result {
    var success: Success? { if case .success(let v) = self { v } else { nil } }
    var failure: Failure? { if case .failure(let e) = self { e } else { nil } }
}
