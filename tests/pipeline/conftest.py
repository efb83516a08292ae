"""Fixtures of the cross-project pipeline tests (the shared ones live in tests/conftest.py)."""

# The S3 server fixture lives in its own module; importing it here makes it available to tests.
# A headless Chromium with the network off, for the plots page tests.
from tests.pipeline.browser import browser  # noqa: F401
from tests.pipeline.s3_server import s3_server  # noqa: F401
