"""The research monorepo's code: the core (``stages.core``), the shared raw data (``stages.raw``
and its stage ``stages.ingest``), and one sub-package per research project (``stages.late``)."""
