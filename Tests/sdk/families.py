"""The provider families the translation tests (test_provider_families.py) and the
cost tests (test_cost_per_protocol.py) run against, as one table: what tollgate's
config says about each family's fake upstream (family_upstreams.py), which model
names reach it, how tollgate must authenticate and address it, and the usage it
reports.

    family     provider type (protocol)          chat model                   embedding model
    anthropic  anthropic (anthropic_messages)    ant/claude-x
    gemini     gemini (google_gemini)            gem/gemini-x                 gem/text-embedding-x
    bedrock    bedrock (bedrock_converse)        br/anthropic.claude-x-v1:0   br/amazon.titan-embed-text-v2:0
    responses  openai (openai_responses)         resp/gpt-r
    azure      azure (openai_chat, api-key)      az/gpt-az                    az/emb-az
    openai     openai_compatible                                              oai/emb-oai

Every provider has `retries: 0`, and the failure threshold is high enough that
error tests never open a breaker.

Where families differ in what tollgate must send them or what the client gets back
(request bodies, tool call ids, error bodies, embedding inputs), each entry's
`checks` (family_checks.py) says so, and `usage_before_cut` what a cut stream's
ledger row holds: the tests hold no per-family branches.
"""

from __future__ import annotations

import http.client
import json
from dataclasses import dataclass, field
from typing import Any, Callable, NamedTuple

import conftest as sdk
import family_checks as fc
import family_upstreams as fu


class Tokens(NamedTuple):
    input: int
    cached: int
    output: int
    reasoning: int


@dataclass(frozen=True)
class Auth:
    """How a family's requests must carry the upstream key."""
    header: str
    prefix: str = ""
    also: dict[str, str] = field(default_factory=dict)  # further headers it must send
    absent: tuple[str, ...] = ()  # headers that must not be sent
    key_in_query: bool = False  # whether a `key` query parameter is allowed


@dataclass(frozen=True)
class Family:
    name: str
    provider: str  # tollgate provider name
    config: Callable[[str], dict[str, Any]]  # fake origin -> provider entry
    auth: Auth
    checks: fc.FamilyChecks  # what tollgate must send it and the client get back (family_checks.py)
    chat_model: str | None = None  # upstream model id
    chat_path: Callable[[bool], str] | None = None  # stream? -> the path tollgate must POST to
    tokens: Tokens | None = None  # the OpenAI usage the fake's chat usage stands for (wire-formats.md §0.3)
    usage_rule: Callable[[], Tokens] | None = None  # that mapping, applied to the fake's usage
    embed_model: str | None = None
    embed_path: str | None = None
    embed_tokens: int | None = None  # prompt tokens the fake reports for embeddings
    # Ledger columns a stream cut midway must hold as the fake reported them before the cut
    # (None: the fake reports no usage before its cut point, so the row is estimated).
    usage_before_cut: dict[str, int] | None = None

    @property
    def model(self) -> str:
        return f"{self.provider}/{self.chat_model}"

    @property
    def embed(self) -> str:
        return f"{self.provider}/{self.embed_model}"

    @property
    def api_key(self) -> str:
        return fu.API_KEYS[self.name]


def _anthropic_rule() -> Tokens:
    u = fu.ANTHROPIC_USAGE
    return Tokens(u["input_tokens"] + u["cache_read_input_tokens"] + u["cache_creation_input_tokens"],
                  u["cache_read_input_tokens"], u["output_tokens"], 0)


def _gemini_rule() -> Tokens:
    u = fu.GEMINI_USAGE
    return Tokens(u["promptTokenCount"], u["cachedContentTokenCount"],
                  u["candidatesTokenCount"] + u["thoughtsTokenCount"], u["thoughtsTokenCount"])


def _bedrock_rule() -> Tokens:
    u = fu.BEDROCK_USAGE
    return Tokens(u["inputTokens"] + u["cacheReadInputTokens"] + u["cacheWriteInputTokens"],
                  u["cacheReadInputTokens"], u["outputTokens"], 0)


def _responses_rule() -> Tokens:
    u = fu.RESPONSES_USAGE
    return Tokens(u["input_tokens"], u["input_tokens_details"]["cached_tokens"], u["output_tokens"],
                  u["output_tokens_details"]["reasoning_tokens"])


def _openai_rule() -> Tokens:
    u = fu.OPENAI_USAGE
    return Tokens(u["prompt_tokens"], u["prompt_tokens_details"]["cached_tokens"], u["completion_tokens"],
                  u["completion_tokens_details"]["reasoning_tokens"])


BEARER = Auth("authorization", "Bearer ")

# Usage literals, (input, cached, output, reasoning):
#   anthropic: input 11 + cache read 5 + cache write 3; cached = cache read
#   gemini:    promptTokenCount 13; output = candidates 6 + thoughts 4
#   bedrock:   inputTokens 17 + cache read 4 + cache write 2 (no cached price)
#   responses: input/output tokens as they are, cached 8, reasoning 5
#   azure:     passed through
TABLE: dict[str, Family] = {f.name: f for f in [
    Family("anthropic", "ant",
           lambda origin: {"type": "anthropic", "base_url": origin},
           Auth("x-api-key", also={"anthropic-version": "2023-06-01"}, absent=("authorization",)),
           fc.AnthropicChecks(),
           chat_model="claude-x", chat_path=lambda stream: "/v1/messages",
           tokens=Tokens(19, 5, 7, 0), usage_rule=_anthropic_rule,
           # message_start carries the whole input usage
           usage_before_cut={"input_tokens": _anthropic_rule().input, "cached_tokens": _anthropic_rule().cached}),
    Family("gemini", "gem",
           lambda origin: {"type": "gemini", "base_url": origin},
           Auth("x-goog-api-key", absent=("authorization",), key_in_query=False),
           fc.GeminiChecks(),
           chat_model="gemini-x",
           chat_path=lambda stream: "/v1beta/models/gemini-x:" + (
               "streamGenerateContent?alt=sse" if stream else "generateContent"),
           tokens=Tokens(13, 2, 10, 4), usage_rule=_gemini_rule,
           embed_model="text-embedding-x", embed_path="/v1beta/models/text-embedding-x:batchEmbedContents",
           # every event's partial usageMetadata carries promptTokenCount only
           usage_before_cut={"input_tokens": fu.GEMINI_USAGE["promptTokenCount"]}),
    Family("bedrock", "br",
           lambda origin: {"type": "bedrock", "region": "us-east-1", "base_url": origin},
           BEARER,  # a Bedrock API key
           fc.BedrockChecks(),
           chat_model="anthropic.claude-x-v1:0",
           chat_path=lambda stream: "/model/anthropic.claude-x-v1%3A0/" + (
               "converse-stream" if stream else "converse"),
           tokens=Tokens(23, 4, 9, 0), usage_rule=_bedrock_rule,
           embed_model="amazon.titan-embed-text-v2:0", embed_path="/model/amazon.titan-embed-text-v2%3A0/invoke",
           embed_tokens=fu.TITAN_INPUT_TOKENS),
    Family("responses", "resp",
           lambda origin: {"type": "openai", "protocol": "openai_responses", "base_url": origin + "/v1"},
           BEARER, fc.ResponsesChecks(), chat_model="gpt-r", chat_path=lambda stream: "/v1/responses",
           tokens=Tokens(21, 8, 12, 5), usage_rule=_responses_rule),
    Family("azure", "az",
           lambda origin: {"type": "azure", "endpoint": origin, "deployment": "dep1",
                           "api_version": "2024-10-21"},
           Auth("api-key", absent=("authorization",)),
           fc.AzureChecks(),
           chat_model="gpt-az",
           chat_path=lambda stream: "/openai/deployments/dep1/chat/completions?api-version=2024-10-21",
           tokens=Tokens(15, 0, 8, 0), usage_rule=_openai_rule,
           embed_model="emb-az", embed_path="/openai/deployments/dep1/embeddings?api-version=2024-10-21",
           embed_tokens=fu.OPENAI_EMBED_PROMPT_TOKENS),
    Family("openai", "oai",
           lambda origin: {"type": "openai_compatible", "base_url": origin + "/v1"},
           BEARER, fc.CompatibleChecks(), embed_model="emb-oai", embed_path="/v1/embeddings",
           embed_tokens=fu.OPENAI_EMBED_PROMPT_TOKENS),
]}

CHAT_FAMILIES = [f.name for f in TABLE.values() if f.chat_model]
EMBED_FAMILIES = ["openai", "azure", "gemini", "bedrock"]  # the order the embedding tests run in


def providers(fakes: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """One provider per family, pointing at that family's fake."""
    out = {}
    for f in TABLE.values():
        models = [m for m in (f.chat_model, f.embed_model) if m]
        out[f.provider] = dict(f.config(fakes[f.name].origin), api_key=f.api_key, models=models, retries=0)
    return out


# helpers shared by the family test modules ------------------------------------------


def user(text: str) -> list[dict[str, Any]]:
    return [{"role": "user", "content": text}]


def collect(stream) -> tuple[str, list]:
    chunks = list(stream)
    text = "".join((c.choices[0].delta.content or "") for c in chunks if c.choices)
    return text, chunks


def check_auth(family: str, rec: dict[str, Any]) -> None:
    headers = rec["headers"]
    leaked = {k: v for k, v in headers.items() if sdk.CLIENT_API_KEY in v}
    assert not leaked, f"the client's API key reached the {family} upstream: {leaked}"
    auth = TABLE[family].auth
    assert headers.get(auth.header) == auth.prefix + TABLE[family].api_key, headers
    for name, value in auth.also.items():
        assert headers.get(name) == value, headers
    for name in auth.absent:
        assert name not in headers, headers
    if not auth.key_in_query:
        assert "key" not in rec["query"], "the key must travel in a header, not the URL"


def raw_post(gateway: sdk.Gateway, path: str, body: Any) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", gateway.port, timeout=30)
    try:
        conn.request("POST", "/v1" + path, body=json.dumps(body).encode(),
                     headers={"Authorization": f"Bearer {gateway.client_api_key}", "Content-Type": "application/json"})
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def sse_data(payload: bytes) -> list[str]:
    events = [e for e in payload.decode("utf-8").replace("\r\n", "\n").split("\n\n") if e.strip()]
    out = []
    for event in events:
        lines = [ln[len("data:"):].lstrip() for ln in event.split("\n") if ln.startswith("data:")]
        if lines:
            out.append("\n".join(lines))
    return out
