"""uepmm: straggler-resilient distributed approximate matrix multiplication with UEP codes."""

__version__ = "0.1.0"
