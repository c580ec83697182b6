"""The HPO engine: search spaces, searchers, schedulers, tuner loop, data, models, trainer."""

__version__ = "0.1.0"
