"""The layer order written in pyproject.toml ([tool.importlinter]) holds, and would catch a
lower layer importing a higher one: `lint-imports` passes on the repository and fails on a copy
of it with one upward import added (models importing the web layer)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("partner_api", "auth", "schema", "resolvers", "models")
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def _layers() -> list[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    (contract,) = config["tool"]["importlinter"]["contracts"]
    layers: list[str] = contract["layers"]
    return layers


def _lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run(  # noqa: S603 (our own lint-imports, fixed arguments)
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=root,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_every_schema_module_has_a_layer() -> None:
    """schema.root sits above the resolvers and the rest of schema/ below them, so the rest is
    listed module by module; a new schema module must be placed too."""
    named = {
        module.strip()
        for layer in _layers()
        for module in layer.replace("|", ":").split(":")
        if module.strip().startswith("schema.")
    }
    present = {
        f"schema.{path.stem}" for path in (ROOT / "schema").glob("*.py") if path.stem != "__init__"
    }
    assert named == present


def test_the_repository_keeps_its_layers() -> None:
    result = _lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr


def test_an_upward_import_breaks_the_contract(tmp_path: Path) -> None:
    for package in PACKAGES:
        shutil.copytree(
            ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    (tmp_path / "models" / "upward.py").write_text(
        "from partner_api.web import app  # noqa: F401\n", encoding="utf-8"
    )
    result = _lint_imports(tmp_path)
    assert result.returncode != 0
    assert "models is not allowed to import partner_api.web" in result.stdout
    assert "models.upward -> partner_api.web.app" in result.stdout
