"""Lookups: a model's curves as arrays (`curves`), answered in the three modes (`modes`:
tabular, nearest, surrogate), the fitted surrogates (`surrogate`, `fitted`), the one face over
them (`blackbox`: what a user evaluates and what a replay reads) and the surrogate's fidelity."""

__all__: list[str] = []
