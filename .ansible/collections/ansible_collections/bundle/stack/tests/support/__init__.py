"""Test support shared by the unit tests, the molecule scenarios' verifiers and the benchmarks.

Imported as `tests.support.<module>` with the repository root on sys.path: pytest puts it
there (pyproject.toml's `pythonpath`), the benchmarks run as `python -m bench.<name>` from
the root.
"""
