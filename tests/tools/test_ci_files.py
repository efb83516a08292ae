"""The CI files a team drops into its Git host: valid YAML, and every command they run is a make
target that exists here and is exercised by a test of this suite."""

from __future__ import annotations

import re
import subprocess

import pytest
from ruamel.yaml import YAML

from tests.conftest import REPO_ROOT

GITHUB = REPO_ROOT / ".github" / "workflows" / "ci.yml"
GITLAB = REPO_ROOT / ".gitlab-ci.yml"
# A command: `make <target> [VAR=value ...]`, optionally only when a variable is set.
COMMAND = re.compile(r'^(?:test -z "\$[A-Z_]+" \|\| )?make (?P<target>[a-z-]+)(?: [A-Z_]+=\S+)*$')
# Which test runs each target (or the tool it calls), and the text that shows it does.
TESTED_BY = {
    "test": ("tests/tools/test_makefile.py", '"test"'),
    "repro": ("tests/tools/test_makefile.py", '"repro"'),
    "pull": ("tests/pipeline/test_remote.py", '"pull"'),
    "report": ("tests/pipeline/test_gate_report.py", '"report"'),
    "gate": ("tests/pipeline/test_gate_report.py", '"gate"'),
    "comment": ("tests/tools/review/test_post_report.py", '"tools.review.post_report"'),
}


def load(path) -> dict:
    return YAML(typ="safe").load(path)


def github_commands() -> list[str]:
    workflow = load(GITHUB)
    return [
        step["run"] for job in workflow["jobs"].values() for step in job["steps"] if "run" in step
    ]


def gitlab_commands() -> list[str]:
    pipeline = load(GITLAB)
    return [
        line for job in pipeline.values() if isinstance(job, dict) for line in job.get("script", [])
    ]


def make_targets() -> set[str]:
    """The targets `make help` lists."""
    result = subprocess.run(
        ["make", "help"], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    )
    return set(re.findall(r"^  make (\S+)", result.stdout, re.MULTILINE))


def test_github_runs_tests_on_every_push_and_validates_pull_requests() -> None:
    workflow = load(GITHUB)
    assert set(workflow[True] if True in workflow else workflow["on"]) == {"push", "pull_request"}
    assert github_commands() == [
        "make test",
        "make pull",
        "make repro",
        "make report",
        "make comment",
        "make gate",
    ]
    validate = workflow["jobs"]["validate"]
    assert validate["if"] == "github.event_name == 'pull_request'"
    pull = next(step for step in validate["steps"] if step.get("run") == "make pull")
    assert pull["if"] == "env.AWS_ACCESS_KEY_ID != ''"


def test_gitlab_runs_tests_on_every_push_and_validates_merge_requests() -> None:
    pipeline = load(GITLAB)
    assert pipeline["test"]["script"] == ["make test"]
    assert pipeline["validate"]["rules"] == [{"if": '$CI_PIPELINE_SOURCE == "merge_request_event"'}]
    assert pipeline["validate"]["variables"]["BASE"] == "$CI_MERGE_REQUEST_DIFF_BASE_SHA"


@pytest.mark.parametrize("command", sorted(set(github_commands() + gitlab_commands())))
def test_every_command_is_a_tested_make_target(command: str) -> None:
    match = COMMAND.match(command)
    assert match, f"{command!r} is not a make target"
    target = match["target"]
    assert target in make_targets()
    test_file, evidence = TESTED_BY[target]
    assert evidence in (REPO_ROOT / test_file).read_text(), (
        f"{test_file} does not run make {target}"
    )


def test_the_command_pattern_refuses_anything_but_make() -> None:
    assert not COMMAND.match("pip install -r requirements.lock")
    assert not COMMAND.match("make gate && curl https://example.com")
    assert COMMAND.match('test -z "$AWS_ACCESS_KEY_ID" || make pull')


def test_refs_reach_make_through_the_environment_never_the_script_text() -> None:
    """A branch name is chosen by whoever opens the pull request: a `${{ ... }}` expression in a
    `run:` script would splice it into the shell. The refs go through `env:` / `variables:`,
    and the Makefile reads them from its environment (test_makefile: nothing is spliced)."""
    for command in github_commands() + gitlab_commands():
        assert "${{" not in command and "$CI_" not in command, command
    workflow = load(GITHUB)
    assert workflow["jobs"]["validate"]["env"]["BASE"] == "origin/${{ github.base_ref }}"
    assert load(GITLAB)["validate"]["variables"]["BASE"] == "$CI_MERGE_REQUEST_DIFF_BASE_SHA"
