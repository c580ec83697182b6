"""The learning-curve cache: Parquet store, collection, lookups, surrogate fidelity."""

__all__: list[str] = []
