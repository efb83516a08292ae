"""Where outputs live and travel: DVC's cache checked, the S3 remote checked, the run-cache sent
with outputs DVC does not send, the source data filled and checked, and the lock file split into
per-library pins.
"""
