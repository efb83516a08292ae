"""Check that ``dvc.yaml`` declares exactly what each stage's code imports and reads; write the
module deps that it can.

For every stage ``python -m stages.<...>``, the ``stages`` modules it imports (transitively, found
by parsing the code, not by running it) must be its ``stages/`` deps; the pin files of the
libraries it imports and of everything they require (``requirements/<distribution>.txt``, split
from requirements.lock by ``make lock``) its ``requirements/`` deps; and the params sections it
loads with ``load_params("<key>", ...)`` its ``params``. A missing entry means DVC would not
re-run the stage when that module, library pin or param changes; a surplus one re-runs it for
nothing. The ``ingest`` stage must declare the source data its param names (``${ingest.source}``).

The monorepo's rules are checked too: a project's stages (modules of ``stages.<project>``) are
named ``<project>-...`` and read only their own project's sections and shared ones (``ingest``);
a shared stage reads no project's section; and every section of ``params.yaml`` is read by some
stage (an orphan section is a typo or a leftover).

    python -m tools.checks.dvc_lint          check (make check); exit 1 naming each stage and entry
    python -m tools.checks.dvc_lint --fix    rewrite every stage's module deps in place (make fix)
                                      and
                                      drop dvc.lock entries of stages dvc.yaml no longer has,
                                      keeping comments and order, then check
"""

from __future__ import annotations

import argparse
import ast
import io
import json
import re
import sys
from collections.abc import Iterable, Mapping
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

from packaging.requirements import Requirement
from ruamel.yaml import YAML

from stages.core.params import ParamsError, find_section, read_params_file

PACKAGE = "stages"
# The project-agnostic package inside PACKAGE: not a project.
CORE = "core"
PARAMS_FILE = "params.yaml"
PIPELINE_FILE = "dvc.yaml"
LOCK_FILE = "dvc.lock"
CMD_PATTERN = re.compile(rf"^python -m ({PACKAGE}(?:\.\w+)+)(\s|$)")
# One pin file per library the stages can import (requirements.lock includes them with -r).
PINS_DIR = "requirements"
# The deps `make fix` writes and `make check` proves: module files and library pin files.
MANAGED_PREFIXES = (f"{PACKAGE}/", f"{PINS_DIR}/")
# The data a stage module reads from a path its params name, which its stage must declare as a
# dependency through that param (DVC interpolates it), so that the two cannot disagree.
# A params value dvc.yaml interpolates: `${ingest.source}`.
INTERPOLATION = re.compile(r"\$\{\s*([A-Za-z0-9_.-]+)\s*\}")
PARAM_DEPS = {f"{PACKAGE}.ingest": "${ingest.source}"}


def is_package(module: str, sources: Mapping[str, str]) -> bool:
    """Whether ``module`` is a package: the top one, or one other modules live in."""
    return module == PACKAGE or any(name.startswith(f"{module}.") for name in sources)


def module_path(module: str, sources: Mapping[str, str] | None = None) -> str:
    """The repository path of a module: ``stages.core.io`` -> ``stages/core/io.py``, a package
    ``stages.late`` -> ``stages/late/__init__.py``."""
    base = module.replace(".", "/")
    if sources is not None and is_package(module, sources):
        return f"{base}/__init__.py"
    return f"{base}.py"


def project_names(sources: Mapping[str, str]) -> set[str]:
    """The projects: every sub-package of ``stages`` but the core."""
    return {
        name.split(".")[1]
        for name in sources
        if name.count(".") == 1 and is_package(name, sources) and name.split(".")[1] != CORE
    }


def repository_projects(root: Path = Path(".")) -> list[str]:
    """The projects of the repository at ``root``, sorted, as ``make check`` finds them."""
    return sorted(project_names(read_sources(root)))


def stage_project(entry: str, projects: set[str]) -> str | None:
    """The project a stage module belongs to, or None for a shared stage (``stages.ingest``)."""
    parts = entry.split(".")
    return parts[1] if len(parts) > 2 and parts[1] in projects else None


def _absolute(node: ast.ImportFrom, current: str, package: bool) -> str:
    """The absolute module an ``ImportFrom`` names, resolving relative imports from ``current``."""
    if node.level == 0:
        return node.module or ""
    # `from . import x` in a package's __init__ means the package itself.
    parts = current.split(".")
    parent = parts[: len(parts) - node.level + (1 if package else 0)]
    return ".".join([*parent, node.module] if node.module else parent)


def imported_modules(source: str, current: str, known: set[str], package: bool = False) -> set[str]:
    """The modules of ``known`` that the code ``source`` of module ``current`` imports."""
    return set(_imported_names(source, current, package)) & known


@cache
def _imported_names(source: str, current: str, package: bool) -> frozenset[str]:
    """Every module name the code ``source`` of module ``current`` imports, with the packages
    holding them (parsed once per source text: the checks ask again and again)."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(node, current, package)
            # `from stages.core import io` imports the module stages.core.io;
            # `from stages.core.io import x` imports stages.core.io itself.
            names = [base, *(f"{base}.{alias.name}" for alias in node.names)]
        else:
            continue
        for name in names:
            # `import stages.core.io` also imports the packages `stages` and `stages.core`.
            parts = name.split(".")
            found.update(".".join(parts[:i]) for i in range(1, len(parts) + 1))
    return frozenset(found)


def module_closure(entry: str, sources: Mapping[str, str]) -> set[str]:
    """``entry`` and every module of ``sources`` it imports, directly or not, packages included."""
    known = set(sources)
    seen: set[str] = set()
    pending = [entry, *(m for m in known if entry.startswith(f"{m}."))]
    while pending:
        module = pending.pop()
        if module in seen:
            continue
        seen.add(module)
        imported = imported_modules(sources[module], module, known, is_package(module, sources))
        pending.extend(imported - seen)
    return seen


def imported_libraries(source: str) -> set[str]:
    """Top-level names of the modules outside this repository's package and the standard
    library that ``source`` imports (absolute imports only: relative ones stay in the package)."""
    return set(_imported_libraries(source))


@cache
def _imported_libraries(source: str) -> frozenset[str]:
    """``imported_libraries``, parsed once per source text."""
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return frozenset(names - set(sys.stdlib_module_names) - {PACKAGE, "__future__"})


def normalized(name: str) -> str:
    """A distribution's name as PEP 503 compares them (``ruamel.yaml`` -> ``ruamel-yaml``)."""
    return re.sub(r"[-_.]+", "-", name).lower()


@cache
def _module_distributions() -> dict[str, list[str]]:
    """The installed distributions providing each top-level module name."""
    return metadata.packages_distributions()


def required_distributions(roots: Iterable[str]) -> set[str]:
    """``roots`` and every distribution they require, directly or not, as installed (extras
    left out, markers evaluated here), by normalized name."""
    seen: set[str] = set()
    pending = list(roots)
    while pending:
        name = pending.pop()
        if normalized(name) in seen:
            continue
        seen.add(normalized(name))
        pending.extend(_requirements(name))
    return seen


@cache
def _requirements(name: str) -> tuple[str, ...]:
    """The distributions the installed ``name`` requires here (extras left out)."""
    requirements = (Requirement(line) for line in metadata.requires(name) or [])
    return tuple(
        r.name for r in requirements if r.marker is None or r.marker.evaluate({"extra": ""})
    )


def library_distributions(libraries: Iterable[str]) -> tuple[set[str], list[str]]:
    """The distributions (normalized names) the imported top-level ``libraries`` need, with all
    they require; and the libraries no installed distribution provides."""
    provided = _module_distributions()
    missing = sorted(name for name in libraries if name not in provided)
    roots = [dist for name in libraries if name in provided for dist in provided[name]]
    return required_distributions(roots), missing


def pin_file(distribution: str) -> str:
    """The repository path of the file that pins ``distribution``."""
    return f"{PINS_DIR}/{normalized(distribution)}.txt"


def stage_libraries(entry: str, sources: Mapping[str, str]) -> set[str]:
    """The top-level library modules a stage running ``entry`` imports, through its modules."""
    return set().union(*(imported_libraries(sources[m]) for m in module_closure(entry, sources)))


def pipeline_distributions(pipeline: Mapping[str, Any], sources: Mapping[str, str]) -> set[str]:
    """Every distribution some stage needs: those requirements.lock pins in files of their own."""
    entries = [stage_entry(stage) for stage in (pipeline.get("stages") or {}).values()]
    libraries = set().union(*(stage_libraries(e, sources) for e in entries if e in sources))
    return library_distributions(libraries)[0]


def params_sections_read(source: str, module: str) -> set[str]:
    """Key paths the code loads with ``load_params("<key>", ...)``; ValueError if not a literal."""
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


def stage_entry(stage: Mapping[str, Any]) -> str | None:
    """The module a stage's cmd runs (``python -m <module> ...``), or None if it runs none."""
    match = CMD_PATTERN.match(" ".join(str(stage.get("cmd", "")).split()))
    return match.group(1) if match else None


def expected_module_deps(entry: str, sources: Mapping[str, str]) -> list[str]:
    """The files of code a stage running ``entry`` reads, sorted: its module and every module
    and package it imports, then the pin file of every library they import and of all those
    require."""
    modules = sorted(module_path(m, sources) for m in module_closure(entry, sources))
    distributions, _ = library_distributions(stage_libraries(entry, sources))
    return modules + sorted(pin_file(d) for d in distributions)


def _params_problems(
    name: str, entry: str, keys: list[str], read: set[str], projects: set[str]
) -> list[str]:
    """Problems with one stage's declared params ``keys`` against the key paths it ``read``s."""
    problems = []
    for key in sorted(keys):
        if key in read:
            continue
        if any(key.startswith(f"{section}.") for section in read):
            problems.append(
                f"stage '{name}': params entry '{key}' names one key, but the stage reads a "
                f"whole section that holds it: declare "
                f"'{next(s for s in sorted(read) if key.startswith(f'{s}.'))}', so that a new or "
                "misspelled key re-runs it"
            )
        else:
            problems.append(f"stage '{name}': surplus params '{key}' (the code does not read it)")
    for section in sorted(read - set(keys)):
        problems.append(f"stage '{name}': missing params '{section}' (read by {entry})")
    project = stage_project(entry, projects)
    for section in sorted(read):
        owner = section.split(".")[0]
        if owner in projects and owner != project:
            whose = f"project '{project}'" if project else "a shared stage"
            problems.append(
                f"stage '{name}': reads '{section}', a section of project '{owner}'; {whose} "
                "reads only its own sections and shared ones"
            )
    return problems


def check_stage(
    name: str, stage: Mapping[str, Any], sources: Mapping[str, str], projects: set[str]
) -> list[str]:
    """Problems with one stage's name, declared module deps and params; empty when exact."""
    entry = stage_entry(stage)
    if entry is None:
        return [
            f"stage '{name}': cmd must be 'python -m {PACKAGE}.<module>', got {stage.get('cmd')!r}"
        ]
    if entry not in sources:
        return [f"stage '{name}': cmd runs {entry}, but {module_path(entry)} does not exist"]
    problems = []
    project = stage_project(entry, projects)
    if project is not None and not name.startswith(f"{project}-"):
        problems.append(
            f"stage '{name}': runs {entry} of project '{project}'; name it '{project}-...'"
        )
    expected = set(expected_module_deps(entry, sources))
    deps = {_dep_path(d) for d in stage.get("deps", []) or []}
    declared = {d for d in deps if d.startswith(MANAGED_PREFIXES)}
    for path in sorted(expected - declared):
        why = "pins a library needed" if path.startswith(f"{PINS_DIR}/") else "imported"
        problems.append(f"stage '{name}': missing dep {path} ({why} by {entry}; make fix)")
    for path in sorted(declared - expected):
        why = "pins no library of" if path.startswith(f"{PINS_DIR}/") else "not imported by"
        problems.append(f"stage '{name}': surplus dep {path} ({why} {entry}; make fix)")
    _, unknown = library_distributions(stage_libraries(entry, sources))
    for library in unknown:
        problems.append(
            f"stage '{name}': imports '{library}', which no installed distribution provides "
            "(add it to pyproject.toml, then make lock)"
        )
    if entry in PARAM_DEPS and PARAM_DEPS[entry] not in deps:
        problems.append(
            f"stage '{name}': reads the data {PARAM_DEPS[entry]} names but does not declare it: "
            f"add '{PARAM_DEPS[entry]}' to its deps"
        )
    try:
        read = set().union(
            *(params_sections_read(sources[m], m) for m in module_closure(entry, sources))
        )
    except ValueError as error:
        return [*problems, f"stage '{name}': {error}"]
    keys = declared_params(stage.get("params", []) or [])
    return problems + _params_problems(name, entry, keys, read, projects)


def unread_sections(document: Mapping[str, Any], read: set[str], prefix: str = "") -> list[str]:
    """Key paths of ``document`` that no stage reads: a section read whole covers all below it;
    one read in part must have each of its sub-sections read."""
    unread = []
    for key, value in document.items():
        path = f"{prefix}{key}"
        if path in read:
            continue
        if isinstance(value, Mapping) and any(r.startswith(f"{path}.") for r in read):
            unread += unread_sections(value, read, f"{path}.")
        else:
            unread.append(path)
    return unread


def sections_read(pipeline: Mapping[str, Any], sources: Mapping[str, str]) -> set[str]:
    """Every params key path the stages' code loads."""
    read: set[str] = set()
    for stage in (pipeline.get("stages") or {}).values():
        entry = stage_entry(stage)
        if entry in sources:
            for module in module_closure(entry, sources):
                try:
                    read |= params_sections_read(sources[module], module)
                except ValueError:
                    continue  # reported by check_stage
    return read


def absent_params(stages: Mapping[str, Any], params: Mapping[str, Any]) -> list[str]:
    """Problems: each params key a stage declares, or dvc.yaml interpolates (`${key}`), that
    params.yaml lacks. DVC would delete the stage's outputs, Git-tracked metrics included,
    before its command fails on the missing section."""
    problems = []
    for name, stage in stages.items():
        keys = declared_params(stage.get("params", []) or [])
        keys += INTERPOLATION.findall(json.dumps(stage, default=str))
        for key in sorted(set(keys)):
            try:
                find_section(params, key)
            except ParamsError as error:
                problems.append(
                    f"stage '{name}': params '{key}' is not in {PARAMS_FILE} ({error}): restore "
                    f"it (git diff {PARAMS_FILE}) or remove it from the stage"
                )
    return problems


def check_pipeline(
    pipeline: Mapping[str, Any], sources: Mapping[str, str], params: Mapping[str, Any] | None = None
) -> list[str]:
    """Problems with every stage of a parsed dvc.yaml, and (given the parsed params.yaml) with
    its sections no stage reads."""
    projects = project_names(sources)
    stages = pipeline.get("stages") or {}
    problems = [
        problem
        for name, stage in stages.items()
        for problem in check_stage(name, stage, sources, projects)
    ]
    if params is not None:
        problems += absent_params(stages, params)
        for path in unread_sections(params, sections_read(pipeline, sources)):
            problems.append(
                f"{PARAMS_FILE}: section '{path}' is read by no stage: delete it, or load it in "
                "the stage that needs it"
            )
    return problems


def round_trip_yaml() -> YAML:
    """A ruamel.yaml that writes dvc.yaml back in its own layout, comments and all."""
    yaml = YAML()
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.width = 4096
    yaml.preserve_quotes = True
    return yaml


def fix_stage_deps(stage: Any, expected: list[str]) -> bool:
    """Make the managed deps (modules and pin files) of a round-trip stage mapping exactly
    ``expected``, where the first of them was (or first of all), other deps kept in order; True
    if anything changed."""
    deps = stage.get("deps")
    if deps is None:
        position = list(stage).index("cmd") + 1 if "cmd" in stage else 0
        stage.insert(position, "deps", [])
        deps = stage["deps"]
    paths = [_dep_path(d) for d in deps]
    modules = [i for i, path in enumerate(paths) if path.startswith(MANAGED_PREFIXES)]
    if [paths[i] for i in modules] == expected:
        return False
    first = modules[0] if modules else 0
    for index in reversed(modules):
        del deps[index]
    for offset, path in enumerate(expected):
        deps.insert(first + offset, path)
    return True


def fix_pipeline_text(text: str, sources: Mapping[str, str]) -> tuple[str, list[str]]:
    """dvc.yaml's text with every stage's module deps rewritten from the code, and the names of
    the stages that changed."""
    yaml = round_trip_yaml()
    document = yaml.load(text)
    changed = []
    for name, stage in (document.get("stages") or {}).items():
        entry = stage_entry(stage)
        if entry in sources and fix_stage_deps(stage, expected_module_deps(entry, sources)):
            changed.append(str(name))
    if not changed:
        return text, []
    stream = io.StringIO()
    yaml.dump(document, stream)
    return stream.getvalue(), changed


def stale_lock_stages(pipeline: Mapping[str, Any], lock: Mapping[str, Any] | None) -> list[str]:
    """The stages dvc.lock records that dvc.yaml no longer declares: DVC leaves a renamed or
    removed stage's entry in the lock for good."""
    declared = set(pipeline.get("stages") or {})
    return [str(name) for name in (lock or {}).get("stages", {}) if name not in declared]


def prune_lock_text(text: str, stale: list[str]) -> str:
    """dvc.lock's text without the entries of the ``stale`` stages, the rest as DVC wrote it."""
    yaml = YAML()
    document = yaml.load(text)
    for name in stale:
        del document["stages"][name]
    stream = io.StringIO()
    yaml.dump(document, stream)
    return stream.getvalue()


def read_sources(root: Path) -> dict[str, str]:
    """The code of every module of the package under ``root``, by module name."""
    sources = {}
    for path in sorted((root / PACKAGE).rglob("*.py")):
        parts = path.relative_to(root).with_suffix("").parts
        module = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        sources[module] = path.read_text(encoding="utf-8")
    return sources


def main(argv: list[str] | None = None, root: Path = Path()) -> int:
    """Lint (or with --fix, first rewrite) ``root``/dvc.yaml; print the problems; 1 if any."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fix", action="store_true", help="rewrite the module deps in dvc.yaml")
    parser.add_argument(
        "--params", action="store_true", help="only check that every declared params key exists"
    )
    args = parser.parse_args(argv)
    sources = read_sources(root)
    pipeline_file = root / PIPELINE_FILE
    try:
        # Both files parsed first: a syntax error is one line naming file, line and column.
        pipeline = read_params_file(pipeline_file) or {}
        params = read_params_file(root / PARAMS_FILE) or {}
    except ParamsError as error:
        print(error, file=sys.stderr)
        return 1
    if args.params:
        absent = absent_params(pipeline.get("stages") or {}, params)
        for problem in absent:
            print(f"{PIPELINE_FILE}: {problem}", file=sys.stderr)
        return 1 if absent else 0
    safe = YAML(typ="safe", pure=True)
    if args.fix:
        text, changed = fix_pipeline_text(pipeline_file.read_text(encoding="utf-8"), sources)
        if changed:
            pipeline_file.write_text(text, encoding="utf-8")
            pipeline = safe.load(text)  # the rewritten file is what is checked
        print(f"{PIPELINE_FILE}: module deps rewritten for {len(changed)} stages {changed}")
    problems = check_pipeline(pipeline, sources, params)
    lock_file = root / LOCK_FILE
    lock_text = lock_file.read_text(encoding="utf-8") if lock_file.is_file() else ""
    stale = stale_lock_stages(pipeline, safe.load(lock_text) if lock_text else None)
    if args.fix and stale:
        lock_file.write_text(prune_lock_text(lock_text, stale), encoding="utf-8")
        print(f"{LOCK_FILE}: removed the entries of {stale}, which dvc.yaml no longer declares")
    elif stale:
        problems += [
            f"{LOCK_FILE}: stage '{name}' is not in {PIPELINE_FILE} (make fix removes its entry)"
            for name in stale
        ]
    for problem in problems:
        prefix = (
            "" if problem.startswith((f"{PARAMS_FILE}:", f"{LOCK_FILE}:")) else f"{PIPELINE_FILE}: "
        )
        print(f"{prefix}{problem}", file=sys.stderr)
    if not problems:
        count = len(pipeline.get("stages") or {})
        print(f"{PIPELINE_FILE}: {count} stages declare exactly what they use")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
