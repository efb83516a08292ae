"""Check that ``dvc.yaml`` declares exactly what each stage's code imports and reads.

For every stage ``python -m stages.<name>``, the ``stages`` modules it imports (transitively, found
by parsing the code, not by running it) must be its ``stages/`` deps, and the params sections it
loads with ``load_params("<section>")`` must be its ``params``. A missing entry means DVC would not
re-run the stage when that module or param changes; a surplus one re-runs it for nothing.

Run with ``make check`` or ``python -m tools.dvc_lint``; exits 1 and names each stage and entry
at fault.
"""

from __future__ import annotations

import ast
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

PACKAGE = "stages"
PARAMS_FILE = "params.yaml"
CMD_PATTERN = re.compile(rf"^python -m ({PACKAGE}\.\w+)(\s|$)")


def module_path(module: str) -> str:
    """The repository path of a module name: ``stages.io`` -> ``stages/io.py``."""
    return module.replace(".", "/") + ".py"


def _absolute(node: ast.ImportFrom, current: str) -> str:
    """The absolute module an ``ImportFrom`` names, resolving relative imports from ``current``."""
    if node.level == 0:
        return node.module or ""
    parent = current.split(".")[: -node.level]
    return ".".join([*parent, node.module] if node.module else parent)


def imported_modules(source: str, current: str, known: set[str]) -> set[str]:
    """The modules of ``known`` that the code ``source`` of module ``current`` imports."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(node, current)
            # `from stages import io` imports the module stages.io; `from stages.io import x`
            # imports stages.io itself.
            names = [base, *(f"{base}.{alias.name}" for alias in node.names)]
        else:
            continue
        for name in names:
            # `import stages.io` also imports the package `stages` itself.
            parts = name.split(".")
            found.update(".".join(parts[:i]) for i in range(1, len(parts) + 1))
    return found & known


def module_closure(entry: str, sources: Mapping[str, str]) -> set[str]:
    """``entry`` and every module of ``sources`` it imports, directly or not, package included."""
    known = set(sources)
    seen: set[str] = set()
    pending = [entry, *(m for m in known if entry.startswith(f"{m}."))]
    while pending:
        module = pending.pop()
        if module in seen:
            continue
        seen.add(module)
        pending.extend(imported_modules(sources[module], module, known) - seen)
    return seen


def params_sections_read(source: str, module: str) -> set[str]:
    """Sections the code loads with ``load_params("<section>")``; ValueError if not a literal."""
    sections = set()
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
        if name != "load_params":
            continue
        if not node.args or not isinstance(node.args[0], ast.Constant):
            raise ValueError(
                f"{module_path(module)}:{node.lineno}: load_params needs a literal section"
            )
        sections.add(str(node.args[0].value))
    return sections


def declared_params(entries: list[Any]) -> list[str]:
    """Keys of params.yaml a stage declares (entries naming other files are left out)."""
    keys: list[str] = []
    for entry in entries:
        if isinstance(entry, str):
            keys.append(entry)
        elif isinstance(entry, Mapping):
            keys.extend(str(key) for key in entry.get(PARAMS_FILE, []) or [])
    return keys


def _dep_path(entry: Any) -> str:
    """The path of a deps entry, which is a string or a one-key mapping with options."""
    return str(next(iter(entry))) if isinstance(entry, Mapping) else str(entry)


def check_stage(name: str, stage: Mapping[str, Any], sources: Mapping[str, str]) -> list[str]:
    """Problems with one stage's declared module deps and params; empty when it is exact."""
    match = CMD_PATTERN.match(str(stage.get("cmd", "")))
    if not match:
        return [
            f"stage '{name}': cmd must be 'python -m {PACKAGE}.<module>', got {stage.get('cmd')!r}"
        ]
    entry = match.group(1)
    if entry not in sources:
        return [f"stage '{name}': cmd runs {entry}, but {module_path(entry)} does not exist"]
    problems = []
    modules = module_closure(entry, sources)
    expected = {module_path(m) if m != PACKAGE else f"{PACKAGE}/__init__.py" for m in modules}
    deps = {_dep_path(d) for d in stage.get("deps", []) or []}
    declared = {d for d in deps if d.startswith(f"{PACKAGE}/")}
    for path in sorted(expected - declared):
        problems.append(f"stage '{name}': missing dep {path} (imported by {entry})")
    for path in sorted(declared - expected):
        problems.append(f"stage '{name}': surplus dep {path} (not imported by {entry})")

    try:
        read = set().union(*(params_sections_read(sources[m], m) for m in modules))
    except ValueError as error:
        return [*problems, f"stage '{name}': {error}"]
    keys = declared_params(stage.get("params", []) or [])
    for key in sorted(keys):
        section = key.split(".")[0]
        if "." in key and section in read:
            problems.append(
                f"stage '{name}': params entry '{key}' names one key, but the stage reads the "
                f"whole section '{section}': declare '{section}', so that a new or misspelled "
                "key re-runs it"
            )
        elif section not in read:
            problems.append(f"stage '{name}': surplus params '{key}' (the code does not read it)")
    for section in sorted(read - {key.split(".")[0] for key in keys}):
        problems.append(f"stage '{name}': missing params '{section}' (read by {entry})")
    return problems


def check_pipeline(pipeline: Mapping[str, Any], sources: Mapping[str, str]) -> list[str]:
    """Problems with every stage of a parsed dvc.yaml."""
    stages = pipeline.get("stages") or {}
    return [
        problem for name, stage in stages.items() for problem in check_stage(name, stage, sources)
    ]


def read_sources(root: Path) -> dict[str, str]:
    """The code of every module of the package under ``root``, by module name."""
    sources = {}
    for path in sorted((root / PACKAGE).rglob("*.py")):
        parts = path.relative_to(root).with_suffix("").parts
        module = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        sources[module] = path.read_text(encoding="utf-8")
    return sources


def main(root: Path = Path()) -> int:
    """Lint ``root``/dvc.yaml against the code; print the problems; 1 if any, else 0."""
    pipeline = YAML(typ="safe", pure=True).load((root / "dvc.yaml").read_text(encoding="utf-8"))
    problems = check_pipeline(pipeline, read_sources(root))
    for problem in problems:
        print(f"dvc.yaml: {problem}", file=sys.stderr)
    if not problems:
        print(f"dvc.yaml: {len(pipeline.get('stages') or {})} stages declare exactly what they use")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
