"""Helpers shared by the test suite and the benchmarks: synthetic objectives."""

__all__: list[str] = []
