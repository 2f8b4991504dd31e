"""Benchmarks of the dispatcher, run on demand: ``python -m bench [name ...] [--quick]``.

Each benchmark measures its baseline in the same run and reports the ratio against its target. They
never run in the test suite. See docs/benchmarks.md.
"""
