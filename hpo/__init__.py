"""The HPO engine: search spaces, searchers, schedulers, tuner loop, data, models, trainer."""

__all__ = ["__version__"]

__version__ = "0.1.0"
