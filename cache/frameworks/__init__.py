"""hpobench's tasks inside other frameworks: thin files over the black box (`cache.lookup.blackbox`).

- `synetune`: a model's cache as a Syne Tune tabular blackbox, for Syne Tune's simulator;
- `carps`: a model's benchmark as a CARP-S objective function and task, for CARP-S's optimizers.
"""

__all__: list[str] = []
