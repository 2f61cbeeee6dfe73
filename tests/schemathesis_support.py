"""What the schemathesis suites share: drawing a bounded, repeatable set of generated cases."""

from __future__ import annotations

from typing import TypeVar

import hypothesis
from hypothesis import HealthCheck, Phase
from hypothesis import strategies as st

T = TypeVar("T")


def derandomised_examples(strategy: st.SearchStrategy[T], max_examples: int) -> list[T] | None:
    """Up to `max_examples` values of `strategy`, the same ones on every run (derandomised, no
    example database, generation only); None when hypothesis finds the strategy unsatisfiable."""
    examples: list[T] = []

    @hypothesis.settings(
        max_examples=max_examples,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @hypothesis.given(strategy)
    def collect(example: T) -> None:
        examples.append(example)

    try:
        collect()
    except hypothesis.errors.Unsatisfiable:
        return None
    return examples
