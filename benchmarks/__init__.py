"""Benchmarks, run as scripts (`python benchmarks/NAME.py`); each puts the repository first on sys.path, so the
scripts named like the packages they measure (labs, exports) do not shadow them, and siblings import as
`benchmarks.launch`."""
