"""The built-in GP-EI against Optuna's GPSampler, both measured in one run: paired seeds on
Branin, Hartmann-6 and the four shipped caches, sequential evaluations, the best value at each
budget and the seconds each suggestion took.

    python benchmarks/bo_against_optuna.py --seeds 20 --out bo-vs-optuna.json

Needs the `optuna` extra. A cache is searched as a replay searches it in tabular mode (the
default; `--cache-mode nearest` answers any config by its nearest collected one instead): each
collected config can be evaluated once, a proposal is mapped onto the nearest config not yet
evaluated, and the optimizer is told the value of the config evaluated. A config is worth the
mean over its training seeds of the validation error at the last epoch (`BlackBox.worth`), so
both optimizers see the same noise-free function and regret is zero at the best collected
config. Each (problem, seed, optimizer) runs in its own process with one BLAS and one torch
thread, so the two optimizers' suggestion times are measured under the same load.
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import os
import sys
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ProcessPoolExecutor
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import threadpoolctl
from scipy import stats

OPTIMIZERS = ("bo", "optuna-gp")
PROBLEMS = ("branin", "hartmann6", "softmax", "lenet", "sgd", "svm")
BUDGETS = (50, 100)
ALPHA = 0.05


@functools.cache  # a worker process opens each cache once
def _problem(
    name: str, cache_mode: str
) -> tuple[Any, Callable[[Mapping[str, Any]], float], float, list | None]:
    """The search space, the function to minimise, its minimum and the candidates (tabular mode)."""
    from hpo.testing.objectives import SYNTHETIC

    if name in SYNTHETIC:
        synthetic = SYNTHETIC[name]
        return synthetic.space, synthetic, synthetic.minimum, None
    from cache import open_benchmark

    box = open_benchmark(name, cache_mode)
    return box.space, box.worth, box.best_value, box.configs if cache_mode == "tabular" else None


def run_one(
    problem: str, seed: int, optimizer: str, evaluations: int, cache_mode: str = "tabular"
) -> dict[str, Any]:
    """One optimizer's sequential run: the best value after each evaluation and each suggestion's seconds."""
    import torch

    from hpo import searchers

    torch.set_num_threads(1)
    threadpoolctl.threadpool_limits(1)  # the process's BLAS, for both (BO limits its own calls too)
    space, function, minimum, candidates = _problem(problem, cache_mode)
    searcher = searchers.make(optimizer, space, np.random.default_rng(seed))
    if candidates is not None:
        # each collected config once: its worth is already the mean over its trainings
        searcher = searchers.PooledSearcher(
            searcher, searchers.CandidatePool(space, candidates, [1] * len(candidates))
        )
    best, trace, seconds = math.inf, [], []
    for trial_id in range(evaluations):
        start = time.perf_counter()
        config = searcher.suggest(trial_id)
        seconds.append(time.perf_counter() - start)
        value = float(function(config))
        searcher.observe(searchers.Observation(trial_id, config, value, 1))
        best = min(best, value)
        trace.append(best - minimum)
    return {"problem": problem, "seed": seed, "optimizer": optimizer, "regret": trace, "seconds": seconds}


def _one_sided_p(bo: np.ndarray, other: np.ndarray, alternative: str) -> float:
    """One-sided paired Wilcoxon p of bo's regret being greater (or less) than the other's."""
    diff = bo - other
    if not np.any(diff):
        return 1.0  # the same best value on every seed: no evidence either way
    return float(stats.wilcoxon(diff, zero_method="zsplit", alternative=alternative).pvalue)


def table(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per problem and budget: both optimizers' median and mean regret, the one-sided p-values,
    the verdict, and the mean seconds per suggestion."""
    rows = []
    for problem in PROBLEMS:
        mine = {r["seed"]: r for r in runs if r["problem"] == problem and r["optimizer"] == "bo"}
        theirs = {r["seed"]: r for r in runs if r["problem"] == problem and r["optimizer"] == "optuna-gp"}
        seeds = sorted(set(mine) & set(theirs))
        if not seeds:
            continue
        for budget in BUDGETS:
            if budget > len(mine[seeds[0]]["regret"]):
                continue
            a = np.array([mine[s]["regret"][budget - 1] for s in seeds])
            b = np.array([theirs[s]["regret"][budget - 1] for s in seeds])
            worse, better = _one_sided_p(a, b, "greater"), _one_sided_p(a, b, "less")
            ms = [
                np.mean([np.mean(side[s]["seconds"][:budget]) for s in seeds]) * 1e3
                for side in (mine, theirs)
            ]
            rows.append(
                {
                    "problem": problem,
                    "evaluations": budget,
                    "seeds": len(seeds),
                    "bo_median": float(np.median(a)),
                    "optuna_median": float(np.median(b)),
                    "bo_mean": float(a.mean()),
                    "optuna_mean": float(b.mean()),
                    "p_bo_worse": worse,
                    "p_bo_better": better,
                    "verdict": "worse" if worse < ALPHA else ("better" if better < ALPHA else "level"),
                    "bo_ms": ms[0],
                    "optuna_ms": ms[1],
                }
            )
    return rows


def markdown(rows: list[dict[str, Any]]) -> str:
    """The table as docs/engine.md shows it."""
    lines = [
        "| problem | evals | seeds | regret bo (median / mean) | regret optuna-gp (median / mean) "
        "| p bo worse | p bo better | verdict | ms per suggestion bo / optuna-gp |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['problem']} | {r['evaluations']} | {r['seeds']} | {r['bo_median']:.3g} / {r['bo_mean']:.3g} "
            f"| {r['optuna_median']:.3g} / {r['optuna_mean']:.3g} | {r['p_bo_worse']:.3g} "
            f"| {r['p_bo_better']:.3g} | {r['verdict']} | {r['bo_ms']:.1f} / {r['optuna_ms']:.0f} |"
        )
    return "\n".join(lines)


def _versions() -> str:
    """The versions the figures depend on."""
    found = []
    for name in ("optuna", "greenlet", "torch", "numpy", "scipy"):
        try:
            found.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            pass
    return ", ".join(found)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--evaluations", type=int, default=max(BUDGETS))
    parser.add_argument("--problems", default=",".join(PROBLEMS))
    parser.add_argument("--optimizers", default=",".join(OPTIMIZERS))
    parser.add_argument("--cache-mode", choices=("tabular", "nearest"), default="tabular")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--out", type=Path, help="write every run's regret trace and timings here (JSON)")
    args = parser.parse_args(argv)
    problems, optimizers = args.problems.split(","), args.optimizers.split(",")
    for names, accepted, what in ((problems, PROBLEMS, "problem"), (optimizers, OPTIMIZERS, "optimizer")):
        if unknown := sorted(set(names) - set(accepted)):
            parser.error(f"unknown {what} {unknown[0]!r}; accepted: {', '.join(accepted)}")
    for name in ("seeds", "evaluations", "jobs"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be at least 1, got {getattr(args, name)}")
    tasks = [
        (p, s, o, args.evaluations, args.cache_mode)
        for p in problems
        for s in range(args.seeds)
        for o in optimizers
    ]
    runs = []
    with ProcessPoolExecutor(args.jobs) as pool:
        for i, run in enumerate(pool.map(run_one, *zip(*tasks, strict=True), chunksize=1)):
            runs.append(run)
            print(f"\r{i + 1}/{len(tasks)} runs", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    print(f"{args.seeds} paired seeds, {args.jobs} processes of one thread each; {_versions()}\n")
    print(markdown(table(runs)))
    if args.out:
        try:
            args.out.write_text(json.dumps(runs))
        except OSError as exc:
            print(f"error: cannot write {args.out}: {exc.strerror}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
