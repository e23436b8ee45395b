import FoundationEssentials
import Synchronization
import TollgateCore
import TollgateWire

/// The configuration a request runs with: immutable, swapped whole on reload, so a request
/// keeps the snapshot it started with.
public final class GatewaySnapshot: Sendable {
    public let config: Config
    public let providers: [ResolvedProvider]
    public let catalog: ModelCatalog
    /// Model ids each provider serves: its `models`, models the config adds for it, or else
    /// the catalog's models of its type.
    public let servedModels: [String: [String]]
    /// Redacts every provider's secrets (and key-shaped tokens) from upstream messages.
    public let redactor: SecretRedactor
    /// The admin key read from `admin_key`, or why it could not be read (then `/admin/*` refuses everyone).
    public let adminKey: Result<String, ConfigError>?
    /// The configured clients, their keys read.
    public let clients: ClientDirectory

    /// `environment` resolves an `env:` admin key.
    public init(config: Config, providers: [ResolvedProvider], catalog: ModelCatalog = .bundled,
                environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.config = config
        self.providers = providers
        self.catalog = catalog
        var served: [String: [String]] = [:]
        for p in providers {
            var ids = p.models
            for (target, _) in config.modelOverrides where target.provider == p.name && !ids.contains(target.model) {
                ids.append(target.model)
            }
            if ids.isEmpty {
                ids = catalog.models.filter { $0.providerType == p.type && $0.protocolName == p.chat.name }.map(\.id)
            }
            served[p.name] = ids
        }
        servedModels = served
        adminKey = config.adminKey.map { $0.resolve(environment: environment, credentialsDir: config.credentialsDir) }
        clients = ClientDirectory(config.clients, environment: environment)
        var secrets = providers.flatMap(\.credentials.all) + clients.secrets
        if case .success(let key)? = adminKey { secrets.append(key) }
        redactor = SecretRedactor(secrets: secrets)
    }

    public func provider(named name: String) -> ResolvedProvider? { providers.first { $0.name == name } }

    public func info(provider: ResolvedProvider, model: String) -> ModelInfo {
        catalog.info(provider: provider.name, providerType: provider.type, protocolName: provider.chat.name, model: model,
                     overrides: config.modelOverrides, subscription: provider.subscription)
    }

    private var byPriority: [ResolvedProvider] {
        providers.sorted { ($0.priority, $0.order) < ($1.priority, $1.order) }
    }

    /// The ordered candidates for a requested model: a route alias, `NAME/model` (then that
    /// provider's fallbacks), or a bare model id some provider serves (by priority, ties in
    /// config order). `pinned` (the x-tollgate-provider header) keeps one provider. Disabled
    /// providers and candidates lacking a capability in `needs` are left out; when nothing
    /// remains the error says why.
    public func plan(model: String, pinned: String? = nil, needs: Set<Capability> = []) -> Result<[Candidate], GatewayError> {
        // The snapshot never changes, so a plan is worked out once per (model, pin, needs).
        let key = PlanKey(model: model, pinned: pinned, needs: needs)
        if let cached = plans.withLock({ $0[key] }) { return cached }
        let result = makePlan(model: model, pinned: pinned, needs: needs)
        plans.withLock { cache in
            if cache.count >= Self.maxCachedPlans { cache.removeAll(keepingCapacity: true) }
            cache[key] = result
        }
        return result
    }

    struct PlanKey: Hashable {
        var model: String
        var pinned: String?
        var needs: Set<Capability>
    }
    private let plans = Mutex<[PlanKey: Result<[Candidate], GatewayError>]>([:])
    /// Plans kept at most; client-chosen model ids cannot grow the cache without bound.
    static let maxCachedPlans = 1024

    private func makePlan(model: String, pinned: String?, needs: Set<Capability>) -> Result<[Candidate], GatewayError> {
        // A model id reaches upstream URLs, response headers and logs: no control characters
        // (each protocol encodes the rest where it puts the id in a path).
        guard !PathSegment.hasControlCharacters(model) else {
            return .failure(.invalidRequest("The model id must not contain control characters.", param: "model"))
        }
        var targets: [(ResolvedProvider, String)] = []
        // Tiers: a route's targets and a provider's fallbacks are tried in their listed order
        // (a route with its own "balance" is one tier); bare ids go by provider priority.
        var tierOf: (Int, ResolvedProvider) -> Int = { position, _ in position }
        if let route = config.route(model) {
            targets = route.compactMap { t in provider(named: t.provider).map { ($0, t.model) } }
            if config.routeBalance[model] != nil { tierOf = { _, _ in 0 } }
        } else if let split = ModelTarget.split(model), let p = provider(named: split.provider) {
            targets = [(p, split.model)]
            let fallbacks = config.provider(named: p.name)?.fallbacks ?? []
            targets += fallbacks.compactMap { t in provider(named: t.provider).map { ($0, t.model) } }
        } else {
            targets = byPriority.filter { servedModels[$0.name]?.contains(model) == true }.map { ($0, model) }
            tierOf = { _, p in p.priority }
        }
        if let pinned {
            guard let p = provider(named: pinned) else {
                return .failure(.invalidRequest("x-tollgate-provider names no configured provider: \"\(pinned)\".",
                                                code: "unknown_provider"))
            }
            let kept = targets.filter { $0.0.name == pinned }
            if !kept.isEmpty {
                targets = kept
            } else {
                let upstreamModel = ModelTarget.split(model).flatMap { provider(named: $0.provider) != nil ? $0.model : nil }
                    ?? targets.first?.1 ?? model
                targets = [(p, upstreamModel)]
            }
        }
        guard !targets.isEmpty else {
            let available = availableModelIDs()
            let list = available.prefix(40).joined(separator: ", ")
            let more = available.count > 40 ? ", …" : ""
            return .failure(.modelNotFound("The model \"\(model)\" does not exist here. Available: "
                + (available.isEmpty ? "none (no provider is enabled)" : list + more) + "."))
        }
        let usable = targets.filter { $0.0.isEnabled }
        guard !usable.isEmpty else {
            let reasons = targets.map { "provider \"\($0.0.name)\" is disabled (\($0.0.disabledReason ?? ""))" }
            return .failure(.unavailable("No enabled provider can serve \"\(model)\": " + reasons.joined(separator: "; ") + ".",
                                         code: "provider_disabled"))
        }
        let candidates = usable.enumerated().map { position, target in
            Candidate(provider: target.0, model: target.1, info: info(provider: target.0, model: target.1),
                      tier: tierOf(position, target.0), weight: config.provider(named: target.0.name)?.weight ?? 1)
        }
        let capable = candidates.filter { c in
            guard let caps = c.info.capabilities, !caps.isEmpty else { return true }
            return needs.isSubset(of: caps)
        }
        guard !capable.isEmpty else {
            let missing = needs.filter { need in candidates.allSatisfy { $0.info.capabilities?.contains(need) == false } }
            let names = (missing.isEmpty ? needs : missing).sorted().map(\.rawValue).joined(separator: ", ")
            return .failure(.invalidRequest("This request needs \(names), which no candidate for \"\(model)\" supports ("
                + candidates.map { "\($0.provider.name)/\($0.model)" }.joined(separator: ", ") + ").",
                                            code: "capability_not_supported"))
        }
        return .success(capable)
    }

    /// How candidates of equal tier share the load for a requested model.
    public func balance(for model: String) -> BalanceMode {
        config.routeBalance[model] ?? config.failover.balance
    }

    /// Every id a client can request: aliases, `NAME/model` and bare ids of enabled providers.
    public func availableModelIDs() -> [String] {
        (modelsListJSON()["data"]?.arrayValue ?? []).compactMap { $0["id"]?.stringValue }
    }

    /// GET /v1/models in OpenAI's list format.
    public func modelsListJSON() -> JSONValue {
        var data: [JSONValue] = []
        var seen: Set<String> = []
        func add(_ id: String, owner: String) {
            guard seen.insert(id).inserted else { return }
            data.append(["id": .string(id), "object": "model", "created": 0, "owned_by": .string(owner)])
        }
        for route in config.routes where route.targets.contains(where: { provider(named: $0.provider)?.isEnabled == true }) {
            add(route.alias, owner: "tollgate")
        }
        let enabled = byPriority.filter(\.isEnabled)
        for p in enabled { for m in servedModels[p.name] ?? [] { add("\(p.name)/\(m)", owner: p.name) } }
        for p in enabled { for m in servedModels[p.name] ?? [] { add(m, owner: p.name) } }
        return ["object": "list", "data": .array(data)]
    }
}

extension ChatRequestInput {
    /// Capabilities the request needs from a model (read from the scanned bytes where possible).
    public var neededCapabilities: Set<Capability> {
        var needs: Set<Capability> = []
        if let tools = member("tools")?.arrayValue, !tools.isEmpty { needs.insert(.tools) }
        if member("response_format")?["type"]?.stringValue == "json_schema" { needs.insert(.json_schema) }
        // `"image_url"` outside a string can only be a key or a type value: an image part.
        if scan == nil ? (json["messages"]?.arrayValue ?? []).contains(where: { message in
            (message["content"]?.arrayValue ?? []).contains { $0["type"]?.stringValue == "image_url" }
        }) : rawContains("\"image_url\"") {
            needs.insert(.vision)
        }
        return needs
    }

    /// The output cap the client set, if any.
    public var maxOutputTokens: Int? {
        member("max_completion_tokens")?.intValue ?? member("max_tokens")?.intValue
    }

    /// Estimated input tokens, for budget reservations and estimated rows.
    public var estimatedInputTokens: Int {
        guard scan != nil else { return TokenEstimator.inputTokens(json) }
        return rawBody.withUnsafeBytes { raw in
            TokenEstimator.inputTokens(raw: raw, messages: memberRange("messages"), tools: memberRange("tools"))
        }
    }
}
