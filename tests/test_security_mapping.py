"""docs/security.md maps every ID of the security checklist to tests that prove it.

Fails when an ID of `shared/SECURITY.md` has no row or no test, when a row names an ID the
checklist does not have, when a listed test does not exist, when a listed test does not name
its ID in its name (`test_te14_…`) or docstring (`TE-14`), or when every test listed for an ID
runs on PostgreSQL only (the suite also runs on SQLite alone, and each ID is proven there).
"""

from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MAPPING = ROOT / "docs" / "security.md"
# The checklist lives beside the repository (../shared), which a CI checkout may not have: its IDs
# are also kept here, and where the checklist is present a test checks the two still agree.
CHECKLIST = ROOT.parent / "shared" / "SECURITY.md"
CHECKLIST_IDS = (
    *(f"TE-{n:02d}" for n in (1, 2, 3, 5, 6, 7, 8, 9, 10, 11, 12, 14, 15, 17, 18, 20, 21, 22)),
    *(f"AT-{n:02d}" for n in (1, 2, 4, 6, 7)),
    *(f"RS-{n:02d}" for n in range(1, 11)),
    *(f"CR-{n:02d}" for n in range(2, 10)),
    *(f"GQ-{n:02d}" for n in (1, 2, 3, 4, 7, 9, 10)),
    *(f"IN-{n:02d}" for n in range(1, 5)),
    *(f"RV-{n:02d}" for n in range(1, 4)),
    *(f"MD-{n:02d}" for n in range(1, 6)),
    *(f"LG-{n:02d}" for n in range(1, 4)),
    "DEP",
)
# IDs of the planned checklist (../shared/SECURITY-PLANNED.md) whose capability has landed: each
# has its row and tests here like the IDs above.
PLANNED = ROOT.parent / "shared" / "SECURITY-PLANNED.md"
BUILT_PLANNED_IDS = (
    *(f"GQ-{n}" for n in range(11, 16)),
    "RS-11",
    "CR-10",
    *(f"ER-0{n}" for n in range(1, 5)),
    *(f"WH-0{n}" for n in range(1, 5)),
    *(f"LK-0{n}" for n in range(1, 4)),
    *(f"PK-0{n}" for n in range(1, 4)),
    *(f"PT-0{n}" for n in range(1, 4)),
)
ROW = re.compile(r"^\| (?P<id>[A-Z]{2,3}(?:-\d{2})?) \| (?P<text>.*) \| (?P<tests>.*) \|$")
TEST = re.compile(r"`(tests/[\w/]+\.py)::(\w+)`")


def checklist_ids(text: str) -> list[str]:
    """Every ID, with grouped ones expanded: `RS-03/04/05` and `IN-01..04` name each ID."""
    ids: list[str] = []
    for line in text.splitlines():
        match = re.match(r"- ([A-Z]{2,3})-(\d{2})((?:/\d{2})*)(?:\.\.(\d{2}))? ", line)
        if match is None:
            continue
        prefix, first, more, last = match.groups()
        numbers = [first, *(part for part in more.split("/") if part)]
        if last:
            numbers = [f"{number:02d}" for number in range(int(first), int(last) + 1)]
        ids.extend(f"{prefix}-{number}" for number in numbers)
    if "## DEP" in text:
        ids.append("DEP")
    return ids


def mapping() -> dict[str, list[tuple[str, str]]]:
    rows: dict[str, list[tuple[str, str]]] = {}
    for line in MAPPING.read_text(encoding="utf-8").splitlines():
        match = ROW.match(line)
        if match is None or match["id"] == "ID":
            continue
        assert match["id"] not in rows, f"{match['id']} has two rows"
        rows[match["id"]] = TEST.findall(match["tests"])
    return rows


@cache
def functions_in(path: str) -> dict[str, str]:
    """Test function name -> docstring, for one test file."""
    tree = ast.parse((ROOT / path).read_text(encoding="utf-8"))
    return {
        node.name: ast.get_docstring(node) or ""
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.name.startswith("test_")
    }


def _is_postgres_only(mark: ast.expr, aliases: dict[str, ast.expr]) -> bool:
    """`pytest.mark.postgres_only`, a `skipif` on `on_postgres()` or TEST_DATABASE_URL, a
    module-level name bound to one of those, or a list holding one."""
    if isinstance(mark, ast.List | ast.Tuple):
        return any(_is_postgres_only(element, aliases) for element in mark.elts)
    if isinstance(mark, ast.Name) and mark.id in aliases:
        return _is_postgres_only(aliases[mark.id], aliases)
    if isinstance(mark, ast.Attribute):
        return mark.attr == "postgres_only"
    if isinstance(mark, ast.Call) and isinstance(mark.func, ast.Attribute):
        condition = " ".join(ast.unparse(argument) for argument in mark.args[:1])
        condition += " ".join(ast.unparse(k.value) for k in mark.keywords if k.arg == "condition")
        return mark.func.attr == "skipif" and (
            "on_postgres" in condition or "TEST_DATABASE_URL" in condition
        )
    return False


def postgres_only_in(source: str) -> set[str]:
    """The tests of one module that never run on SQLite, read from its marks (statically)."""
    tree = ast.parse(source)
    aliases = {
        target.id: node.value
        for node in tree.body
        if isinstance(node, ast.Assign)
        for target in node.targets
        if isinstance(target, ast.Name)
    }
    whole_module = "pytestmark" in aliases and _is_postgres_only(aliases["pytestmark"], aliases)
    return {
        node.name
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.name.startswith("test_")
        and (whole_module or any(_is_postgres_only(mark, aliases) for mark in node.decorator_list))
    }


@cache
def postgres_only_tests(path: str) -> set[str]:
    return postgres_only_in((ROOT / path).read_text(encoding="utf-8"))


def names_its_id(security_id: str, name: str, docstring: str) -> bool:
    if security_id == "DEP":
        return name.startswith("test_dep_")
    prefix, number = security_id.split("-")
    in_name = re.search(rf"(^|_){prefix.lower()}{number}(_|$)", name) is not None
    in_docstring = re.search(rf"\b{prefix}-(\d\d/)*{number}\b", docstring) is not None
    return in_name or in_docstring


def test_every_checklist_id_has_a_row_and_no_row_is_invented() -> None:
    assert sorted(mapping()) == sorted((*CHECKLIST_IDS, *BUILT_PLANNED_IDS))


@pytest.mark.skipif(
    not PLANNED.exists(), reason="the planned checklist is not beside this checkout"
)
def test_the_built_planned_ids_are_the_planned_checklists() -> None:
    planned = checklist_ids(PLANNED.read_text(encoding="utf-8"))
    assert set(BUILT_PLANNED_IDS) <= set(planned)


@pytest.mark.skipif(
    not CHECKLIST.exists(), reason="the shared checklist is not beside this checkout"
)
def test_the_kept_ids_are_the_checklists() -> None:
    assert list(CHECKLIST_IDS) == checklist_ids(CHECKLIST.read_text(encoding="utf-8"))


def test_every_row_names_at_least_one_test() -> None:
    empty = [security_id for security_id, tests in mapping().items() if not tests]
    assert not empty
    assert len(mapping()) >= 60


def test_every_listed_test_exists_and_names_its_id() -> None:
    problems: list[str] = []
    for security_id, tests in mapping().items():
        for path, name in tests:
            if not (ROOT / path).exists():
                problems.append(f"{security_id}: {path} does not exist")
                continue
            functions = functions_in(path)
            if name not in functions:
                problems.append(f"{security_id}: {path}::{name} does not exist")
            elif not names_its_id(security_id, name, functions[name]):
                problems.append(f"{security_id}: {path}::{name} does not name {security_id}")
    assert not problems, "\n".join(problems)


def test_every_id_has_a_listed_test_that_runs_on_sqlite() -> None:
    postgres_only = [
        security_id
        for security_id, tests in mapping().items()
        if all(
            not (ROOT / path).exists() or name in postgres_only_tests(path) for path, name in tests
        )
    ]
    assert not postgres_only, f"only PostgreSQL runs a listed test of {postgres_only}"


def test_postgres_only_tests_are_recognised_by_their_marks() -> None:
    source = """
import pytest
ON_POSTGRES = pytest.mark.skipif(not on_postgres(), reason="row locks")
@pytest.mark.postgres_only
async def test_marked(): ...
@ON_POSTGRES
async def test_skipped_by_an_alias(): ...
@pytest.mark.skipif(not tests.database.on_postgres(), reason="row locks")
async def test_skipped(): ...
@pytest.mark.skipif(condition=not os.environ.get("TEST_DATABASE_URL"), reason="row locks")
async def test_skipped_without_the_url(): ...
@pytest.mark.skipif(shutil.which("curl") is None, reason="no curl")
@pytest.mark.parametrize("x", [1])
async def test_on_both(x): ...
"""
    assert postgres_only_in(source) == {
        "test_marked",
        "test_skipped_by_an_alias",
        "test_skipped",
        "test_skipped_without_the_url",
    }
    module = "import pytest\npytestmark = [pytest.mark.postgres_only]\ndef test_any(): ...\n"
    assert postgres_only_in(module) == {"test_any"}


def test_grouped_checklist_ids_are_expanded() -> None:
    text = (
        "- RS-03/04/05 Exact iss\n- IN-01..04 Introspection\n- TE-01 POST only\n## DEP — floors\n"
    )
    assert checklist_ids(text) == [
        "RS-03", "RS-04", "RS-05", "IN-01", "IN-02", "IN-03", "IN-04", "TE-01", "DEP"
    ]  # fmt: skip
