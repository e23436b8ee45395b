import TollgateCore
import TollgateLedger

/// Finished exchanges as an OTLP `ExportTraceServiceRequest` in the JSON encoding: one server
/// span per request (continuing the client's `traceparent`) and a client span per upstream
/// attempt, with the GenAI semantic conventions (`gen_ai.*`) and tollgate's own (`tollgate.*`).
/// Ids are lower-case hex, 64-bit integers decimal strings, enums numbers, as OTLP/JSON asks.
enum OTLPTraceJSON {
    static let spanKindServer = 2
    static let spanKindClient = 3
    static let statusError = 2

    static func encode(_ records: [ExchangeRecord], serviceName: String) -> [UInt8] {
        var spans: [JSONValue] = []
        for record in records { spans += self.spans(record) }
        let resource: JSONValue = ["attributes": .array([attribute("service.name", serviceName)])]
        let scope: JSONValue = ["name": "tollgate"]
        let request: JSONValue = [
            "resourceSpans": .array([
                ["resource": resource, "scopeSpans": .array([["scope": scope, "spans": .array(spans)]])],
            ]),
        ]
        return request.serialized()
    }

    /// The request's span, then one per attempt.
    static func spans(_ r: ExchangeRecord) -> [JSONValue] {
        let describe = { (name: String) in r.snapshot.flatMap { ProviderDescription($0, provider: name) } }
        let parent = TraceContext(traceparent: r.traceparent)
        let traceID = parent?.traceID ?? randomHex(bytes: 16)
        let spanID = randomHex(bytes: 8)
        let operation = r.api == "embeddings" ? "embeddings" : "chat"
        let last = r.rows.last
        let system = last.flatMap { describe($0.provider)?.system }

        var attributes: [JSONValue] = [
            attribute("gen_ai.operation.name", operation),
            attribute("gen_ai.request.model", r.route),
            attribute("http.request.method", r.method),
            attribute("url.path", r.path),
            attribute("http.response.status_code", r.status),
            attribute("tollgate.api", r.api),
            attribute("tollgate.request_id", r.requestID),
            attribute("tollgate.attempts", r.rows.count),
            attribute("tollgate.outcome", outcome(r)),
            attribute("tollgate.cost_usd", r.rows.reduce(0) { $0 + $1.costUSD }),
            attribute("tollgate.streamed", r.streamed),
        ]
        if let last {
            attributes.append(attribute("gen_ai.response.model", last.model))
            attributes.append(attribute("tollgate.provider", last.provider))
            if let system {
                attributes.append(attribute("gen_ai.system", system))
                attributes.append(attribute("gen_ai.provider.name", system))
            }
            attributes += usage(last)
        }
        var span: [(String, JSONValue)] = [
            ("traceId", .string(traceID)), ("spanId", .string(spanID)),
            ("name", .string("\(operation) \(r.route)")), ("kind", .int(spanKindServer)),
            ("startTimeUnixNano", .string(String(r.startedWallNs))), ("endTimeUnixNano", .string(String(r.endedWallNs))),
            ("attributes", .array(attributes)),
        ]
        if let parent { span.append(("parentSpanId", .string(parent.spanID))) }
        if r.status >= 400 {
            span.append(("status", ["code": .int(statusError), "message": .string("HTTP \(r.status)")]))
        }
        var result: [JSONValue] = [.object(JSONObject(span))]

        for (i, row) in r.rows.enumerated() {
            let description = describe(row.provider)
            let endNs = UInt64(max(0, row.timeMs)) * 1_000_000
            let startNs = endNs &- UInt64(max(0, row.totalMs) * 1e6)
            var a: [JSONValue] = [
                attribute("gen_ai.operation.name", operation),
                attribute("gen_ai.request.model", row.model),
                attribute("tollgate.provider", row.provider),
                attribute("tollgate.attempt", row.attempt),
                attribute("tollgate.outcome", row.outcome.rawValue),
                attribute("tollgate.cost_usd", row.costUSD),
                attribute("tollgate.tokens_estimated", row.tokensEstimated),
                attribute("http.response.status_code", row.status),
            ]
            if let description {
                a.append(attribute("gen_ai.system", description.system))
                a.append(attribute("gen_ai.provider.name", description.system))
                if let host = description.serverAddress { a.append(attribute("server.address", host)) }
            }
            if let ttfb = row.ttfbMs { a.append(attribute("tollgate.time_to_first_byte_ms", ttfb)) }
            let kind = r.failureKind(at: i)
            if row.outcome == .ok || row.outcome == .clientCancelled { a.append(attribute("gen_ai.response.model", row.model)) }
            a += usage(row)
            if let kind { a.append(attribute("error.type", kind.rawValue)) }
            var child: [(String, JSONValue)] = [
                ("traceId", .string(traceID)), ("spanId", .string(randomHex(bytes: 8))), ("parentSpanId", .string(spanID)),
                ("name", .string("\(operation) \(row.model)")), ("kind", .int(spanKindClient)),
                ("startTimeUnixNano", .string(String(max(startNs, r.startedWallNs)))),
                ("endTimeUnixNano", .string(String(endNs))),
                ("attributes", .array(a)),
            ]
            if let kind {
                child.append(("status", ["code": .int(statusError), "message": .string("\(kind.rawValue) (\(row.status))")]))
            }
            result.append(.object(JSONObject(child)))
        }
        return result
    }

    /// `ok`, or how the last attempt ended, or `error` when none reached an upstream.
    static func outcome(_ r: ExchangeRecord) -> String {
        guard let last = r.rows.last else { return r.status < 400 ? "ok" : "error" }
        return last.outcome.rawValue
    }

    static func usage(_ row: LedgerRow) -> [JSONValue] {
        [
            attribute("gen_ai.usage.input_tokens", row.usage.promptTokens),
            attribute("gen_ai.usage.output_tokens", row.usage.completionTokens),
            attribute("gen_ai.usage.cache_read.input_tokens", row.usage.cachedTokens),
            attribute("tollgate.usage.reasoning_tokens", row.usage.reasoningTokens),
        ]
    }

    static func attribute(_ key: String, _ value: String) -> JSONValue {
        ["key": .string(key), "value": ["stringValue": .string(value)]]
    }

    static func attribute(_ key: String, _ value: Int) -> JSONValue {
        ["key": .string(key), "value": ["intValue": .string(String(value))]]
    }

    static func attribute(_ key: String, _ value: Double) -> JSONValue {
        ["key": .string(key), "value": ["doubleValue": .double(value)]]
    }

    static func attribute(_ key: String, _ value: Bool) -> JSONValue {
        ["key": .string(key), "value": ["boolValue": .bool(value)]]
    }

    static func randomHex(bytes: Int) -> String {
        var out = ""
        out.reserveCapacity(bytes * 2)
        let digits = Array("0123456789abcdef")
        var generator = SystemRandomNumberGenerator()
        var word: UInt64 = 0
        for i in 0..<bytes {
            if i % 8 == 0 {
                repeat { word = generator.next() } while word == 0 && i == 0
            }
            let byte = UInt8(truncatingIfNeeded: word >> UInt64((i % 8) * 8))
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 15)])
        }
        return out
    }
}

/// A W3C `traceparent` (`00-<trace id>-<parent span id>-<flags>`), when valid.
struct TraceContext: Equatable {
    var traceID: String
    var spanID: String

    init?(traceparent: String?) {
        guard let value = traceparent?.trimmingWhitespaceASCII() else { return nil }
        let parts = value.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count >= 4, parts[0].count == 2, parts[0] != "ff", parts[1].count == 32, parts[2].count == 16,
              parts[3].count == 2, parts.allSatisfy({ $0.allSatisfy(\.isHexDigit) }) else { return nil }
        let trace = parts[1].lowercased(), span = parts[2].lowercased()
        guard trace != String(repeating: "0", count: 32), span != String(repeating: "0", count: 16) else { return nil }
        traceID = trace
        spanID = span
    }
}

/// What a trace says about a provider besides its name: `gen_ai.system` (the conventions'
/// well-known value for its type) and the host it is reached at.
struct ProviderDescription {
    var system: String
    var serverAddress: String?

    init?(_ snapshot: GatewaySnapshot, provider name: String) {
        guard let p = snapshot.provider(named: name) else { return nil }
        system = Self.systems[p.type] ?? p.type
        var rest = Substring(p.baseURL)
        if let colon = rest.firstIndex(of: ":"), rest[colon...].hasPrefix("://") { rest = rest[rest.index(colon, offsetBy: 3)...] }
        let host = rest.prefix { $0 != "/" && $0 != "?" }
        serverAddress = host.isEmpty ? nil : Gateway.hostName(String(host))
    }

    static let systems = [
        "openai": "openai", "azure": "azure.ai.openai", "anthropic": "anthropic", "gemini": "gcp.gemini",
        "bedrock": "aws.bedrock", "mistral": "mistral_ai", "groq": "groq", "deepseek": "deepseek", "xai": "xai",
        "openrouter": "openrouter", "together": "together_ai", "fireworks": "fireworks", "ollama": "ollama",
        "lmstudio": "lmstudio", "vllm": "vllm", "openai_compatible": "openai_compatible",
    ]
}
