"""`bench cache info | verify | fidelity`: what is in the curve cache and how far to trust it.

One module per subcommand; each loads the cache's stack (pandas, pyarrow, SciPy, scikit-learn)
once its options are read.
"""

from __future__ import annotations

import click

from bench.commands.cache.fidelity import fidelity
from bench.commands.cache.info import info
from bench.commands.cache.verify import verify

__all__ = ["cache"]


@click.group()
def cache() -> None:
    """Inspect, verify and measure the learning-curve cache."""


for _command in (info, verify, fidelity):
    cache.add_command(_command)
