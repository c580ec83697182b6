"""The session layer: what each command does between parsing its options and printing.

`run` plans, runs and resumes one experiment; `compare` a comparison of algorithms on the cache;
`agree` live runs beside their replays. Each plans from the command's options (a bad combination
is a ConfigError), runs what is not yet done, keeps what finished, and returns what the command
prints. No session imports a command, and no command another.
"""

__all__: list[str] = []
