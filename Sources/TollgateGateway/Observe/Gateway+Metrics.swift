import TollgateCore

/// One budget limit and what is used of it, for a provider or (once clients exist) a client.
struct BudgetLine: Sendable {
    /// `provider` or `client`.
    var scope: String
    var name: String
    /// `daily`, `monthly` or `total`.
    var period: String
    var limit: Double?
    var used: Double
    var reserved: Double
}

extension Gateway {
    /// Every provider's budget lines (limits set or not: used is always reported), then every client's.
    func budgetLines() -> [BudgetLine] {
        let snapshot = self.snapshot
        var lines: [BudgetLine] = []
        for p in snapshot.providers {
            lines += Self.budgetLines(scope: "provider", name: p.name, budgets.snapshot(provider: p.name))
        }
        for c in snapshot.clients.clients {
            lines += Self.budgetLines(scope: "client", name: c.name, clientBudgets.snapshot(provider: c.name))
        }
        return lines
    }

    static func budgetLines(scope: String, name: String, _ live: BudgetBook.Snapshot) -> [BudgetLine] {
        [("daily", live.budget.dailyUSD, live.today), ("monthly", live.budget.monthlyUSD, live.thisMonth),
         ("total", live.budget.totalUSD, live.total)].map { period, limit, used in
            BudgetLine(scope: scope, name: name, period: period, limit: limit, used: used, reserved: live.reserved)
        }
    }

    /// The exposition text of one scrape.
    func metricsText(_ v: LoopMetrics.Values) -> String {
        var out = PrometheusText()
        func sorted<K, V>(_ d: [K: V], by key: (K) -> String) -> [(K, V)] {
            d.map { ($0.key, $0.value) }.sorted { key($0.0) < key($1.0) }
        }

        out.family("tollgate_requests_total", "counter",
                   "Requests answered, by inbound API, the provider and upstream model that answered last (none: no upstream), and the HTTP status the client got.")
        for (k, n) in sorted(v.requests, by: { "\($0.api)\u{0}\($0.provider)\u{0}\($0.model)\u{0}\($0.status)" }) {
            out.sample("tollgate_requests_total", [("api", k.api), ("provider", k.provider), ("model", k.model),
                                                   ("status", String(k.status))], n)
        }

        out.family("tollgate_request_duration_seconds", "histogram", "Time from a request's arrival to the end of its answer.")
        for (k, h) in sorted(v.duration, by: { "\($0.api)\u{0}\($0.provider)" }) {
            out.histogram("tollgate_request_duration_seconds", [("api", k.api), ("provider", k.provider)], h)
        }
        out.family("tollgate_request_first_byte_seconds", "histogram",
                   "Time from a request's arrival to the first byte of its answer (a stream's first relayed upstream byte; a whole answer's end).")
        for (k, h) in sorted(v.firstByte, by: { "\($0.api)\u{0}\($0.provider)" }) {
            out.histogram("tollgate_request_first_byte_seconds", [("api", k.api), ("provider", k.provider)], h)
        }
        out.family("tollgate_request_overhead_seconds", "histogram",
                   "Time tollgate added to a routed request: its whole duration minus the time its upstream attempts took (retry back-off waits included).")
        for (api, h) in sorted(v.overhead, by: { $0 }) {
            out.histogram("tollgate_request_overhead_seconds", [("api", api)], h)
        }
        out.family("tollgate_upstream_first_byte_seconds", "histogram", "Time from sending an upstream attempt to its response head.")
        for (provider, h) in sorted(v.upstreamFirstByte, by: { $0 }) {
            out.histogram("tollgate_upstream_first_byte_seconds", [("provider", provider)], h)
        }

        out.family("tollgate_upstream_attempts_total", "counter",
                   "Upstream attempts by provider and how they ended (ok, upstream_error, client_cancelled, failed_over).")
        for (k, n) in sorted(v.attempts, by: { "\($0.provider)\u{0}\($0.value)" }) {
            out.sample("tollgate_upstream_attempts_total", [("provider", k.provider), ("outcome", k.value)], n)
        }
        out.family("tollgate_upstream_failures_total", "counter", "Failed upstream attempts by provider and kind of failure.")
        for (k, n) in sorted(v.failures, by: { "\($0.provider)\u{0}\($0.value)" }) {
            out.sample("tollgate_upstream_failures_total", [("provider", k.provider), ("kind", k.value)], n)
        }
        out.family("tollgate_retries_total", "counter", "Further attempts on the same provider after a failure.")
        for (provider, n) in sorted(v.retries, by: { $0 }) {
            out.sample("tollgate_retries_total", [("provider", provider)], n)
        }
        out.family("tollgate_failovers_total", "counter", "Moves to another provider, by the provider that was left.")
        for (provider, n) in sorted(v.failovers, by: { $0 }) {
            out.sample("tollgate_failovers_total", [("provider", provider)], n)
        }

        out.family("tollgate_tokens_total", "counter",
                   "Tokens of upstream attempts by provider, model and type: input (all prompt tokens), cached_input (the part of input served from a cache), output, reasoning (the part of output spent reasoning).")
        let spend = sorted(v.spend, by: { "\($0.provider)\u{0}\($0.model)" })
        for (k, s) in spend {
            for (type, n) in [("input", s.input), ("cached_input", s.cached), ("output", s.output), ("reasoning", s.reasoning)] {
                out.sample("tollgate_tokens_total", [("provider", k.provider), ("model", k.model), ("type", type)], n)
            }
        }
        out.family("tollgate_cost_usd_total", "counter", "Cost of upstream attempts in US dollars, by provider and model.")
        for (k, s) in spend {
            out.sample("tollgate_cost_usd_total", [("provider", k.provider), ("model", k.model)], s.costUSD)
        }
        out.family("tollgate_estimated_attempts_total", "counter",
                   "Upstream attempts whose tokens were estimated from the text (the provider reported none).")
        for (k, s) in spend {
            out.sample("tollgate_estimated_attempts_total", [("provider", k.provider), ("model", k.model)], s.estimatedAttempts)
        }

        let server = observer.serverGauges
        out.family("tollgate_requests_in_flight", "gauge", "Requests received and not yet answered in full.")
        out.sample("tollgate_requests_in_flight", [], Double(server?.requestsInFlight ?? 0))
        out.family("tollgate_open_connections", "gauge", "Client connections open.")
        out.sample("tollgate_open_connections", [], Double(server?.openConnections ?? 0))

        let providers = snapshot.providers
        let statuses = providers.map { ($0, health.status(of: $0.name)) }
        let now = wallClockSeconds()
        out.family("tollgate_provider_state", "gauge",
                   "1 for each provider's circuit-breaker state (healthy, cooling_down, half_open, disabled), 0 for the others.")
        for (p, s) in statuses {
            let state = p.isEnabled ? s.state : .disabled
            for candidate in [ProviderState.healthy, .coolingDown, .halfOpen, .disabled] {
                out.sample("tollgate_provider_state", [("provider", p.name), ("state", candidate.rawValue)],
                           candidate == state ? 1.0 : 0.0)
            }
        }
        out.family("tollgate_provider_cooldown_remaining_seconds", "gauge", "Seconds until a cooling-down provider gets a probe (0 when not cooling down).")
        for (p, s) in statuses {
            out.sample("tollgate_provider_cooldown_remaining_seconds", [("provider", p.name)],
                       max(0, (s.coolingUntilWall ?? now) - now))
        }
        out.family("tollgate_provider_consecutive_failures", "gauge", "Failures in a row since the provider's last success.")
        for (p, s) in statuses {
            out.sample("tollgate_provider_consecutive_failures", [("provider", p.name)], Double(s.consecutiveFailures))
        }
        out.family("tollgate_provider_requests_in_flight", "gauge", "Upstream attempts in flight per provider.")
        for (p, s) in statuses {
            out.sample("tollgate_provider_requests_in_flight", [("provider", p.name)], Double(s.inFlight))
        }

        let lines = budgetLines()
        out.family("tollgate_budget_used_usd", "gauge",
                   "Spend counted against a budget period (UTC day, UTC month, all time), by scope (provider or client) and name.")
        for l in lines {
            out.sample("tollgate_budget_used_usd", [("scope", l.scope), ("name", l.name), ("period", l.period)], l.used)
        }
        out.family("tollgate_budget_limit_usd", "gauge", "Configured budget limits (only periods that have one).")
        for l in lines {
            guard let limit = l.limit else { continue }
            out.sample("tollgate_budget_limit_usd", [("scope", l.scope), ("name", l.name), ("period", l.period)], limit)
        }
        out.family("tollgate_budget_reserved_usd", "gauge", "Worst-case cost reserved by requests in flight.")
        for l in lines where l.period == "total" {
            out.sample("tollgate_budget_reserved_usd", [("scope", l.scope), ("name", l.name)], l.reserved)
        }

        out.family("tollgate_ledger_commit_duration_seconds", "histogram", "Time of one ledger transaction (a loop's batch of rows).")
        out.histogram("tollgate_ledger_commit_duration_seconds", [], v.ledgerCommit)
        out.family("tollgate_ledger_rows_total", "counter", "Ledger rows committed.")
        out.sample("tollgate_ledger_rows_total", [], v.ledgerRows)
        out.family("tollgate_ledger_commit_errors_total", "counter", "Ledger transactions that failed.")
        out.sample("tollgate_ledger_commit_errors_total", [], v.ledgerErrors)

        if let exporter = observer.exporter {
            out.family("tollgate_otel_spans_exported_total", "counter", "Spans the OTLP collector accepted.")
            out.sample("tollgate_otel_spans_exported_total", [], UInt64(exporter.exportedSpans.load(ordering: .relaxed)))
            out.family("tollgate_otel_spans_dropped_total", "counter",
                       "Spans dropped: the export queue was full, or the collector failed or refused them.")
            out.sample("tollgate_otel_spans_dropped_total", [], UInt64(exporter.droppedSpans.load(ordering: .relaxed)))
            out.family("tollgate_otel_export_failures_total", "counter", "Export requests that failed.")
            out.sample("tollgate_otel_export_failures_total", [], UInt64(exporter.failedExports.load(ordering: .relaxed)))
        }
        return out.text
    }
}
