import TollgateCore

/// What lets an exchange's attempts through, and what they hold while they run: the caller's
/// allow list and rate (once per request), then per attempt the provider's breaker, the
/// provider's budget and the caller's budget, each reservation settled to the real cost when
/// the attempt ends. Lives with its exchange on the loop queue.
struct AttemptAdmission {
    let gateway: Gateway
    /// Who asked (`clients` in the config); nil when no clients are configured.
    let caller: ResolvedClient?
    private var reservation: BudgetBook.Reservation?
    private var callerReservation: BudgetBook.Reservation?
    private var admittedAsProbe = false
    private var rateTicket: RateLimiter.Ticket?

    init(gateway: Gateway, caller: ResolvedClient?) {
        self.gateway = gateway
        self.caller = caller
    }

    /// The caller may ask for `route`, and within its rate; else the error to answer with.
    mutating func admitCaller(route: String, estimatedTokens: Int) -> GatewayError? {
        guard let caller else { return nil }
        guard ClientDirectory.allows(caller, model: route) else {
            return .forbidden("Client \"\(caller.name)\" may not use \"\(route)\" (its allow list: \(caller.allow.joined(separator: ", "))).",
                              code: "model_not_allowed")
        }
        switch gateway.rates.admit(client: caller.name, rpm: caller.rpm, tpm: caller.tpm, tokens: estimatedTokens) {
        case .failure(let limited):
            return .rateLimited("Client \"\(caller.name)\" is over its limit of \(limited.limit).",
                                retryAfter: max(1, limited.retryAfter))
        case .success(let ticket):
            rateTicket = ticket
            return nil
        }
    }

    /// Checks `provider`'s breaker, then reserves `worstCase` against its budgets and the caller's.
    mutating func gate(provider: String, worstCase: Double) -> FailoverEngine.Gate {
        let admission = gateway.health.admit(provider)
        if case .coolingDown(let remaining) = admission { return .coolingDown(remaining: remaining) }
        let mine: BudgetBook.Reservation
        switch gateway.budgets.reserve(provider: provider, amount: worstCase) {
        case .failure(let refusal):
            gateway.health.report(provider, .abandoned, wasProbe: admission == .probe)
            return .overBudget(refusal.description)
        case .success(let r):
            mine = r
        }
        if let caller {
            // The client's budget is charged the same worst case, under its own lock.
            switch gateway.clientBudgets.reserve(provider: caller.name, amount: worstCase) {
            case .failure(let refusal):
                gateway.budgets.settle(mine, cost: 0)
                gateway.health.report(provider, .abandoned, wasProbe: admission == .probe)
                return .overBudget(refusal.description)
            case .success(let theirs):
                callerReservation = theirs
            }
        }
        reservation = mine
        admittedAsProbe = admission == .probe
        return .open
    }

    /// Ends the attempt's admission (breaker) and reservations (budgets) at its real cost.
    mutating func release(provider: String, _ outcome: ProviderHealth.Outcome, cost: Double = 0) {
        if let reservation {
            gateway.budgets.settle(reservation, cost: cost)
            self.reservation = nil
        }
        if let callerReservation {
            gateway.clientBudgets.settle(callerReservation, cost: cost)
            self.callerReservation = nil
        }
        gateway.health.report(provider, outcome, wasProbe: admittedAsProbe)
        admittedAsProbe = false
    }

    /// The request used `tokens` (for the caller's tokens per minute).
    func settleRate(tokens: Int) {
        if let rateTicket { gateway.rates.settle(rateTicket, tokens: tokens) }
    }
}
