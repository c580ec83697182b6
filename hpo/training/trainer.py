"""Train a model epoch by epoch on in-memory splits, with resumable checkpoints."""

from __future__ import annotations

import copy
import io
import math
import time
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from hpo.catalog import PRECISIONS
from hpo.data import Splits
from hpo.errors import ConfigError
from hpo.files import atomic_write_bytes
from hpo.models import Classifier, ModelContext, build_model, get_model, validate_config
from hpo.training.curve import STATUS_DIVERGED, STATUS_OK, EpochRecord
from hpo.training.device import cpu_has_native_bf16

__all__ = ["MovingAverage", "Run", "Trainer", "load_checkpoint", "save_checkpoint", "seed_generators"]

CHECKPOINT_FORMAT = 1


def seed_generators(seed: int) -> tuple[torch.Generator, torch.Generator]:
    """Two independent torch generators (model init, data order) from one integer seed."""
    init_seq, order_seq = np.random.SeedSequence(seed).spawn(2)
    init = torch.Generator().manual_seed(int(init_seq.generate_state(1, np.uint64)[0]))
    order = torch.Generator().manual_seed(int(order_seq.generate_state(1, np.uint64)[0]))
    return init, order


@dataclass
class Run:
    """One training in progress: the model, its optimizer, its data-order stream and its curve."""

    model_name: str
    config: dict[str, Any]
    seed: int
    model: Classifier
    optimizer: torch.optim.Optimizer
    order_generator: torch.Generator
    curve: list[EpochRecord]
    features: dict[str, torch.Tensor] | None = None  # splits mapped by a fixed feature map
    average: MovingAverage | None = None  # the weights' moving average, for models that ask for one

    @property
    def evaluated(self) -> Classifier:
        """The model whose errors the curve records: the moving average where the model keeps one."""
        return self.model if self.average is None else self.average.module

    @property
    def epoch(self) -> int:
        """Epochs trained so far."""
        return len(self.curve)

    @property
    def status(self) -> str:
        """'ok', or 'diverged' once a loss was not finite."""
        return self.curve[-1].status if self.curve else STATUS_OK

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue this run bit for bit elsewhere."""
        return {
            "format": CHECKPOINT_FORMAT,
            "model_name": self.model_name,
            "config": dict(self.config),
            "seed": self.seed,
            "curve": [r.to_dict() for r in self.curve],
            "model": _cpu_state(self.model),
            "optimizer": self.optimizer.state_dict(),
            "order_generator": self.order_generator.get_state(),
            **({"average": self.average.state_dict()} if self.average is not None else {}),
        }


def _cpu_state(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().cpu() for k, v in module.state_dict().items()}


def trained_part(model: Classifier) -> Any:
    """What maps the inputs the trainer holds to logits: the head where the features are fixed."""
    return model.head if model.fixed_features else model


class MovingAverage:
    """An exponential moving average of a model's trained weights, kept in a copy of the model.

    The first update copies the weights; each later one moves the average a fraction
    1 - decay towards them: torch.optim.swa_utils' EMA, without its per-step copy of every
    buffer (the SVM's random projection), which made it slow (docs/engine.md).
    """

    def __init__(self, model: Classifier, decay: float) -> None:
        self.module = copy.deepcopy(model)
        self.decay = decay
        self.updates = 0
        self._pairs = [
            (a.detach(), p) for a, p in zip(self.module.parameters(), model.parameters(), strict=True)
        ]

    @torch.no_grad()
    def update(self) -> None:
        """Move the average towards the model's current weights."""
        weight = 1.0 if self.updates == 0 else 1.0 - self.decay
        for average, live in self._pairs:
            average.lerp_(live, weight)
        self.updates += 1

    def state_dict(self) -> dict[str, Any]:
        """The averaged weights and the number of updates, on the CPU."""
        return {"module": _cpu_state(self.module), "updates": self.updates}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore what `state_dict` returned."""
        self.module.load_state_dict(state["module"])
        self.updates = int(state["updates"])


def moving_average(model: Classifier, steps_per_epoch: int) -> MovingAverage | None:
    """An exponential moving average of `model`'s weights with its half-life in epochs, or None."""
    if model.average_half_life is None:
        return None
    return MovingAverage(model, 0.5 ** (1.0 / (model.average_half_life * steps_per_epoch)))


class Trainer:
    """Trains any registered model on one set of splits, held as tensors on one device."""

    def __init__(
        self,
        splits: Splits,
        device: torch.device | str = "cpu",
        eval_batch_size: int = 4096,
        precision: str = "fp32",
    ) -> None:
        if precision not in PRECISIONS:
            raise ConfigError(f"unknown precision {precision!r}; accepted: {', '.join(PRECISIONS)}")
        self.device = torch.device(device)
        # bf16 autocasts the training forward pass (convolutions and matrix products in bfloat16,
        # accumulated in float32); evaluation stays in float32 so errors are measured alike
        self.precision = precision
        if precision == "bf16" and self.device.type == "cpu" and not cpu_has_native_bf16():
            # emulated bfloat16 is several times slower than fp32 (docs/speed.md)
            warnings.warn(
                "--precision bf16 on a CPU without native bfloat16 (avx512_bf16) is emulated and "
                "several times slower than fp32",
                RuntimeWarning,
                stacklevel=2,
            )
        self.splits = splits.to(self.device)
        self.eval_batch_size = eval_batch_size
        self.context = ModelContext(
            input_shape=tuple(splits.train_x.shape[1:]), n_classes=splits.n_classes, n_train=splits.n_train
        )

    def start(self, model_name: str, config: Mapping[str, Any], seed: int) -> Run:
        """A fresh run at epoch 0: the model initialised from `seed`, the data order seeded too."""
        config = validate_config(model_name, config)
        init_gen, order_gen = seed_generators(seed)
        model = build_model(model_name, config, self.context, init_gen).to(self.device)
        get_model(model_name).prepare(self.device)
        optimizer = torch.optim.SGD(model.parameters(), lr=config["learning_rate"])
        average = moving_average(model, math.ceil(self.splits.n_train / config["batch_size"]))
        return Run(model_name, config, seed, model, optimizer, order_gen, [], average=average)

    def resume(self, state: Mapping[str, Any]) -> Run:
        """Rebuild a run from `Run.state_dict()` output."""
        if state.get("format") != CHECKPOINT_FORMAT:
            raise ValueError(f"unsupported checkpoint format {state.get('format')!r}")
        run = self.start(state["model_name"], state["config"], state["seed"])
        run.model.load_state_dict(state["model"])
        run.optimizer.load_state_dict(state["optimizer"])
        run.order_generator.set_state(state["order_generator"])
        if run.average is not None:
            if "average" not in state:
                raise ValueError(
                    f"the checkpoint of {state['model_name']} predates its weight averaging; train it afresh"
                )
            run.average.load_state_dict(state["average"])
        run.curve = [EpochRecord(**r) for r in state["curve"]]
        return run

    def advance(self, run: Run, epochs: int) -> list[EpochRecord]:
        """Train `run` until it has `epochs` epochs; return the records added.

        A diverged run is not trained further: its remaining epochs are recorded as
        diverged with worst-case errors and zero seconds, so every curve is complete.
        """
        added = []
        while run.epoch < epochs:
            epoch = run.epoch + 1
            record = (
                EpochRecord.diverged(epoch)
                if run.status == STATUS_DIVERGED
                else self._train_epoch(run, epoch)
            )
            run.curve.append(record)
            added.append(record)
        return added

    def fit(
        self, model_name: str, config: Mapping[str, Any], epochs: int, seed: int = 0
    ) -> list[EpochRecord]:
        """Train a fresh model for `epochs` epochs and return its whole curve."""
        run = self.start(model_name, config, seed)
        self.advance(run, epochs)
        return run.curve

    def _inputs(self, run: Run) -> dict[str, torch.Tensor]:
        """The inputs the trained part of the model sees (`trained_part`)."""
        s = self.splits
        if not run.model.fixed_features:
            return {"train": s.train_x, "val": s.val_x, "test": s.test_x}
        if run.features is None:
            with torch.inference_mode():
                run.features = {
                    name: torch.cat(
                        [
                            run.model.feature_map(x[i : i + self.eval_batch_size])
                            for i in range(0, x.shape[0], self.eval_batch_size)
                        ]
                    )
                    for name, x in (("train", s.train_x), ("val", s.val_x), ("test", s.test_x))
                }
        return run.features

    def _train_epoch(self, run: Run, epoch: int) -> EpochRecord:
        splits, model, optimizer = self.splits, run.model, run.optimizer
        batch_size = run.config["batch_size"]
        n = splits.n_train
        self._synchronize()
        started = time.perf_counter()
        inputs = self._inputs(run)
        train_x, forward = inputs["train"], trained_part(model)
        order = torch.randperm(n, generator=run.order_generator).to(self.device)
        total = torch.zeros((), device=self.device)
        model.train()
        for begin in range(0, n, batch_size):
            idx = order[begin : begin + batch_size]
            # index_select gathers rows about twice as fast as x[idx] (measured on CPU)
            targets = torch.index_select(splits.train_y, 0, idx)
            with torch.autocast(self.device.type, torch.bfloat16, enabled=self.precision == "bf16"):
                logits = forward(torch.index_select(train_x, 0, idx))
                loss = model.data_loss(logits, targets) + model.penalty()
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            if run.average is not None:
                run.average.update()
            total += loss.detach() * idx.shape[0]
        train_loss = float(total) / n  # one sync per epoch, not per batch
        self._synchronize()
        seconds = time.perf_counter() - started
        if not math.isfinite(train_loss):
            return EpochRecord.diverged(epoch, train_loss, seconds)
        evaluated = run.evaluated
        val_loss, val_error = self.evaluate(evaluated, inputs["val"], splits.val_y, trained_part(evaluated))
        _, test_error = self.evaluate(evaluated, inputs["test"], splits.test_y, trained_part(evaluated))
        if not math.isfinite(val_loss):
            return EpochRecord.diverged(epoch, train_loss, seconds)
        return EpochRecord(epoch, train_loss, val_loss, val_error, test_error, seconds, STATUS_OK)

    @torch.inference_mode()
    def evaluate(
        self, model: Classifier, x: torch.Tensor, y: torch.Tensor, forward: Any = None
    ) -> tuple[float, float]:
        """(objective, error rate) of `model` on (x, y); the objective includes the penalty.

        `forward` maps x to logits (the model itself unless x holds precomputed features).
        """
        forward = model if forward is None else forward
        model.eval()
        loss_sum = torch.zeros((), device=self.device)
        wrong = torch.zeros((), dtype=torch.int64, device=self.device)
        for begin in range(0, y.shape[0], self.eval_batch_size):
            xb, yb = x[begin : begin + self.eval_batch_size], y[begin : begin + self.eval_batch_size]
            logits = forward(xb)
            loss_sum += model.data_loss(logits, yb) * yb.shape[0]
            wrong += (logits.argmax(dim=1) != yb).sum()
        n = y.shape[0]
        return float(loss_sum) / n + float(model.penalty()), float(wrong) / n

    def errors(self, run: Run) -> dict[str, float]:
        """Error rates of `run`'s current model (its average, if kept) on the train, validation and test splits."""
        inputs, evaluated = self._inputs(run), run.evaluated
        s = self.splits
        labels = {"train": s.train_y, "val": s.val_y, "test": s.test_y}
        out = {
            name: self.evaluate(evaluated, inputs[name], labels[name], trained_part(evaluated))[1]
            for name in labels
        }
        run.features = None
        return out

    def _synchronize(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)


def save_checkpoint(run: Run, path: str | Path) -> None:
    """Write `run`'s state to `path` atomically (temporary file, then rename)."""
    buffer = io.BytesIO()
    torch.save(run.state_dict(), buffer)
    atomic_write_bytes(Path(path), buffer.getvalue())


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Read a checkpoint written by `save_checkpoint`."""
    return torch.load(Path(path), map_location="cpu", weights_only=True)
