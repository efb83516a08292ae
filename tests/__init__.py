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
SET_BY_CALLER = sorted(variable for variable in THREAD_SETTINGS if variable in os.environ)
for variable, value in THREAD_SETTINGS.items():
    os.environ.setdefault(variable, value)
