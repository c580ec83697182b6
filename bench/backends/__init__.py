"""Backends that run the tuner's jobs: live training, or replay of the curve cache."""

__all__: list[str] = []
