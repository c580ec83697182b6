from __future__ import annotations

import math

import pytest
import torch

from hpo.errors import ConfigError
from hpo.models import MODELS
from hpo.training import (
    CURVE_FIELDS,
    STATUS_DIVERGED,
    WORST_ERROR,
    Trainer,
    load_checkpoint,
    resolve_device,
    save_checkpoint,
)

FAST = {
    "softmax": {"learning_rate": 0.1, "batch_size": 64},
    "lenet": {"learning_rate": 0.9, "batch_size": 64},
    "sgd": {"learning_rate": 0.01, "batch_size": 64, "alpha": 1e-4, "l1_ratio": 0.15},
    "svm": {"learning_rate": 0.5, "batch_size": 64, "C": 10.0, "gamma": 0.01},
}


def values(curve):
    return [(r.train_loss, r.val_loss, r.val_error, r.test_error, r.status) for r in curve]


@pytest.mark.parametrize("name", list(MODELS))
def test_same_seed_same_curve_other_seed_other_curve(fake_splits, name: str) -> None:
    trainer = Trainer(fake_splits)
    a = trainer.fit(name, FAST[name], 2, seed=7)
    b = trainer.fit(name, FAST[name], 2, seed=7)
    c = trainer.fit(name, FAST[name], 2, seed=8)
    assert values(a) == values(b)
    assert values(a) != values(c)
    assert [r.epoch for r in a] == [1, 2]
    assert all(r.epoch_seconds > 0 for r in a)


@pytest.mark.parametrize("name", list(MODELS))
def test_resume_from_checkpoint_gives_the_same_curve(fake_splits, tmp_path, name: str) -> None:
    trainer = Trainer(fake_splits)
    straight = trainer.fit(name, FAST[name], 4, seed=3)
    run = trainer.start(name, FAST[name], seed=3)
    trainer.advance(run, 2)
    save_checkpoint(run, tmp_path / "ck.pt")
    del run
    resumed = trainer.resume(load_checkpoint(tmp_path / "ck.pt"))
    assert resumed.epoch == 2
    added = trainer.advance(resumed, 4)
    assert [r.epoch for r in added] == [3, 4]
    assert values(resumed.curve) == values(straight)


def test_linear_models_learn_the_generated_task(fake_splits) -> None:
    trainer = Trainer(fake_splits)
    for name in ("softmax", "sgd", "svm"):
        curve = trainer.fit(name, FAST[name], 3, seed=0)
        assert curve[-1].val_error < 0.2, (name, curve[-1])
        assert curve[-1].train_loss < curve[0].train_loss


def test_divergence_is_a_result_with_a_full_curve(fake_splits) -> None:
    trainer = Trainer(fake_splits)
    config = {**FAST["sgd"], "learning_rate": 1e30}
    curve = trainer.fit("sgd", config, 3, seed=0)
    assert [r.status for r in curve] == [STATUS_DIVERGED] * 3
    assert all(r.val_error == WORST_ERROR and r.test_error == WORST_ERROR for r in curve)
    assert not math.isfinite(curve[0].train_loss)
    assert curve[0].epoch_seconds > 0 and curve[1].epoch_seconds == 0.0


def test_curve_records_have_the_documented_fields(fake_splits) -> None:
    record = Trainer(fake_splits).fit("softmax", FAST["softmax"], 1)[0]
    assert tuple(record.to_dict()) == CURVE_FIELDS


def test_invalid_config_is_refused_before_training(fake_splits) -> None:
    with pytest.raises(ConfigError, match="batch_size=0"):
        Trainer(fake_splits).start("softmax", {"learning_rate": 0.1, "batch_size": 0}, 0)


def test_device_resolution() -> None:
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto").type == expected
    assert resolve_device("cpu").type == "cpu"
    if not torch.cuda.is_available():
        with pytest.raises(ConfigError, match="CUDA is not available"):
            resolve_device("cuda")
    with pytest.raises(ConfigError, match="unknown device 'tpu'"):
        resolve_device("tpu")


@pytest.mark.real_data
def test_softmax_on_real_data_reaches_the_notebook_accuracy() -> None:
    from hpo.data import load_splits

    curve = Trainer(load_splits()).fit("softmax", MODELS["softmax"].defaults, 2, seed=0)
    assert curve[-1].val_error < 0.22


def test_bf16_training_is_deterministic_resumable_and_not_fp32(fake_splits, tmp_path, monkeypatch) -> None:
    monkeypatch.setattr("hpo.training.trainer.cpu_has_native_bf16", lambda: True)
    trainer = Trainer(fake_splits, precision="bf16")
    a = trainer.fit("lenet", FAST["lenet"], 3, seed=5)
    assert values(a) == values(trainer.fit("lenet", FAST["lenet"], 3, seed=5))
    assert values(a) != values(Trainer(fake_splits).fit("lenet", FAST["lenet"], 3, seed=5))
    run = trainer.start("lenet", FAST["lenet"], seed=5)
    trainer.advance(run, 1)
    save_checkpoint(run, tmp_path / "ck.pt")
    resumed = trainer.resume(load_checkpoint(tmp_path / "ck.pt"))
    trainer.advance(resumed, 3)
    assert values(resumed.curve) == values(a)
    # the weights stay float32: autocast changes the arithmetic, not the stored model
    assert all(p.dtype == torch.float32 for p in run.model.parameters())


def test_unknown_precision(fake_splits) -> None:
    with pytest.raises(ConfigError, match="unknown precision 'fp16'; accepted: fp32, bf16"):
        Trainer(fake_splits, precision="fp16")


def test_svm_errors_are_those_of_the_moving_average_of_its_weights(fake_splits) -> None:
    """Catches the trainer measuring the last iterate again (a point worse on FashionMNIST, docs/engine.md)."""
    trainer = Trainer(fake_splits)
    run = trainer.start("svm", FAST["svm"], seed=2)
    trainer.advance(run, 3)
    assert run.average is not None and run.average.updates == 3 * math.ceil(fake_splits.n_train / 64)
    averaged = run.average.module.linear.weight
    assert not torch.equal(averaged, run.model.linear.weight)
    # the record's validation objective is the average's, not the last iterate's
    val_x, val_y = trainer.splits.val_x, trainer.splits.val_y
    of_average, _ = trainer.evaluate(run.average.module, val_x, val_y)
    of_last, _ = trainer.evaluate(run.model, val_x, val_y)
    assert run.curve[-1].val_loss == pytest.approx(of_average, rel=1e-5)
    assert of_last != pytest.approx(of_average, rel=1e-2)  # 4% apart here


def test_models_without_averaging_measure_the_last_iterate(fake_splits) -> None:
    run = Trainer(fake_splits).start("softmax", FAST["softmax"], seed=0)
    assert run.average is None and run.evaluated is run.model


def test_an_svm_checkpoint_without_its_average_is_refused(fake_splits, tmp_path) -> None:
    trainer = Trainer(fake_splits)
    run = trainer.start("svm", FAST["svm"], seed=0)
    trainer.advance(run, 1)
    state = run.state_dict()
    del state["average"]
    with pytest.raises(ValueError, match="predates its weight averaging"):
        trainer.resume(state)
