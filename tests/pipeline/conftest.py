"""Fixtures of the cross-project pipeline tests (the shared ones live in tests/conftest.py)."""

# The S3 server fixture lives in its own module; importing it here makes it available to tests.
from tests.pipeline.s3_server import s3_server  # noqa: F401
