"""LeNet-5 and, fenced here, the CPU fast path it alone uses.

`model` is the network and its registry entry; `kernels` the same function computed with the
layouts, fusions and the C++ conv1 measured fastest on CPU; `native` builds and loads that C++
(`lenet_block1.cpp`) with the machine's compiler. Nothing outside this package imports them: the
registry entry tells the trainer what to prepare and provenance what ran.
"""

from hpo.models.lenet.model import SPEC, LeNet

__all__ = ["SPEC", "LeNet"]
