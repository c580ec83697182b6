"""Datasets as verified IDX files turned into in-memory tensors."""

from hpo.data.idx import encode_idx, parse_idx
from hpo.data.source import FASHION_MNIST, DatasetSpec, locate
from hpo.data.splits import Splits, load_splits, make_splits

__all__ = [
    "FASHION_MNIST",
    "DatasetSpec",
    "Splits",
    "encode_idx",
    "load_splits",
    "locate",
    "make_splits",
    "parse_idx",
]
