"""The admin schema's parser and validation caches: a repeated operation is parsed and validated
once, and a cached verdict still enforces the schema's own limits (GQ-01, GQ-02/03)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, cast

import pytest
from strawberry.extensions.parser_cache import _get_parse_cache
from strawberry.schema.schema import validate_document

import schema.bounded_validation as bounded_validation_module
from schema.root import DOCUMENT_CACHE_SIZE, build_schema


def _nested(depth: int) -> str:
    """`viewer { user { user { ... { email } } } }`, `depth` levels deep."""
    return "{ viewer " + "{ user " * (depth - 1) + "{ email" + " }" * (depth + 1)


def _messages(result: Any) -> list[str]:
    return [error.message for error in result.errors or []]


def _cache_hits(cache: Callable[..., Any]) -> int:
    """Hits of Strawberry's shared parse cache (a `functools.lru_cache` wrapper)."""
    hits: int = cast("functools._lru_cache_wrapper[Any]", cache).cache_info().hits
    return hits


async def test_a_repeated_operation_is_parsed_and_validated_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    schema = build_schema(max_depth=4)
    query = _nested(3) + " # unique to this test"
    parses = _get_parse_cache(DOCUMENT_CACHE_SIZE)
    real_budget_errors = bounded_validation_module.budget_errors
    measured: list[object] = []
    validated: list[object] = []

    def measure(*args: Any) -> Any:
        measured.append(args)
        return real_budget_errors(*args)

    def validate(*args: Any) -> Any:
        validated.append(args)
        return validate_document(*args)

    monkeypatch.setattr("schema.bounded_validation.budget_errors", measure)
    monkeypatch.setattr("schema.bounded_validation.validate_document", validate)
    await schema.execute(query)
    parse_hits = _cache_hits(parses)
    await schema.execute(query)
    await schema.execute(query)
    assert _cache_hits(parses) == parse_hits + 2
    assert len(measured) == 1
    assert len(validated) == 1


async def test_gq01_a_cached_verdict_still_refuses_a_too_deep_query() -> None:
    schema = build_schema(max_depth=4)
    query = _nested(6)
    for _ in range(3):
        result = await schema.execute(query)
        assert any("exceeds maximum operation depth of 4" in m for m in _messages(result))
        assert result.data is None


async def test_gq01_verdicts_are_per_schema_limits_not_shared_between_schemas() -> None:
    """The same text under a stricter and a looser schema: each applies its own depth limit,
    whichever validated it first."""
    query = _nested(6) + " # per-schema"
    strict, loose = build_schema(max_depth=4), build_schema(max_depth=10)
    for _ in range(2):
        strict_result = await strict.execute(query)
        loose_result = await loose.execute(query)
        assert any("maximum operation depth" in m for m in _messages(strict_result))
        assert not any("maximum operation depth" in m for m in _messages(loose_result))


async def test_gq02_introspection_stays_refused_on_repeat_when_disabled() -> None:
    closed, open_ = build_schema(introspection=False), build_schema(introspection=True)
    query = "{ __schema { queryType { name } } }"
    for _ in range(2):
        refused = await closed.execute(query)
        allowed = await open_.execute(query)
        assert refused.data is None
        assert any("introspection" in m.lower() for m in _messages(refused))
        assert allowed.errors is None
        assert allowed.data == {"__schema": {"queryType": {"name": "Query"}}}


async def test_gq01_token_limit_applies_to_a_text_cached_under_a_looser_limit() -> None:
    """The parse cache is keyed by the token limit too: a text parsed under a high limit is
    still refused by a schema with a lower one."""
    query = "{ " + " ".join(["viewer { email }"] * 30) + " } # tokens"
    loose, strict = build_schema(max_tokens=2000), build_schema(max_tokens=50)
    await loose.execute(query)
    result = await strict.execute(query)
    assert result.data is None
    assert any("token" in m.lower() for m in _messages(result))
