"""`python -m bench`: the same CLI as the `bench` console script."""

from bench.cli import main

__all__: list[str] = []

main()
