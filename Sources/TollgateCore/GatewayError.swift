/// The one error type a client ever sees: it renders OpenAI's error body
/// `{"error":{"message","type","param","code"}}` with the right HTTP status.
public struct GatewayError: Error, Sendable, Equatable, CustomStringConvertible {
    public var status: Int
    public var type: String
    public var code: String?
    public var param: String?
    public var message: String
    /// Seconds the client (or the failover logic) should wait, from the upstream's hints.
    public var retryAfter: Double?

    public init(status: Int, type: String, code: String? = nil, param: String? = nil, message: String,
                retryAfter: Double? = nil) {
        self.status = status
        self.type = type
        self.code = code
        self.param = param
        self.message = message
        self.retryAfter = retryAfter
    }

    public var description: String { "\(status) \(type): \(message)" }

    public var json: JSONValue {
        var error = JSONObject()
        error["message"] = .string(message)
        error["type"] = .string(type)
        error["param"] = param.map { .string($0) } ?? .null
        error["code"] = code.map { .string($0) } ?? .null
        return .object(JSONObject([("error", .object(error))]))
    }

    public var body: [UInt8] { json.serialized() }

    /// What kind of error this is, whatever its exact status and type strings.
    public enum Kind: String, Sendable, Equatable, CaseIterable {
        case invalidRequest = "invalid_request"
        case authentication
        case permission
        case notFound = "not_found"
        case rateLimited = "rate_limited"
        case budgetExceeded = "budget_exceeded"
        /// The upstream refused the request (a 4xx returned as the provider sent it).
        case upstreamClientError = "upstream_client_error"
        /// The upstream failed (5xx, a broken connection, a timeout, an unreadable answer).
        case upstreamServerError = "upstream_server_error"
        /// tollgate cannot serve the request now (every provider cooling down, draining, full).
        case unavailable
        case `internal`
    }

    public var kind: Kind {
        switch (status, type) {
        case (_, "budget_exceeded"): .budgetExceeded
        case (429, _): .rateLimited
        case (401, _): .authentication
        case (403, _): .permission
        case (404, _): .notFound
        case (503, "service_unavailable"): .unavailable
        case (500, "server_error") where code == "internal_error": .internal
        case (400..<500, "upstream_error"): .upstreamClientError
        case (400..<500, _): .invalidRequest
        default: .upstreamServerError
        }
    }

    /// The headers that go with this error's response: its content type and, for 429 and
    /// 503, `Retry-After` in whole seconds.
    public var responseHeaders: HTTPHeaders {
        var h = HTTPHeaders()
        h.set("Content-Type", "application/json")
        if let retryAfter, retryAfter.isFinite, status == 429 || status == 503 {
            // Clamped: Int(_:) traps beyond Int's range, and the value may come from an upstream.
            h.set("Retry-After", String(Int(min(max(retryAfter, 0), 1e9).rounded(.up))))
        }
        return h
    }

    /// This error as one SSE `data:` event, for a stream that fails after it started.
    public var sseEvent: [UInt8] { SSEWriter.encode(json: json) }

    // MARK: kinds

    public static func invalidRequest(_ message: String, param: String? = nil, code: String? = nil) -> GatewayError {
        GatewayError(status: 400, type: "invalid_request_error", code: code, param: param, message: message)
    }
    /// 403 `permission_error`: the request is refused whoever sends it (origin, admin access).
    public static func forbidden(_ message: String, code: String? = nil) -> GatewayError {
        GatewayError(status: 403, type: "permission_error", code: code, message: message)
    }
    public static func notFound(_ message: String, code: String? = nil) -> GatewayError {
        GatewayError(status: 404, type: "invalid_request_error", code: code, message: message)
    }
    public static func modelNotFound(_ message: String) -> GatewayError {
        GatewayError(status: 404, type: "invalid_request_error", code: "model_not_found", param: "model", message: message)
    }
    public static func methodNotAllowed(_ message: String) -> GatewayError {
        GatewayError(status: 405, type: "invalid_request_error", code: "method_not_allowed", message: message)
    }
    public static func requestTimeout(_ message: String) -> GatewayError {
        GatewayError(status: 408, type: "invalid_request_error", code: "request_timeout", message: message)
    }
    public static func payloadTooLarge(_ message: String) -> GatewayError {
        GatewayError(status: 413, type: "invalid_request_error", code: "request_too_large", message: message)
    }
    public static func headersTooLarge(_ message: String) -> GatewayError {
        GatewayError(status: 431, type: "invalid_request_error", code: "headers_too_large", message: message)
    }
    public static func notImplemented(_ message: String) -> GatewayError {
        GatewayError(status: 501, type: "invalid_request_error", code: "not_implemented", message: message)
    }
    public static func rateLimited(_ message: String, retryAfter: Double? = nil) -> GatewayError {
        GatewayError(status: 429, type: "rate_limit_error", code: "rate_limit_exceeded", message: message,
                     retryAfter: retryAfter)
    }
    public static func unavailable(_ message: String, code: String? = "service_unavailable") -> GatewayError {
        GatewayError(status: 503, type: "service_unavailable", code: code, message: message)
    }
    public static func badGateway(_ message: String, code: String? = "upstream_error") -> GatewayError {
        GatewayError(status: 502, type: "upstream_error", code: code, message: message)
    }
    public static func gatewayTimeout(_ message: String) -> GatewayError {
        GatewayError(status: 504, type: "upstream_error", code: "upstream_timeout", message: message)
    }
    public static func internalError(_ message: String) -> GatewayError {
        GatewayError(status: 500, type: "server_error", code: "internal_error", message: message)
    }

    /// The OpenAI error `type` conventionally used for an HTTP status.
    public static func openAIType(forStatus status: Int) -> String {
        switch status {
        case 400, 404, 409, 413, 415, 422: "invalid_request_error"
        case 401: "authentication_error"
        case 403: "permission_error"
        case 429: "rate_limit_error"
        case 500..<600: "server_error"
        default: status >= 400 && status < 500 ? "invalid_request_error" : "server_error"
        }
    }
}
