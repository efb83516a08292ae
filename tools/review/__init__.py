"""Reviewing a change: the model gate, the report and its pull-request comment, the paired
comparison of two revisions, the headline metrics, the offline plots page, and the model
registry (GTO).
"""
