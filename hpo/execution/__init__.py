"""Where work runs: the Dask client and local clusters (`cluster`), trainings on its workers
(`remote`), and the submission of many tasks with their retries (`cluster.run_all`).

Everything that talks to Dask is here; the rest of the package hands it functions and reads
back results. Code from outside the package runs in watched processes (`hpo.isolation`).
"""

__all__: list[str] = []
