"""SECURITY.md DEP: dependency floors are declared in pyproject.toml and met by what is installed.

starlette >= 1.3.1 (form parser limits on urlencoded bodies), PyJWT >= 2.13.0,
strawberry-graphql >= 0.315.7, and python-multipart installed for form parsing.
"""

from __future__ import annotations

import re
import tomllib
from importlib.metadata import version
from pathlib import Path

import pytest

PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"
FLOORS = {
    "starlette": (1, 3, 1),
    "pyjwt": (2, 13, 0),
    "strawberry-graphql": (0, 315, 7),
}


def _release(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", text)[:3])


def _declared() -> dict[str, str]:
    dependencies = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]["dependencies"]
    declared: dict[str, str] = {}
    for requirement in dependencies:
        match = re.match(r"([A-Za-z0-9_.-]+)(\[[^\]]*\])?\s*(.*)", requirement)
        assert match is not None, requirement
        declared[match.group(1).lower()] = match.group(3)
    return declared


@pytest.mark.parametrize(("name", "floor"), sorted(FLOORS.items()))
def test_dep_floor_is_declared(name: str, floor: tuple[int, ...]) -> None:
    specifier = _declared()[name]
    lower = re.search(r">=\s*([0-9.]+)", specifier)
    assert lower is not None, f"{name} has no lower bound in pyproject.toml: {specifier!r}"
    assert _release(lower.group(1)) >= floor


@pytest.mark.parametrize(("name", "floor"), sorted(FLOORS.items()))
def test_dep_floor_is_installed(name: str, floor: tuple[int, ...]) -> None:
    assert _release(version(name)) >= floor


def test_dep_python_multipart_is_declared_and_installed() -> None:
    assert "python-multipart" in _declared()
    assert version("python-multipart")
