extension BundledCatalog {
    /// AWS Bedrock models: limits, capabilities and list prices (one JSON object per model).
    static let bedrock = #"""
        {"id": "anthropic.claude-sonnet-5", "provider_type": "bedrock", "protocol": "bedrock_converse", "context_window": 1000000, "max_output_tokens": 128000, "capabilities": ["chat", "streaming", "tools", "vision", "reasoning"], "input_usd_per_mtok": 2, "output_usd_per_mtok": 10, "cached_input_usd_per_mtok": 0.2},
        {"id": "anthropic.claude-sonnet-4-6", "provider_type": "bedrock", "protocol": "bedrock_converse", "context_window": 1000000, "max_output_tokens": 128000, "capabilities": ["chat", "streaming", "tools", "vision", "reasoning"], "input_usd_per_mtok": 3, "output_usd_per_mtok": 15, "cached_input_usd_per_mtok": 0.3},
        {"id": "anthropic.claude-haiku-4-5-20251001-v1:0", "provider_type": "bedrock", "protocol": "bedrock_converse", "context_window": 200000, "max_output_tokens": 64000, "capabilities": ["chat", "streaming", "tools", "vision", "reasoning"], "input_usd_per_mtok": 1, "output_usd_per_mtok": 5, "cached_input_usd_per_mtok": 0.1},
        {"id": "amazon.nova-pro-v1:0", "provider_type": "bedrock", "protocol": "bedrock_converse", "context_window": 300000, "max_output_tokens": 8192, "capabilities": ["chat", "streaming", "tools", "vision"], "input_usd_per_mtok": 0.8, "output_usd_per_mtok": 3.2, "cached_input_usd_per_mtok": 0.2},
        {"id": "amazon.nova-lite-v1:0", "provider_type": "bedrock", "protocol": "bedrock_converse", "context_window": 300000, "max_output_tokens": 8192, "capabilities": ["chat", "streaming", "tools", "vision"], "input_usd_per_mtok": 0.06, "output_usd_per_mtok": 0.24, "cached_input_usd_per_mtok": 0.015},
        {"id": "amazon.nova-micro-v1:0", "provider_type": "bedrock", "protocol": "bedrock_converse", "context_window": 128000, "max_output_tokens": 8192, "capabilities": ["chat", "streaming", "tools"], "input_usd_per_mtok": 0.035, "output_usd_per_mtok": 0.14, "cached_input_usd_per_mtok": 0.00875},
        {"id": "meta.llama3-3-70b-instruct-v1:0", "provider_type": "bedrock", "protocol": "bedrock_converse", "context_window": 128000, "max_output_tokens": 4096, "capabilities": ["chat", "streaming", "tools"], "input_usd_per_mtok": 0.72, "output_usd_per_mtok": 0.72},
        {"id": "amazon.titan-embed-text-v2:0", "provider_type": "bedrock", "protocol": "bedrock_embed", "context_window": 8192, "max_output_tokens": 0, "capabilities": ["embeddings"], "input_usd_per_mtok": 0.02, "output_usd_per_mtok": 0},
        {"id": "cohere.embed-english-v3", "provider_type": "bedrock", "protocol": "bedrock_embed", "context_window": 512, "max_output_tokens": 0, "capabilities": ["embeddings"], "input_usd_per_mtok": 0.1, "output_usd_per_mtok": 0}
"""#
}
