import TollgateCore
import TollgateHTTP
import TollgateLedger

extension Gateway {
    /// GET /dashboard: the page, its CSS and script in one document (nothing fetched from elsewhere).
    func respondDashboard(_ response: any ResponseWriter) {
        var headers = HTTPHeaders()
        headers.add("Content-Type", "text/html; charset=utf-8")
        headers.add("Cache-Control", "no-store")
        // Only this document's own inline script and style, and requests back to tollgate.
        headers.add("Content-Security-Policy",
                    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
        headers.add("X-Content-Type-Options", "nosniff")
        headers.add("Referrer-Policy", "no-referrer")
        response.respond(status: 200, headers: headers, body: DashboardPage.bytes)
        logRequest(response, model: nil, provider: nil, attempts: 0)
    }

    /// GET /admin/requests?limit=N (1–500, default 50): the newest requests from the ledger, newest first.
    func respondRecentRequests(_ response: any ResponseWriter) {
        let limit = min(500, max(1, Self.queryInt(response.request.target, "limit") ?? 50))
        guard let ledger else { return respondJSON(response, ["object": "list", "data": []]) }
        let box = LoopBound((self, response))
        ledger.readOffLoop(callbackQueue: response.loop.queue, { ledger throws(SQLiteError) in
            try ledger.recentRequestsNow(limit: limit)
        }, done: { result in
            let (gateway, response) = box.value
            response.loop.batch {
                switch result {
                case .failure(let error): gateway.respondError(response, .internalError("Cannot read the ledger: \(error)"))
                case .success(let list): gateway.respondJSON(response, ["object": "list", "data": .array(list.map(Self.json))])
                }
            }
        })
    }

    static func json(_ r: RecentRequest) -> JSONValue {
        var o = JSONObject()
        o["request_id"] = .string(r.requestID)
        o["time"] = .string(isoTime(Double(r.timeMs) / 1000))
        o["time_ms"] = .int(Int(r.timeMs))
        o["api"] = r.api.map { .string($0) } ?? .null
        o["model"] = .string(r.route)
        o["provider"] = .string(r.provider)
        o["upstream_model"] = .string(r.model)
        o["status"] = .int(r.status)
        o["outcome"] = .string(r.outcome)
        o["streamed"] = .bool(r.streamed)
        o["attempts"] = .int(r.attempts)
        o["input_tokens"] = .int(r.inputTokens)
        o["cached_tokens"] = .int(r.cachedTokens)
        o["output_tokens"] = .int(r.outputTokens)
        o["reasoning_tokens"] = .int(r.reasoningTokens)
        o["cost_usd"] = .double(r.costUSD)
        o["latency_ms"] = .double(r.totalMs)
        o["ttfb_ms"] = r.ttfbMs.map { .double($0) } ?? .null
        o["estimated"] = .bool(r.estimated)
        o["client"] = r.client.map { .string($0) } ?? .null
        return .object(o)
    }

    /// GET /admin/spend/daily?days=N (1–366, default 30): spend per UTC day and provider, every
    /// day of the window listed (days without spend as 0).
    func respondDailySpend(_ response: any ResponseWriter) {
        let days = min(366, max(1, Self.queryInt(response.request.target, "days") ?? 30))
        let today = Int(wallClockSeconds() / 86400)
        let first = today - days + 1
        let dayList: [JSONValue] = (first...today).map { .string(Self.civilDay($0)) }
        let names = snapshot.providers.map(\.name)
        guard let ledger else {
            return respondJSON(response, Self.dailyJSON(days: dayList, providers: names, rows: []))
        }
        let box = LoopBound((self, response))
        ledger.readOffLoop(callbackQueue: response.loop.queue, { ledger throws(SQLiteError) in
            try ledger.dailySpendNow(sinceMs: Int64(first) * 86_400_000)
        }, done: { result in
            let (gateway, response) = box.value
            response.loop.batch {
                switch result {
                case .failure(let error): gateway.respondError(response, .internalError("Cannot read the ledger: \(error)"))
                case .success(let rows): gateway.respondJSON(response, Self.dailyJSON(days: dayList, providers: names, rows: rows))
                }
            }
        })
    }

    /// `{"days": [...], "providers": [{"provider", "cost_usd": [one per day], "requests": [...]}]}`.
    static func dailyJSON(days: [JSONValue], providers configured: [String], rows: [DailySpend]) -> JSONValue {
        var names = configured
        for r in rows where !names.contains(r.provider) { names.append(r.provider) }
        let index = Dictionary(days.enumerated().map { ($0.element.stringValue ?? "", $0.offset) }, uniquingKeysWith: { a, _ in a })
        let series: [JSONValue] = names.map { name in
            var cost = Array(repeating: 0.0, count: days.count)
            var requests = Array(repeating: 0, count: days.count)
            for r in rows where r.provider == name {
                guard let i = index[r.day] else { continue }
                cost[i] += r.costUSD
                requests[i] += r.requests
            }
            return ["provider": .string(name), "cost_usd": .array(cost.map { .double($0) }),
                    "requests": .array(requests.map { .int($0) })]
        }
        return ["object": "spend.daily", "days": .array(days), "providers": .array(series)]
    }

    /// GET /admin/budgets: every budget line (providers, and clients once they exist).
    func budgetsJSON() -> JSONValue {
        let lines: [JSONValue] = budgetLines().map { l in
            var o = JSONObject()
            o["scope"] = .string(l.scope)
            o["name"] = .string(l.name)
            o["period"] = .string(l.period)
            o["limit_usd"] = l.limit.map { .double($0) } ?? .null
            o["used_usd"] = .double(l.used)
            o["reserved_usd"] = .double(l.reserved)
            return .object(o)
        }
        return ["object": "list", "data": .array(lines)]
    }

    /// `YYYY-MM-DD` of a day number since 1970-01-01 (UTC).
    static func civilDay(_ days: Int) -> String {
        String(isoTime(Double(days) * 86400).prefix(10))
    }

    /// An integer query parameter of a request target (`/path?limit=20`), or nil.
    static func queryInt(_ target: String, _ name: String) -> Int? {
        guard let q = target.firstIndex(of: "?") else { return nil }
        for pair in target[target.index(after: q)...].split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1)
            if parts.count == 2, parts[0] == name { return Int(parts[1]) }
        }
        return nil
    }
}
