import TollgateCore
import TollgateWire

extension Candidate {
    /// The request header that carries a client's own provider key (for `"byok": true` providers).
    static let clientKeyHeader = "x-tollgate-provider-key"

    /// `candidates` for one request: `byok` providers take the client's `key` for this request
    /// only (it is never stored or logged); without one, a `byok` provider that has no key of its
    /// own is left out. Nothing left: 401 naming the header.
    static func applyingClientKey(_ key: String?, to candidates: [Candidate]) -> Result<[Candidate], GatewayError> {
        guard candidates.contains(where: \.provider.byok) else { return .success(candidates) }
        var kept: [Candidate] = []
        var needingKey: [String] = []
        for c in candidates {
            guard c.provider.byok else {
                kept.append(c)
                continue
            }
            if let key {
                kept.append(c.with(provider: c.provider.withClientKey(key)))
            } else if c.provider.needsClientKey {
                needingKey.append(c.provider.name)
            } else {
                kept.append(c)
            }
        }
        guard !kept.isEmpty else {
            let names = needingKey.map { "\"\($0)\"" }.joined(separator: ", ")
            return .failure(GatewayError(status: 401, type: "authentication_error", code: "provider_key_required",
                                         message: "Provider \(names) takes the client's own key: send it in the "
                                             + "\(clientKeyHeader) header."))
        }
        return .success(kept)
    }
}
