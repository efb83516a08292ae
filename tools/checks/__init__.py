"""Checks of the repository: dvc.yaml against the code and params, the notebooks, credentials in
what is committed, and the workspace a run or an experiment starts from.
"""
