/// AWS Bedrock Runtime, spoken with `bedrock_converse` and `bedrock_embed`.
extension ProviderType {
    static let bedrock = ProviderType(
        name: "bedrock", baseURL: "https://bedrock-runtime.{region}.amazonaws.com", protocolName: "bedrock_converse",
        embedProtocolName: "bedrock_embed", authName: "bedrock",
        fields: [ProviderField("region", summary: "the AWS region, e.g. us-east-1")],
        notes: "AWS Bedrock Runtime; a Bedrock API key or an access key pair")
}
