"""The test suite. Imported before any test module and before numpy or scikit-learn: it sets the
thread counts every process of the suite inherits (the stages DVC runs included)."""

import os

# One thread per process (OpenMP for the gradient boosting, BLAS): the suite runs two workers on
# a two-core machine, each starting stages and queued experiments of its own, and libgomp's idle
# threads spin while they wait, so two threads per process there burned several times the CPU of
# one (three in-process pipelines side by side: 85 s against 8 s of wall time). Every output a
# test compares is computed under the same setting. A value set by the caller is kept.
for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(variable, "1")
