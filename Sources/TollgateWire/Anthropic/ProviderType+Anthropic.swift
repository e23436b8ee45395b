/// Anthropic's API, spoken with `anthropic_messages`.
extension ProviderType {
    static let anthropic: ProviderType = {
        var type = ProviderType(name: "anthropic", baseURL: "https://api.anthropic.com",
                                protocolName: "anthropic_messages", authName: "anthropic")
        type.environment = ["api_key": ["ANTHROPIC_API_KEY"]]
        return type
    }()
}
