/// Where a provider's requests go: its base URL and query string, and nothing secret. This is
/// all of a provider an encoder sees; credentials are added after encoding by its auth strategy.
public struct UpstreamEndpoint: Sendable, Equatable {
    /// Base URL without a trailing slash; protocols append their path.
    public var baseURL: String
    /// Query string (without `?`) appended to every request URL (Azure's `api-version=…`), or nil.
    public var query: String?

    public init(baseURL: String, query: String? = nil) {
        self.baseURL = baseURL
        self.query = query
    }

    /// `baseURL + path`, with the endpoint's query string (and `extraQuery`) appended.
    public func url(path: String, extraQuery: String? = nil) -> String {
        // Built in place: this runs for every upstream request.
        var url = baseURL + path
        var hasQuery = false
        if let query, !query.isEmpty {
            url += "?"
            url += query
            hasQuery = true
        }
        if let extraQuery, !extraQuery.isEmpty {
            url += hasQuery ? "&" : "?"
            url += extraQuery
        }
        return url
    }
}
