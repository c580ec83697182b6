"""Search spaces in the field's other formats, both ways: ConfigSpace (SMAC, DEHB, HPOBench,
CARP-S), Optuna distributions, Syne Tune config spaces. Each needs its optional package."""

__all__: list[str] = []
