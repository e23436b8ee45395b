"""Cost is exact per protocol, streamed and not: the usage each fake upstream
reports (family_upstreams.py; the family table is families.py), mapped by the family's rule (wire-formats.md
§0.3), times the prices of the config's `models` overrides, is what tollgate
writes in its ledger row and (non-streamed) in `x-tollgate-cost-usd`.

One tollgate of its own (own ledger in tmp) serves every family:

    anthropic  ant/claude-x                  input + cache read + cache write; cached = cache read
    gemini     gem/gemini-x                  promptTokenCount; cached = cachedContentTokenCount;
                                             output = candidates + thoughts
    bedrock    br/anthropic.claude-x-v1:0    inputTokens + cacheRead + cacheWrite; cached = cacheRead
                                             (no cached price: cached input costs the input price)
    responses  resp/gpt-r                    input_tokens / cached_tokens / output_tokens
    azure      az/gpt-az                     passed through (no cached tokens)
    embeddings oai/emb-oai, br/amazon.titan-embed-text-v2:0

Cost = (input - cached) x input price + cached x cached price (input price when
none) + output x output price, per million tokens.

A stream cut mid-way (the family's mid-stream error, or the connection dropped:
the fakes' `#cut` marker) by a family that reported no usage before the cut
gives a row whose tokens are estimated (tokens_estimated = 1) and cost > 0.
"""

from __future__ import annotations

import math
import re
import sqlite3
from typing import Any, Iterator, NamedTuple

import openai
import pytest

import conftest as sdk
import family_upstreams as fu
from families import CHAT_FAMILIES, TABLE, Tokens, providers, user

pytestmark = pytest.mark.gateway

MODEL = {f: TABLE[f].model for f in CHAT_FAMILIES}
EMBED_MODEL = {f: TABLE[f].embed for f in ("openai", "bedrock")}


class Price(NamedTuple):
    input: float
    output: float
    cached: float | None  # None: no cached price, cached input costs the input price


# Distinct, non-round prices (USD per million tokens) for every family.
PRICES: dict[str, Price] = {
    "ant/claude-x": Price(3.17, 15.43, 0.317),
    "gem/gemini-x": Price(1.31, 10.07, 0.331),
    "br/anthropic.claude-x-v1:0": Price(2.93, 14.71, None),
    "resp/gpt-r": Price(1.83, 7.37, 0.459),
    "az/gpt-az": Price(2.61, 10.39, 1.307),
    "oai/emb-oai": Price(0.137, 0.0, None),
    "br/amazon.titan-embed-text-v2:0": Price(0.113, 0.0, None),
}


def expected_tokens(family: str) -> Tokens:
    """The fake's reported usage, mapped by the family's rule (wire-formats.md §0.3)."""
    return TABLE[family].usage_rule()


def expected_cost(model: str, input_tokens: int, cached_tokens: int, output_tokens: int) -> float:
    p = PRICES[model]
    cached_price = p.input if p.cached is None else p.cached
    return ((input_tokens - cached_tokens) * p.input + cached_tokens * cached_price
            + output_tokens * p.output) / 1_000_000


def test_fixture_usage_has_cache_tokens() -> None:
    """The fakes must report cached tokens, or the cached price would go untested."""
    for family in ("anthropic", "gemini", "bedrock", "responses"):
        assert expected_tokens(family).cached > 0, family
    # Every price differs from every other one, and each cached price from its input price.
    values = [v for p in PRICES.values() for v in p if v]
    assert len(values) == len(set(values)), PRICES


@pytest.mark.parametrize("family", CHAT_FAMILIES)
def test_usage_rule_matches_the_table(family: str) -> None:
    """The family table's usage literals (what the translation tests expect the client to
    see) are the fake's reported usage mapped by the family's rule (what the ledger holds)."""
    assert expected_tokens(family) == TABLE[family].tokens, family


# fixtures ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def cost_gateway(launch_gateway, fakes: dict[str, fu.FamilyUpstream]) -> Iterator[sdk.Gateway]:
    models: dict[str, dict[str, float]] = {}
    for target, p in PRICES.items():
        entry = {"input_usd_per_mtok": p.input, "output_usd_per_mtok": p.output}
        if p.cached is not None:
            entry["cached_input_usd_per_mtok"] = p.cached
        models[target] = entry
    config = {"providers": providers(fakes), "models": models, "failover": {"failure_threshold": 1000}}
    with launch_gateway(config, logs=list(fakes.values()), name="tollgate-cost") as gw:
        yield gw


@pytest.fixture(scope="module")
def cclient(cost_gateway: sdk.Gateway) -> Iterator[openai.OpenAI]:
    client = sdk.make_client(cost_gateway)
    try:
        yield client
    finally:
        client.close()


# helpers -----------------------------------------------------------------------


def ledger_rows(gateway: sdk.Gateway, request_id: str) -> list[dict[str, Any]]:
    """The ledger rows of one request, read through a read-only connection."""
    path = gateway.ledger
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
    try:
        conn.row_factory = sqlite3.Row
        rows = conn.execute("SELECT * FROM requests WHERE request_id = ? ORDER BY id", (request_id,)).fetchall()
        return [dict(r) for r in rows]
    finally:
        conn.close()


def ledger_row(gateway: sdk.Gateway, request_id: str) -> dict[str, Any]:
    assert request_id and re.fullmatch(r"req_[0-9a-f]{16}", request_id), f"bad x-tollgate-request-id {request_id!r}"
    rows = ledger_rows(gateway, request_id)
    assert len(rows) == 1, f"expected one ledger row for {request_id} (retries 0, one provider), got {rows}"
    return rows[0]


def row_tokens(row: dict[str, Any]) -> Tokens:
    return Tokens(row["input_tokens"], row["cached_tokens"], row["output_tokens"], row["reasoning_tokens"])


def check_cost_header(header: str | None, cost: float) -> None:
    """`x-tollgate-cost-usd`: the cost in dollars with up to 8 decimals, no exponent."""
    assert header is not None, "no x-tollgate-cost-usd header"
    assert re.fullmatch(r"\d+\.\d{1,8}", header), f"x-tollgate-cost-usd {header!r} is not dollars with <= 8 decimals"
    assert abs(float(header) - cost) <= 0.5e-8 + 1e-15, \
        f"x-tollgate-cost-usd {header} is not {cost!r} rounded to 8 decimals"


def check_usage_object(usage: Any, tokens: Tokens) -> None:
    """The usage the client sees agrees with the ledger row."""
    assert usage is not None
    assert usage.prompt_tokens == tokens.input, usage
    assert usage.completion_tokens == tokens.output, usage
    assert usage.total_tokens == tokens.input + tokens.output, usage
    assert (usage.prompt_tokens_details.cached_tokens if usage.prompt_tokens_details else 0) == tokens.cached, usage
    assert (usage.completion_tokens_details.reasoning_tokens
            if usage.completion_tokens_details else 0) == tokens.reasoning, usage


def check_exact_row(row: dict[str, Any], family: str, streamed: bool) -> None:
    model = MODEL[family]
    want = expected_tokens(family)
    assert (row["provider"], row["model"]) == (TABLE[family].provider, TABLE[family].chat_model), row
    assert row["streamed"] == int(streamed), row
    assert (row["outcome"], row["status"]) == ("ok", 200), row
    assert row_tokens(row) == want, \
        f"{family} ledger tokens (input, cached, output, reasoning) = {row_tokens(row)}, fake reported {want}"
    assert row["tokens_estimated"] == 0, row
    cost = expected_cost(model, want.input, want.cached, want.output)
    assert cost > 0
    assert math.isclose(row["cost_usd"], cost, rel_tol=0, abs_tol=1e-12), \
        f"{family} ledger cost_usd {row['cost_usd']!r} != {cost!r} = tokens {want} x prices {PRICES[model]}"


# (1) chat, not streamed ------------------------------------------------------------


@pytest.mark.parametrize("family", CHAT_FAMILIES)
def test_cost_non_stream(cost_gateway, cclient, fakes, tag, family):
    raw = cclient.chat.completions.with_raw_response.create(model=MODEL[family], messages=user(f"cost {tag}"))
    resp = raw.parse()
    assert resp.choices[0].message.content == fu.reply_text(family, f"cost {tag}")
    assert len(fakes[family].find(tag)) == 1
    row = ledger_row(cost_gateway, raw.headers.get("x-tollgate-request-id"))
    check_exact_row(row, family, streamed=False)
    check_cost_header(raw.headers.get("x-tollgate-cost-usd"), row["cost_usd"])
    want = expected_tokens(family)
    check_cost_header(raw.headers.get("x-tollgate-cost-usd"),
                      expected_cost(MODEL[family], want.input, want.cached, want.output))
    check_usage_object(resp.usage, row_tokens(row))


# (2) chat, streamed ------------------------------------------------------------------


@pytest.mark.parametrize("include_usage", [False, True], ids=["no-usage", "include-usage"])
@pytest.mark.parametrize("family", CHAT_FAMILIES)
def test_cost_stream(cost_gateway, cclient, fakes, tag, family, include_usage):
    extra = {"stream_options": {"include_usage": True}} if include_usage else {}
    raw = cclient.chat.completions.with_raw_response.create(model=MODEL[family], messages=user(f"cost {tag}"),
                                                            stream=True, **extra)
    request_id = raw.headers.get("x-tollgate-request-id")
    assert raw.headers.get("x-tollgate-cost-usd") is None, "a stream cannot know its cost in its headers"
    chunks = list(raw.parse())  # to the end: the row is committed before data: [DONE]
    text = "".join((c.choices[0].delta.content or "") for c in chunks if c.choices)
    assert text == fu.reply_text(family, f"cost {tag}")
    assert len(fakes[family].find(tag)) == 1
    row = ledger_row(cost_gateway, request_id)
    check_exact_row(row, family, streamed=True)
    if include_usage:
        check_usage_object(chunks[-1].usage, row_tokens(row))


# (3) embeddings ------------------------------------------------------------------------


EMBED_TOKENS = {f: TABLE[f].embed_tokens for f in EMBED_MODEL}


@pytest.mark.parametrize("family", ["openai", "bedrock"])
def test_cost_embeddings(cost_gateway, cclient, fakes, tag, family):
    inputs = [f"alpha {tag}", f"beta {tag}"][:TABLE[family].checks.embed_texts_per_call]
    raw = cclient.embeddings.with_raw_response.create(model=EMBED_MODEL[family], input=inputs,
                                                      encoding_format="float")
    resp = raw.parse()
    assert len(resp.data) == len(inputs)
    assert len(fakes[family].find(tag)) == 1
    row = ledger_row(cost_gateway, raw.headers.get("x-tollgate-request-id"))
    model = EMBED_MODEL[family]
    assert f"{row['provider']}/{row['model']}" == model, row
    assert (row["outcome"], row["status"], row["streamed"]) == ("ok", 200, 0), row
    want = Tokens(EMBED_TOKENS[family], 0, 0, 0)
    assert row_tokens(row) == want, f"{family} embedding ledger tokens {row_tokens(row)}, fake reported {want}"
    assert row["tokens_estimated"] == 0, row
    cost = expected_cost(model, want.input, 0, 0)
    assert math.isclose(row["cost_usd"], cost, rel_tol=0, abs_tol=1e-12), \
        f"{family} embedding cost_usd {row['cost_usd']!r} != {cost!r}"
    check_cost_header(raw.headers.get("x-tollgate-cost-usd"), cost)
    assert resp.usage.prompt_tokens == want.input


# (4) streams cut mid-way ---------------------------------------------------------------

# Families whose fake reports no usage before the point where its stream is cut, and
# those that do (Anthropic in message_start, Gemini a partial usageMetadata on every
# event: those rows hold the reported usage, the table's `usage_before_cut`, see
# test_cut_stream_after_partial_usage).
NO_EARLY_USAGE = [f for f in CHAT_FAMILIES if TABLE[f].usage_before_cut is None]
EARLY_USAGE = [f for f in CHAT_FAMILIES if TABLE[f].usage_before_cut is not None]


def _cut_stream(cclient, family: str, text: str) -> tuple[str | None, str]:
    raw = cclient.chat.completions.with_raw_response.create(model=MODEL[family], messages=user(text), stream=True)
    request_id = raw.headers.get("x-tollgate-request-id")
    got = []
    with pytest.raises(openai.APIError):
        for chunk in raw.parse():
            if chunk.choices:
                got.append(chunk.choices[0].delta.content or "")
    return request_id, "".join(got)


def check_estimated_row(row: dict[str, Any], family: str) -> None:
    model = MODEL[family]
    assert (row["provider"], row["model"]) == (TABLE[family].provider, TABLE[family].chat_model), row
    assert row["streamed"] == 1, row
    assert row["outcome"] == "upstream_error", row
    assert row["tokens_estimated"] == 1, f"{family}: a cut stream without reported usage must be estimated: {row}"
    assert row["input_tokens"] > 0 and row["output_tokens"] > 0, f"work done recorded as 0: {row}"
    assert row["cost_usd"] > 0, row
    cost = expected_cost(model, row["input_tokens"], row["cached_tokens"], row["output_tokens"])
    assert math.isclose(row["cost_usd"], cost, rel_tol=0, abs_tol=1e-12), \
        f"{family} estimated row cost_usd {row['cost_usd']!r} != {cost!r} for its own tokens"


@pytest.mark.parametrize("marker", ["#midstream", fu.CUT_MARKER], ids=["error-event", "connection-cut"])
@pytest.mark.parametrize("family", NO_EARLY_USAGE)
def test_cut_stream_is_estimated(cost_gateway, cclient, fakes, tag, family, marker):
    request_id, got = _cut_stream(cclient, family, f"{marker} a long enough answer to cut {tag}")
    assert got, "the stream was cut before any text reached the client"
    rec = fakes[family].find_one(tag)
    if marker == fu.CUT_MARKER:
        assert rec["outcome"].startswith("cut after"), rec["outcome"]
    row = ledger_row(cost_gateway, request_id)
    check_estimated_row(row, family)


@pytest.mark.parametrize("marker", ["#midstream", fu.CUT_MARKER], ids=["error-event", "connection-cut"])
@pytest.mark.parametrize("family", EARLY_USAGE)
def test_cut_stream_after_partial_usage(cost_gateway, cclient, fakes, tag, family, marker):
    """A stream cut after the provider reported some usage: the row holds at least the reported
    input (with its cache split), is priced by the formula, and never records the work done as 0."""
    request_id, got = _cut_stream(cclient, family, f"{marker} a long enough answer to cut {tag}")
    assert got, "the stream was cut before any text reached the client"
    row = ledger_row(cost_gateway, request_id)
    assert row["streamed"] == 1 and row["outcome"] == "upstream_error", row
    want = TABLE[family].usage_before_cut  # what the fake reported before the cut (families.py)
    assert {column: row[column] for column in want} == want, row
    assert row["output_tokens"] > 0, f"{family}: text reached the client but the row records 0 output tokens: {row}"
    assert row["cost_usd"] > 0, row
    cost = expected_cost(MODEL[family], row["input_tokens"], row["cached_tokens"], row["output_tokens"])
    assert math.isclose(row["cost_usd"], cost, rel_tol=0, abs_tol=1e-12), row
