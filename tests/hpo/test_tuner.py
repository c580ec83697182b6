from __future__ import annotations

import numpy as np
import pytest

from hpo import algorithms
from hpo.algorithms import AlgorithmSettings
from hpo.errors import ConfigError
from hpo.simulation import Evaluation, SimulatedBackend
from hpo.testing.objectives import SVM_LIKE
from hpo.tuner import Budget, Tuner
from tests.support.extras import algorithm_params


def objective(job) -> Evaluation:
    """The SVM-like function, improving with epochs; one simulated second per epoch."""
    final = SVM_LIKE(job.config)
    error = final + (0.9 - final) * np.exp(-job.epochs / 4)
    return Evaluation(error, error + 0.01, float(job.new_epochs))


def tune(name, budget, workers=1, seed=0, **settings):
    scheduler = algorithms.build(
        name, SVM_LIKE.space, np.random.default_rng(seed), AlgorithmSettings(**settings)
    )
    backend = SimulatedBackend(objective, workers)
    return Tuner(scheduler, backend, budget).run(), backend, scheduler


@pytest.mark.parametrize("name", algorithm_params(sorted(algorithms.ALGORITHMS), slow={"st-asha-cqr"}))
def test_trials_budget_counts_new_trials(name) -> None:
    outcome, _, scheduler = tune(name, Budget(trials=15), workers=3, eta=3, r_min=1, r_max=9)
    assert scheduler.n_trials == 15
    assert len({r.trial_id for r in outcome.rows}) == 15


def test_epoch_budget_stops_starting_work() -> None:
    outcome, _, _ = tune("random", Budget(epochs=50), r_max=9)
    # 6 trials of 9 epochs: the sixth starts at 45 < 50, nothing starts at 54
    assert len(outcome.rows) == 6 and outcome.epochs_trained == 54


def test_time_budget_on_the_simulated_clock() -> None:
    outcome, backend, _ = tune("asha", Budget(seconds=100), workers=4, r_max=9)
    assert max(r.t_start for r in outcome.rows) < 100
    assert backend.now >= 100 - 9


def test_rows_and_incumbent_trajectory() -> None:
    outcome, _, _ = tune("asha", Budget(trials=30), workers=2, r_max=9)
    ends = [r.t_end for r in outcome.rows]
    assert ends == sorted(ends)
    errors = [i.val_error for i in outcome.trajectory]
    assert errors == sorted(errors, reverse=True) and len(set(errors)) == len(errors)
    assert outcome.incumbent.val_error == min(r.val_error for r in outcome.rows)
    for row in outcome.rows:
        assert row.t_end - row.t_start == pytest.approx(row.epochs - row.resume_from)


def test_same_seed_same_rows_other_seed_other() -> None:
    a, _, _ = tune("bohb", Budget(trials=20), workers=3, r_max=9)
    b, _, _ = tune("bohb", Budget(trials=20), workers=3, r_max=9)
    c, _, _ = tune("bohb", Budget(trials=20), workers=3, seed=1, r_max=9)
    assert a.rows == b.rows and a.rows != c.rows


def test_sh_idles_at_barriers_and_asha_does_not() -> None:
    def utilisation(name):
        _, backend, _ = tune(name, Budget(seconds=400), workers=8, eta=3, r_min=1, r_max=27)
        return backend.busy_seconds / (backend.now * backend.n_workers)

    sh, asha = utilisation("sh"), utilisation("asha")
    assert asha > 0.9
    assert sh < asha - 0.15


def test_budget_validation() -> None:
    with pytest.raises(ConfigError, match="a budget needs trials, epochs or seconds"):
        Budget()
    with pytest.raises(ConfigError, match="budget trials must be > 0, got 0"):
        Budget(trials=0)


def test_nan_errors_are_worst_case_results() -> None:
    def diverging(job):
        return Evaluation(float("nan"), float("nan"), 1.0, "diverged") if job.trial_id % 2 else objective(job)

    scheduler = algorithms.build("asha", SVM_LIKE.space, np.random.default_rng(0), AlgorithmSettings(r_max=9))
    outcome = Tuner(scheduler, SimulatedBackend(diverging, 2), Budget(trials=12)).run()
    diverged = [r for r in outcome.rows if r.status == "diverged"]
    assert diverged and all(r.val_error == 1.0 for r in diverged)
    assert all(r.epochs == 1 for r in diverged)  # never promoted


def test_the_collector_is_paused_for_a_simulated_run_and_restored_after() -> None:
    # A replay pauses the cyclic collector (its cost per job would grow with the run); a pause
    # that leaked would leave every later cycle in the process uncollected, and one that ended
    # early, while another thread's replay still runs, would only cost time: both are checked.
    import gc
    import threading
    import weakref

    from hpo.simulation import collector_paused

    assert gc.isenabled()
    inside, release = threading.Event(), threading.Event()

    def other_run() -> None:
        with collector_paused():
            inside.set()
            release.wait(10)

    thread = threading.Thread(target=other_run)
    thread.start()
    assert inside.wait(10)

    class Node:
        pass

    with pytest.raises(RuntimeError), collector_paused():
        assert not gc.isenabled()
        cycle = Node()
        cycle.me = cycle  # garbage only the collector frees
        alive = weakref.ref(cycle)
        del cycle
        raise RuntimeError("a run that fails")
    assert not gc.isenabled()  # the other thread's run still holds the pause
    assert alive() is None  # but the cycle made meanwhile was collected when this run ended
    release.set()
    thread.join(10)
    assert gc.isenabled()

    gc.disable()  # a process that runs without the collector keeps it off
    try:
        with collector_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
