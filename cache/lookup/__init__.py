"""Lookups: a model's curves as arrays (`curves`), answered in the three modes (`modes`:
tabular, nearest, surrogate), the fitted surrogates (`surrogate`, `fitted`), one benchmark
over them (`benchmark`), its black-box face (`blackbox`) and the surrogate's fidelity."""

__all__: list[str] = []
