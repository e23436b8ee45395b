import TollgateCore
import TollgateWire

/// One attempt's target: a provider and the model id it is asked for.
public struct Candidate: Sendable {
    public var provider: ResolvedProvider
    public var model: String
}

/// The configuration a request runs with: immutable, swapped whole on reload, so a request
/// keeps the snapshot it started with.
public final class GatewaySnapshot: Sendable {
    public let config: Config
    public let providers: [ResolvedProvider]

    public init(config: Config, providers: [ResolvedProvider]) {
        self.config = config
        self.providers = providers
    }

    public func provider(named name: String) -> ResolvedProvider? { providers.first { $0.name == name } }

    /// The ordered candidates for a requested model: a route alias, `NAME/model`, or a bare
    /// model id some provider lists (by priority, ties in config order). Disabled providers
    /// are left out; when nothing usable remains the error says why.
    public func plan(model: String) -> Result<[Candidate], GatewayError> {
        var targets: [(ResolvedProvider, String)] = []
        if let route = config.route(model) {
            targets = route.compactMap { t in provider(named: t.provider).map { ($0, t.model) } }
        } else if let split = ModelTarget.split(model), let p = provider(named: split.provider) {
            targets = [(p, split.model)]
        } else {
            targets = providers.filter { $0.models.contains(model) }
                .sorted { ($0.priority, $0.order) < ($1.priority, $1.order) }
                .map { ($0, model) }
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
        return .success(usable.map { Candidate(provider: $0.0, model: $0.1) })
    }

    /// Every id a client can request: aliases, `NAME/model` and bare ids of enabled providers.
    public func availableModelIDs() -> [String] {
        var ids: [String] = []
        var seen: Set<String> = []
        func add(_ id: String) { if seen.insert(id).inserted { ids.append(id) } }
        for route in config.routes where route.targets.contains(where: { provider(named: $0.provider)?.isEnabled == true }) {
            add(route.alias)
        }
        let enabled = providers.filter(\.isEnabled).sorted { ($0.priority, $0.order) < ($1.priority, $1.order) }
        for p in enabled { for m in p.models { add("\(p.name)/\(m)") } }
        for p in enabled { for m in p.models { add(m) } }
        return ids
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
        let enabled = providers.filter(\.isEnabled).sorted { ($0.priority, $0.order) < ($1.priority, $1.order) }
        for p in enabled { for m in p.models { add("\(p.name)/\(m)", owner: p.name) } }
        for p in enabled { for m in p.models { add(m, owner: p.name) } }
        return ["object": "list", "data": .array(data)]
    }
}
