"""The project's best tuned models beside scikit-learn peers on the same FashionMNIST split.

    python benchmarks/peers.py [--cache-dir cache/shipped]

Each peer is tuned over a small grid on the validation split (the 12,000 images the project's
HPO sees) and its test accuracy is that of the grid point with the best validation accuracy.
Peers with randomness of their own (the SVM's random Fourier features, SGD's order) are fitted
with `--draws` random states at each grid point and scored by the mean, as the project's
figure is a mean over training seeds: one draw's best grid point reads high (on the SVM's
random features, 81.99% for random_state 0 against 81.17-81.48% for states 1-3).
The project's figure is the best config of its shipped cache by mean validation error at the
last cached epoch (over its training seeds). LeNet's peer is the reference notebook's claim.
"""

from __future__ import annotations

import argparse
import itertools
import time

GRIDS = {
    "softmax": {"C": [0.01, 0.1, 1.0]},
    "sgd": {"alpha": [1e-5, 1e-4, 1e-3], "l1_ratio": [0.15]},
    "svm": {"gamma": [0.001, 0.003, 0.01], "C": [1.0, 10.0]},
}


RANDOM = ("sgd", "svm")  # peers whose fit depends on a random state


def _peer(model: str, params: dict[str, float], state: int = 0):
    from sklearn.kernel_approximation import RBFSampler
    from sklearn.linear_model import LogisticRegression, SGDClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.svm import LinearSVC

    if model == "softmax":
        return LogisticRegression(C=params["C"], max_iter=300)
    if model == "sgd":
        return SGDClassifier(
            loss="hinge", penalty="elasticnet", max_iter=20, tol=None, random_state=state, **params
        )
    sampler = RBFSampler(gamma=params["gamma"], n_components=100, random_state=state)
    return make_pipeline(sampler, LinearSVC(C=params["C"], max_iter=5000))


PEER_NAMES = {
    "softmax": "LogisticRegression",
    "sgd": "SGDClassifier (hinge, elastic net)",
    "svm": "RBFSampler (100) + LinearSVC",
}


def best_peer(model: str, splits, draws: int = 4) -> tuple[str, float, float, float]:
    """(parameters, validation accuracy, test accuracy, seconds) of the best grid point (means over draws)."""
    x = {name: getattr(splits, f"{name}_x").flatten(1).numpy() for name in ("train", "val", "test")}
    y = {name: getattr(splits, f"{name}_y").numpy() for name in ("train", "val", "test")}
    best = None
    started = time.perf_counter()
    grid = GRIDS[model]
    for values in itertools.product(*grid.values()):
        params = dict(zip(grid, values, strict=True))
        scores = []
        for state in range(draws if model in RANDOM else 1):
            estimator = _peer(model, params, state).fit(x["train"], y["train"])
            scores.append((estimator.score(x["val"], y["val"]), estimator.score(x["test"], y["test"])))
        val, test = (sum(v) / len(scores) for v in zip(*scores, strict=True))
        if best is None or val > best[1]:
            best = (params, val, test)
    params, val, test = best
    return ", ".join(f"{k}={v:g}" for k, v in params.items()), val, test, time.perf_counter() - started


def best_project(model: str, cache_dir: str | None) -> tuple[str, float, float]:
    """(config, validation accuracy, test accuracy) of the cache's best config at its last epoch."""
    from cache.store.tables import read_model

    rows, _, space = read_model(model, cache_dir)
    last = rows[rows["epoch"] == rows["epoch"].max()]
    means = last.groupby("config_id")[["val_error", "test_error"]].mean()
    config_id = means["val_error"].idxmin()
    config = last[last["config_id"] == config_id].iloc[0]
    described = ", ".join(f"{p}={config[p]:.3g}" for p in space.names)
    return described, 1 - means.loc[config_id, "val_error"], 1 - means.loc[config_id, "test_error"]


def main() -> None:
    """Print the table (markdown)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache-dir", default=None)
    parser.add_argument("--draws", type=int, default=4, help="random states per grid point (sgd, svm)")
    parser.add_argument("--models", default="softmax,sgd,svm,lenet")
    args = parser.parse_args()
    from hpo.data import load_splits

    splits = load_splits()
    print("| model | project, best tuned (val / test) | peer | peer, tuned (val / test) |")
    print("|---|---|---|---|")
    for model in args.models.split(","):
        config, val, test = best_project(model, args.cache_dir)
        if model == "lenet":
            peer = "the reference notebook's claim", "85-90% (test)"
        else:
            params, pval, ptest, _ = best_peer(model, splits, args.draws)
            peer = f"{PEER_NAMES[model]} ({params})", f"{pval:.2%} / {ptest:.2%}"
        print(f"| {model} | {val:.2%} / {test:.2%} ({config}) | {peer[0]} | {peer[1]} |", flush=True)


if __name__ == "__main__":
    main()
