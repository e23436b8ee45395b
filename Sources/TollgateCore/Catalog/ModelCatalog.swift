
/// What tollgate knows about one model: limits, capabilities and prices (USD per million tokens).
public struct ModelInfo: Sendable, Equatable {
    public var id: String
    public var providerType: String
    public var protocolName: String
    public var contextWindow: Int?
    public var maxOutputTokens: Int?
    /// nil when unknown: a request is then never refused for a capability.
    public var capabilities: Set<Capability>?
    public var inputUSDPerMTok: Double
    public var outputUSDPerMTok: Double
    public var cachedInputUSDPerMTok: Double?
    /// False when no price was found: the model is recorded at $0 and never blocked by a budget.
    public var priced: Bool
    /// Served through a subscription or CLI sign-in: it costs $0 and no budget blocks it; the
    /// prices above are the list prices, for what the request would have cost (`listCost`).
    public var subscription = false

    public init(id: String, providerType: String, protocolName: String = "", contextWindow: Int? = nil,
                maxOutputTokens: Int? = nil, capabilities: Set<Capability>? = nil, inputUSDPerMTok: Double = 0,
                outputUSDPerMTok: Double = 0, cachedInputUSDPerMTok: Double? = nil, priced: Bool = false) {
        self.id = id
        self.providerType = providerType
        self.protocolName = protocolName
        self.contextWindow = contextWindow
        self.maxOutputTokens = maxOutputTokens
        self.capabilities = capabilities
        self.inputUSDPerMTok = inputUSDPerMTok
        self.outputUSDPerMTok = outputUSDPerMTok
        self.cachedInputUSDPerMTok = cachedInputUSDPerMTok
        self.priced = priced
    }

    public var isFree: Bool {
        subscription || (inputUSDPerMTok == 0 && outputUSDPerMTok == 0 && (cachedInputUSDPerMTok ?? 0) == 0)
    }

    /// Cost of `usage`: $0 under a subscription, else its list price (`listCost`).
    public func cost(_ usage: Usage) -> Double {
        subscription ? 0 : listCost(usage)
    }

    /// `usage` at the list prices: uncached input, cached input (at the cached price when there
    /// is one) and output (reasoning tokens are part of completion tokens).
    public func listCost(_ usage: Usage) -> Double {
        let cached = min(max(usage.cachedTokens, 0), max(usage.promptTokens, 0))
        let uncached = max(usage.promptTokens - cached, 0)
        let micro = Double(uncached) * inputUSDPerMTok + Double(cached) * (cachedInputUSDPerMTok ?? inputUSDPerMTok)
            + Double(max(usage.completionTokens, 0)) * outputUSDPerMTok
        return micro / 1_000_000
    }

    public func applying(_ o: ModelOverride) -> ModelInfo {
        var m = self
        if let v = o.contextWindow { m.contextWindow = v }
        if let v = o.maxOutputTokens { m.maxOutputTokens = v }
        if let v = o.capabilities { m.capabilities = v }
        if let v = o.inputUSDPerMTok { m.inputUSDPerMTok = v; m.priced = true }
        if let v = o.outputUSDPerMTok { m.outputUSDPerMTok = v; m.priced = true }
        if let v = o.cachedInputUSDPerMTok { m.cachedInputUSDPerMTok = v }
        return m
    }
}

/// The bundled model registry (`BundledCatalog`), with config overrides applied on lookup.
public struct ModelCatalog: Sendable {
    public var models: [ModelInfo]
    public var pricesReadOn: String

    public init(models: [ModelInfo], pricesReadOn: String = "") {
        self.models = models
        self.pricesReadOn = pricesReadOn
    }

    /// Provider types that run on the user's machine and cost nothing.
    public static let localTypes: Set<String> = ["ollama", "lmstudio", "vllm", "llamacpp"]

    public func entry(providerType: String, model: String) -> ModelInfo? {
        models.first { $0.providerType == providerType && $0.id == model }
    }

    /// What is known about `model` served by a provider of `providerType` named `provider`.
    /// A `subscription` provider's models cost $0; their list prices are those of the same
    /// model id elsewhere in the catalog (an API provider's), for what it would have cost.
    public func info(provider: String, providerType: String, protocolName: String, model: String,
                     overrides: [(target: ModelTarget, override: ModelOverride)], subscription: Bool = false) -> ModelInfo {
        var info = entry(providerType: providerType, model: model)
            ?? models.first { $0.id == model && $0.protocolName == protocolName }
            ?? (subscription ? models.first { $0.id == model } : nil)
            ?? ModelInfo(id: model, providerType: providerType, protocolName: protocolName)
        info.providerType = providerType
        if subscription {
            info.subscription = true
            info.protocolName = protocolName
        }
        if Self.localTypes.contains(providerType) {
            info.inputUSDPerMTok = 0
            info.outputUSDPerMTok = 0
            info.cachedInputUSDPerMTok = nil
            info.priced = true
        }
        for (target, o) in overrides where target.provider == provider && target.model == model {
            info = info.applying(o)
        }
        return info
    }

    // MARK: loading

    public static func parse(_ bytes: [UInt8]) throws(ConfigError) -> ModelCatalog {
        let json: JSONValue
        do {
            json = try JSONValue.parse(bytes)
        } catch {
            throw ConfigError(key: "catalog", problem: "not valid JSON: \(error)")
        }
        guard let items = json["models"]?.arrayValue else { throw ConfigError(key: "catalog", problem: "no models list") }
        var models: [ModelInfo] = []
        for (i, item) in items.enumerated() {
            guard let id = item["id"]?.stringValue, let type = item["provider_type"]?.stringValue else {
                throw ConfigError(key: "catalog.models[\(i)]", problem: "id and provider_type are required")
            }
            let caps = (item["capabilities"]?.arrayValue ?? []).compactMap { $0.stringValue.flatMap(Capability.init) }
            models.append(ModelInfo(
                id: id, providerType: type, protocolName: item["protocol"]?.stringValue ?? "",
                contextWindow: item["context_window"]?.intValue, maxOutputTokens: item["max_output_tokens"]?.intValue,
                capabilities: Set(caps), inputUSDPerMTok: item["input_usd_per_mtok"]?.doubleValue ?? 0,
                outputUSDPerMTok: item["output_usd_per_mtok"]?.doubleValue ?? 0,
                cachedInputUSDPerMTok: item["cached_input_usd_per_mtok"]?.doubleValue,
                priced: item["input_usd_per_mtok"] != nil))
            models[models.count - 1].subscription = item["subscription"]?.boolValue ?? false
        }
        return ModelCatalog(models: models, pricesReadOn: json["prices_read_on"]?.stringValue ?? "")
    }

    /// The catalog bundled with tollgate.
    public static let bundled: ModelCatalog = (try? parse(Array(BundledCatalog.json.utf8))) ?? ModelCatalog(models: [])
}
