"""hpo.validation: one line per bad scalar, naming it and what is accepted."""

from __future__ import annotations

import pytest

from hpo.errors import ConfigError
from hpo.validation import check_int, check_positive, env_amount


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: check_int("--seeds", 0), "--seeds must be an integer >= 1, got 0"),
        (lambda: check_int("--seeds", 2.0), "--seeds must be an integer >= 1, got 2.0"),
        (lambda: check_int("--seeds", True), "--seeds must be an integer >= 1, got True"),
        (lambda: check_int("--seeds", None), "--seeds must be an integer >= 1, got None"),
        (lambda: check_int("r_min", 0, unit=" (epochs)"), r"r_min must be an integer >= 1 \(epochs\), got 0"),
        (lambda: check_int("k", 1, low=2), "k must be an integer >= 2, got 1"),
        (lambda: check_positive("budget seconds", 0), "budget seconds must be > 0, got 0"),
        (lambda: check_positive("x", float("nan")), "x must be > 0, got nan"),
        (lambda: check_positive("x", "1"), "x must be > 0, got '1'"),
    ],
)
def test_bad_scalars(call, message) -> None:
    with pytest.raises(ConfigError, match=f"^{message}$"):
        call()


def test_good_scalars_pass() -> None:
    check_int("--seeds", 1)
    check_int("--workers", None, optional=True)
    check_positive("x", 0.5)
    check_positive("x", None, optional=True)


def test_an_amount_from_the_environment_is_a_number_at_least_zero_or_one_line(monkeypatch) -> None:
    # the plug-in time limit and the replay processes' memory limit are read this way
    monkeypatch.delenv("HPOBENCH_X", raising=False)
    assert env_amount("HPOBENCH_X", "GB") is None
    monkeypatch.setenv("HPOBENCH_X", "1.5")
    assert env_amount("HPOBENCH_X", "GB") == 1.5
    for bad, words in (
        ("abc", "is not a number of GB"),
        ("-1", "must be >= 0 GB"),
        ("nan", "must be >= 0 GB"),
    ):
        monkeypatch.setenv("HPOBENCH_X", bad)
        with pytest.raises(ConfigError, match=f"HPOBENCH_X='{bad}' {words} \\(0 for no limit\\)"):
            env_amount("HPOBENCH_X", "GB")
