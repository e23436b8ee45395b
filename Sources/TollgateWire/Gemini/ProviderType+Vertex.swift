/// Gemini on Vertex AI: the same `generateContent` API under a project and location, with an
/// OAuth bearer token instead of an API key.
extension ProviderType {
    static let googleVertex: ProviderType = {
        var type = ProviderType(
            name: "google_vertex",
            baseURL: "https://{location}-aiplatform.googleapis.com/v1/projects/{project}/locations/{location}/publishers/google",
            protocolName: "google_vertex", authName: "google_vertex",
            fields: [ProviderField("project", summary: "the Google Cloud project id"),
                     ProviderField("location", summary: "a region (us-central1, europe-west4, …) or global"),
                     ProviderField("service_account_file", required: false,
                                   summary: "a service account's JSON key (else api_key is an access token)"),
                     ProviderField("token_url", required: false, summary: "the token endpoint (default: the key's token_uri)")],
            notes: "Gemini on Vertex AI; a service account key, or an OAuth access token as api_key")
        // The global location has no regional host.
        type.baseURLAliases = [("https://global-aiplatform.googleapis.com/", "https://aiplatform.googleapis.com/")]
        // The google-genai SDK's variables for the project and location (the token has none).
        type.environment = ["project": ["GOOGLE_CLOUD_PROJECT"], "location": ["GOOGLE_CLOUD_LOCATION"]]
        return type
    }()
}
