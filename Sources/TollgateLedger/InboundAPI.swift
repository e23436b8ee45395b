/// The API a client spoke to tollgate: which front door a request came in by. Recorded on each
/// ledger row; every inbound API shares one engine (routing, failover, budgets, ledger).
public enum InboundAPI: String, Sendable, CaseIterable {
    /// OpenAI Chat Completions, `POST /v1/chat/completions`.
    case chat
    /// OpenAI embeddings, `POST /v1/embeddings`.
    case embeddings
    /// Anthropic Messages, `POST /v1/messages`.
    case messages
    /// Anthropic token counting, `POST /v1/messages/count_tokens`.
    case countTokens = "count_tokens"
    /// OpenAI Responses, `POST /v1/responses`.
    case responses
}
