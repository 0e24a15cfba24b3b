"""Checking a worker's packet before it reaches the decoder (Freivalds-style, O(n^2)).

A packet claims to be ``Y_w = sum_k g_w[k] P_k`` with ``P_k = A_i(k) @ B_j(k)``.  Computing
that again would cost as much as the worker's product.  Instead the parameter server
draws a random probe ``x`` (``probes`` Gaussian columns) once per job, precomputes
``v_k = A_i(k) @ (B_j(k) @ x)`` for every sub-product (matrix-vector products only), and
accepts a packet when::

    || Y x - sum_k g_k v_k ||_F  <=  rtol * ||x||_F * sum_k |g_k| ||A_i(k)||_F ||B_j(k)||_F.

The right-hand side bounds the rounding error of any honest evaluation of the packet
(``|fl(AB) - AB| <= gamma_n |A||B|``), so a correct packet passes for any ``rtol`` above a
few ``eps * n``; the default is ``32 * eps * inner`` with ``inner`` the shared dimension of
``A`` and ``B``.  A wrong packet passes only if its error ``E`` happens to satisfy
``||E x|| <= bound``: for a fixed ``E`` above the bound and Gaussian ``x`` that has
probability of the order of ``(bound / ||E||)^probes``.  Non-finite entries and a wrong
shape are rejected before the probe.  Each check costs ``O(U Q)`` for a ``U×Q`` packet.
"""

from __future__ import annotations

import numpy as np

from ._validation import positive_float, positive_int
from .partition import Partition
from .sparse import frobenius, is_sparse

__all__ = ["PacketVerifier", "VERDICTS", "default_rtol"]

#: What :meth:`PacketVerifier.check` can answer; everything but ``"ok"`` is an erasure.
VERDICTS = ("ok", "malformed", "nonfinite", "corrupt")


class PacketVerifier:
    """Per-job packet check: shape, finiteness, and a randomized probe of the coded product.

    ``a_blocks`` / ``b_blocks`` are the job's blocks (as in :class:`~uepmm.job.Job`).
    ``rng`` draws the probe; pass a seeded ``numpy.random.Generator`` for reproducibility.
    """

    def __init__(
        self,
        partition: Partition,
        a_blocks: list[np.ndarray],
        b_blocks: list[np.ndarray],
        *,
        rng: np.random.Generator | None = None,
        probes: int = 2,
        rtol: float | None = None,
    ):
        if rng is None:
            rng = np.random.default_rng()
        if not isinstance(rng, np.random.Generator):
            raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
        probes = positive_int(probes, "probes")
        self.shape = tuple(int(s) for s in partition.product_shape)
        K = partition.num_products
        dtype = np.result_type(a_blocks[0].dtype, b_blocks[0].dtype)
        self.rtol = default_rtol(dtype, partition.a_shape[1]) if rtol is None else positive_float(rtol, "verify_rtol")

        self._x = rng.standard_normal((self.shape[1], probes))
        self._x_norm = float(np.linalg.norm(self._x))
        a_norm = self._a_norm = [frobenius(a) for a in a_blocks]
        b_norm = self._b_norm = [frobenius(b) for b in b_blocks]
        self._a_blocks = a_blocks
        self._pairs: dict[tuple[int, int], np.ndarray] = {}  # A_i B_j x for factor-form packets
        b_probe = self._b_probe = {}
        self._v = np.empty((K, self.shape[0], probes))
        self._weight = np.empty(K)
        for k in range(K):
            i, j = partition.factors(k)
            if j not in b_probe:
                b_probe[j] = _float64(b_blocks[j]) @ self._x
            self._v[k] = _float64(a_blocks[i]) @ b_probe[j]
            self._weight[k] = a_norm[i] * b_norm[j]

    def check(self, row: np.ndarray, packet: object, factors: tuple[np.ndarray, np.ndarray] | None = None) -> str:
        """``"ok"`` if ``packet`` is the coded product for coefficient row ``row``, else why not.

        ``factors = (alpha, beta)``: the packet is the factor form ``(sum alpha_i A_i)(sum beta_j B_j)``
        with every cross term (MatDot), checked against ``sum alpha_i beta_j A_i B_j x``.
        """
        if not isinstance(packet, np.ndarray) or packet.shape != self.shape:
            return "malformed"
        if not np.issubdtype(packet.dtype, np.floating) and not np.issubdtype(packet.dtype, np.integer):
            return "malformed"
        if not np.all(np.isfinite(packet)):
            return "nonfinite"
        if factors is not None:
            expected, weight = self._factor_probe(*factors)
            residual = packet.astype(np.float64, copy=False) @ self._x - expected
            return "ok" if float(np.linalg.norm(residual)) <= self.rtol * self._x_norm * weight else "corrupt"
        return self.probe_verdict(row, packet.astype(np.float64, copy=False) @ self._x)

    def _factor_probe(self, alpha: np.ndarray, beta: np.ndarray) -> tuple[np.ndarray, float]:
        """``sum_ij alpha_i beta_j A_i B_j x`` (each pair's probe computed once) and its rounding weight."""
        expected = np.zeros((self.shape[0], self._x.shape[1]))
        weight = 0.0
        for i in np.flatnonzero(alpha):
            for j in np.flatnonzero(beta):
                if (i, j) not in self._pairs:
                    a = _float64(self._a_blocks[i])
                    inner = min(a.shape[1], self._b_probe[j].shape[0])  # zero padding adds nothing
                    probe = np.zeros_like(expected)
                    probe[: a.shape[0]] = a[:, :inner] @ self._b_probe[j][:inner]
                    self._pairs[(i, j)] = probe
                expected += alpha[i] * beta[j] * self._pairs[(i, j)]
                weight += abs(alpha[i] * beta[j]) * self._a_norm[i] * self._b_norm[j]
        return expected, weight

    @property
    def probe(self) -> np.ndarray:
        """The probe ``x`` (packet columns × probes): a packet's worker may compute ``Y x`` itself."""
        return self._x

    def probe_verdict(self, row: np.ndarray, packet_x: np.ndarray) -> str:
        """``"ok"`` or ``"corrupt"`` from ``Y x`` alone (a finite packet of the right shape).

        The Dask path for data on the cluster computes ``Y x`` where the packet lives, so
        no packet travels to the parameter server (docs/distributed.md).
        """
        row = np.asarray(row, dtype=np.float64)
        residual = np.asarray(packet_x, dtype=np.float64) - np.tensordot(row, self._v, axes=1)
        bound = self.rtol * self._x_norm * float(np.abs(row) @ self._weight)
        return "ok" if float(np.linalg.norm(residual)) <= bound else "corrupt"

    @classmethod
    def from_references(
        cls, shape: tuple[int, int], x: np.ndarray, references: np.ndarray, weights: np.ndarray, rtol: float
    ) -> PacketVerifier:
        """A verifier from ``v_k = A_i(k) (B_j(k) x)`` and ``||A_i(k)||_F ||B_j(k)||_F`` computed elsewhere
        (on the Dask workers that hold the blocks), for :meth:`probe_verdict`."""
        self = cls.__new__(cls)
        self.shape = tuple(int(s) for s in shape)
        self.rtol = positive_float(rtol, "verify_rtol")
        self._x = np.asarray(x, dtype=np.float64)
        self._x_norm = float(np.linalg.norm(self._x))
        self._v = np.asarray(references, dtype=np.float64)
        self._weight = np.asarray(weights, dtype=np.float64)
        return self


def default_rtol(dtype: np.dtype, inner: int) -> float:
    """The probe's default tolerance, ``32 * eps * inner`` (float64's eps for integer data)."""
    eps = float(np.finfo(dtype).eps) if np.issubdtype(dtype, np.floating) else float(np.finfo(np.float64).eps)
    return 32.0 * eps * inner


def _float64(block):
    """A block as a float64 operand of a matrix-vector product (scipy sparse stays sparse)."""
    return block.astype(np.float64, copy=False) if is_sparse(block) else np.asarray(block, dtype=np.float64)
