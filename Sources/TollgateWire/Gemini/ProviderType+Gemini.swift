/// The Gemini API (AI Studio), spoken with `google_gemini` and `gemini_embed`.
extension ProviderType {
    static let gemini = ProviderType(name: "gemini", baseURL: "https://generativelanguage.googleapis.com",
                                     protocolName: "google_gemini", embedProtocolName: "gemini_embed", authName: "google",
                                     notes: "Gemini API (AI Studio) key")
}
