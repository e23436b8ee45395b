import TollgateCore

extension FailoverEngine {
    /// The error for the client when nothing worked: one provider's own error as it sent it,
    /// or one error naming every attempt, refusal and cooldown.
    func summary(last: UpstreamFailure?) -> GatewayError {
        let involved = Set(failures.map(\.provider) + refusals.map(\.provider) + cooling.map(\.provider))
        if involved.count <= 1, !failures.isEmpty, refusals.isEmpty, let last { return last.error }
        if failures.isEmpty, cooling.isEmpty, !refusals.isEmpty {
            return GatewayError(status: 429, type: "budget_exceeded", code: "budget_exceeded",
                                message: "Every provider for \"\(route)\" is over budget: "
                                    + refusals.map(\.reason).joined(separator: "; ") + ".")
        }
        if failures.isEmpty, refusals.isEmpty, !cooling.isEmpty {
            let wait = cooling.map(\.remaining).min() ?? 1
            return GatewayError(status: 503, type: "service_unavailable", code: "providers_cooling_down",
                                message: "Every provider for \"\(route)\" is cooling down after failures: "
                                    + cooling.map { "\($0.provider) (\(Int($0.remaining.rounded(.up))) s more)" }
                                        .joined(separator: ", ") + ".",
                                retryAfter: max(1, wait))
        }
        if failures.isEmpty, refusals.isEmpty, cooling.isEmpty {
            return .modelNotFound("No provider is left to try for \"\(route)\".")
        }
        var parts = failures.map { "\($0.provider)/\($0.model): \($0.failure.error.status) \($0.failure.error.message.prefix(200))" }
        parts += refusals.map { "\($0.provider): over budget (\($0.reason))" }
        parts += cooling.map { "\($0.provider): cooling down" }
        let kinds = failures.map(\.failure.kind)
        let status: Int
        if kinds.allSatisfy({ $0 == .rateLimited }) && cooling.isEmpty {
            status = 429
        } else if failures.allSatisfy({ [503, 529, 0].contains($0.failure.error.status) }) {
            status = 503
        } else if let last, !FailoverPolicy.isProviderFault(last.kind) {
            status = last.error.status
        } else {
            status = 502
        }
        return GatewayError(status: status, type: GatewayError.openAIType(forStatus: status), code: "all_providers_failed",
                            message: "Every provider failed for \"\(route)\" (\(parts.count) attempts): "
                                + parts.joined(separator: "; "),
                            retryAfter: last?.retryAfter)
    }
}
