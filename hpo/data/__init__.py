"""Datasets as verified IDX files turned into in-memory tensors."""

from hpo.data.idx import encode_idx, parse_idx
from hpo.data.source import DATASETS, FASHION_MNIST, DatasetSpec, get_dataset, locate
from hpo.data.splits import Splits, load_splits, make_splits

__all__ = [
    "DATASETS",
    "FASHION_MNIST",
    "DatasetSpec",
    "Splits",
    "encode_idx",
    "get_dataset",
    "load_splits",
    "locate",
    "make_splits",
    "parse_idx",
]
