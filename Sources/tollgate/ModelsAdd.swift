#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import FoundationEssentials
import TollgateCore
import TollgateGateway
import TollgateWire

/// `tollgate models add`: a provider added to a config file — asked for step by step on a
/// terminal, or given entirely by flags for scripts — after a connection test; the rest of the
/// file stays as it was. A key typed in is stored encrypted with systemd-creds when it can be.
struct ModelsAdd: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "add", abstract: "Add a provider to a config file (interactive, or headless with --yes).")

    @Option(name: .long, help: "The config file to add the provider to.")
    var config: String
    @Option(name: .long, help: "Provider type (see the README's providers table).")
    var type: String?
    @Option(name: .long, help: "Provider name (default: the type).")
    var name: String?
    @Option(name: .long, help: "Environment variable that holds the key (the config gets env:VAR).")
    var apiKeyEnv: String?
    @Option(name: .long, help: "A secret reference for the key as the config takes it (env:VAR, file:PATH, credential:NAME).")
    var apiKey: String?
    @Option(name: .long, help: "Base URL, when the type has none or it should differ.")
    var baseUrl: String?
    @Option(name: .long, parsing: .singleValue, help: "A type field as KEY=VALUE (region, account_id, project, …); repeatable.")
    var field: [String] = []
    @Option(name: .long, parsing: .singleValue, help: "A model id it serves; repeatable (default: the catalog's for the type).")
    var model: [String] = []
    @Option(name: .long, help: "Priority (1 is tried first).")
    var priority: Int?
    @Option(name: .long, help: "Daily budget in USD.")
    var dailyUsd: Double?
    @Option(name: .long, help: "Monthly budget in USD.")
    var monthlyUsd: Double?
    @Option(name: .long, help: "Total budget in USD.")
    var totalUsd: Double?
    @Flag(name: .long, help: "Skip the connection test.")
    var skipTest = false
    @Flag(name: .long, help: "Ask nothing: take the flags and defaults, and write.")
    var yes = false

    func run() throws {
        let interactive = !yes && Terminal.isInteractive
        guard let text = readWholeFile(config) else { throw StartupError("cannot read config file \(config)") }

        // 1. The type.
        let types = WireRegistry.providerTypes.values.sorted { $0.name < $1.name }
        var typeName = type
        if typeName == nil, interactive {
            Terminal.say("Provider types:")
            for (i, t) in types.enumerated() { Terminal.say("  \(i + 1). \(t.name) — \(Self.describe(t))") }
            let answer = Terminal.ask("Provider type (number or name)") ?? ""
            typeName = Int(answer).flatMap { $0 >= 1 && $0 <= types.count ? types[$0 - 1].name : nil } ?? answer
        }
        guard let typeName, let providerType = WireRegistry.providerTypes[typeName] else {
            throw ValidationError("--type must be one of: \(types.map(\.name).joined(separator: ", "))")
        }
        let existing = try Config.parse(text)
        var providerName = name ?? (interactive ? Terminal.ask("Name", default: Self.freeName(typeName, in: existing)) : nil)
            ?? Self.freeName(typeName, in: existing)
        providerName = providerName.trimmingWhitespace()
        guard !providerName.isEmpty, !providerName.contains("/") else { throw ValidationError("a provider name must be non-empty and contain no '/'") }
        guard existing.provider(named: providerName) == nil else { throw ValidationError("a provider named \"\(providerName)\" exists already") }

        // 2. Its fields.
        var entry = JSONObject([("type", .string(typeName))])
        var fields: [String: String] = [:]
        for item in field {
            guard let eq = item.firstIndex(of: "=") else { throw ValidationError("--field takes KEY=VALUE, got \(item)") }
            fields[String(item[..<eq])] = String(item[item.index(after: eq)...])
        }
        var base = baseUrl
        if base == nil, providerType.baseURL == nil {
            base = interactive ? Terminal.ask("Base URL (e.g. http://127.0.0.1:8000/v1)") : nil
            guard base?.isEmpty == false else { throw ValidationError("type \(typeName) needs --base-url") }
        }
        if let base { entry["base_url"] = .string(base) }
        for f in providerType.fields {
            if fields[f.name] == nil, f.required, interactive {
                fields[f.name] = Terminal.ask("\(f.name) (\(f.summary))")
            }
            guard let value = fields[f.name], !value.isEmpty else {
                if f.required { throw ValidationError("type \(typeName) needs --field \(f.name)=… (\(f.summary))") }
                continue
            }
            entry[f.name] = .string(value)
        }

        // 3. The key: a reference, or a secret typed without echo (kept in memory for the test).
        let needsKey = WireRegistry.authStrategies[providerType.authName]?.missingCredential(ProviderCredentials()) != nil
        var typedKey: String?
        var keyReference = apiKey ?? apiKeyEnv.map { "env:\($0)" }
        if keyReference == nil, needsKey {
            if interactive {
                let secret = Terminal.askSecret("API key (hidden; empty to name an environment variable instead)") ?? ""
                if secret.isEmpty {
                    let variable = Terminal.ask("Environment variable holding the key", default: Self.keyVariable(typeName)) ?? ""
                    keyReference = "env:\(variable)"
                } else {
                    typedKey = secret
                }
            } else {
                throw ValidationError("type \(typeName) needs a key: --api-key-env VAR (or --api-key env:VAR|file:PATH|credential:NAME)")
            }
        }
        if !model.isEmpty {
            entry["models"] = .array(model.map { .string($0) })
        } else if interactive {
            let list = Terminal.ask("Models it serves, comma-separated (empty: the catalog's for \(typeName))") ?? ""
            let ids: [String] = list.split(separator: ",").map { String($0).trimmingWhitespace() }.filter { !$0.isEmpty }
            if !ids.isEmpty { entry["models"] = .array(ids.map { .string($0) }) }
        }

        // 4. The connection test, with the key in memory only.
        if !skipTest {
            var trial = entry
            let secretVariable = "TOLLGATE_WIZARD_KEY"
            if typedKey != nil { trial["api_key"] = .string("env:\(secretVariable)") } else if let keyReference { trial["api_key"] = .string(keyReference) }
            var environment = ProcessInfo.processInfo.environment
            if let typedKey { environment[secretVariable] = typedKey }
            let result = try Self.test(existing: existing, name: providerName, entry: trial, environment: environment)
            if result.ok {
                Terminal.say("connection test: ok in \(formatMilliseconds(result.latencyMs)) — \(result.model) answered \"\(result.answer.prefix(80))\"")
            } else {
                Terminal.say("connection test failed: \(result.error)")
                guard interactive, Terminal.confirm("Add it anyway?", default: false) else {
                    throw StartupError("not added: the connection test failed (--skip-test adds it untested)")
                }
            }
        }

        // 5. Priority and budget.
        var chosenPriority = priority
        if chosenPriority == nil, interactive { chosenPriority = Int(Terminal.ask("Priority (1 is tried first)", default: "100") ?? "") }
        if let chosenPriority { entry["priority"] = .int(chosenPriority) }
        var daily = dailyUsd
        if daily == nil, monthlyUsd == nil, totalUsd == nil, interactive {
            daily = Double(Terminal.ask("Daily budget in USD (empty: none)") ?? "")
        }
        var budget = JSONObject()
        if let daily { budget["daily_usd"] = .double(daily) }
        if let monthlyUsd { budget["monthly_usd"] = .double(monthlyUsd) }
        if let totalUsd { budget["total_usd"] = .double(totalUsd) }
        if !budget.entries.isEmpty { entry["budget"] = .object(budget) }

        // 6. Where the typed key goes: an encrypted credential, else an environment variable to set.
        if let typedKey {
            let directory = existing.credentialsDir
                ?? SecretReference.defaultCredentialsDir(environment: ProcessInfo.processInfo.environment)
            switch CredentialStore.store(name: providerName, secret: typedKey, directory: directory) {
            case .success(let reference):
                keyReference = reference
                Terminal.say("the key is stored encrypted in \(directory)/\(providerName).cred (systemd-creds)")
            case .failure(let why):
                let variable = Self.keyVariable(typeName)
                keyReference = "env:\(variable)"
                Terminal.say("the key was not stored (\(why)); set \(variable) in tollgate's environment (e.g. /etc/tollgate/tollgate.env)")
            }
        }
        if let keyReference { entry["api_key"] = .string(keyReference) }

        // 7. Written into the file, everything else kept.
        let updated = try ConfigEditor.addProvider(to: text, name: providerName, entry: .object(entry))
        _ = try Config.parse(updated)
        if interactive {
            Terminal.say(ConfigEditor.pretty(.object(entry), depth: 0))
            guard Terminal.confirm("Write provider \"\(providerName)\" to \(config)?", default: true) else {
                throw StartupError("not written")
            }
        }
        try Self.replace(config, with: updated)
        Terminal.say("added provider \"\(providerName)\" to \(config); a running daemon picks it up on reload (systemctl reload tollgate, or SIGHUP)")
    }

    static func describe(_ t: ProviderType) -> String {
        let where_ = t.baseURL ?? "your base_url"
        return t.notes.isEmpty ? "\(t.protocolName) at \(where_)" : "\(t.notes) (\(t.protocolName))"
    }

    /// The conventional variable for a type's key (the one an omitted `api_key` is read from).
    static func keyVariable(_ type: String) -> String {
        WireRegistry.providerTypes[type]?.environment["api_key"]?.first
            ?? type.uppercased().replacing("-", with: "_") + "_API_KEY"
    }

    static func freeName(_ type: String, in config: Config) -> String {
        if config.provider(named: type) == nil { return type }
        var n = 2
        while config.provider(named: "\(type)-\(n)") != nil { n += 1 }
        return "\(type)-\(n)"
    }

    static func test(existing: Config, name: String, entry: JSONObject, environment: [String: String]) throws -> ProviderProbe.Result {
        let text = try ConfigEditor.addProvider(to: Array(#"{"listen": "127.0.0.1:0"}"#.utf8), name: name, entry: .object(entry))
        var config = try Config.parse(text)
        config.modelOverrides = existing.modelOverrides
        let resolved = try WireRegistry.resolve(config, environment: environment)
        let snapshot = GatewaySnapshot(config: config, providers: resolved.providers, environment: environment)
        return try ProviderProbe.probe(snapshot, names: [name]).first
            ?? ProviderProbe.Result(provider: name, model: "-", ok: false, latencyMs: 0, answer: "", error: "no result")
    }

    /// Writes `path` through a temporary file and a rename, keeping the file's mode.
    static func replace(_ path: String, with bytes: [UInt8]) throws {
        var info = stat()
        let mode = stat(path, &info) == 0 ? info.st_mode & 0o7777 : 0o600
        let temporary = path + ".tollgate-new"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
        guard fd >= 0 else { throw StartupError("cannot write \(temporary)") }
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            guard n > 0 else { close(fd); throw StartupError("cannot write \(temporary)") }
            offset += n
        }
        fsync(fd)
        close(fd)
        guard rename(temporary, path) == 0 else { throw StartupError("cannot replace \(path)") }
    }
}

/// `tollgate models remove NAME`: the provider taken out of the config file, the rest kept.
struct ModelsRemove: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "remove", abstract: "Remove a provider from a config file.")

    @Option(name: .long, help: "The config file.")
    var config: String
    @Argument(help: "The provider's name.")
    var name: String

    func run() throws {
        guard let text = readWholeFile(config) else { throw StartupError("cannot read config file \(config)") }
        let updated: [UInt8]
        do {
            updated = try ConfigEditor.removeProvider(from: text, name: name)
        } catch let error as ConfigEditor.EditError {
            throw StartupError(error.description)
        }
        let parsed = try Config.parse(updated)
        for (alias, targets) in parsed.routes where targets.contains(where: { $0.provider == name }) {
            printError("warning: route \"\(alias)\" still names \(name)")
        }
        try ModelsAdd.replace(config, with: updated)
        print("removed provider \"\(name)\" from \(config); a running daemon drops it on reload")
    }
}

/// `tollgate providers test [NAME]`: one minimal request to each provider, as a table.
struct ProvidersCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "providers", abstract: "Check providers.",
                                                    subcommands: [Test.self])

    struct Test: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Send each provider (or NAME) a minimal request and show the outcome.")

        @Option(name: .long, help: "The config file.")
        var config: String
        @Option(name: .long, help: "The model to ask (default: the provider's first).")
        var model: String?
        @Argument(help: "Providers to test (default: all).")
        var names: [String] = []

        func run() throws {
            let snapshot = try ConfigLoader.load(path: config).snapshot
            let chosen = names.isEmpty ? snapshot.providers.map(\.name) : names
            let results = try ProviderProbe.probe(snapshot, names: chosen, model: model)
            let rows = results.map { r in
                [r.provider, r.ok ? "ok" : "FAIL", r.ok || r.latencyMs > 0 ? formatMilliseconds(r.latencyMs) : "-", r.model,
                 r.ok ? String(r.answer.prefix(40)) : String(r.error.prefix(100))]
            }
            print(formatTable(header: ["PROVIDER", "STATUS", "LATENCY", "MODEL", "ANSWER OR ERROR"], rows: rows))
            if results.contains(where: { !$0.ok }) { throw ExitCode(1) }
        }
    }
}

func formatMilliseconds(_ ms: Double) -> String {
    ms >= 1000 ? fixedDecimals(ms / 1000, 2) + " s" : fixedDecimals(ms, 0) + " ms"
}
