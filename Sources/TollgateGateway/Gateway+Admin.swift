import Dispatch
import TollgateCore
import TollgateHTTP
import TollgateLedger

extension Gateway {
    /// GET /admin/providers: each provider's state, failures, requests in flight, last error.
    func providersJSON() -> JSONValue {
        let snapshot = self.snapshot
        let list: [JSONValue] = snapshot.providers.map { p in
            let s = health.status(of: p.name)
            var o = JSONObject()
            o["name"] = .string(p.name)
            o["type"] = .string(p.type)
            o["protocol"] = .string(p.chat.name)
            o["priority"] = .int(p.priority)
            o["enabled"] = .bool(p.isEnabled)
            o["state"] = .string((p.isEnabled ? s.state : .disabled).rawValue)
            if let reason = p.disabledReason { o["disabled_reason"] = .string(reason) }
            o["cooling_down_until"] = s.coolingUntilWall.map { .string(isoTime($0)) } ?? .null
            o["consecutive_failures"] = .int(s.consecutiveFailures)
            o["in_flight"] = .int(s.inFlight)
            o["successes"] = .int(s.successes)
            o["failures"] = .int(s.failures)
            if let e = s.lastError {
                o["last_error"] = ["status": .int(e.status), "message": .string(e.message), "at": .string(isoTime(e.wallTime))]
            } else {
                o["last_error"] = .null
            }
            return .object(o)
        }
        return ["object": "list", "data": .array(list)]
    }

    /// GET /admin/spend: per provider and per model — today, this month, total, requests,
    /// tokens — with each provider's budget limits and what remains.
    func respondSpend(_ response: any ResponseWriter) {
        guard let ledger else { return respondJSON(response, ["object": "spend", "providers": [], "models": []]) }
        let (day, month) = utcDayAndMonthStart(wallClockSeconds())
        let box = LoopBound((self, response))
        ledger.summary(dayStartMs: Int64(day * 1000), monthStartMs: Int64(month * 1000), callbackQueue: response.loop.queue) { result in
            let (gateway, response) = box.value
            switch result {
            case .failure(let error):
                gateway.respondError(response, .internalError("Cannot read the ledger: \(error)"))
            case .success(let summary):
                gateway.respondJSON(response, gateway.spendJSON(summary))
            }
        }
    }

    /// Each limit of a budget with what remains of it.
    func budgetJSON(_ live: BudgetBook.Snapshot) -> JSONObject {
        var budget = JSONObject()
        for (key, limit, spent) in [("daily_usd", live.budget.dailyUSD, live.today),
                                    ("monthly_usd", live.budget.monthlyUSD, live.thisMonth),
                                    ("total_usd", live.budget.totalUSD, live.total)] {
            guard let limit else { continue }
            budget[key] = ["limit": .double(limit), "remaining": .double(max(0, limit - spent - live.reserved))]
        }
        return budget
    }

    func spendJSON(_ summary: SpendSummary) -> JSONValue {
        func row(_ r: SpendSummary.Row) -> JSONObject {
            JSONObject([
                ("today_usd", .double(r.today)), ("month_usd", .double(r.thisMonth)), ("total_usd", .double(r.total)),
                ("requests", .int(r.requests)), ("input_tokens", .int(r.inputTokens)),
                ("cached_tokens", .int(r.cachedTokens)), ("output_tokens", .int(r.outputTokens)),
                ("estimated_rows", .int(r.estimatedRows)), ("list_price_total_usd", .double(r.listPriceTotal)),
            ])
        }
        var names = summary.providers.map(\.key)
        for p in snapshot.providers where !names.contains(p.name) { names.append(p.name) }
        let providers: [JSONValue] = names.map { name in
            var o = JSONObject([("provider", .string(name))])
            let r = summary.providers.first { $0.key == name } ?? SpendSummary.Row(key: name)
            for entry in row(r).entries { o[entry.key] = entry.value }
            let live = budgets.snapshot(provider: name)
            o["reserved_usd"] = .double(live.reserved)
            o["budget"] = .object(budgetJSON(live))
            return .object(o)
        }
        let models: [JSONValue] = summary.models.map { r in
            var o = JSONObject([("model", .string(r.key))])
            for entry in row(r).entries { o[entry.key] = entry.value }
            return .object(o)
        }
        var clientNames = summary.clients.map(\.key)
        for c in snapshot.clients.clients where !clientNames.contains(c.name) { clientNames.append(c.name) }
        let clients: [JSONValue] = clientNames.map { name in
            var o = JSONObject([("client", .string(name))])
            let r = summary.clients.first { $0.key == name } ?? SpendSummary.Row(key: name)
            for entry in row(r).entries { o[entry.key] = entry.value }
            o["budget"] = .object(budgetJSON(clientBudgets.snapshot(provider: name)))
            return .object(o)
        }
        return ["object": "spend", "providers": .array(providers), "models": .array(models), "clients": .array(clients)]
    }
}

/// `2026-11-22T20:01:13Z` for a Unix time.
func isoTime(_ seconds: Double) -> String {
    let c = utcComponents(seconds)
    let s = Int(seconds.rounded(.down)) % 86400
    func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
    return "\(c.year)-\(two(c.month))-\(two(c.day))T\(two(s / 3600)):\(two(s % 3600 / 60)):\(two(s % 60))Z"
}
