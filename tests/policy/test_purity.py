"""service/policy is pure: it imports no web framework, database, HTTP, cache or settings."""

from __future__ import annotations

import ast
from pathlib import Path

import service.policy

FORBIDDEN = ("fastapi", "sqlmodel", "sqlalchemy", "httpx", "redis", "service.settings", "starlette")
PACKAGE = Path(service.policy.__file__).parent


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _forbidden(name: str) -> bool:
    return any(name == bad or name.startswith(bad + ".") for bad in FORBIDDEN)


def test_the_engine_imports_nothing_impure() -> None:
    modules = sorted(PACKAGE.rglob("*.py"))
    assert len(modules) > 5
    offending = {
        f"{path.relative_to(PACKAGE)}: {name}"
        for path in modules
        for name in _imports(path)
        if _forbidden(name)
    }
    assert offending == set()


def test_the_engine_imports_only_itself_from_the_service() -> None:
    for path in PACKAGE.rglob("*.py"):
        for name in _imports(path):
            if name.startswith("service."):
                assert name.startswith("service.policy"), f"{path.name} imports {name}"


def test_the_purity_check_would_catch_an_import() -> None:
    assert _forbidden("sqlalchemy.orm")
    assert _forbidden("service.settings")
    assert not _forbidden("service.settlements")
