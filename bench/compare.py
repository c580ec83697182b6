"""`bench compare`: many seeds of several algorithms replayed on the curve cache.

A comparison is a plan of independent replay tasks (model, algorithm, seed). A replay is a
pure function of the cache, the spec and the seed, so each task writes its own result file
and the plan can run in any number of processes or on a cluster (`bench.replays`), be
interrupted and resumed, and still give the same bytes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from bench.experiment import MAX_WORKERS, ReplayOptions, RunSpec
from bench.replays import FAILED_SUFFIX
from bench.results import path_name, read_results, write_results
from bench.study import Task, open_plan, write_report
from cache.lookup.blackbox import BlackBox
from cache.names import check_mode, preferred_regressor
from hpo import provenance
from hpo.algorithms import DEFAULT_ALGORITHMS, AlgorithmSettings, get_algorithm
from hpo.catalog import model_entry
from hpo.errors import ConfigError, HPOError
from hpo.tuner import Budget
from hpo.validation import check_int, check_positive
from reports.plan import CacheFacts, StudyPlan
from reports.schema import (
    ALGORITHM,
    BUDGET_TRAININGS,
    CONFIG_ID,
    CONFIG_RANK,
    EPOCH,
    EPOCHS,
    EXHAUSTED,
    FULL_TRAININGS,
    MESSAGE,
    MODEL,
    UTILISATION,
    VAL_ERROR,
    WORKERS,
)

__all__ = [
    "PLAN_FILE",
    "RUNS_DIR",
    "CompareSpec",
    "cache_facts",
    "make_report",
    "plan",
    "plan_record",
    "write_curves",
]

RUNS_DIR = "runs"
PLAN_FILE = "compare.json"


#: a comparison's size limit: a million replays is days of work on one machine
MAX_REPLAYS = 1_000_000


@dataclass(frozen=True)
class CompareSpec:
    """Which models, algorithms, worker counts, budgets and seeds to replay, and how.

    A budget of B trainings is B x r_max training epochs, counted as jobs start, the same for
    every worker count: more workers spend it sooner. A replay starts no job once its budget is
    committed and finishes the jobs it started.
    """

    models: tuple[str, ...]
    algorithms: tuple[str, ...] = DEFAULT_ALGORITHMS
    seeds: int = 20
    workers: tuple[int, ...] = (4,)
    mode: str = "tabular"
    budget_trainings: tuple[float, ...] = (32.0,)
    settings: AlgorithmSettings = field(default_factory=AlgorithmSettings)
    cache_dir: str | None = None

    def __post_init__(self) -> None:
        if not self.models:
            raise ConfigError("--models needs at least one model")
        for model in self.models:
            model_entry(model)
        for algorithm in self.algorithms:
            get_algorithm(algorithm)
        if not self.algorithms:
            raise ConfigError("--algorithms needs at least one algorithm")
        check_int("--seeds", self.seeds)
        if not self.workers or not self.budget_trainings:
            raise ConfigError("--workers and --budget-trainings need at least one value each")
        for workers in self.workers:
            check_int("--workers", workers)
        check_mode(self.mode)
        for trainings in self.budget_trainings:
            check_positive("--budget-trainings", trainings)
        replays = (
            len(self.models)
            * len(self.algorithms)
            * len(self.workers)
            * len(self.budget_trainings)
            * self.seeds
        )
        if replays > MAX_REPLAYS:  # refused before planning grows a list of millions of tasks
            raise ConfigError(
                f"{replays:,} replays asked for ({len(self.models)} models x {len(self.algorithms)} algorithms x "
                f"{len(self.workers)} worker counts x {len(self.budget_trainings)} budgets x {self.seeds} seeds); "
                f"at most {MAX_REPLAYS:,} in one comparison"
            )
        if max(self.workers) > MAX_WORKERS:
            raise ConfigError(f"--workers {max(self.workers)}: at most {MAX_WORKERS:,} simulated workers")

    def budget_epochs(self, trainings: float) -> int:
        """The epochs a budget of `trainings` trainings to r_max allows (at least one)."""
        return max(1, round(trainings * self.settings.r_max))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form, stored in the plan file."""
        return {
            "models": list(self.models),
            "algorithms": list(self.algorithms),
            "seeds": self.seeds,
            "workers": list(self.workers),
            "mode": self.mode,
            "budget_trainings": list(self.budget_trainings),
            "settings": self.settings.to_dict(),
        }


CURVES_FILE = "curves.parquet"
SAMPLE_CONFIGS = 12


def cache_facts(spec: CompareSpec) -> tuple[dict[str, dict[str, Any]], pd.DataFrame]:
    """Per compared model what the report needs from the cache, and a sample of its learning curves.

    The facts: complete curves, a digest of the table, and the best and worst seed-mean
    validation error at r_max over its configs (the ends of the normalised regret). The sample: the
    seed-mean curves of configs spread evenly over the ranks of their final error. An
    --r-max beyond a model's cached epochs is refused here, before anything runs.
    """
    facts, samples = {}, []
    for model in spec.models:
        table = BlackBox.load(model, "tabular", spec.cache_dir).check_r_max(spec.settings.r_max)
        final = table.mean_curves()[:, spec.settings.r_max - 1]
        usable = np.flatnonzero(np.isfinite(final))
        facts[model] = {
            "curves": int(table.complete.sum()),
            "digest": table.digest(),
            "best": float(final[usable].min()),
            "worst": float(final[usable].max()),
        }
        ranked = usable[np.argsort(final[usable], kind="stable")]
        picks = ranked[np.unique(np.linspace(0, len(ranked) - 1, SAMPLE_CONFIGS).round().astype(int))]
        means = table.mean_curves()
        for rank, i in enumerate(picks):
            samples.append(
                pd.DataFrame(
                    {
                        MODEL: model,
                        CONFIG_ID: table.config_ids[i],
                        CONFIG_RANK: rank,
                        EPOCH: np.arange(1, table.n_epochs + 1),
                        VAL_ERROR: means[i],
                    }
                )
            )
    return facts, pd.concat(samples, ignore_index=True)


def write_curves(out: Path, curves: pd.DataFrame) -> None:
    """Keep the cache's curve sample beside the results, so the report reads result files only."""
    if not (out / CURVES_FILE).is_file():
        out.mkdir(parents=True, exist_ok=True)
        table = pa.Table.from_pandas(curves, preserve_index=False)
        write_results(out / CURVES_FILE, table, {"kind": "curve-sample", "configs_per_model": SAMPLE_CONFIGS})


def run_dir(workers: int, trainings: float) -> str:
    """The directory of one (workers, budget) setting's replays."""
    return f"workers-{workers}-budget-{trainings:g}"


def plan(spec: CompareSpec, out: Path) -> list[Task]:
    """Every (model, algorithm, workers, budget, seed) replay with the result file it writes under `out`."""
    tasks = []
    for model in spec.models:
        for algorithm in spec.algorithms:
            for workers in spec.workers:
                for trainings in spec.budget_trainings:
                    for seed in range(spec.seeds):
                        run = RunSpec(
                            model=model,
                            algorithm=algorithm,
                            budget=Budget(epochs=spec.budget_epochs(trainings)),
                            settings=spec.settings,
                            seed=seed,
                            where=ReplayOptions(workers=workers, mode=spec.mode, cache_dir=spec.cache_dir),
                        )
                        path = out / RUNS_DIR / model / path_name(algorithm) / run_dir(workers, trainings)
                        tasks.append(Task(run, path / f"seed-{seed:04d}.parquet"))
    return tasks


def plan_record(spec: CompareSpec, facts: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """What the plan file holds: the spec, the cache it reads, when and how it was made.

    The cache's facts (curves, digest, best and worst config) stand for it: a changed cache
    must not mix with old runs. Surrogate replays also record each model's regressor: when the preferred
    one changes, runs answered by the old one must not mix with new ones.
    """
    record = {
        "spec": spec.to_dict(),
        "cache": facts,
        "command": provenance.command_line(),
        "created": provenance.now_iso(),
    }
    if spec.mode == "surrogate":
        record["regressors"] = {model: preferred_regressor(model) for model in spec.models}
    return record


def study_plan(record: dict[str, Any]) -> StudyPlan:
    """What the report says of a comparison, from its plan file's record."""
    spec = record["spec"]
    return StudyPlan(
        command=record["command"],
        created=record["created"],
        seeds=spec["seeds"],
        caches={
            model: CacheFacts(facts["curves"], facts["digest"], facts["best"], facts["worst"])
            for model, facts in record["cache"].items()
        },
        algorithms=tuple(spec["algorithms"]),
        models=tuple(spec["models"]),
        workers=tuple(spec["workers"]),
        budget_trainings=tuple(spec["budget_trainings"]),
        mode=spec["mode"],
        settings=spec["settings"],
    )


def make_report(out: Path, log_time: bool = False) -> tuple[Path, pd.DataFrame]:
    """Build the comparison report of `out` from its stored results alone; write it and return
    its path and the summary table (its `attrs` hold the rankings and the failures)."""
    from reports.html import build_report  # seaborn and matplotlib: only when a report is built

    record = open_plan(
        out,
        PLAN_FILE,
        "bench compare or bench agree",
        {"spec": dict, "command": str, "created": str, "cache": dict},
        {
            "algorithms": list,
            "models": list,
            "seeds": int,
            "workers": list,
            "budget_trainings": list,
            "mode": str,
            "settings": dict,
        },
    )
    spec = record["spec"]
    r_max = spec["settings"].get("r_max")
    frames, usage, environments = [], [], []
    for path in sorted((out / RUNS_DIR).glob("*/*/*/seed-*.parquet")):
        rows, meta = read_results(path)
        run = meta["spec"]
        setting = {WORKERS: run["workers"], BUDGET_TRAININGS: run["budget"]["epochs"] / r_max}
        frames.append(rows.assign(**setting))
        environments.append(meta.get("environment", {}))
        usage.append(
            {
                MODEL: run["model"],
                ALGORITHM: run["algorithm"],
                **setting,
                UTILISATION: meta["busy_seconds"] / (run["workers"] * meta["makespan_seconds"])
                if meta["makespan_seconds"] > 0
                else float("nan"),
                FULL_TRAININGS: int((rows[EPOCHS] == r_max).sum()),
                EXHAUSTED: meta.get("exhausted_at") is not None,
            }
        )
    failures = [
        json.loads(path.read_text()) for path in sorted((out / RUNS_DIR).glob(f"*/*/*/seed-*{FAILED_SUFFIX}"))
    ]
    if not frames:
        if failures:
            raise HPOError(f"every replay failed; the first: {failures[0][MESSAGE]}")
        raise HPOError(f"{out}: no replay results under {out / RUNS_DIR}")
    rows = pd.concat(frames, ignore_index=True)
    keys = [MODEL, ALGORITHM, WORKERS, BUDGET_TRAININGS]
    usage_table = (
        pd.DataFrame(usage).groupby(keys, as_index=False)[[UTILISATION, FULL_TRAININGS, EXHAUSTED]].mean()
    )
    curves = read_results(out / CURVES_FILE)[0] if (out / CURVES_FILE).is_file() else None
    text, summary = build_report(
        rows, usage_table, study_plan(record), environments, curves, log_time, failures=failures
    )
    return write_report(out, text), summary
