"""Starting a project: make project's skeletons (the flights one and the own-data one), the
contract told from a dataset, and a copy of the repository with a project taken out.
"""
