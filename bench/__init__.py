"""The `bench` command line: training, collection, HPO runs, replays and reports."""
