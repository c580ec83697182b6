"""`bench agree`: the same experiments run live and replayed, to measure how far replays can be trusted.

A live run and its replay share everything (model, algorithm, seed, settings, search space,
one worker, a budget in epochs) but the backend. Budgets are in epochs so that the live clock
(this machine, now) and the cache's clock need no reconciling. The same seed gives both the
same searcher stream: random search proposes the same configs live and replayed, the other
algorithms start alike and part once the results differ. Every live result is also looked up
in the cache (its expected validation error at that config and epoch: the mean over the
cache's training seeds), which checks the cache against trainings it never saw, since a live
run draws fresh training seeds.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bench.compare import RUNS_DIR
from bench.experiment import LiveOptions, ReplayOptions, RunSpec, run_replay
from bench.live_run import run_live
from bench.results import read_results, write_run
from bench.study import Task, open_plan, write_report
from cache.lookup.blackbox import BlackBox
from cache.names import ANY_CONFIG_MODES, preferred_regressor
from hpo import provenance
from hpo.algorithms import DEFAULT_ALGORITHMS, AlgorithmSettings, get_algorithm
from hpo.errors import ConfigError, HPOError
from hpo.files import atomic_write_bytes
from hpo.models import get_model
from hpo.tuner import Budget, Row, TuneOutcome
from hpo.validation import check_int
from reports.plan import StudyPlan
from reports.schema import CACHE_ERROR

__all__ = [
    "PLAN_FILE",
    "REPORT_FILE",
    "AgreeSpec",
    "expected_errors",
    "load_table",
    "make_report",
    "plan",
    "plan_record",
    "run_task",
    "seed_to_seed_mae",
]

#: Lookup modes a live run's configs can be answered in (tabular replays search only the
#: collected configs, so they would not propose what the live run trains).
PLAN_FILE = "agree.json"
REPORT_FILE = "agreement.html"
SUMMARY_FILE = "agreement.json"


@dataclass(frozen=True)
class AgreeSpec:
    """Which experiments to run both live and replayed, and how."""

    model: str
    algorithms: tuple[str, ...] = DEFAULT_ALGORITHMS
    seeds: int = 3
    budget_epochs: int = 200
    mode: str = "surrogate"
    settings: AlgorithmSettings = field(default_factory=AlgorithmSettings)
    cache_dir: str | None = None
    data_dir: str | None = None
    device: str = "auto"
    threads: int | None = None
    scheduler_address: str | None = None  # live runs on a running Dask cluster (one worker each)

    def __post_init__(self) -> None:
        get_model(self.model)
        if not self.algorithms:
            raise ConfigError("--algorithms needs at least one algorithm")
        for algorithm in self.algorithms:
            get_algorithm(algorithm)
        check_int("--seeds", self.seeds)
        check_int("--budget-epochs", self.budget_epochs)
        if self.mode not in ANY_CONFIG_MODES:
            raise ConfigError(
                f"--mode {self.mode!r} cannot answer a live run's configs; accepted: {', '.join(ANY_CONFIG_MODES)}"
            )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form, stored in the plan file (where and how fast it trains is left out)."""
        return {
            "model": self.model,
            "algorithms": list(self.algorithms),
            "seeds": self.seeds,
            "budget_epochs": self.budget_epochs,
            "mode": self.mode,
            "settings": self.settings.to_dict(),
        }

    def pair(self, algorithm: str, seed: int, benchmark: BlackBox) -> tuple[RunSpec, RunSpec]:
        """The live run and its replay: one spec, two backends, both searching the cache's space."""
        live = RunSpec(
            model=self.model,
            algorithm=algorithm,
            budget=Budget(epochs=self.budget_epochs),
            settings=self.settings,
            seed=seed,
            space=benchmark.space,
            # one worker live and replayed: the runs' orders of results then agree
            where=LiveOptions(
                device=self.device,
                data_dir=self.data_dir,
                threads=self.threads,
                workers=1,
                scheduler_address=self.scheduler_address,
            ),
        )
        replay = replace(live, where=ReplayOptions(workers=1, mode=self.mode, cache_dir=self.cache_dir))
        return live, replay


def load_table(spec: AgreeSpec) -> BlackBox:
    """The cache's table of the spec's model, checked against the spec's settings."""
    return BlackBox.load(spec.model, "tabular", spec.cache_dir).check_r_max(spec.settings.r_max)


def plan(spec: AgreeSpec, benchmark: BlackBox, out: Path) -> list[Task]:
    """Every (algorithm, seed, backend) run with its result file, each live run before its replay."""
    tasks = []
    for seed in range(spec.seeds):
        for algorithm in spec.algorithms:
            for run in spec.pair(algorithm, seed, benchmark):
                path = out / RUNS_DIR / run.backend / algorithm / f"seed-{seed:04d}.parquet"
                tasks.append(Task(run, path))
    return tasks


def plan_record(spec: AgreeSpec, table: BlackBox) -> dict[str, Any]:
    """What the plan file holds: the spec, the cache it replays (a changed cache must not mix)."""
    return {
        "spec": spec.to_dict(),
        "cache": {
            "configs": len(table.configs),
            "curves": int(table.complete.sum()),
            "seed_to_seed_mae": seed_to_seed_mae(table),
            # the live rows hold the cache's answers too: another regressor must not mix with them
            **({"regressor": preferred_regressor(spec.model)} if spec.mode == "surrogate" else {}),
        },
        "command": provenance.command_line(),
        "created": provenance.now_iso(),
    }


def seed_to_seed_mae(table: BlackBox) -> list[float] | None:
    """Per epoch, how far two trainings of one config differ in validation error (mean over pairs of seeds).

    The yardstick for the cache's answers to live trainings; None with one seed per config.
    """
    diffs = []
    for i, j in itertools.combinations(range(len(table.seeds)), 2):
        both = table.complete[:, i] & table.complete[:, j]
        if both.any():
            diffs.append(np.abs(table.val_error[both, i] - table.val_error[both, j]))
    if not diffs:
        return None
    return [round(float(v), 6) for v in np.concatenate(diffs).mean(axis=0)]


def expected_errors(benchmark: BlackBox, rows: Sequence[Row]) -> np.ndarray:
    """The cache's validation error for each result row's config and epoch, averaged over its seeds."""
    out = np.empty(len(rows))
    for i, row in enumerate(rows):
        seeds = benchmark.seeds_of(row.config)
        out[i] = np.mean([benchmark.value(row.config, row.epochs, s).val_error for s in seeds])
    return out


def run_task(
    task: Task,
    benchmark: BlackBox,
    command: str,
    on_result: Callable[[Row, TuneOutcome], None] | None = None,
    client: Any = None,
) -> Path:
    """Run one side of a pair and write its rows (live rows with the cache's answer beside them).

    A live run trains on `client`'s cluster when given (one worker of it), else on its own.
    """
    spec = task.spec
    if spec.backend == "live":
        done = run_live(spec, on_result=on_result, client=client)
        columns = {CACHE_ERROR: expected_errors(benchmark, done.outcome.rows)}
    else:
        done = run_replay(spec, benchmark, on_result=on_result)
        columns = None
    return write_run(task.path, spec, done, command, "agree", columns)


def read_rows(out: Path) -> tuple[pd.DataFrame, list[dict]]:
    """Every stored row of an agreement directory, live and replayed, and each run's environment."""
    found = [read_results(path) for path in sorted((out / RUNS_DIR).glob("*/*/seed-*.parquet"))]
    if not found:
        raise HPOError(f"{out}: no results under {out / RUNS_DIR}")
    return pd.concat([rows for rows, _ in found], ignore_index=True), [
        m.get("environment", {}) for _, m in found
    ]


def make_report(out: Path) -> tuple[Path, dict]:
    """Build the agreement report of `out` from its stored rows; write the HTML and the JSON summary."""
    from reports.html import build_agreement_report  # seaborn and matplotlib: only when a report is built

    record = open_plan(
        out,
        PLAN_FILE,
        "bench agree",
        {"spec": dict, "command": str, "created": str, "cache": dict},
        {"model": str, "algorithms": list, "seeds": int, "mode": str, "budget_epochs": int, "settings": dict},
    )
    spec = record["spec"]
    rows, environments = read_rows(out)
    notes = {
        "command": record["command"],
        "created": record["created"],
        "runs": f"{spec['model']}: {', '.join(spec['algorithms'])} x {spec['seeds']} seeds, live and "
        f"replayed ({spec['mode']} lookups), {spec['budget_epochs']} epochs each, one worker",
        "cache": f"{record['cache']['configs']} configs, {record['cache']['curves']} curves",
        "settings": json.dumps(spec["settings"], sort_keys=True),
    }
    text, outcomes, order, lookups = build_agreement_report(
        rows,
        spec["budget_epochs"],
        f"Live versus replay: {spec['model']}",
        notes,
        record["cache"].get("seed_to_seed_mae"),
        environments,
        StudyPlan(
            record["command"],
            record["created"],
            spec["seeds"],
            algorithms=tuple(spec["algorithms"]),
            models=(spec["model"],),
            mode=spec["mode"],
            settings=spec["settings"],
        ),
    )
    path = write_report(out, text, REPORT_FILE)
    summary = {
        "model": spec["model"],
        "outcomes": outcomes.to_dict(orient="records"),
        "order": order,
        "lookups": lookups.to_dict(orient="records"),
    }
    atomic_write_bytes(out / SUMMARY_FILE, json.dumps(summary, indent=2, allow_nan=True).encode())
    return path, summary
