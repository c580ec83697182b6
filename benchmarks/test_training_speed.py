"""Epoch time of the trainer against the reference's per-sample DataLoader pipeline.

Issue 2's targets: softmax, sgd and svm at least 5x faster than the per-sample pipeline
measured in the same run; LeNet at most 1.2 s/epoch at batch 256 with 2 threads (within 4x of
the 0.31 s compute bound of the 2-core AVX-512 EPYC where it was set), printed beside a plain
in-memory loop measured in the same run.
"""

from __future__ import annotations

import time

import pytest
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset

from hpo.models import ModelContext, build_model
from hpo.models.lenet import native
from hpo.models.lenet.kernels import lenet_block1
from hpo.training import Trainer
from hpo.training.device import cpu_has_native_bf16

BATCH = 256
CONFIGS = {
    "softmax": {"learning_rate": 0.1, "batch_size": BATCH},
    "sgd": {"learning_rate": 0.01, "batch_size": BATCH, "alpha": 1e-4, "l1_ratio": 0.15},
    "svm": {"learning_rate": 0.1, "batch_size": BATCH, "C": 1.0, "gamma": 0.01},
    "lenet": {"learning_rate": 0.1, "batch_size": BATCH},
}


class PerSample(Dataset):
    """The reference's pipeline: one uint8 image at a time, converted as ToTensor does."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor) -> None:
        self.images = (images * 255).round().to(torch.uint8).squeeze(1).numpy()
        self.labels = labels.numpy()

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i):
        return torch.from_numpy(self.images[i]).float().div(255).unsqueeze(0), int(self.labels[i])


def dataloader_epoch(model_name: str, splits) -> float:
    """Seconds for one training epoch through a per-sample DataLoader (no evaluation)."""
    context = ModelContext((1, 28, 28), 10, splits.n_train)
    model = build_model(model_name, CONFIGS[model_name], context, torch.Generator().manual_seed(0))
    optimizer = torch.optim.SGD(model.parameters(), lr=CONFIGS[model_name]["learning_rate"])
    loader = DataLoader(PerSample(splits.train_x, splits.train_y), batch_size=BATCH, shuffle=True)
    start = time.perf_counter()
    for x, y in loader:
        loss = model.data_loss(model(x), y) + model.penalty()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return time.perf_counter() - start


def plain_loop_epoch(splits) -> float:
    """Seconds for one LeNet training epoch of a naive in-memory loop: nn layers, NCHW, eager."""
    context = ModelContext((1, 28, 28), 10, splits.n_train)
    model = build_model("lenet", CONFIGS["lenet"], context, torch.Generator().manual_seed(0))
    network = model.layers.to(memory_format=torch.contiguous_format)
    optimizer = torch.optim.SGD(network.parameters(), lr=CONFIGS["lenet"]["learning_rate"])
    order = torch.randperm(splits.n_train, generator=torch.Generator().manual_seed(0))
    start = time.perf_counter()
    for batch in order.split(BATCH):
        loss = F.cross_entropy(network(splits.train_x[batch]), splits.train_y[batch])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return time.perf_counter() - start


def one_epoch(model_name: str, trainer: Trainer):
    """Benchmark setup + target: a warmed-up run, then one more epoch (training and evaluation)."""
    run = trainer.start(model_name, CONFIGS[model_name], seed=0)
    trainer.advance(run, 1)  # the first epoch carries one-off work (feature maps, warm-up)
    return run


def timed_epochs(benchmark, model_name: str, trainer: Trainer, rounds: int) -> float:
    """Run `rounds` epochs under the benchmark; return the best recorded training seconds."""
    runs = []

    def setup():
        run = one_epoch(model_name, trainer)
        runs.append(run)
        return (run, 2), {}

    benchmark.pedantic(trainer.advance, setup=setup, rounds=rounds, iterations=1)
    return min(run.curve[1].epoch_seconds for run in runs)


@pytest.mark.parametrize("model_name", ["softmax", "sgd", "svm"])
def test_linear_models_against_dataloader(benchmark, splits, figures, model_name) -> None:
    trainer = Trainer(splits)
    reference = min(dataloader_epoch(model_name, splits) for _ in range(2))
    ours = timed_epochs(benchmark, model_name, trainer, rounds=5)
    figures.append(
        f"{model_name:8s} per-sample DataLoader {reference:.3f} s/epoch, trainer {ours:.3f} s/epoch "
        f"(training only; the benchmark row adds evaluation): {reference / ours:.1f}x faster (target >= 5x)"
    )


# in this order: once loaded (the "native" case), the C++ conv1 stays loaded for the process
@pytest.mark.parametrize(("precision", "conv1_path"), [("fp32", "off"), ("fp32", "native"), ("bf16", "")])
def test_lenet_epoch(benchmark, splits, figures, precision, conv1_path, monkeypatch) -> None:
    if precision == "bf16" and not cpu_has_native_bf16():
        # emulated: 207 ms a step against 26 in fp32 on a 2-core AVX2 EPYC, 40 s an epoch
        pytest.skip("this CPU has no native bfloat16 instructions (avx512_bf16)")
    if conv1_path == "native":
        monkeypatch.setenv(native.ENABLE_ENV, "1")  # the opt-in C++ conv1 (hpo/models/lenet/native.py)
        if lenet_block1.get() is None:
            pytest.skip(f"LeNet's C++ kernel: {lenet_block1.status()}")
    else:
        monkeypatch.delenv(native.ENABLE_ENV, raising=False)
    trainer = Trainer(splits, precision=precision)
    plain = min(plain_loop_epoch(splits) for _ in range(2))
    seconds = timed_epochs(benchmark, "lenet", trainer, rounds=3)
    conv1 = lenet_block1.status() if precision == "fp32" else "oneDNN, channels_last"
    # The 1.2 s target holds for a 2-core AVX-512 EPYC (what the issue measured on); the plain
    # loop in the same run tells how fast this machine is.
    figures.append(
        f"lenet    plain in-memory loop {plain:.3f} s/epoch, trainer {seconds:.3f} s/epoch (training only, "
        f"{precision}, conv1 {conv1}) at batch {BATCH}, {torch.get_num_threads()} threads "
        f"on {torch.backends.cpu.get_cpu_capability()}: {plain / seconds:.2f}x faster than the plain loop "
        f"(target <= 1.2 s on a 2-core AVX-512 EPYC)"
    )
