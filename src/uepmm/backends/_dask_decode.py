"""Packets that stay on the cluster: placing blocks, checking packets, decoding with tasks.

The Dask path for ``dask.array`` inputs (:mod:`uepmm.backends._dask_arrays`).  The parameter
server (PS) holds only K-dimensional algebra:

* **Blocks** (:func:`place_blocks`): the lazy block tasks are computed on the cluster as
  futures; Dask moves each to the workers whose logical workers read it before they start.
* **Packets**: a logical worker's result ``(packet, info)`` stays on its Dask worker as a
  future.  A second task there, :func:`summarize_packet`, returns what the PS checks: the
  shape, finiteness and ``Y x`` for the Freivalds probe of :mod:`uepmm.verification`, whose
  references ``v_k = A_i (B_j x)`` are also computed on the cluster (:func:`cluster_verifier`).
  So every packet is verified, by the PS, from ``O(U)`` numbers.
* **Decoding** (:class:`ClusterSession`): the rank decision on the coefficient rows
  (:class:`~uepmm.decoding.RecoveryTracker`); a recovered block's coefficients
  ``G^T c = e_k`` when it becomes recoverable; the decoder's ``K × n`` mix (diagonal decoders:
  scaled ``c``; LMMSE: ``W``).  Every block of ``C_hat`` (c×r: the sum) is one task,
  :func:`combine_packets`, a weighted sum of packet futures.  ``estimate()`` is a lazy
  ``dask.array`` of those tasks, in the original row and column order (the inverse
  permutation is a lazy ``take``); the job's result runs them as futures.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..decoders import DecodeContext, Decoder, DecodeSession
from ..decoding import RecoveryTracker, _combine_chunked, recovery_coefficients
from ..verification import PacketVerifier, default_rtol

__all__ = [
    "PacketSummary", "is_cluster_job", "summarize_packet", "combine_packets", "place_blocks", "cluster_verifier",
    "ClusterVerifier", "summarize", "ClusterDecoding", "ClusterSession",
]

PROBES = 2  # probe columns, as PacketVerifier's default


# ------------------------------------------------------------ run on Dask workers
@dataclass(frozen=True)
class PacketSummary:
    """What the PS learns of a packet that stays on the cluster (a few hundred bytes)."""

    shape: tuple[int, ...]
    kind: str  # numpy dtype kind
    finite: bool
    packet_x: np.ndarray | None  # Y @ x (float64), when a probe was given


def summarize_packet(result: Any, x: np.ndarray | None) -> tuple[PacketSummary | None, dict[str, Any]]:
    """``(summary, info)`` of a logical worker's ``(packet, info)``; ``None`` for a released task."""
    payload, info = result
    if payload is None:
        return None, info
    if not isinstance(payload, np.ndarray) or payload.ndim != 2 or payload.dtype.kind not in "fiu":
        return PacketSummary(tuple(np.shape(payload)), getattr(getattr(payload, "dtype", None), "kind", "O"),
                             False, None), info
    finite = bool(np.isfinite(payload).all())
    packet_x = None
    if x is not None and finite and payload.shape[1] == x.shape[0]:
        packet_x = np.asarray(payload, dtype=np.float64) @ x
    return PacketSummary(payload.shape, payload.dtype.kind, finite, packet_x), info


def _probe_b(b_block: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, float, str]:
    """``(B_j x, ||B_j||_F, dtype)`` in float64, where ``B_j`` lives: only ``B_j x`` moves on."""
    b = np.asarray(b_block, dtype=np.float64)
    return b @ x, float(np.linalg.norm(b)), b_block.dtype.str


def _probe_reference(a_block: np.ndarray, b_part: tuple) -> tuple[np.ndarray, float, float, str]:
    """``(A_i (B_j x), ||A_i||_F, ||B_j||_F, dtype of A_i B_j)`` for one sub-product (float64 algebra)."""
    bx, b_norm, b_dtype = b_part
    a = np.asarray(a_block, dtype=np.float64)
    return a @ bx, float(np.linalg.norm(a)), b_norm, np.result_type(a_block.dtype, np.dtype(b_dtype)).str


def combine_packets(weights: np.ndarray, crop: tuple[int, int], dtype: str, *results: Any) -> np.ndarray:
    """``sum_i weights[i] Y_i`` over logical workers' ``(packet, info)`` results, cropped to ``crop``."""
    packets = [r[0] for r in results]
    out = np.empty((1, *packets[0].shape), dtype=np.dtype(dtype))
    _combine_chunked(np.asarray(weights, dtype=np.float64)[:, None], packets, out, accumulate=False)
    block = out[0]
    if block.shape != tuple(crop):
        block = np.ascontiguousarray(block[: crop[0], : crop[1]])
    return block


# ------------------------------------------------------------ the backend's steps
def is_cluster_job(job: Any) -> bool:
    """The job's blocks are lazy tasks on the cluster (:func:`lazy_blocks`), not arrays."""
    return bool(job.a_blocks) and hasattr(job.a_blocks[0], "__dask_graph__")


def place_blocks(client: Any, job: Any, wait_for_them: bool = True) -> dict[tuple[str, int], Any]:
    """Compute every block task on the cluster; ``{("a" | "b", i): future}`` once they exist
    (``wait_for_them=False``: at once; the tasks that read a block wait for it themselves)."""
    from distributed import wait

    keys = [("a", i) for i in range(len(job.a_blocks))] + [("b", j) for j in range(len(job.b_blocks))]
    futures = client.compute(list(job.a_blocks) + list(job.b_blocks))
    if wait_for_them:
        with client.as_current():
            wait(futures)
    return dict(zip(keys, futures))


class ClusterVerifier:
    """The PS's check of a :class:`PacketSummary`: shape, finiteness, and the probe if any.

    ``pending``: the probe's references still on the cluster, ``(client, x, futures, rtol, inner)``
    with one future per sub-product; a check gathers those of its row's support when it needs
    them (so a job need not wait for every block before its first packet).
    """

    def __init__(self, shape: tuple[int, int], probe: PacketVerifier | None, pending: tuple | None = None):
        self.shape = tuple(int(s) for s in shape)
        self.probe = probe
        self.rtol = None if probe is None else probe.rtol
        self._pending = pending
        if pending is not None:
            K, n = len(pending[2]), pending[1].shape[1]
            self._v, self._w, self._known = np.zeros((K, self.shape[0], n)), np.zeros(K), np.zeros(K, dtype=bool)

    @property
    def x(self) -> np.ndarray | None:
        if self._pending is not None:
            return self._pending[1]
        return None if self.probe is None else self.probe.probe

    def _gather(self, row: np.ndarray) -> None:
        """Fetch the references of ``row``'s support not fetched yet; rebuild the probe."""
        client, x, futures, rtol, inner = self._pending
        need = [int(k) for k in np.flatnonzero(row) if not self._known[k]]
        if not need and self.probe is not None:
            return
        parts = client.gather([futures[k] for k in need])
        for k, (v, a_norm, b_norm, dtype) in zip(need, parts):
            self._v[k], self._w[k], self._known[k] = v, a_norm * b_norm, True
            if self.rtol is None:
                self.rtol = rtol if rtol is not None else default_rtol(np.dtype(dtype), inner)
        if self.rtol is not None:
            self.probe = PacketVerifier.from_references(self.shape, x, self._v, self._w, self.rtol)

    def check(self, row: np.ndarray, summary: Any, factors: Any = None) -> str:
        """The verdict on a packet's summary; ``factors`` is unused: the codes served here have exact
        coefficient rows (a factor-form packet ``alpha ⊗ beta`` included), MatDot is refused earlier."""
        if not isinstance(summary, PacketSummary) or summary.shape != self.shape or summary.kind not in "fiu":
            return "malformed"
        if not summary.finite:
            return "nonfinite"
        if self._pending is not None:
            self._gather(row)
        if self.probe is None:
            return "ok"
        return self.probe.probe_verdict(row, summary.packet_x)


def cluster_verifier(
    client: Any, job: Any, refs: dict, rng: np.random.Generator | None, rtol: float | None, lazy: bool = False
) -> ClusterVerifier:
    """A :class:`ClusterVerifier`; with ``rng`` its probe's references come from the cluster
    (``lazy``: as each packet's check needs them, rather than all now)."""
    import dask

    layout = job.partition
    shape = layout.product_shape
    if rng is None:
        return ClusterVerifier(shape, None)
    x = rng.standard_normal((shape[1], PROBES))
    pairs = [layout.factors(k) for k in range(layout.num_products)]
    b_parts = {j: dask.delayed(_probe_b, pure=False)(refs[("b", j)], x) for j in sorted({j for _, j in pairs})}
    tasks = [dask.delayed(_probe_reference, pure=False)(refs[("a", i)], b_parts[j]) for i, j in pairs]
    if lazy:
        return ClusterVerifier(shape, None, (client, x, client.compute(tasks), rtol, layout.a_shape[1]))
    parts = client.gather(client.compute(tasks))
    references = np.stack([v for v, _, _, _ in parts])
    weights = np.array([a * b for _, a, b, _ in parts])
    if rtol is None:
        rtol = default_rtol(np.dtype(parts[0][3]), layout.a_shape[1])
    return ClusterVerifier(shape, PacketVerifier.from_references(shape, x, references, weights, rtol))


def summarize(client: Any, futures: list, owner: dict[str, int], placement: list[str], verifier: ClusterVerifier):
    """One :func:`summarize_packet` task per logical-worker task, on its Dask worker.

    Returns the summary futures (what the PS waits for), summary key -> logical worker, and
    summary key -> the packet's future (what the decoder combines).
    """
    summaries, refs, by_key = [], {}, {}
    for future in futures:
        w = owner[future.key]
        summary = client.submit(
            summarize_packet, future, verifier.x, key=f"{future.key}-summary", workers=[placement[w]],
            allow_other_workers=False, pure=False, retries=0,
        )
        summaries.append(summary)
        by_key[summary.key] = w
        refs[summary.key] = future
    return summaries, by_key, refs


# ------------------------------------------------------------------- decoding
class ClusterDecoding:
    """Decoding with tasks on ``client``'s cluster (``JobPlan.cluster``)."""

    def __init__(self, client: Any):
        self.client = client

    @staticmethod
    def check_decoder(decoder: Decoder) -> None:
        """Diagonal decoders (``scales``) and mixing decoders (``weights``) combine packets on the cluster."""
        if decoder.diagonal or type(decoder).weights is not Decoder.weights:
            return
        raise ValueError(
            f"decoder {decoder.name!r} cannot decode packets that stay on the cluster: it gives neither "
            f"Decoder.scales (diagonal) nor Decoder.weights (a K x n mix); use decoder='zero', 'lmmse' or "
            f"'unbiased', or numpy inputs"
        )

    def start(self, decoder: Decoder, context: DecodeContext) -> ClusterSession:
        self.check_decoder(decoder)
        decoder.check(context)
        return ClusterSession(decoder, context, self.client)

    def finish(self, session: ClusterSession):
        """The job's ``C_hat``: the combination tasks run now as futures, a lazy array over them."""
        from distributed import wait

        pieces = session.combinations()
        futures = self.client.compute(list(pieces.values()))
        with self.client.as_current():
            wait(futures)
        return session.assemble(dict(zip(pieces, futures)))


class ClusterSession(DecodeSession):
    """A :class:`~uepmm.decoders.DecodeSession` whose payloads are packet futures."""

    def __init__(self, decoder: Decoder, context: DecodeContext, client: Any):
        self.decoder, self.context, self.client = decoder, context, client
        K = context.num_products
        self.tracker = RecoveryTracker(K)
        self.recovered = self.tracker.recovered
        self._rows = np.zeros((context.workers, K))
        self._packets: list[Any] = []
        self._coefficients: dict[int, np.ndarray] = {}  # diagonal decoders: k -> weights over packets 0..i

    def add(self, row: np.ndarray, payload: Any, worker: int | None = None) -> np.ndarray:
        if payload is None or not hasattr(payload, "key"):
            raise TypeError(f"a packet on the cluster is a distributed.Future, got {type(payload).__name__}")
        n = len(self._packets)
        self._rows[n] = row
        self._packets.append(payload)
        new = self.tracker.add(row)
        if new.size and self.decoder.diagonal:
            new, coefficients = recovery_coefficients(self._rows[: n + 1], new, self.tracker)
            for j, k in enumerate(new.tolist()):
                self._coefficients[k] = coefficients[:, j]
        return new

    def mix(self) -> np.ndarray:
        """``K × n``: block ``k`` of ``P_hat`` is ``sum_i mix[k, i] Y_i`` over the received packets."""
        n, K = len(self._packets), self.context.num_products
        rows = self._rows[:n]
        if not self.decoder.diagonal:
            return np.asarray(self.decoder.weights(rows, self.context), dtype=np.float64).reshape(K, n)
        scale = self.decoder.scales(rows, self.recovered, self.context)
        out = np.zeros((K, n))
        for k, c in self._coefficients.items():
            if self.recovered[k] and scale[k] != 0.0:
                out[k, : c.size] = scale[k] * c
        return out

    def combinations(self) -> dict[int, Any]:
        """Lazy :func:`combine_packets` tasks: ``{k: task}`` (r×c blocks; c×r: ``{0: C_hat}``)."""
        import dask

        layout, mix = self.context.partition, self.mix()
        if layout.kind == "cxr":
            mix = mix.sum(axis=0, keepdims=True)  # C = sum_k P_k
        scale = float(np.abs(mix).max()) if mix.size else 0.0
        dtype = np.dtype(self.context.dtype).str
        out = {}
        for k, row in enumerate(mix):
            used = np.flatnonzero(np.abs(row) > 1e-14 * scale)
            if used.size == 0:
                continue
            crop = self._crop(k)
            packets = [self._packets[i] for i in used]
            out[k] = dask.delayed(combine_packets, pure=False)(row[used], crop, dtype, *packets)
        return out

    def _crop(self, k: int) -> tuple[int, int]:
        layout = self.context.partition
        rows, cols = layout.block_slices(k)
        if layout.kind == "cxr":
            return tuple(layout.c_shape)
        return rows.stop - rows.start, cols.stop - cols.start

    def assemble(self, pieces: dict[int, Any]):
        """``C_hat`` as a ``dask.array`` from ``{k: task or future}``, in the original order."""
        import dask.array as da

        layout, order = self.context.partition, self.context.order
        dtype = np.dtype(self.context.dtype)

        def piece(k):
            shape = self._crop(k)
            if k in pieces:
                return da.from_delayed(pieces[k], shape, dtype=dtype)
            return da.zeros(shape, dtype=dtype, chunks=shape)

        if layout.kind == "cxr":
            return piece(0)
        N, P = layout.grid
        C = da.block([[piece(n * P + p) for p in range(P)] for n in range(N)])
        if not np.array_equal(order.a_perm, np.arange(order.a_perm.size)):
            C = C[np.argsort(order.a_perm)]
        if not np.array_equal(order.b_perm, np.arange(order.b_perm.size)):
            C = C[:, np.argsort(order.b_perm)]
        return C

    def estimate(self):
        """``C_hat`` now: a lazy ``dask.array`` over the packet futures (nothing runs until computed)."""
        return self.assemble(self.combinations())
