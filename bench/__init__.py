"""The `bench` command line: training, collection, HPO runs, replays and reports."""

__all__: list[str] = []
