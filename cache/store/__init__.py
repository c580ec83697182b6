"""The store: curve files on disk, their schema and digests, where the caches live, and reading
a model's rows back (`shards` for the files, `tables` for the rows, `verify` for checks)."""

__all__: list[str] = []
