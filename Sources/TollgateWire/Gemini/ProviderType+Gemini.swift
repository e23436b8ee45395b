/// The Gemini API (AI Studio), spoken with `google_gemini` and `gemini_embed`.
extension ProviderType {
    /// Google's SDKs read `GEMINI_API_KEY`, then `GOOGLE_API_KEY`.
    static let gemini: ProviderType = {
        var type = ProviderType(name: "gemini", baseURL: "https://generativelanguage.googleapis.com",
                                protocolName: "google_gemini", embedProtocolName: "gemini_embed", authName: "google",
                                notes: "Gemini API (AI Studio) key")
        type.environment = ["api_key": ["GEMINI_API_KEY", "GOOGLE_API_KEY"]]
        return type
    }()
}
