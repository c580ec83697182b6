"""Table-driven tests of FIFO, SH, Hyperband and ASHA: rung sizes, promotion orders, budgets."""

from __future__ import annotations

import numpy as np
import pytest

from hpo import schedulers, searchers
from hpo.errors import ConfigError
from hpo.schedulers import ASHA, Hyperband, Job, SuccessiveHalving, rung_levels
from hpo.schedulers.decisions import RungResult, asha_promotion, sh_survivors
from hpo.searchers.base import Searcher
from hpo.space import Parameter, SearchSpace

SPACE = SearchSpace([Parameter("x", "uniform", 0.0, 1.0)])


class Scripted(Searcher):
    """Suggests x = 0, 1, 2, ... (or a given list), so tests can name configs by index."""

    def __init__(self, values=None) -> None:
        super().__init__(SearchSpace([Parameter("x", "uniform", 0.0, 1e9)]), np.random.default_rng(0))
        self.values = list(values) if values is not None else None
        self.i = 0

    def propose(self, trial_id):
        value = self.values[self.i] if self.values is not None else float(self.i)
        self.i += 1
        return {"x": float(value)}


def drive(scheduler, error, workers: int = 1, max_jobs: int = 10_000):
    """Run sequentially (results in submission order, `workers` at a time); return the jobs."""
    jobs, running = [], []
    while len(jobs) < max_jobs:
        while len(running) < workers:
            job = scheduler.next_job()
            if job is None:
                break
            jobs.append(job)
            running.append(job)
        if not running:
            return jobs
        job = running.pop(0)
        scheduler.on_result(job, error(job))
    return jobs


def rung_sizes(jobs):
    sizes = {}
    for job in jobs:
        sizes[job.epochs] = sizes.get(job.epochs, 0) + 1
    return [sizes[k] for k in sorted(sizes)]


# -- rungs ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("r_min", "r_max", "eta", "levels"),
    [
        (1, 27, 3, [1, 3, 9, 27]),
        (5, 30, 2, [5, 10, 20, 30]),  # r_max off the grid is still the top rung
        (1, 1000, 10, [1, 10, 100, 1000]),  # log(1000)/log(10) = 2.9999999999999996 must not drop a rung
        (1, 20, 3, [1, 3, 9, 20]),
        (2, 2, 2, [2]),
        (1, 81, 3, [1, 3, 9, 27, 81]),
        (1, 10, 2.5, [1, 2, 6, 10]),
    ],
)
def test_rung_levels(r_min, r_max, eta, levels) -> None:
    assert rung_levels(r_min, r_max, eta) == levels


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"eta": 1, "r_min": 1, "r_max": 9}, "eta must be >= 2, got 1"),
        ({"eta": 1.5, "r_min": 1, "r_max": 9}, "eta must be >= 2, got 1.5"),
        ({"eta": 3, "r_min": 10, "r_max": 9}, "r_min must be <= r_max, got r_min=10, r_max=9"),
        ({"eta": 3, "r_min": 0, "r_max": 9}, "r_min must be an integer >= 1"),
        ({"eta": 3, "r_min": 1, "r_max": 2.5}, "r_max must be an integer >= 1"),
    ],
)
@pytest.mark.parametrize("name", ["sh", "hyperband", "asha"])
def test_bad_options_are_refused(name, kwargs, message) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        schedulers.make(name, Scripted(), **kwargs)


def test_unknown_scheduler() -> None:
    with pytest.raises(ConfigError, match="unknown scheduler 'pbt'; accepted: fifo, sh, hyperband, asha"):
        schedulers.make("pbt", Scripted())


# -- synchronous successive halving -------------------------------------------------------


@pytest.mark.parametrize(
    ("r_min", "r_max", "eta", "n_configs", "sizes", "epochs"),
    [
        (5, 30, 2, 8, [8, 4, 2, 1], 8 * 5 + 4 * 5 + 2 * 10 + 1 * 10),
        (5, 30, 2, 20, [20, 10, 5, 2], 20 * 5 + 10 * 5 + 5 * 10 + 2 * 10),
        (5, 30, 2, 4, [4, 2, 1, 1], 4 * 5 + 2 * 5 + 10 + 10),  # the reference promoted nobody past 20
        (1, 1000, 10, 100, [100, 10, 1, 1], 100 + 10 * 9 + 90 + 900),
        (1, 27, 3, None, [27, 9, 3, 1], 27 + 9 * 2 + 3 * 6 + 18),
    ],
)
def test_sh_bracket_rung_sizes_and_epochs(r_min, r_max, eta, n_configs, sizes, epochs) -> None:
    sh = SuccessiveHalving(Scripted(), eta=eta, r_min=r_min, r_max=r_max, n_configs=n_configs)
    sh_jobs = []
    while sh.n_brackets < 2:  # exactly one bracket
        job = sh.next_job()
        if sh.n_brackets == 2:
            break
        sh_jobs.append(job)
        sh.on_result(job, job.config["x"])
    assert rung_sizes(sh_jobs) == sizes
    assert sum(j.new_epochs for j in sh_jobs) == epochs


def test_sh_promotes_the_best_by_error_then_trial_id() -> None:
    errors = {0: 0.5, 1: 0.2, 2: 0.2, 3: 0.9, 4: 0.1, 5: 0.7, 6: 0.3, 7: 0.2}
    sh = SuccessiveHalving(Scripted(), eta=2, r_min=1, r_max=4, n_configs=8)
    jobs = drive(sh, lambda j: errors[j.trial_id] + (0.01 * j.trial_id if j.epochs > 1 else 0), max_jobs=14)
    promoted = [(j.trial_id, j.resume_from, j.epochs) for j in jobs[8:]]
    # rung 1: best four by (error, trial): 4 (0.1), 1 (0.2), 2 (0.2), 7 (0.2)
    # rung 2 errors 0.1+0.04, 0.2+0.01, 0.2+0.02, 0.2+0.07: best two are 4 and 1
    assert promoted == [(4, 1, 2), (1, 1, 2), (2, 1, 2), (7, 1, 2), (4, 2, 4), (1, 2, 4)]


def test_sh_waits_at_the_barrier() -> None:
    sh = SuccessiveHalving(Scripted(), eta=2, r_min=1, r_max=2, n_configs=4)
    first = [sh.next_job() for _ in range(4)]
    assert sh.next_job() is None  # rung 0 is in flight: nothing may start
    for job in first[:3]:
        sh.on_result(job, job.config["x"])
        assert sh.next_job() is None
    sh.on_result(first[3], 3.0)
    promoted = [sh.next_job(), sh.next_job()]
    assert [(j.trial_id, j.resume_from, j.epochs) for j in promoted] == [(0, 1, 2), (1, 1, 2)]
    assert sh.next_job() is None


def test_sh_brackets_repeat_until_new_trials_stop() -> None:
    sh = SuccessiveHalving(Scripted(), eta=2, r_min=1, r_max=2, n_configs=4)
    jobs = drive(sh, lambda j: j.config["x"], max_jobs=18)
    assert len(jobs) == 18 and sh.n_brackets == 3
    sh.stop_new_trials()
    rest = drive(sh, lambda j: j.config["x"])
    assert all(j.resume_from > 0 for j in rest)  # only promotions of the open bracket
    assert sh.next_job() is None


def test_hyperband_brackets_match_li_et_al() -> None:
    hb = Hyperband(Scripted(), eta=3, r_min=1, r_max=81)
    # Li et al. (2017), Table 1, R=81, eta=3: (first rung, configs) of brackets s=4..0
    assert hb.bracket_sizes() == [(0, 81), (1, 34), (2, 15), (3, 8), (4, 5)]
    by_bracket: dict[int, list[Job]] = {}
    while hb.n_brackets <= 5:
        job = hb.next_job()
        by_bracket.setdefault(hb.n_brackets, []).append(job)
        hb.on_result(job, job.config["x"])
    expected_sizes = [[81, 27, 9, 3, 1], [34, 11, 3, 1], [15, 5, 1], [8, 2], [5]]
    expected_levels = [[1, 3, 9, 27, 81], [3, 9, 27, 81], [9, 27, 81], [27, 81], [81]]
    for b in range(1, 6):
        jobs = by_bracket[b]
        assert rung_sizes(jobs) == expected_sizes[b - 1]
        assert sorted({j.epochs for j in jobs}) == expected_levels[b - 1]
    # then the cycle starts again with the most aggressive bracket
    assert by_bracket[6][0].epochs == 1


# -- ASHA ----------------------------------------------------------------------------------


def test_asha_promotion_order_by_hand() -> None:
    # eta=2, rungs 1, 2, 4, one worker; a trial's error is its base value minus 0.01 per epoch.
    base = {0: 0.5, 1: 0.4, 2: 0.6, 3: 0.3, 4: 0.7, 5: 0.2, 6: 0.8}
    asha = ASHA(Scripted(), eta=2, r_min=1, r_max=4)
    jobs = drive(asha, lambda j: base[j.trial_id] - 0.01 * j.epochs, max_jobs=12)
    assert [(j.trial_id, j.resume_from, j.epochs) for j in jobs] == [
        (0, 0, 1),  # rung 1 empty: start a trial
        (1, 0, 1),  # rung 1 = {0}: quota floor(1/2) = 0
        (1, 1, 2),  # rung 1 = {1: .39, 0: .49}: quota 1, trial 1 at rank 0
        (2, 0, 1),  # rung 2 = {1}: quota 0; rung 1: trial 0 at rank 1, not < 1
        (3, 0, 1),  # rung 1 quota 1 (3 results), trial 0 at rank 1
        (3, 1, 2),  # rung 1 = {3: .29, 1, 0, 2}: quota 2, trial 3 at rank 0
        (3, 2, 4),  # rung 2 = {3: .28, 1: .38}: quota 1, trial 3 at rank 0 -> top rung
        (4, 0, 1),  # rung 2: trial 1 at rank 1; rung 1: trial 0 at rank 2, quota 2
        (5, 0, 1),  # rung 1 quota floor(5/2) = 2, trial 0 at rank 2
        (5, 1, 2),  # rung 1 = {5: .19, ...}: quota 3, trial 5 at rank 0
        (5, 2, 4),  # rung 2 = {5: .18, 3, 1}: quota 1, trial 5 at rank 0
        (6, 0, 1),  # rung 2: trial 1 at rank 2; rung 1: trial 0 at rank 3, quota 3
    ]


def test_asha_matches_a_brute_force_reference() -> None:
    """The heap-and-sorted-list ASHA makes the decisions of the plain rule (`asha_promotion`)."""
    rng = np.random.default_rng(0)
    quality = rng.random(400)
    asha = ASHA(Scripted(), eta=3, r_min=1, r_max=27)
    reference = PlainASHA(eta=3, levels=[1, 3, 9, 27])

    def error(job):
        return float(quality[job.trial_id] + rng.normal(0, 0.05) / job.epochs)

    rng_state = rng.bit_generator.state
    jobs = drive(asha, error, workers=4, max_jobs=600)
    rng.bit_generator.state = rng_state
    ref_jobs = drive(reference, error, workers=4, max_jobs=600)
    assert [(j.trial_id, j.epochs) for j in jobs] == [(j.trial_id, j.epochs) for j in ref_jobs]
    assert any(j.epochs == 27 for j in jobs)


@pytest.mark.parametrize(("eta", "levels"), [(2, [1, 2, 4, 8, 16]), (3, [1, 3, 9, 27]), (4, [1, 4, 16])])
def test_asha_matches_the_reference_where_errors_tie(eta, levels) -> None:
    """Ties are where the count of promotions above the best splits into errors and trial ids: a
    table replays the same curve for a repeated config, and every diverged training is 1.0. Errors
    on a grid of 0.05 (and some infinite, which rank last) make ties the common case, and results
    that come back in a random order put a lower trial id behind tied promotions of higher ones."""
    rng = np.random.default_rng(1)
    quality = np.round(rng.random(1000) * 20) / 20
    quality[rng.random(1000) < 0.1] = np.inf

    def error(job):
        return float(quality[job.trial_id] + (0.05 if job.epochs < 3 and job.trial_id % 2 else 0.0))

    def drive_out_of_order(scheduler, seed: int, workers: int = 6, max_jobs: int = 800):
        order = np.random.default_rng(seed)
        jobs, running = [], []
        while len(jobs) < max_jobs:
            while len(running) < workers and (job := scheduler.next_job()) is not None:
                jobs.append(job)
                running.append(job)
            job = running.pop(int(order.integers(len(running))))
            scheduler.on_result(job, error(job))
        return [(j.trial_id, j.epochs) for j in jobs]

    for seed in range(3):
        asha = ASHA(Scripted(), eta=eta, r_min=1, r_max=levels[-1])
        reference = PlainASHA(eta=eta, levels=levels)
        jobs = drive_out_of_order(asha, seed)
        assert jobs == drive_out_of_order(reference, seed)
        assert sum(epochs > 1 for _, epochs in jobs) > 100


class PlainASHA:
    """Li et al. 2018, Algorithm 2: every decision re-derived from the records."""

    def __init__(self, eta, levels) -> None:
        self.eta, self.levels = eta, levels
        self.results: list[RungResult] = []
        self.promoted: set[tuple[int, int]] = set()
        self.configs = {}
        self.n = 0

    def next_job(self):
        promotion = asha_promotion(self.results, self.promoted, len(self.levels), self.eta)
        if promotion is not None:
            self.promoted.add(promotion)
            trial, k = promotion
            return Job(trial, self.configs[trial], self.levels[k + 1], self.levels[k])
        job = Job(self.n, {"x": float(self.n)}, self.levels[0], 0)
        self.configs[self.n] = job.config
        self.n += 1
        return job

    def on_result(self, job, error) -> None:
        self.results.append(RungResult(job.trial_id, self.levels.index(job.epochs), error))


def test_synchronous_survivors_are_the_best_by_error_then_trial() -> None:
    assert sh_survivors({4: 0.2, 1: 0.2, 2: 0.1, 3: 0.9, 0: float("nan"), 5: 0.5}, eta=2) == [2, 1, 4]
    assert sh_survivors({7: 0.3}, eta=3) == [7]  # at least one continues, so the top rung is reached


def test_asha_never_promotes_a_config_outside_the_top() -> None:
    # the reference promoted the first eta^k arrivals, its worst rung-5 config included
    errors = [0.9, 0.1, 0.2, 0.3, 0.8, 0.4, 0.5, 0.6, 0.7]
    asha = ASHA(Scripted(), eta=3, r_min=1, r_max=3)
    jobs = drive(asha, lambda j: errors[j.trial_id] if j.epochs == 1 else 0.0, max_jobs=12)
    promoted = [j.trial_id for j in jobs if j.epochs == 3]
    assert 0 not in promoted and 4 not in promoted
    assert promoted == [1, 2, 3]


def test_asha_promotes_a_repeated_config_like_any_other_training() -> None:
    # A repeated config is a new training (its own seed): before, ASHA promoted a config at most
    # once, so a replay that had tried every config of its table never promoted again.
    asha = ASHA(Scripted([1.0, 1.0, 5.0, 6.0, 7.0, 8.0]), eta=2, r_min=1, r_max=2)
    jobs = drive(asha, lambda j: j.config["x"], max_jobs=8)
    promoted = [j for j in jobs if j.epochs == 2]
    assert [(j.trial_id, j.config["x"]) for j in promoted][:2] == [(0, 1.0), (1, 1.0)]


@pytest.mark.parametrize("name", ["sh", "hyperband", "asha", "fifo"])
def test_an_exhausted_searcher_stops_new_trials_and_lets_the_started_ones_finish(name) -> None:
    candidates = [{"x": 0.1 * i} for i in range(5)]
    searcher = searchers.PooledSearcher(
        searchers.make("random", SPACE, np.random.default_rng(0)),
        searchers.CandidatePool(SPACE, candidates, [2, 1, 0, 1, 2]),
    )
    options = {"epochs": 4} if name == "fifo" else {"eta": 2, "r_min": 1, "r_max": 4}
    scheduler = schedulers.make(name, searcher, **options)
    jobs = drive(scheduler, lambda j: j.config["x"] + 1 / j.epochs, workers=3)
    new = [j for j in jobs if j.resume_from == 0]
    # six trainings in the table: six trials, each config as often as it has trainings
    assert len(new) == 6 and scheduler.exhausted and not scheduler.accepting_new_trials
    counts = {
        round(x, 1): [round(j.config["x"], 1) for j in new].count(round(x, 1))
        for x in (0.0, 0.1, 0.2, 0.3, 0.4)
    }
    assert counts == {0.0: 2, 0.1: 1, 0.2: 0, 0.3: 1, 0.4: 2}
    # every trial that was started got its results: the last promotions were not cut off
    assert max(j.epochs for j in jobs) == 4


def test_asha_never_waits() -> None:
    asha = ASHA(Scripted(), eta=3, r_min=1, r_max=9)
    assert all(asha.next_job() is not None for _ in range(50))


def test_asha_stops_starting_trials_but_still_promotes() -> None:
    asha = ASHA(Scripted(), eta=2, r_min=1, r_max=2)
    jobs = [asha.next_job() for _ in range(4)]
    asha.stop_new_trials()
    for job in jobs:
        asha.on_result(job, job.config["x"])
    promoted = [asha.next_job(), asha.next_job()]
    assert [(j.trial_id, j.epochs) for j in promoted] == [(0, 2), (1, 2)]
    assert asha.next_job() is None and asha.n_trials == 4


# -- conformance over every algorithm -----------------------------------------------------


@pytest.mark.parametrize("name", sorted(schedulers.SCHEDULERS))
@pytest.mark.parametrize("searcher", ["random", "bo"])
def test_every_scheduler_is_seeded_and_in_bounds(name, searcher) -> None:
    options = {"epochs": 9} if name == "fifo" else {"eta": 3, "r_min": 1, "r_max": 9}

    def run(seed):
        s = schedulers.make(name, searchers.make(searcher, SPACE, np.random.default_rng(seed)), **options)
        jobs = drive(s, lambda j: (j.config["x"] - 0.3) ** 2 + 1 / j.epochs, workers=2, max_jobs=40)
        return [(j.trial_id, j.epochs, j.resume_from, j.config["x"]) for j in jobs]

    a, b, c = run(0), run(0), run(1)
    assert a == b and a != c
    assert all(0.0 <= x <= 1.0 and 0 <= r < e <= 9 for _, e, r, x in a)


def test_promotions_resume_from_the_checkpoint() -> None:
    asha = ASHA(Scripted(), eta=2, r_min=5, r_max=10)
    jobs = drive(asha, lambda j: j.config["x"], max_jobs=20)
    for job in jobs:
        if job.epochs == 10:
            assert job.resume_from == 5 and job.new_epochs == 5


def test_a_job_is_checked_immutable_and_survives_pickling() -> None:
    import pickle

    config = {"x": 1.0}
    with pytest.raises(ValueError, match="0 <= resume_from < epochs, got 3 and 3"):
        Job(0, config, 3, 3)
    with pytest.raises(ValueError, match="got -1 and 2"):
        Job(0, config, 2, -1)
    job = Job(7, config, 9, resume_from=3)
    assert job == Job.unchecked(7, config, 9, 3) and job.new_epochs == 6 and job.config is config
    with pytest.raises(AttributeError):
        job.epochs = 1  # type: ignore[misc]
    back = pickle.loads(pickle.dumps(job))
    assert type(back) is Job and back == job
