"""The project-agnostic core every research project builds on: the stage runner and its error
type, atomic I/O, the typed params loader, table contracts, byte-stable skops save and load,
metric and curve helpers, the time split, PSI drift and model-card facts.

It imports no project and no shared-data module (an import contract checked by ``make check``).
"""
