"""The flight-delay pipeline: one module per DVC stage plus a few light shared modules."""
