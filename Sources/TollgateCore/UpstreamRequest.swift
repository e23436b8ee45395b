/// One HTTP request to an upstream provider, as a wire protocol and an auth strategy built it.
public struct UpstreamRequest: Sendable {
    public var method: String
    public var url: String
    public var headers: HTTPHeaders
    public var body: [UInt8]
    public var connectTimeoutSeconds: Double
    public var timeoutSeconds: Double
    /// SigV4 signing (Bedrock) as curl's `CURLOPT_AWS_SIGV4` takes it (`aws:amz:REGION:SERVICE`), with
    /// its key pair; `UpstreamClient` has curl sign or signs with `SigV4`.
    public var awsSigV4: String?
    public var awsCredentials: (accessKey: String, secretKey: String)?

    public init(method: String = "POST", url: String, headers: HTTPHeaders = HTTPHeaders(), body: [UInt8] = [],
                connectTimeoutSeconds: Double = 10, timeoutSeconds: Double = 600) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.connectTimeoutSeconds = connectTimeoutSeconds
        self.timeoutSeconds = timeoutSeconds
    }
}
