/// The model catalog bundled with tollgate: limits, capabilities and list prices per model
/// (`prices_read_on` says when the prices were read). It is compiled in (no resource file to
/// find at run time); edit the JSON below, and `ModelCatalog.parse` checks it at start.
enum BundledCatalog {
    static let json = #"""
{
  "prices_read_on": "2026-11-10",
  "notes": "Prices are USD per million tokens at the standard (non-batch, non-flex, non-priority, non-fast) tier, from the providers' public pricing and model pages as stored on the date above; where a price is tiered by prompt length (>100k/200k/272k tokens) the base short-prompt tier is used, and DeepSeek's peak-hour (undiscounted) rate is used. Gemini 3.7/3.8 Flash prices are introductory rates that Google lists as valid through 2026-12-31.",
  "sources": {
    "openai": "https://developers.openai.com/api/docs/pricing",
    "anthropic": "https://platform.claude.com/docs/en/about-claude/pricing",
    "gemini": "https://ai.google.dev/gemini-api/docs/pricing",
    "bedrock": "https://aws.amazon.com/bedrock/pricing/",
    "mistral": "https://mistral.ai/pricing#api-pricing",
    "deepseek": "https://api-docs.deepseek.com/quick_start/pricing",
    "groq": "https://groq.com/pricing",
    "xai": "https://docs.x.ai/developers/pricing"
  },
  "models": [
    {
      "id": "gpt-6-astra",
      "provider_type": "openai",
      "protocol": "openai_chat",
      "context_window": 1050000,
      "max_output_tokens": 128000,
      "capabilities": [
        "chat",
        "streaming",
        "vision",
        "json_schema",
        "reasoning"
      ],
      "input_usd_per_mtok": 10,
      "output_usd_per_mtok": 50,
      "cached_input_usd_per_mtok": 1.0
    },
    {
      "id": "gpt-6.2-sol",
      "provider_type": "openai",
      "protocol": "openai_chat",
      "context_window": 1050000,
      "max_output_tokens": 128000,
      "capabilities": [
        "chat",
        "streaming",
        "vision",
        "json_schema",
        "reasoning"
      ],
      "input_usd_per_mtok": 2,
      "output_usd_per_mtok": 10,
      "cached_input_usd_per_mtok": 0.1
    },
    {
      "id": "gpt-6.1-sol",
      "provider_type": "openai",
      "protocol": "openai_chat",
      "context_window": 1050000,
      "max_output_tokens": 128000,
      "capabilities": [
        "chat",
        "streaming",
        "vision",
        "json_schema",
        "reasoning"
      ],
      "input_usd_per_mtok": 2,
      "output_usd_per_mtok": 10,
      "cached_input_usd_per_mtok": 0.1
    },
    {
      "id": "gpt-6.1-terra",
      "provider_type": "openai",
      "protocol": "openai_chat",
      "context_window": 1050000,
      "max_output_tokens": 128000,
      "capabilities": [
        "chat",
        "streaming",
        "tools",
        "vision",
        "json_schema",
        "reasoning"
      ],
      "input_usd_per_mtok": 1,
      "output_usd_per_mtok": 5,
      "cached_input_usd_per_mtok": 0.05
    },
    {
      "id": "gpt-6-luna",
      "provider_type": "openai",
      "protocol": "openai_chat",
      "context_window": 1050000,
      "max_output_tokens": 128000,
      "capabilities": [
        "chat",
        "streaming",
        "tools",
        "vision",
        "json_schema",
        "reasoning"
      ],
      "input_usd_per_mtok": 0.1,
      "output_usd_per_mtok": 0.5,
      "cached_input_usd_per_mtok": 0.01
    },
    {
      "id": "gpt-5.5",
      "provider_type": "openai",
      "protocol": "openai_chat",
      "context_window": 1050000,
      "max_output_tokens": 128000,
      "capabilities": [
        "chat",
        "streaming",
        "tools",
        "vision",
        "json_schema",
        "reasoning"
      ],
      "input_usd_per_mtok": 5,
      "output_usd_per_mtok": 30,
      "cached_input_usd_per_mtok": 0.5
    },
    {
      "id": "gpt-5.4",
      "provider_type": "openai",
      "protocol": "openai_chat",
      "context_window": 1050000,
      "max_output_tokens": 128000,
      "capabilities": [
        "chat",
        "streaming",
        "tools",
        "vision",
        "json_schema",
        "reasoning"
      ],
      "input_usd_per_mtok": 2.5,
      "output_usd_per_mtok": 15,
      "cached_input_usd_per_mtok": 0.25
    },
    {
      "id": "gpt-5.4-mini",
      "provider_type": "openai",
      "protocol": "openai_chat",
      "context_window": 400000,
      "max_output_tokens": 128000,
      "capabilities": [
        "chat",
        "streaming",
        "tools",
        "vision",
        "json_schema",
        "reasoning"
      ],
      "input_usd_per_mtok": 0.75,
      "output_usd_per_mtok": 4.5,
      "cached_input_usd_per_mtok": 0.075
    },
    {
      "id": "gpt-4.1",
      "provider_type": "openai",
      "protocol": "openai_chat",
      "context_window": 1047576,
      "max_output_tokens": 32768,
      "capabilities": [
        "chat",
        "streaming",
        "tools",
        "vision",
        "json_schema"
      ],
      "input_usd_per_mtok": 2,
      "output_usd_per_mtok": 8,
      "cached_input_usd_per_mtok": 0.5
    },
    {
      "id": "gpt-4.1-mini",
      "provider_type": "openai",
      "protocol": "openai_chat",
      "context_window": 1047576,
      "max_output_tokens": 32768,
      "capabilities": [
        "chat",
        "streaming",
        "tools",
        "vision",
        "json_schema"
      ],
      "input_usd_per_mtok": 0.4,
      "output_usd_per_mtok": 1.6,
      "cached_input_usd_per_mtok": 0.1
    },
    {
      "id": "gpt-4o",
      "provider_type": "openai",
      "protocol": "openai_chat",
      "context_window": 128000,
      "max_output_tokens": 16384,
      "capabilities": [
        "chat",
        "streaming",
        "tools",
        "vision",
        "json_schema"
      ],
      "input_usd_per_mtok": 2.5,
      "output_usd_per_mtok": 10,
      "cached_input_usd_per_mtok": 1.25
    },
    {
      "id": "gpt-4o-mini",
      "provider_type": "openai",
      "protocol": "openai_chat",
      "context_window": 128000,
      "max_output_tokens": 16384,
      "capabilities": [
        "chat",
        "streaming",
        "tools",
        "vision",
        "json_schema"
      ],
      "input_usd_per_mtok": 0.15,
      "output_usd_per_mtok": 0.6,
      "cached_input_usd_per_mtok": 0.075
    },
    {
      "id": "text-embedding-3-small",
      "provider_type": "openai",
      "protocol": "openai_embed",
      "context_window": 8191,
      "max_output_tokens": 0,
      "capabilities": [
        "embeddings"
      ],
      "input_usd_per_mtok": 0.02,
      "output_usd_per_mtok": 0
    },
    {
      "id": "text-embedding-3-large",
      "provider_type": "openai",
      "protocol": "openai_embed",
      "context_window": 8191,
      "max_output_tokens": 0,
      "capabilities": [
        "embeddings"
      ],
      "input_usd_per_mtok": 0.13,
      "output_usd_per_mtok": 0
    },
    {
      "id": "claude-opus-5-5",
      "provider_type": "anthropic",
      "protocol": "anthropic_messages",
      "context_window": 1000000,
      "max_output_tokens": 128000,
      "capabilities": [
        "chat",
        "streaming",
        "tools",
        "vision",
        "json_schema",
        "reasoning"
      ],
      "input_usd_per_mtok": 4,
      "output_usd_per_mtok": 20,
      "cached_input_usd_per_mtok": 0.2
    },
    {
      "id": "claude-sonnet-5-5",
      "provider_type": "anthropic",
      "protocol": "anthropic_messages",
      "context_window": 1000000,
      "max_output_tokens": 128000,
      "capabilities": [
        "chat",
        "streaming",
        "tools",
        "vision",
        "json_schema",
        "reasoning"
      ],
      "input_usd_per_mtok": 2,
      "output_usd_per_mtok": 10,
      "cached_input_usd_per_mtok": 0.1
    },
    {
      "id": "claude-haiku-5-5",
      "provider_type": "anthropic",
      "protocol": "anthropic_messages",
      "context_window": 1000000,
      "max_output_tokens": 128000,
      "capabilities": [
        "chat",
        "streaming",
        "tools",
        "vision",
        "json_schema",
        "reasoning"
      ],
      "input_usd_per_mtok": 0.1,
      "output_usd_per_mtok": 0.5,
      "cached_input_usd_per_mtok": 0.01
    },
    {
      "id": "claude-opus-5",
      "provider_type": "anthropic",
      "protocol": "anthropic_messages",
      "context_window": 1000000,
      "max_output_tokens": 128000,
      "capabilities": [
        "chat",
        "streaming",
        "tools",
        "vision",
        "json_schema",
        "reasoning"
      ],
      "input_usd_per_mtok": 5,
      "output_usd_per_mtok": 25,
      "cached_input_usd_per_mtok": 0.5
    },
    {
      "id": "claude-sonnet-5",
      "provider_type": "anthropic",
      "protocol": "anthropic_messages",
      "context_window": 1000000,
      "max_output_tokens": 128000,
      "capabilities": [
        "chat",
        "streaming",
        "tools",
        "vision",
        "json_schema",
        "reasoning"
      ],
      "input_usd_per_mtok": 2,
      "output_usd_per_mtok": 10,
      "cached_input_usd_per_mtok": 0.2
    },
    {
      "id": "claude-sonnet-4-6",
      "provider_type": "anthropic",
      "protocol": "anthropic_messages",
      "context_window": 1000000,
      "max_output_tokens": 128000,
      "capabilities": [
        "chat",
        "streaming",
        "tools",
        "vision",
        "json_schema",
        "reasoning"
      ],
      "input_usd_per_mtok": 3,
      "output_usd_per_mtok": 15,
      "cached_input_usd_per_mtok": 0.3
    },
    {
      "id": "claude-opus-4-5-20251101",
      "provider_type": "anthropic",
      "protocol": "anthropic_messages",
      "context_window": 200000,
      "max_output_tokens": 64000,
      "capabilities": [
        "chat",
        "streaming",
        "tools",
        "vision",
        "json_schema",
        "reasoning"
      ],
      "input_usd_per_mtok": 5,
      "output_usd_per_mtok": 25,
      "cached_input_usd_per_mtok": 0.5
    },
    {
      "id": "claude-haiku-4-5-20251001",
      "provider_type": "anthropic",
      "protocol": "anthropic_messages",
      "context_window": 200000,
      "max_output_tokens": 64000,
      "capabilities": [
        "chat",
        "streaming",
        "tools",
        "vision",
        "json_schema",
        "reasoning"
      ],
      "input_usd_per_mtok": 1,
      "output_usd_per_mtok": 5,
      "cached_input_usd_per_mtok": 0.1
    },
    {
      "id": "gemini-3.8-flash",
      "provider_type": "gemini",
      "protocol": "google_gemini",
      "context_window": 1048576,
      "max_output_tokens": 65536,
      "capabilities": [
        "chat",
        "streaming",
        "tools",
        "vision",
        "json_schema",
        "reasoning"
      ],
      "input_usd_per_mtok": 0.75,
      "output_usd_per_mtok": 3.75,
      "cached_input_usd_per_mtok": 0.075
    },
    {
      "id": "gemini-3.7-flash",
      "provider_type": "gemini",
      "protocol": "google_gemini",
      "context_window": 1048576,
      "max_output_tokens": 65536,
      "capabilities": [
        "chat",
        "streaming",
        "tools",
        "vision",
        "json_schema",
        "reasoning"
      ],
      "input_usd_per_mtok": 0.75,
      "output_usd_per_mtok": 3.75,
      "cached_input_usd_per_mtok": 0.075
    },
    {
      "id": "gemini-3.1-pro-preview",
      "provider_type": "gemini",
      "protocol": "google_gemini",
      "context_window": 1048576,
      "max_output_tokens": 65536,
      "capabilities": [
        "chat",
        "streaming",
        "tools",
        "vision",
        "json_schema",
        "reasoning"
      ],
      "input_usd_per_mtok": 2,
      "output_usd_per_mtok": 12,
      "cached_input_usd_per_mtok": 0.2
    },
    {
      "id": "gemini-3.5-flash-lite",
      "provider_type": "gemini",
      "protocol": "google_gemini",
      "context_window": 1048576,
      "max_output_tokens": 65536,
      "capabilities": [
        "chat",
        "streaming",
        "tools",
        "vision",
        "json_schema",
        "reasoning"
      ],
      "input_usd_per_mtok": 0.3,
      "output_usd_per_mtok": 2.5,
      "cached_input_usd_per_mtok": 0.03
    },
    {
      "id": "gemini-3.1-flash-lite",
      "provider_type": "gemini",
      "protocol": "google_gemini",
      "context_window": 1048576,
      "max_output_tokens": 65536,
      "capabilities": [
        "chat",
        "streaming",
        "tools",
        "vision",
        "json_schema",
        "reasoning"
      ],
      "input_usd_per_mtok": 0.25,
      "output_usd_per_mtok": 1.5,
      "cached_input_usd_per_mtok": 0.025
    },
    {
      "id": "gemini-embedding-001",
      "provider_type": "gemini",
      "protocol": "gemini_embed",
      "context_window": 2048,
      "max_output_tokens": 0,
      "capabilities": [
        "embeddings"
      ],
      "input_usd_per_mtok": 0.15,
      "output_usd_per_mtok": 0
    },
    {
      "id": "gemini-embedding-2",
      "provider_type": "gemini",
      "protocol": "gemini_embed",
      "context_window": 8192,
      "max_output_tokens": 0,
      "capabilities": [
        "embeddings"
      ],
      "input_usd_per_mtok": 0.2,
      "output_usd_per_mtok": 0
    },
    {
      "id": "anthropic.claude-sonnet-5",
      "provider_type": "bedrock",
      "protocol": "bedrock_converse",
      "context_window": 1000000,
      "max_output_tokens": 128000,
      "capabilities": [
        "chat",
        "streaming",
        "tools",
        "vision",
        "reasoning"
      ],
      "input_usd_per_mtok": 2,
      "output_usd_per_mtok": 10,
      "cached_input_usd_per_mtok": 0.2
    },
    {
      "id": "anthropic.claude-sonnet-4-6",
      "provider_type": "bedrock",
      "protocol": "bedrock_converse",
      "context_window": 1000000,
      "max_output_tokens": 128000,
      "capabilities": [
        "chat",
        "streaming",
        "tools",
        "vision",
        "reasoning"
      ],
      "input_usd_per_mtok": 3,
      "output_usd_per_mtok": 15,
      "cached_input_usd_per_mtok": 0.3
    },
    {
      "id": "anthropic.claude-haiku-4-5-20251001-v1:0",
      "provider_type": "bedrock",
      "protocol": "bedrock_converse",
      "context_window": 200000,
      "max_output_tokens": 64000,
      "capabilities": [
        "chat",
        "streaming",
        "tools",
        "vision",
        "reasoning"
      ],
      "input_usd_per_mtok": 1,
      "output_usd_per_mtok": 5,
      "cached_input_usd_per_mtok": 0.1
    },
    {
      "id": "amazon.nova-pro-v1:0",
      "provider_type": "bedrock",
      "protocol": "bedrock_converse",
      "context_window": 300000,
      "max_output_tokens": 8192,
      "capabilities": [
        "chat",
        "streaming",
        "tools",
        "vision"
      ],
      "input_usd_per_mtok": 0.8,
      "output_usd_per_mtok": 3.2,
      "cached_input_usd_per_mtok": 0.2
    },
    {
      "id": "amazon.nova-lite-v1:0",
      "provider_type": "bedrock",
      "protocol": "bedrock_converse",
      "context_window": 300000,
      "max_output_tokens": 8192,
      "capabilities": [
        "chat",
        "streaming",
        "tools",
        "vision"
      ],
      "input_usd_per_mtok": 0.06,
      "output_usd_per_mtok": 0.24,
      "cached_input_usd_per_mtok": 0.015
    },
    {
      "id": "amazon.nova-micro-v1:0",
      "provider_type": "bedrock",
      "protocol": "bedrock_converse",
      "context_window": 128000,
      "max_output_tokens": 8192,
      "capabilities": [
        "chat",
        "streaming",
        "tools"
      ],
      "input_usd_per_mtok": 0.035,
      "output_usd_per_mtok": 0.14,
      "cached_input_usd_per_mtok": 0.00875
    },
    {
      "id": "meta.llama3-3-70b-instruct-v1:0",
      "provider_type": "bedrock",
      "protocol": "bedrock_converse",
      "context_window": 128000,
      "max_output_tokens": 4096,
      "capabilities": [
        "chat",
        "streaming",
        "tools"
      ],
      "input_usd_per_mtok": 0.72,
      "output_usd_per_mtok": 0.72
    },
    {
      "id": "amazon.titan-embed-text-v2:0",
      "provider_type": "bedrock",
      "protocol": "bedrock_embed",
      "context_window": 8192,
      "max_output_tokens": 0,
      "capabilities": [
        "embeddings"
      ],
      "input_usd_per_mtok": 0.02,
      "output_usd_per_mtok": 0
    },
    {
      "id": "cohere.embed-english-v3",
      "provider_type": "bedrock",
      "protocol": "bedrock_embed",
      "context_window": 512,
      "max_output_tokens": 0,
      "capabilities": [
        "embeddings"
      ],
      "input_usd_per_mtok": 0.1,
      "output_usd_per_mtok": 0
    },
    {
      "id": "mistral-medium-latest",
      "provider_type": "mistral",
      "protocol": "openai_chat",
      "context_window": 262144,
      "max_output_tokens": 262144,
      "capabilities": [
        "chat",
        "streaming",
        "tools",
        "vision",
        "json_schema",
        "reasoning"
      ],
      "input_usd_per_mtok": 1.5,
      "output_usd_per_mtok": 7.5,
      "cached_input_usd_per_mtok": 0.15
    },
    {
      "id": "mistral-large-latest",
      "provider_type": "mistral",
      "protocol": "openai_chat",
      "context_window": 262144,
      "max_output_tokens": 262144,
      "capabilities": [
        "chat",
        "streaming",
        "tools",
        "vision",
        "json_schema"
      ],
      "input_usd_per_mtok": 0.5,
      "output_usd_per_mtok": 1.5,
      "cached_input_usd_per_mtok": 0.05
    },
    {
      "id": "mistral-embed",
      "provider_type": "mistral",
      "protocol": "openai_embed",
      "context_window": 8192,
      "max_output_tokens": 0,
      "capabilities": [
        "embeddings"
      ],
      "input_usd_per_mtok": 0.1,
      "output_usd_per_mtok": 0
    },
    {
      "id": "deepseek-flash",
      "provider_type": "deepseek",
      "protocol": "openai_chat",
      "context_window": 1048576,
      "max_output_tokens": 384000,
      "capabilities": [
        "chat",
        "streaming",
        "tools",
        "vision",
        "reasoning"
      ],
      "input_usd_per_mtok": 0.3,
      "output_usd_per_mtok": 1.2,
      "cached_input_usd_per_mtok": 0.006
    },
    {
      "id": "deepseek-v4-pro",
      "provider_type": "deepseek",
      "protocol": "openai_chat",
      "context_window": 1048576,
      "max_output_tokens": 384000,
      "capabilities": [
        "chat",
        "streaming",
        "tools",
        "reasoning"
      ],
      "input_usd_per_mtok": 1.32,
      "output_usd_per_mtok": 3.96,
      "cached_input_usd_per_mtok": 0.044
    },
    {
      "id": "openai/gpt-oss-120b",
      "provider_type": "groq",
      "protocol": "openai_chat",
      "context_window": 131072,
      "max_output_tokens": 65536,
      "capabilities": [
        "chat",
        "streaming",
        "tools",
        "json_schema",
        "reasoning"
      ],
      "input_usd_per_mtok": 0.15,
      "output_usd_per_mtok": 0.6,
      "cached_input_usd_per_mtok": 0.075
    },
    {
      "id": "openai/gpt-oss-20b",
      "provider_type": "groq",
      "protocol": "openai_chat",
      "context_window": 131072,
      "max_output_tokens": 65536,
      "capabilities": [
        "chat",
        "streaming",
        "tools",
        "json_schema",
        "reasoning"
      ],
      "input_usd_per_mtok": 0.075,
      "output_usd_per_mtok": 0.3,
      "cached_input_usd_per_mtok": 0.0375
    },
    {
      "id": "llama-3.3-70b-versatile",
      "provider_type": "groq",
      "protocol": "openai_chat",
      "context_window": 131072,
      "max_output_tokens": 32768,
      "capabilities": [
        "chat",
        "streaming",
        "tools"
      ],
      "input_usd_per_mtok": 0.59,
      "output_usd_per_mtok": 0.79
    },
    {
      "id": "grok-4.7",
      "provider_type": "xai",
      "protocol": "openai_chat",
      "context_window": 500000,
      "max_output_tokens": 500000,
      "capabilities": [
        "chat",
        "streaming",
        "tools",
        "vision",
        "json_schema",
        "reasoning"
      ],
      "input_usd_per_mtok": 2,
      "output_usd_per_mtok": 6,
      "cached_input_usd_per_mtok": 0.5
    },
    {
      "id": "grok-4.3",
      "provider_type": "xai",
      "protocol": "openai_chat",
      "context_window": 1000000,
      "max_output_tokens": 1000000,
      "capabilities": [
        "chat",
        "streaming",
        "tools",
        "vision",
        "json_schema",
        "reasoning"
      ],
      "input_usd_per_mtok": 1.25,
      "output_usd_per_mtok": 2.5,
      "cached_input_usd_per_mtok": 0.2
    },
    {
      "id": "grok-4.20-0309-non-reasoning",
      "provider_type": "xai",
      "protocol": "openai_chat",
      "context_window": 1000000,
      "max_output_tokens": 1000000,
      "capabilities": [
        "chat",
        "streaming",
        "tools",
        "vision",
        "json_schema"
      ],
      "input_usd_per_mtok": 1.25,
      "output_usd_per_mtok": 2.5,
      "cached_input_usd_per_mtok": 0.2
    }
  ]
}
"""#
}
