extension BundledCatalog {
    /// Google Gemini models: limits, capabilities and list prices (one JSON object per model).
    static let gemini = #"""
        {"id": "gemini-3.8-flash", "provider_type": "gemini", "protocol": "google_gemini", "context_window": 1048576, "max_output_tokens": 65536, "capabilities": ["chat", "streaming", "tools", "vision", "json_schema", "reasoning"], "input_usd_per_mtok": 0.75, "output_usd_per_mtok": 3.75, "cached_input_usd_per_mtok": 0.075},
        {"id": "gemini-3.7-flash", "provider_type": "gemini", "protocol": "google_gemini", "context_window": 1048576, "max_output_tokens": 65536, "capabilities": ["chat", "streaming", "tools", "vision", "json_schema", "reasoning"], "input_usd_per_mtok": 0.75, "output_usd_per_mtok": 3.75, "cached_input_usd_per_mtok": 0.075},
        {"id": "gemini-3.1-pro-preview", "provider_type": "gemini", "protocol": "google_gemini", "context_window": 1048576, "max_output_tokens": 65536, "capabilities": ["chat", "streaming", "tools", "vision", "json_schema", "reasoning"], "input_usd_per_mtok": 2, "output_usd_per_mtok": 12, "cached_input_usd_per_mtok": 0.2},
        {"id": "gemini-3.5-flash-lite", "provider_type": "gemini", "protocol": "google_gemini", "context_window": 1048576, "max_output_tokens": 65536, "capabilities": ["chat", "streaming", "tools", "vision", "json_schema", "reasoning"], "input_usd_per_mtok": 0.3, "output_usd_per_mtok": 2.5, "cached_input_usd_per_mtok": 0.03},
        {"id": "gemini-3.1-flash-lite", "provider_type": "gemini", "protocol": "google_gemini", "context_window": 1048576, "max_output_tokens": 65536, "capabilities": ["chat", "streaming", "tools", "vision", "json_schema", "reasoning"], "input_usd_per_mtok": 0.25, "output_usd_per_mtok": 1.5, "cached_input_usd_per_mtok": 0.025},
        {"id": "gemini-embedding-001", "provider_type": "gemini", "protocol": "gemini_embed", "context_window": 2048, "max_output_tokens": 0, "capabilities": ["embeddings"], "input_usd_per_mtok": 0.15, "output_usd_per_mtok": 0},
        {"id": "gemini-embedding-2", "provider_type": "gemini", "protocol": "gemini_embed", "context_window": 8192, "max_output_tokens": 0, "capabilities": ["embeddings"], "input_usd_per_mtok": 0.2, "output_usd_per_mtok": 0}
"""#
}
