/// Anthropic's API, spoken with `anthropic_messages`.
extension ProviderType {
    static let anthropic = ProviderType(name: "anthropic", baseURL: "https://api.anthropic.com",
                                        protocolName: "anthropic_messages", authName: "anthropic")
}
