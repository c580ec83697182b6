"""The cache's named choices and their checks, importable without pandas, SciPy or scikit-learn
(a command checks its options before it loads them): lookup modes, designs, surrogate regressors."""

from __future__ import annotations

from hpo.errors import ConfigError

__all__ = [
    "ANY_CONFIG_MODES",
    "DESIGNS",
    "MODES",
    "PREFERRED",
    "REGRESSORS",
    "check_design",
    "check_mode",
    "check_regressor",
    "preferred_regressor",
]

#: how a replay answers a config: the table as collected, its nearest collected config, a fitted surrogate
MODES = ("tabular", "nearest", "surrogate")
#: the modes that answer a config the table never collected (a live run's): not tabular
ANY_CONFIG_MODES = ("surrogate", "nearest")
#: how `bench collect` draws its configs
DESIGNS = ("sobol", "random", "grid")
#: the surrogate's curve regressors
REGRESSORS = ("gp", "knn", "forest", "extra-trees", "boosting")
DEFAULT_REGRESSOR = "gp"
#: Picked by `bench cache fidelity MODEL --regressor all` on the shipped caches, by
#: `cache.lookup.fidelity.pick_regressor`: the best held-out Spearman of the final validation error among
#: the regressors whose best-of-10 bias is within 0.01 of zero. On 2026-11-29: softmax gp 0.973
#: (extra-trees 0.962); sgd gp 0.954 (extra-trees 0.950); svm gp 0.968, bias -0.008 (extra-trees
#: ranks 0.973 but reads +0.018, forest 0.966 / +0.009); lenet forest 0.941, bias +0.006
#: (extra-trees 0.926 / +0.008, GP 0.903). The regret of the surrogate's pick (one pick in each of
#: five folds) once kept extra-trees for the SVM, whose replays then read 0.014 high live
#: (`bench agree --model svm --seeds 5`); the GP's end within -0.006..+0.000 of live runs.
PREFERRED = {"softmax": "gp", "sgd": "gp", "svm": "gp", "lenet": "forest"}


def check_mode(mode: str) -> str:
    """`mode` if it is a lookup mode, else a ConfigError listing them."""
    if mode not in MODES:
        raise ConfigError(f"unknown lookup mode {mode!r}; accepted: {', '.join(MODES)}")
    return mode


def check_design(design: str) -> str:
    """`design` if it is a design, else a ConfigError listing them."""
    if design not in DESIGNS:
        raise ConfigError(f"unknown design {design!r}; accepted: {', '.join(DESIGNS)}")
    return design


def check_regressor(regressor: str) -> str:
    """`regressor` if it is a surrogate regressor, else a ConfigError listing them."""
    if regressor not in REGRESSORS:
        raise ConfigError(f"unknown regressor {regressor!r}; accepted: {', '.join(REGRESSORS)}")
    return regressor


def preferred_regressor(model: str) -> str:
    """The regressor with the best measured fidelity for `model`."""
    return PREFERRED.get(model, DEFAULT_REGRESSOR)
