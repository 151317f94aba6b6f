"""The layout of the tests: folders mirror the packages of assist/, and tests share code only through tests/support.

A test module that imports another test module (or a conftest) runs that module's tests' imports and
fixtures twice under two names and ties the two files together; shared helpers live in tests/support/,
fixtures in the conftest.py of the folder whose tests use them.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TESTS = ROOT / "tests"
ASSIST = ROOT / "assist"

# Folders that are not a package or module of assist/, and why.
NOT_PACKAGES = {
    "support": "helpers shared by the tests",
    "data": "data files of the tests",
    "packaging": "the built wheel and a newcomer's first steps, not one module",
}
# Sub-folders named after what they test inside their package rather than after a module.
BY_CONCERN = {
    "web/pages": "the browser pages, assist/web/static",
    "web/security": "authentication, origins, hosts, limits and TLS of assist/web",
}


def python_files() -> list[Path]:
    return sorted(p for p in TESTS.rglob("*.py") if "__pycache__" not in p.parts)


def is_test_module(name: str) -> bool:
    """``name`` (dotted) is a test module or a conftest."""
    last = name.rsplit(".", 1)[-1]
    return last.startswith("test_") or last == "conftest"


def module_name(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts)


def imported_modules(source: str, module: str) -> list[str]:
    """Every module that ``source``, the text of the module named ``module``, imports; relative imports
    resolved against its package."""
    package = module.rsplit(".", 1)[0]
    names: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
            target = (f"{base}.{node.module}" if node.module else base) if node.level else node.module or ""
            names.append(target)
            # ``from tests.web import test_protocol`` imports the module named by the alias
            names.extend(f"{target}.{alias.name}" for alias in node.names if is_test_module(alias.name))
    return names


@pytest.mark.parametrize("path", python_files(), ids=lambda p: str(p.relative_to(TESTS)))
def test_no_module_imports_a_test_module_or_a_conftest(path: Path) -> None:
    imported = imported_modules(path.read_text(encoding="utf-8"), module_name(path))
    wrong = [name for name in imported if is_test_module(name)]
    assert not wrong, f"{path.relative_to(ROOT)} imports {wrong}: move what it needs to tests/support/"


@pytest.mark.parametrize(("source", "module", "caught"), [
    ("from tests.web.test_protocol import pcm", "tests.support.x", True),
    ("from .conftest import NewPage", "tests.web.pages.test_x", True),
    ("from ..conftest import make_server", "tests.web.pages.test_x", True),
    ("from tests.web import test_protocol", "tests.support.x", True),
    ("import tests.live.conftest", "tests.support.x", True),
    ("from . import test_overlay", "tests.web.pages.test_x", True),
    ("from tests.support.pages import NewPage", "tests.web.pages.test_x", False),
    ("from .helpers_x import thing", "tests.web.pages.test_x", False),
    ("from assist.web.server import AssistServer", "tests.support.x", False),
])
def test_the_import_check_catches_every_form(source: str, module: str, caught: bool) -> None:
    assert any(is_test_module(name) for name in imported_modules(source, module)) is caught


def test_folders_mirror_the_packages() -> None:
    """Each folder of tests/ is named after a package or module of assist/ (or is listed above with its reason)."""
    wrong = []
    for folder in sorted(p for p in TESTS.rglob("*") if p.is_dir() and "__pycache__" not in p.parts):
        if not any(f.suffix == ".py" for f in folder.rglob("*") if "__pycache__" not in f.parts):
            continue  # a data folder or a leftover holding only caches
        rel = folder.relative_to(TESTS)
        if rel.parts[0] in NOT_PACKAGES or rel.as_posix() in BY_CONCERN:
            continue
        if any(parent.as_posix() in BY_CONCERN for parent in rel.parents):
            continue
        target = ASSIST.joinpath(*rel.parts)
        if not (target.is_dir() or target.with_suffix(".py").is_file()):
            wrong.append(rel.as_posix())
    assert not wrong, f"tests/ folders with no assist/ package or module of that name: {wrong}"
