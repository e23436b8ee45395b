/// The model catalog bundled with tollgate: limits, capabilities and list prices per model
/// (`prices_read_on` says when the prices were read). It is compiled in (no resource file to
/// find at run time), one file per provider family (`BundledCatalog+Family.swift`);
/// `ModelCatalog.parse` checks it at start.
enum BundledCatalog {
    static var json: String {
        header.replacing("__MODELS__", with: [openAI, anthropic, gemini, bedrock, compatible, hosted].joined(separator: ",\n"))
    }

    static let header = #"""
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
    "xai": "https://docs.x.ai/developers/pricing",
    "qwen": "https://www.alibabacloud.com/help/en/model-studio/models",
    "zhipu": "https://docs.z.ai/guides/overview/pricing",
    "moonshot": "https://platform.moonshot.ai/docs/pricing",
    "cloudflare": "https://developers.cloudflare.com/workers-ai/platform/pricing/",
    "perplexity": "https://docs.perplexity.ai/getting-started/pricing",
    "cerebras": "https://inference-docs.cerebras.ai/models/overview",
    "sambanova": "https://cloud.sambanova.ai/pricing",
    "nebius": "https://tokenfactory.nebius.com/",
    "google_vertex": "https://cloud.google.com/vertex-ai/generative-ai/pricing"
  },
  "models": [
__MODELS__
  ]
}
"""#
}
