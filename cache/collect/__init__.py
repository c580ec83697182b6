"""Collection: real trainings of a design of configs into the store, resumably (`collection`),
and the designs themselves (`design`)."""

__all__: list[str] = []
