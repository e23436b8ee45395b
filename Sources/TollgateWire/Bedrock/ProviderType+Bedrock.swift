/// AWS Bedrock Runtime, spoken with `bedrock_converse` and `bedrock_embed`.
extension ProviderType {
    /// The AWS SDKs' variables; `AWS_BEARER_TOKEN_BEDROCK` holds a Bedrock API key.
    static let bedrock: ProviderType = {
        var type = ProviderType(
            name: "bedrock", baseURL: "https://bedrock-runtime.{region}.amazonaws.com", protocolName: "bedrock_converse",
            embedProtocolName: "bedrock_embed", authName: "bedrock",
            fields: [ProviderField("region", summary: "the AWS region, e.g. us-east-1")],
            notes: "AWS Bedrock Runtime; a Bedrock API key or an access key pair")
        type.environment = [
            "api_key": ["AWS_BEARER_TOKEN_BEDROCK"], "access_key_id": ["AWS_ACCESS_KEY_ID"],
            "secret_access_key": ["AWS_SECRET_ACCESS_KEY"], "session_token": ["AWS_SESSION_TOKEN"],
            "region": ["AWS_REGION", "AWS_DEFAULT_REGION"],
        ]
        return type
    }()
}
