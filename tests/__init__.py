"""The test suite. Imported before any test module and before numpy or scikit-learn: it sets the
thread settings every process of the suite inherits (the stages DVC runs included)."""

import os

# The suite runs two workers on a two-core machine, each starting stages and queued experiments
# of its own, and libgomp's idle threads spin while they wait: two threads per process there
# burned several times the CPU of one (three in-process pipelines side by side: 85 s against
# 8 s of wall time). So one thread per process (OpenMP, BLAS), except in fits, which always run
# on two (stages.core.model_io.fit_reproducibly: the model must not depend on the machine); and
# a short spin before a waiting thread sleeps (the fits and evaluations of the unit tests: 32 s
# of CPU against 42 s with libgomp's default). Neither changes an output. A value the caller
# set is kept.
THREAD_SETTINGS = {
    "OMP_NUM_THREADS": "1",
    "OPENBLAS_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "GOMP_SPINCOUNT": "1000",
}
# Which of them the suite set, in the environment too: pytest's workers inherit the settings of
# the process that started them and must not take them for the caller's.
SET_BY_SUITE_VARIABLE = "TESTS_SET_THREAD_SETTINGS"
if SET_BY_SUITE_VARIABLE not in os.environ:
    os.environ[SET_BY_SUITE_VARIABLE] = " ".join(v for v in THREAD_SETTINGS if v not in os.environ)
SET_BY_CALLER = sorted(set(THREAD_SETTINGS) - set(os.environ[SET_BY_SUITE_VARIABLE].split()))
for variable, value in THREAD_SETTINGS.items():
    os.environ.setdefault(variable, value)
