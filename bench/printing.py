"""What the commands print of a study, as text: a comparison's and an agreement's summaries, a
surrogate's fidelity.

`bench compare` and `bench report` print a comparison; `bench agree` and `bench report` an
agreement: the text lives here, once, so that no command imports another.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import click

from reports.schema import ALGORITHM, BUDGET_TRAININGS, MESSAGE, MODEL, WORKERS

if TYPE_CHECKING:
    import pandas as pd

    from cache.lookup.fidelity import Fidelity

__all__ = ["echo_agreement", "echo_comparison", "fidelity_line", "pick_line"]


def echo_comparison(summary: pd.DataFrame) -> None:
    """Print the failures (on stderr), the rankings across models and the summary table."""
    from reports.formatting import readable_summary
    from reports.html import setting_title

    for failed in summary.attrs.get("failures", []):
        click.echo(
            f"{failed[ALGORITHM]} failed in {failed['failed replays']} replays of {failed[MODEL]} "
            f"({setting_title(failed[WORKERS], failed[BUDGET_TRAININGS])}): {failed[MESSAGE]}",
            err=True,
        )
    for ranking in summary.attrs.get("rankings", []):
        ranks = ", ".join(f"{a} {r:.2f}" for a, r in ranking["ranks"])
        click.echo(f"across models, {ranking['title']}: average rank {ranks}. {ranking['verdict']}")
    table = readable_summary(summary)
    widths = {c: max(len(c), *(len(str(v)) for v in table[c])) for c in table.columns}
    click.echo("  ".join(c.ljust(widths[c]) for c in table.columns).rstrip())
    for row in table.itertuples(index=False):
        click.echo(
            "  ".join(str(v).ljust(widths[c]) for c, v in zip(table.columns, row, strict=True)).rstrip()
        )


def echo_agreement(summary: dict[str, Any]) -> None:
    """Print the outcome table, the orders and the lookup figures (words where there is no number)."""
    import pandas as pd

    from reports.formatting import readable_lookups, readable_outcomes

    click.echo(
        f"{'algorithm':10} {'pairs':>5} {'live [95% band]':>24} {'replay [95% band]':>24} "
        f"{'gap replay - live [95% band]':>30}"
    )
    table = readable_outcomes(pd.DataFrame(summary["outcomes"]))
    for r in table.itertuples(index=False):
        click.echo(f"{r[0]:10} {r[1]:>5} {r[2]:>24} {r[3]:>24} {r[4]:>30}")
    order = summary["order"]
    tau = "" if order["kendall"] is None else f" (Kendall's tau {order['kendall']:.2f})"
    click.echo(f"best first, live: {' < '.join(order['live'])}; replayed: {' < '.join(order['replay'])}{tau}")
    for r in readable_lookups(pd.DataFrame(summary["lookups"])).to_dict(orient="records"):
        click.echo(
            f"cache vs live, {r['results']} ({r['n']}): Spearman {r['Spearman']}, Kendall {r['Kendall']}, "
            f"MAE {r['MAE']} (two trainings of one config: {r['two trainings of one config (MAE)']}), "
            f"bias {r['bias']}"
        )


def pick_line(model: str, picked: Fidelity | None) -> str:
    """Which regressor the rule picks, beside the one replays use."""
    from cache.lookup.fidelity import BEST_OF, MAX_OPTIMUM_BIAS
    from cache.names import preferred_regressor

    rule = f"the best Spearman with a best-of-{BEST_OF} bias within +-{MAX_OPTIMUM_BIAS}"
    choice = picked.regressor if picked else "none qualifies"
    return f"{model}: picked by {rule}: {choice}; replays use {preferred_regressor(model)}"


def _known(value: float | None) -> bool:
    return value is not None and not math.isnan(value)


def fidelity_line(name: str, result: Fidelity, folds: int, bounds: dict[str, float | None]) -> str:
    """One model's fidelity in a sentence: the figures, then what bounds them."""
    from cache.lookup.fidelity import BEST_OF

    line = (
        f"{name} {result.regressor}: Spearman {result.spearman:.3f}, Kendall {result.kendall:.3f}, "
        f"MAE {result.mae:.4f}, regret {result.regret:.4f}, best-of-{BEST_OF} bias {result.optimum_bias:+.4f} "
        f"({result.n_configs} configs, {folds}-fold"
    )
    if _known(bounds["seed_agreement"]):
        line += (
            f"; vs one training {result.spearman_one_seed:.3f}, seed-to-seed {bounds['seed_agreement']:.3f}, "
            f"noise ceiling {bounds['noise_ceiling']:.3f}"
        )
    line += ")"
    if result.at_chance:
        agreement = bounds["seed_agreement_at_chance"]
        among = f", seed-to-seed {agreement:.2f} among them" if _known(agreement) else ""
        line += f"; {result.at_chance} configs at chance level{among}"
        if result.spearman_learning is not None:
            line += f"; Spearman over the other {result.n_configs - result.at_chance}: {result.spearman_learning:.3f}"
            if _known(bounds["noise_ceiling_learning"]):
                line += f" (noise ceiling {bounds['noise_ceiling_learning']:.3f})"
    return line
