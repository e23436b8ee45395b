/// Subscription and CLI sign-in providers: they cost $0 (the catalog marks their models
/// subscription; the ledger still records the list price), are never blocked by a budget, and
/// sign in through their auth strategy (see `AnthropicSubscriptionAuth`, `CodexAuth`, `CopilotAuth`).
extension ProviderType {
    static let anthropicSubscription: ProviderType = {
        var type = ProviderType(
            name: "anthropic_subscription", baseURL: "https://api.anthropic.com", protocolName: "anthropic_messages",
            authName: "anthropic_subscription",
            fields: [ProviderField("sign_in", required: false,
                                   summary: "client (default: the bearer Claude Code sends) or claude_code (its sign-in file)",
                                   allowed: ["client", "claude_code"]),
                     ProviderField("credentials_file", required: false, summary: "default ~/.claude/.credentials.json"),
                     ProviderField("token_url", required: false, summary: "OAuth refresh endpoint"),
                     ProviderField("client_id", required: false, summary: "OAuth client id for refresh")],
            notes: "a Claude subscription (Claude Code's sign-in)")
        type.subscription = true
        return type
    }()

    static let codex: ProviderType = {
        var type = ProviderType(
            name: "codex", baseURL: "https://chatgpt.com/backend-api/codex", protocolName: "openai_responses",
            authName: "codex",
            fields: [ProviderField("auth_file", required: false, summary: "default $CODEX_HOME/auth.json or ~/.codex/auth.json"),
                     ProviderField("token_url", required: false, summary: "OAuth refresh endpoint"),
                     ProviderField("client_id", required: false, summary: "OAuth client id for refresh")],
            notes: "a ChatGPT subscription (the Codex CLI's sign-in)")
        type.subscription = true
        return type
    }()

    static let githubCopilot: ProviderType = {
        var type = ProviderType(
            name: "github_copilot", baseURL: "https://api.githubcopilot.com", protocolName: "openai_chat",
            authName: "github_copilot",
            fields: [ProviderField("token_url", required: false, summary: "Copilot token exchange endpoint")],
            notes: "a GitHub Copilot subscription (`tollgate login copilot`)")
        type.subscription = true
        return type
    }()
}
