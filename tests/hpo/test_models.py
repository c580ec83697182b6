from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from hpo.errors import ConfigError
from hpo.models import MODELS, ModelContext, build_model, get_model, validate_config
from hpo.models.sgd import one_vs_rest_hinge

CTX = ModelContext((1, 28, 28), 10, 48000)


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize("name", list(MODELS))
def test_every_model_maps_images_to_class_scores(name: str) -> None:
    model = build_model(name, MODELS[name].defaults, CTX, gen())
    logits = model(torch.rand(5, 1, 28, 28))
    assert logits.shape == (5, 10)
    loss = model.data_loss(logits, torch.arange(5)) + model.penalty()
    assert torch.isfinite(loss)


@pytest.mark.parametrize("name", list(MODELS))
def test_same_generator_same_weights(name: str) -> None:
    a = build_model(name, MODELS[name].defaults, CTX, gen(3)).state_dict()
    b = build_model(name, MODELS[name].defaults, CTX, gen(3)).state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_unknown_model_lists_accepted() -> None:
    with pytest.raises(ConfigError, match=r"unknown model 'resnet'; accepted: softmax, lenet, sgd, svm"):
        get_model("resnet")


def test_missing_and_unknown_hyperparameters_are_named() -> None:
    with pytest.raises(
        ConfigError,
        match=r"missing hyperparameter 'alpha' for model 'sgd'; required: learning_rate, batch_size, alpha, l1_ratio",
    ):
        validate_config("sgd", {"learning_rate": 0.1, "batch_size": 32, "l1_ratio": 0.5})
    with pytest.raises(ConfigError, match="unknown hyperparameter 'momentum'"):
        validate_config("softmax", {"learning_rate": 0.1, "batch_size": 32, "momentum": 0.9})


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("batch_size", 0, r"batch_size=0 is invalid: expected an integer from 1 to 2\*\*31-1"),
        ("batch_size", 2.5, r"batch_size=2.5 is invalid"),
        ("learning_rate", -0.1, r"learning_rate=-0.1 is invalid: expected a number > 0"),
        ("learning_rate", float("nan"), r"learning_rate=nan is invalid"),
        ("C", 0.0, r"C=0.0 is invalid: expected a number > 0"),
    ],
)
def test_meaningless_values_are_refused(key: str, value: float, message: str) -> None:
    name = "svm"
    config = {**MODELS[name].defaults, key: value}
    with pytest.raises(ConfigError, match=message):
        validate_config(name, config)


def test_values_outside_the_search_space_are_allowed() -> None:
    assert validate_config("softmax", {"learning_rate": 5.0, "batch_size": 2048})["batch_size"] == 2048


def test_lenet_is_lenet5() -> None:
    model = build_model("lenet", MODELS["lenet"].defaults, CTX, gen())
    assert sum(p.numel() for p in model.parameters()) == 61706
    kinds = [type(m).__name__ for m in model.layers]
    assert kinds.count("Sigmoid") == 4 and kinds.count("AvgPool2d") == 2
    conv = model.layers[0]
    fan_in, fan_out = 1 * 25, 6 * 25
    bound = math.sqrt(6.0 / (fan_in + fan_out))  # Xavier uniform
    assert float(conv.weight.detach().abs().max()) <= bound
    assert float(conv.weight.detach().abs().max()) > 0.8 * bound
    assert float(conv.bias.detach().abs().max()) == 0.0


def test_default_spaces_are_the_notebooks() -> None:
    space = MODELS["svm"].space
    assert space.to_dict() == {
        "learning_rate": {"type": "loguniform", "low": 1e-4, "high": 1.0},
        "batch_size": {"type": "int", "low": 32, "high": 511},
        "C": {"type": "loguniform", "low": 1e-2, "high": 1e2},
        "gamma": {"type": "loguniform", "low": 1e-6, "high": 1e-1},
    }
    assert MODELS["sgd"].space["alpha"].to_dict() == {"type": "loguniform", "low": 1e-6, "high": 1e-1}
    assert MODELS["sgd"].space["l1_ratio"].to_dict() == {"type": "uniform", "low": 0.0, "high": 1.0}


def test_sgd_objective_is_sklearn_elastic_net_hinge() -> None:
    config = {"learning_rate": 0.1, "batch_size": 32, "alpha": 0.01, "l1_ratio": 0.3}
    model = build_model("sgd", config, ModelContext((4,), 3, 100), gen())
    with torch.no_grad():
        model.linear.weight.copy_(
            torch.tensor([[1.0, -2.0, 0.0, 0.5], [0.0, 1.0, 1.0, 0.0], [-1.0, 0.0, 0.0, 3.0]])
        )
        model.linear.bias.copy_(torch.tensor([0.5, 0.0, -0.5]))
    x = torch.tensor([[1.0, 0.0, 0.0, 0.0], [0.0, 1.0, 0.0, 1.0]])
    y = torch.tensor([0, 2])
    # by hand, class scores: x0 -> [1.5, 0, -1.5]; x1 -> [-1.5, 1, 2.5]
    # x0 (y=0): max(0,1-1.5)=0, max(0,1+0)=1, max(0,1-1.5)=0 -> 1
    # x1 (y=2): max(0,1-1.5)=0, max(0,1+1)=2, max(0,1-2.5)=0 -> 2
    hinge = (1 + 2) / 2
    w = model.linear.weight.detach().numpy()
    penalty = 0.01 * (0.3 * np.abs(w).sum() + 0.5 * 0.7 * (w**2).sum())
    loss = (model.data_loss(model(x), y) + model.penalty()).detach()
    assert float(loss) == pytest.approx(hinge + penalty, rel=1e-6)
    assert float(one_vs_rest_hinge(model(x), y).detach()) == pytest.approx(hinge)


def test_svm_penalty_uses_sklearn_c_convention() -> None:
    config = {"learning_rate": 0.1, "batch_size": 32, "C": 2.0, "gamma": 0.01}
    model = build_model("svm", config, ModelContext((4,), 3, 1000), gen())
    with torch.no_grad():
        model.linear.weight.fill_(1.0)
    n_weights = model.linear.weight.numel()
    # the layer's weights act on sqrt(D)-scaled features: on the kernel's features they are D times
    # larger in squared norm, and that is what C penalises
    assert float(model.penalty().detach()) == pytest.approx(100 * n_weights / (2 * 2.0 * 1000))


def test_random_fourier_features_approximate_the_rbf_kernel() -> None:
    gamma = 0.05
    config = {"learning_rate": 0.1, "batch_size": 32, "C": 1.0, "gamma": gamma}
    from hpo.models.svm import RandomFourierSVM

    model = RandomFourierSVM(1.0, gamma, ModelContext((8,), 2, 10), gen(1), n_components=20000)
    x = torch.randn(6, 8, generator=gen(2))
    z = model.feature_map(x) / math.sqrt(20000)  # the features as the kernel sees them
    approx = z @ z.T
    exact = torch.exp(-gamma * torch.cdist(x, x) ** 2)
    assert float((approx - exact).abs().max()) < 0.04
    assert config  # the registry builds the same class with the default 100 components
    assert build_model("svm", config, CTX, gen()).projection.shape == (784, 100)
