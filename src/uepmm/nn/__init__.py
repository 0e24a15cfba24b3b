"""Neural-network training with coded back-propagation products (paper Sec. VII).

* :mod:`uepmm.nn.datasets` -- offline MNIST / CIFAR-10 loaders (numpy only).
* :mod:`uepmm.nn.models` -- the networks of Fig. 12 and Table V (needs torch).

Nothing is imported here, so ``import uepmm.nn.datasets`` works without torch.
"""
