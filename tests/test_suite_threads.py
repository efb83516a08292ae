"""The suite's own thread settings (tests/__init__.py): every process it starts runs one thread
outside the fits, so that two workers on two cores do not spin on each other's core; fits still
take their fixed two."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import sklearn.ensemble  # noqa: F401  (loads libgomp, whose threads are checked)
from threadpoolctl import threadpool_info

from tests import SET_BY_CALLER
from tests.conftest import REPO_ROOT

# What a stage started by DVC in a test reports of its thread pools, and of a fit's.
REPORT_THREADS = """
import numpy as np, sklearn.ensemble, threadpoolctl
from sklearn.linear_model import LogisticRegression
from stages.core.model_io import fit_reproducibly
outside = {pool["num_threads"] for pool in threadpoolctl.threadpool_info()}
class Probe(LogisticRegression):
    def fit(self, x, y):
        self.seen_ = {pool["num_threads"] for pool in threadpoolctl.threadpool_info()}
        return super().fit(x, y)
fitted = fit_reproducibly(Probe(), np.arange(20.0).reshape(10, 2), np.arange(10) % 2)
print(sorted(outside), sorted(fitted.seen_))
"""


def test_a_process_the_suite_starts_runs_one_thread_outside_its_fits() -> None:
    if SET_BY_CALLER:
        pytest.skip(f"the caller set {', '.join(SET_BY_CALLER)}, which the suite keeps")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    # Set before numpy and scikit-learn loaded in this worker too.
    assert {pool["num_threads"] for pool in threadpool_info()} == {1}
    shown = subprocess.run(
        [sys.executable, "-c", REPORT_THREADS], cwd=REPO_ROOT, env=env,
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    assert shown == "[1] [2]"
