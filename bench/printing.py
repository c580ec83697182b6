"""What the commands print of a study: a comparison's and an agreement's summaries, as text.

`bench compare` and `bench report` print a comparison; `bench agree` and `bench report` an
agreement: the text lives here, once, so that no command imports another.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["echo_agreement", "echo_comparison"]


def echo_comparison(summary: pd.DataFrame) -> None:
    """Print the failures (on stderr), the rankings across models and the summary table."""
    from reports.formatting import readable_summary
    from reports.html import setting_title

    for failed in summary.attrs.get("failures", []):
        click.echo(
            f"{failed['algorithm']} failed in {failed['failed replays']} replays of {failed['model']} "
            f"({setting_title(failed['workers'], failed['budget_trainings'])}): {failed['message']}",
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
