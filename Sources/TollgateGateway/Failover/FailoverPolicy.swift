import TollgateCore

/// The one place that decides what an upstream failure means for the request: go back to the
/// client, move to another candidate (first retrying the same provider or not), or move only to
/// a candidate with a larger context window. Every kind of request uses it.
public enum FailoverPolicy {
    public enum Action: Sendable, Equatable {
        /// The request itself is at fault (or the answer already started): the client gets the error.
        case returnToClient
        /// Only a candidate with a larger context window can help.
        case largerContext
        /// Try another candidate. `retrySameFirst`: first spend the provider's retries on it, with backoff.
        /// `signal`: the provider asked to go elsewhere (rate limited or overloaded with a retry-after);
        /// it is retried only when no other candidate remains and its wait is short enough.
        case failOver(retrySameFirst: Bool, signal: Bool)
    }

    public static func action(for failure: UpstreamFailure) -> Action {
        switch failure.kind {
        case .badRequest, .answerTooLarge, .cutMidStream: .returnToClient
        case .contextLength: .largerContext
        case .rateLimited: .failOver(retrySameFirst: false, signal: true)
        case .overloaded: failure.retryAfter != nil ? .failOver(retrySameFirst: false, signal: true)
                                                    : .failOver(retrySameFirst: true, signal: false)
        case .serverError, .timeout, .connection, .badResponse: .failOver(retrySameFirst: true, signal: false)
        case .auth, .notFound: .failOver(retrySameFirst: false, signal: false)
        }
    }

    /// What the failure says about the provider's health (its breaker).
    public static func healthOutcome(for failure: UpstreamFailure) -> ProviderHealth.Outcome {
        switch failure.kind {
        case .badRequest, .contextLength, .answerTooLarge:
            .requestError
        default:
            .failure(status: failure.error.status, message: failure.error.message, retryAfter: failure.retryAfter)
        }
    }

    /// Whether a failure of this kind counts as the provider's fault in the all-failed summary.
    static func isProviderFault(_ kind: UpstreamFailure.Kind) -> Bool {
        switch kind {
        case .badRequest, .contextLength, .answerTooLarge: false
        default: true
        }
    }
}
