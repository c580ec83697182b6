"""The HTML reports (comparison, live-versus-replay agreement): Jinja2 templates with autoescaping,
figures inline, one self-contained file each."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import jinja2
import numpy as np
import pandas as pd

from reports import figures
from reports.agreement import (
    epoch_bands,
    lookup_agreement,
    order_agreement,
    outcome_agreement,
)
from reports.comparison import SETTING, compute, failure_table
from reports.formatting import (
    number,
    readable_lookups,
    readable_outcomes,
    readable_summary,
    readable_sweep,
)
from reports.plan import StudyPlan
from reports.schema import ALGORITHM, BACKEND, BUDGET_TRAININGS, CACHE_ERROR, MODEL, SEED, WORKERS

__all__ = ["build_agreement_report", "build_report", "setting_title"]

_TEMPLATES = jinja2.Environment(
    loader=jinja2.PackageLoader("reports", "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    keep_trailing_newline=True,
)


def _render(template: str, **context: Any) -> str:
    return _TEMPLATES.get_template(template).render(**context)


def provenance_items(
    plan: StudyPlan | None, environments: Sequence[Mapping[str, Any]]
) -> list[tuple[str, str]]:
    """The report footer: what made the results and on what, from the plan and the result files."""

    def values(key: str) -> str:
        found = sorted({str(e.get(key)) for e in environments if e.get(key) is not None})
        return ", ".join(found) if found else "not recorded"

    items = [
        ("package", f"hpobench {values('package_version')}, commit {values('commit')}"),
        (
            "libraries",
            f"python {values('python')}, numpy {values('numpy')}, scipy {values('scipy')}, "
            f"pandas {values('pandas')}, pyarrow {values('pyarrow')}, torch {values('torch')}",
        ),
        ("machine", f"{values('cpu')} ({values('cpu_capability')}), {values('platform')}"),
        ("threads", values("threads")),
        ("seeds", f"0..{plan.seeds - 1}" if plan is not None else "not recorded"),
    ]
    for model, facts in sorted(plan.caches.items() if plan is not None else ()):
        if facts.digest is not None:
            items.append((f"cache {model}", f"{facts.curves} curves, digest {facts.digest}"))
    items.append(("created", plan.created if plan is not None else "not recorded"))
    return items


def build_report(
    rows: pd.DataFrame,
    usage: pd.DataFrame,
    plan: StudyPlan,
    environments: Sequence[Mapping[str, Any]],
    curves: pd.DataFrame | None = None,
    log_time: bool = False,
    seed: int = 0,
    failures: Sequence[Mapping[str, Any]] = (),
) -> tuple[str, pd.DataFrame]:
    """The HTML text of a comparison's report and its summary table.

    `rows` are every run's rows with the setting columns (model, workers, budget_trainings);
    `usage` per setting and algorithm the mean utilisation, trainings to r_max and share of runs
    that used up the table; `plan` what the comparison asked for and the caches it read;
    `environments` the result files' environments; `curves` a sample of the cache's curves;
    `failures` the records of replays whose plug-in algorithm failed.
    """
    numbers = compute(rows, usage, plan.caches, seed)
    failed = failure_table(list(failures))
    colours = figures.palette(rows[ALGORITHM].unique())
    summary = numbers["summary"]

    rankings = []
    for ranking in numbers["rankings"]:
        title = setting_title(ranking[WORKERS], ranking[BUDGET_TRAININGS])
        table = pd.DataFrame(
            {
                ALGORITHM: ranking["ranks"].index,
                "average rank": [f"{r:.2f}" for r in ranking["ranks"]],
                "mean normalised regret": [
                    number(ranking["mean_regret"][a], 4) for a in ranking["ranks"].index
                ],
            }
        )
        if np.isnan(ranking["friedman"]):
            verdict = (
                f"{ranking['blocks']} blocks over {', '.join(ranking['models'])}; Friedman's test needs at "
                "least three algorithms."
            )
        else:
            verdict = (
                f"{ranking['blocks']} blocks over {', '.join(ranking['models'])}: Friedman chi-square "
                f"{ranking['friedman']:.1f}, p {number(ranking['friedman_p'], p=True)}; critical difference "
                f"{ranking['critical_difference']:.2f} ranks."
            )
        figure = None
        if ranking["nemenyi"] is not None:
            figure = figures.critical_difference_figure(ranking["ranks"], ranking["nemenyi"], colours, title)
        rankings.append({"title": title, "table": table, "verdict": verdict, "figure": figure})

    sweep = numbers["sweep"]
    several_workers = rows[WORKERS].nunique() > 1
    models = [
        {"name": model, "table": readable_summary(part).drop(columns=[MODEL])}
        for model, part in summary.groupby(MODEL, sort=True)
    ]
    anytime = []
    for (workers, trainings), part in numbers["regret"].groupby([WORKERS, BUDGET_TRAININGS], sort=True):
        ranks = numbers["ranks"]
        ranks = ranks[(ranks[WORKERS] == workers) & (ranks[BUDGET_TRAININGS] == trainings)]
        anytime.append(
            {
                "title": setting_title(workers, trainings),
                "figure": figures.anytime_figure(part, ranks, colours, log_time),
            }
        )
    text = _render(
        "comparison.html.j2",
        title="HPO comparison on the learning-curve cache",
        command=plan.command,
        replays=replays_text(rows, plan),
        failures=failed if len(failed) else None,
        rankings=rankings,
        sweep_figure=figures.speedup_figure(sweep, colours) if several_workers else None,
        sweep_text=(
            "Target: random search's mean final incumbent with the fewest workers, per model and budget. "
            "Speed-up at w workers: an algorithm's time to reach the target with the fewest workers over "
            "its time with w (dashed: linear). An algorithm that never reaches it has no point."
        ),
        sweep_table=readable_sweep(sweep) if several_workers else None,
        summary_text=summary_text(),
        models=models,
        anytime=anytime,
        curves_figure=figures.curves_figure(curves) if curves is not None and len(curves) else None,
        provenance=provenance_items(plan, environments),
    )
    summary.attrs["rankings"] = [
        {
            "title": r["title"],
            "ranks": [(a, float(v)) for a, v in zip(r["table"][ALGORITHM], ranking["ranks"], strict=True)],
            "verdict": r["verdict"],
        }
        for r, ranking in zip(rankings, numbers["rankings"], strict=True)
    ]
    summary.attrs["failures"] = failed.to_dict("records")
    return text, summary


def setting_title(workers: int, trainings: float) -> str:
    """ "4 workers, budget 32 trainings"."""
    return f"{workers} worker{'s' if workers != 1 else ''}, budget {trainings:g} trainings"


def replays_text(rows: pd.DataFrame, plan: StudyPlan) -> str:
    """One line: how many replays of what."""
    runs = rows[[*SETTING, ALGORITHM, SEED]].drop_duplicates()
    return (
        f"{len(runs)} ({', '.join(plan.algorithms)} x {plan.seeds} seeds x {', '.join(plan.models)} "
        f"x workers {', '.join(map(str, plan.workers))} x budgets "
        f"{', '.join(f'{b:g}' for b in plan.budget_trainings)} trainings), {plan.mode} lookups, "
        f"settings {json.dumps(plan.settings, sort_keys=True)}"
    )


def summary_text() -> str:
    """What the per-model tables show."""
    return (
        "Each replay starts jobs until its budget (trainings x r_max epochs, the same for every worker count) "
        "is committed and finishes what it started. Incumbent: the config with the best validation error a run "
        "reported. Worth: what the incumbent's config is worth, its mean validation error over the cache's "
        "training seeds at r_max; every score (regret, ranks, the tests, the speed-ups) is of the worth, so "
        "re-reading one config until a training is lucky earns nothing. Val reading: the one training's "
        "validation error the incumbent was picked by, shown beside it; its test error beside that (HPO never "
        "saw it). Bands: 95% percentile bootstraps over seeds. Regret: normalised worth, 0 the cache's best "
        "config, 1 its worst. Against random search: the median paired difference in final worth over seeds "
        "(negative: better), the matched-pairs rank-biserial correlation r, and the Wilcoxon signed-rank "
        "p-value, Holm-corrected over the algorithms. Speed-up: random search's time to its own final mean "
        "worth over the algorithm's (never: the mean never reached it). "
        "Busy: busy worker time over workers x makespan. To r_max: results at the top rung per run. Table "
        "exhausted: runs that used every training in the table and then started no new trial."
    )


def build_agreement_report(
    rows: pd.DataFrame,
    budget_epochs: int,
    title: str,
    notes: Mapping[str, str],
    seed_to_seed_mae: Sequence[float] | None = None,
    environments: Sequence[Mapping[str, Any]] = (),
    plan: StudyPlan | None = None,
    seed: int = 0,
) -> tuple[str, pd.DataFrame, dict, pd.DataFrame]:
    """The HTML text of a live-versus-replay report, with its outcome table, orders and lookup table."""
    outcomes = outcome_agreement(rows, seed)
    order = order_agreement(outcomes)
    lookups = lookup_agreement(rows, seed_to_seed_mae)
    bands = epoch_bands(rows, budget_epochs, seed)
    colours = figures.palette(rows[ALGORITHM].unique())
    live = rows[(rows[BACKEND] == "live") & rows[CACHE_ERROR].notna()]
    tau = order["kendall"]
    order_text = (
        f"Algorithms, best first: live {' < '.join(order['live'])}; replayed {' < '.join(order['replay'])}; "
        + (
            f"Kendall's tau {tau:.2f}."
            if tau is not None
            else "Kendall's tau: too few algorithms with both runs."
        )
    )
    text = _render(
        "agreement.html.j2",
        title=title,
        notes=list(notes.items()),
        outcomes=readable_outcomes(outcomes),
        order_text=order_text,
        agreement_figure=figures.agreement_figure(bands, colours),
        lookups=readable_lookups(lookups),
        lookup_figure=figures.lookup_figure(live, CACHE_ERROR, colours),
        provenance=provenance_items(plan, environments),
    )
    return text, outcomes, order, lookups
