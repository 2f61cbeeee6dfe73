"""The OAuth endpoints' form parser (auth/token_request._parse_form) is `urllib.parse.parse_qsl`
with the options in `_reference`, just cheaper: same pairs, same refusals."""

from __future__ import annotations

from urllib.parse import parse_qsl

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from auth.partners.token_request import MAX_FIELDS, _parse_form


def _reference(text: str) -> list[tuple[str, str]] | type[Exception]:
    try:
        return parse_qsl(
            text,
            keep_blank_values=True,
            strict_parsing=False,
            errors="strict",
            max_num_fields=MAX_FIELDS,
        )
    except UnicodeDecodeError:
        return UnicodeDecodeError
    except ValueError:
        return ValueError


def _ours(text: str) -> list[tuple[str, str]] | type[Exception]:
    try:
        return _parse_form(text)
    except UnicodeDecodeError:
        return UnicodeDecodeError
    except ValueError:
        return ValueError


CASES = [
    "",
    "&",
    "&&",
    "=",
    "a",
    "a=",
    "=b",
    "a=b=c",
    "grant_type=client_credentials",
    "grant_type=client_credentials&scope=events%3Aread+orders%3Aread",
    "a=1&&b=2&",
    "client_id=pcl_x&client_secret=pcs_y%2B%2F%3D",
    "name=%C3%A9t%C3%A9+%E2%82%AC",
    "a+b=c+d",
    "bad=%C3",  # a truncated UTF-8 sequence
    "bad=%FF",
    "odd=%zz&pct=%",
    "semi=a;b",
    "&".join(["f=1"] * MAX_FIELDS),
    "&".join(["f=1"] * (MAX_FIELDS + 1)),
    "&" * (MAX_FIELDS - 1),
    "&" * MAX_FIELDS,
]


@pytest.mark.parametrize("text", CASES)
def test_same_pairs_and_refusals_as_parse_qsl(text: str) -> None:
    assert _ours(text) == _reference(text)


@settings(max_examples=400, deadline=None)
@given(
    st.lists(st.sampled_from([*"ab=&+%; 2CFe", "%C3", "%A9", "%2", "é", "\x00"]), max_size=40).map(
        "".join
    )
)
def test_same_as_parse_qsl_for_any_short_body(text: str) -> None:
    assert _ours(text) == _reference(text)
