"""The commands' options, in groups a command takes whole, and their parsing into validated values."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from cache.names import DESIGNS, MODES
from hpo.algorithms import ALGORITHMS, DEFAULT_ALGORITHMS
from hpo.catalog import CATALOG, DEVICE_CHOICES, PRECISIONS
from hpo.errors import ConfigError
from hpo.space import SearchSpace

__all__ = [
    "BACKENDS",
    "algorithm_settings",
    "bracket_options",
    "budget_options",
    "cache_dir_option",
    "comparison_options",
    "data_dir_option",
    "design_options",
    "device_option",
    "echo_json",
    "experiment_options",
    "halving_options",
    "json_option",
    "load_space",
    "model_option",
    "options",
    "output_options",
    "parse_algorithms",
    "parse_assignments",
    "parse_names",
    "parse_numbers",
    "precision_option",
    "progress_bar",
    "quiet_option",
    "replay_place_options",
    "scheduler_address_option",
    "space_option",
    "threads_option",
    "training_options",
    "workers_option",
]

#: `bench run --backend`: real trainings, or the curve cache read on a simulated clock
BACKENDS = ("live", "replay")

model_option = click.option(
    "--model", "model", required=True, type=click.Choice(list(CATALOG)), help="Which model to train."
)
device_option = click.option(
    "--device", default="auto", show_default=True, type=click.Choice(DEVICE_CHOICES), help="Where to train."
)
data_dir_option = click.option(
    "--data-dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Directory with the FashionMNIST IDX files (else $FASHION_MNIST_DIR, the Debian package, the user cache).",
)
precision_option = click.option(
    "--precision",
    default="fp32",
    show_default=True,
    type=click.Choice(PRECISIONS),
    help="Training arithmetic: bf16 autocasts the forward pass (faster on CPUs with bf16 units, other curves).",
)
quiet_option = click.option("--quiet", is_flag=True, help="No progress bar.")
json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
threads_option = click.option(
    "--threads",
    type=click.IntRange(min=1),
    default=None,
    help="Torch threads per worker (default: all cores).",
)
workers_option = click.option(
    "--workers",
    type=int,
    default=None,
    help="Local Dask worker processes that train (default: one per core); with --scheduler-address, "
    "live runs use at most this many of the cluster's workers at once (collect uses them all).",
)
scheduler_address_option = click.option(
    "--scheduler-address",
    default=None,
    metavar="tcp://HOST:PORT",
    help="Train on a running Dask cluster (`dask scheduler`, `dask worker`) instead of local workers.",
)
cache_dir_option = click.option(
    "--cache-dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Curve cache directory (default: the shipped cache plus the user's cache dir).",
)
space_option = click.option(
    "--space",
    "space_file",
    type=click.Path(dir_okay=False),
    default=None,
    help="Search space file (TOML or JSON).",
)


def halving_options(command):
    """--eta, --r-min and --r-max: the successive-halving settings every command that runs algorithms takes."""
    for option in reversed(
        [
            click.option(
                "--eta", type=float, default=3, show_default=True, help="Halving rate (SH, Hyperband, ASHA)."
            ),
            click.option(
                "--r-min", type=int, default=1, show_default=True, help="Epochs at the lowest rung."
            ),
            click.option(
                "--r-max",
                type=int,
                default=20,
                show_default=True,
                help="Epochs at the top rung and of FIFO trials.",
            ),
        ]
    ):
        command = option(command)
    return command


def options(*decorators):
    """One decorator of several click options, applied in the order written."""

    def apply(command):
        for decorator in reversed(decorators):
            command = decorator(command)
        return command

    return apply


#: How a live training runs: device, arithmetic, data, threads
training_options = options(device_option, precision_option, data_dir_option, threads_option)
#: When a run stops starting work
budget_options = options(
    click.option("--trials", type=int, default=20, show_default=True, help="New trials (configs) to start."),
    click.option(
        "--budget-epochs", type=int, default=None, help="Also stop starting work after this many epochs."
    ),
    click.option(
        "--budget-seconds", type=float, default=None, help="Also stop starting work after this many seconds."
    ),
)
#: Successive halving's bracket size
bracket_options = options(
    click.option(
        "--prefact",
        type=int,
        default=1,
        show_default=True,
        help="SH: a bracket starts prefact * eta^K configs.",
    ),
    click.option(
        "--n-configs", type=int, default=None, help="SH: configs per bracket (overrides --prefact)."
    ),
)


#: What one experiment (`bench run`) runs, and how often it is seeded
experiment_options = options(
    click.option(
        "--algorithm",
        required=True,
        help=f"HPO algorithm: {', '.join(ALGORITHMS)}, or a plug-in as module:Object[@scheduler].",
    ),
    click.option(
        "--backend", default="live", show_default=True, type=click.Choice(BACKENDS), help="Where trials run."
    ),
    click.option(
        "--workers",
        type=int,
        default=None,
        help="Local Dask workers that train (default: one per core), simulated in replays (default 1).",
    ),
    click.option("--seed", type=int, default=0, show_default=True, help="Experiment seed."),
    click.option("--initial-default", is_flag=True, help="Try the model's default config first."),
    click.option("--no-final", is_flag=True, help="Skip training the best config to --r-max at the end."),
)
#: Where one experiment writes, and whether it continues an interrupted one
output_options = options(
    click.option(
        "--out", "out_dir", type=click.Path(file_okay=False), default=None, help="Output directory."
    ),
    click.option("--overwrite", is_flag=True, help="Replace results already in --out."),
    click.option(
        "--resume",
        "resume_dir",
        type=click.Path(file_okay=False),
        default=None,
        help="Continue the interrupted live run in this directory (same options); nothing finished runs again.",
    ),
)


#: What a comparison replays: models x algorithms x seeds, swept over workers and budgets
comparison_options = options(
    click.option(
        "--models",
        default=None,
        help="Comma-separated models to compare (default: every model in the cache).",
    ),
    click.option(
        "--algorithms",
        default=",".join(DEFAULT_ALGORITHMS),
        show_default=True,
        help=f"Comma-separated algorithms ({', '.join(ALGORITHMS)}), or plug-ins as module:Object[@scheduler].",
    ),
    click.option("--seeds", type=int, default=20, show_default=True, help="Replays per model and algorithm."),
    click.option(
        "--workers",
        default="4",
        show_default=True,
        help="Simulated parallel workers; a comma-separated list (1,4,16,64) sweeps them.",
    ),
    click.option(
        "--mode", default="tabular", show_default=True, type=click.Choice(MODES), help="Cache lookups."
    ),
    click.option(
        "--budget-trainings",
        default="32",
        show_default=True,
        help="Budget per replay: this many trainings' worth of epochs (x --r-max), the same for every worker "
        "count; a comma-separated list (32,128) sweeps them.",
    ),
)
#: Where a comparison's replays run: local processes or a Dask cluster
replay_place_options = options(
    click.option(
        "--processes",
        type=int,
        default=None,
        help="Processes running replays (default: the CPU count); results do not depend on it.",
    ),
    click.option(
        "--scheduler-address",
        default=None,
        metavar="tcp://HOST:PORT",
        help="Replay on a running Dask cluster's workers instead of local processes (the same rows).",
    ),
)


#: The configs a collection trains, and how often
design_options = options(
    click.option(
        "--configs", "n_configs", type=int, default=64, show_default=True, help="Configs in the design."
    ),
    click.option("--epochs", type=int, default=20, show_default=True, help="Epochs per training."),
    click.option(
        "--train-seeds", type=int, default=1, show_default=True, help="Trainings per config (seeds 0..K-1)."
    ),
    click.option(
        "--design",
        type=click.Choice(DESIGNS),
        default="sobol",
        show_default=True,
        help="How configs are drawn.",
    ),
    click.option("--design-seed", type=int, default=0, show_default=True, help="Seed of the design."),
)


def algorithm_settings(eta: float, r_min: int, r_max: int, **options: Any) -> Any:
    """The AlgorithmSettings of the halving options (an integral eta kept an int, as it is written)."""
    from hpo.algorithms import AlgorithmSettings

    return AlgorithmSettings(
        eta=int(eta) if float(eta).is_integer() else eta, r_min=r_min, r_max=r_max, **options
    )


def parse_names(value: str, accepted, what: str) -> tuple[str, ...]:
    """Parse a comma-separated --{what}s list; an unknown name is an error listing the accepted ones."""
    names = tuple(n.strip() for n in value.split(",") if n.strip())
    for name in names:
        if name not in accepted:
            raise ConfigError(f"unknown {what} {name!r} in --{what}s; accepted: {', '.join(accepted)}")
    return names


def parse_algorithms(value: str) -> tuple[str, ...]:
    """Parse a comma-separated --algorithms list: built-in names, registered plug-ins or
    `module:Object[@scheduler]` specs, each loaded once here so a bad one is a usage error."""
    from hpo.algorithms import get_algorithm

    names = tuple(n.strip() for n in value.split(",") if n.strip())
    if not names:
        raise ConfigError(f"--algorithms {value!r} names no algorithm")
    for name in names:
        get_algorithm(name)
    return names


def parse_numbers(value: str, option: str, kind: type = int) -> tuple:
    """Parse a comma-separated list of numbers given to `option` ("1,4,16"), in the order given, without repeats."""
    numbers = []
    for item in (part.strip() for part in value.split(",")):
        try:
            number = kind(item)
        except ValueError:
            raise ConfigError(
                f"{option} {value!r}: {item!r} is not {'an integer' if kind is int else 'a number'}; "
                f"expected a comma-separated list such as {'1,4,16' if kind is int else '32,128'}"
            ) from None
        if number not in numbers:
            numbers.append(number)
    return tuple(numbers)


def parse_assignments(items: tuple[str, ...], space: SearchSpace) -> dict[str, Any]:
    """Parse `--set name=value` items, typed by the parameter they name."""
    values: dict[str, Any] = {}
    for item in items:
        if "=" not in item:
            raise ConfigError(f"--set {item!r}: expected name=value")
        name, raw = (part.strip() for part in item.split("=", 1))
        if name not in space.names:
            raise ConfigError(f"--set {name}: unknown hyperparameter; accepted: {', '.join(space.names)}")
        values[name] = _parse_value(name, raw, space[name].is_int)
    return values


def _parse_value(name: str, raw: str, integer: bool) -> Any:
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        value = raw
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"--set {name}={raw}: expected a number")
    if integer:
        if float(value) != int(value):
            raise ConfigError(f"--set {name}={raw}: expected an integer")
        return int(value)
    return float(value)


def load_space(space_file: str | None, default: SearchSpace) -> SearchSpace:
    """The space from --space, or `default`."""
    return default if space_file is None else SearchSpace.from_file(space_file)


def progress_bar(quiet: bool, **kwargs: Any) -> Any:
    """A tqdm bar on stderr (disabled by --quiet)."""
    from tqdm import tqdm

    return tqdm(disable=quiet, file=sys.stderr, dynamic_ncols=True, **kwargs)


def echo_json(obj: Any) -> None:
    """Print one JSON object on one line."""
    click.echo(json.dumps(obj, allow_nan=True))
