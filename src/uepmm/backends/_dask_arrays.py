"""``dask.array`` factors that stay on the cluster: statistics, blocks and the plan.

With ``backend="dask"``, :func:`uepmm.coded_matmul` takes ``dask.array`` factors and the
parameter server (PS, this process) never holds them (docs/distributed.md, "Data that lives
on the cluster"):

1. **Statistics** (:func:`line_statistics`): the per-line norms of the importance order
   (Sec. VII-C; Frobenius or mean absolute value) are reductions run on the cluster; only
   vectors of length U, H or Q come back.  A NaN or Inf entry shows up in them.
2. **Blocks** (:func:`lazy_blocks`): block ``i`` of the permuted, padded factor is one task
   that gathers its lines from the array's chunks; :class:`~uepmm.backends.dask.DaskBackend`
   computes these tasks on the cluster as futures before the clock starts, and each logical
   worker's task reads the futures of its own blocks there.
3. **The plan** (:func:`plan_on_cluster`): the same order, classes, energies and the one draw
   (:func:`uepmm.draw.draw_job`) as :func:`uepmm.api.plan_job`, from those vectors alone, so a
   seed draws the same stragglers and code rows for dask and numpy inputs.

Packets, verification and decoding on the cluster are in :mod:`uepmm.backends._dask_decode`.
"""

from __future__ import annotations

import math
import uuid
from typing import Any

import numpy as np

from .._validation import as_matrix, is_dask_array

__all__ = ["check_factor", "line_statistics", "lazy_blocks", "plan_on_cluster", "cluster_losses"]


def check_factor(M: Any, name: str):
    """``M`` as a 2-D real ``dask.array`` (float32 kept, other numbers as float64, lazily).

    A numpy (or scipy sparse) factor next to a dask one is validated here and wrapped with
    ``da.from_array``: it is on the PS already.  Finiteness is checked by :func:`line_statistics`.
    """
    import dask.array as da

    if not is_dask_array(M):
        dense = as_matrix(M, name)
        return da.from_array(dense, chunks=dense.shape)
    if M.ndim != 2:
        raise ValueError(f"{name} must be 2-D, got a {M.ndim}-D dask.array with shape {M.shape}")
    if any(isinstance(s, float) and math.isnan(s) for s in M.shape):
        raise ValueError(
            f"{name} has unknown chunk sizes (shape {M.shape}); call {name}.compute_chunk_sizes() first"
        )
    if 0 in M.shape:
        raise ValueError(f"{name} is empty (shape {M.shape}); both dimensions must be >= 1")
    dtype = np.dtype(M.dtype)
    if dtype.kind == "b":
        raise TypeError(f"{name} has dtype bool; pass a real numeric array (e.g. {name}.astype(float))")
    if dtype.kind == "c":
        raise TypeError(f"{name} has complex dtype {dtype}; only real matrices are supported")
    if dtype.kind not in "iuf":
        raise TypeError(f"{name} has dtype {dtype}; pass a real numeric dask.array (int or float)")
    return M if dtype in (np.float32, np.float64) else M.astype(np.float64)


def _stat(M, axis: int, statistic: str):
    """A lazy line statistic of ``M`` (the lines run along the other axis), accumulated in float64."""
    import dask.array as da

    if statistic == "fro":
        M64 = M.astype(np.float64)
        return da.sqrt((M64 * M64).sum(axis=axis))
    return da.absolute(M).mean(axis=axis, dtype=np.float64)


def line_statistics(client: Any, A, B, kind: str, statistic: str, fro: bool) -> tuple[np.ndarray, ...]:
    """``(a, b)`` line statistics, plus ``(a_fro, b_fro)`` Frobenius line norms with ``fro``.

    r×c: rows of ``A`` and columns of ``B``; c×r: columns of ``A`` and rows of ``B`` (as
    :func:`uepmm.importance.importance_order`).  One ``client.compute`` on the cluster; the
    PS receives four vectors.  A statistic that is not finite means a NaN or Inf entry.
    """
    a_axis, b_axis = (1, 0) if kind == "rxc" else (0, 1)
    wanted = [_stat(A, a_axis, statistic), _stat(B, b_axis, statistic)]
    if fro and statistic != "fro":
        wanted += [_stat(A, a_axis, "fro"), _stat(B, b_axis, "fro")]
    values = [np.asarray(v, dtype=np.float64) for v in client.gather(client.compute(wanted))]
    for name, v in zip("ABAB", values):
        if not np.all(np.isfinite(v)):
            bad = int(np.count_nonzero(~np.isfinite(v)))
            raise ValueError(
                f"{name} contains NaN or Inf entries ({bad} of its lines have a non-finite {statistic} norm, "
                f"computed on the cluster); all entries must be finite"
            )
    if fro and statistic == "fro":
        values += values[:2]
    return tuple(values)


def _block(parts: list[np.ndarray], where: list[np.ndarray], count: int, padded: int | None, axis: int) -> np.ndarray:
    """Runs on a Dask worker: lines ``parts[r]`` go to positions ``where[r]`` of a block of
    ``count`` lines, zero-padded to ``padded`` lines along ``axis``."""
    first = np.asarray(parts[0])
    shape = list(first.shape)
    shape[axis] = count if padded is None else padded
    out = (np.zeros if shape[axis] > count else np.empty)(shape, dtype=first.dtype)
    for part, positions in zip(parts, where):
        if axis == 0:
            out[positions] = part
        else:
            out[:, positions] = part
    return out


def _line_parts(M, index: np.ndarray, axis: int) -> tuple[list, list[np.ndarray]]:
    """Lines ``index`` of ``M`` as one lazy slice per chunk they fall in (sorted indices within
    a chunk: plain slicing, no shuffle), and where each slice's lines go in the block."""
    edges = np.cumsum((0,) + tuple(M.chunks[axis]))
    chunk = np.searchsorted(edges, index, side="right") - 1
    parts, where = [], []
    for r in np.unique(chunk):
        positions = np.flatnonzero(chunk == r)
        positions = positions[np.argsort(index[positions], kind="stable")]
        lines = index[positions]
        if np.array_equal(lines, np.arange(lines[0], lines[0] + lines.size)):  # a contiguous run
            lines = slice(int(lines[0]), int(lines[0]) + lines.size)
        parts.append(M[lines] if axis == 0 else M[:, lines])
        where.append(positions)
    return parts, where


def lazy_blocks(A, B, layout: Any, a_perm: np.ndarray | None, b_perm: np.ndarray | None) -> tuple[list, list]:
    """The blocks of :meth:`uepmm.partition.Partition.a_blocks` / ``b_blocks`` as lazy tasks.

    Block ``i`` holds lines ``perm[e_i:e_(i+1)]`` (or ``e_i:e_(i+1)``), gathered from the
    array's chunks and padded (r×c) by one task on a Dask worker; nothing is computed here.
    """
    import dask

    token = uuid.uuid4().hex[:12]

    def blocks(M, perm, edges, axis, padded, side):
        out = []
        for i, (lo, hi) in enumerate(zip(edges, edges[1:])):
            index = np.arange(lo, hi) if perm is None else np.asarray(perm[lo:hi])
            parts, where = _line_parts(M, index, axis)
            name = f"uepmm-block-{side}{i}-{token}"
            out.append(dask.delayed(_block, pure=False)(parts, where, hi - lo, padded, axis, dask_key_name=name))
        return out

    if layout.kind == "rxc":
        rows, cols = layout.product_shape
        return (
            blocks(A, a_perm, layout.row_edges, 0, rows, "a"),
            blocks(B, b_perm, layout.col_edges, 1, cols, "b"),
        )
    return (
        blocks(A, a_perm, layout.inner_edges, 1, None, "a"),
        blocks(B, b_perm, layout.inner_edges, 0, None, "b"),
    )


def _cluster_client(spec: Any, options: dict[str, Any], workers: int) -> tuple[Any, Any]:
    """The backend and its client; the estimate outlives the job, so the client must too."""
    from .dask import DaskBackend

    backend = spec.backend
    if isinstance(backend, str):
        if backend != "dask":
            raise ValueError(
                f"dask.array inputs need backend='dask' (backend={backend!r} would pull them into this "
                f"process): pass backend='dask', client=client, or .compute() them for the {backend!r} backend"
            )
        if options.get("client") is None:
            if options.get("address") is not None:
                raise ValueError(
                    "with dask.array inputs the estimate stays on the cluster after the job, so the client must "
                    "outlive it: pass client=distributed.Client(address) instead of address=, or use "
                    "`with DaskBackend(address=...) as backend:` and backend=backend"
                )
            from distributed import default_client

            try:
                options = {**options, "client": default_client()}
            except ValueError:
                raise ValueError(
                    "dask.array inputs need the cluster they live on: pass client=distributed.Client(...) "
                    "(none is the default client here)"
                ) from None
        runner = DaskBackend(**options)
    elif isinstance(backend, DaskBackend):
        if options:
            raise TypeError(
                f"options {sorted(options)} are for backends given by name; configure the backend object instead"
            )
        if backend.client is None and not getattr(backend, "_persistent", False):
            raise ValueError(
                "with dask.array inputs the estimate stays on the cluster after the job: give the DaskBackend a "
                "client= or use it as a context manager (`with DaskBackend(...) as backend:`)"
            )
        runner = backend
    else:
        raise ValueError(
            f"dask.array inputs need backend='dask' or a DaskBackend, got {type(backend).__name__}; "
            f"pass backend='dask', client=client"
        )
    client, _ = runner._acquire(workers)
    return runner, client


def plan_on_cluster(A: Any, B: Any, spec: Any, seed: Any, options: dict[str, Any], track_loss: bool):
    """:func:`uepmm.api.plan_job` for dask factors: ``(plan, backend)``, the data left on the cluster."""
    from ..decoders import decoder_for_code
    from ..importance import ImportanceOrder, energies_from_line_norms, order_from_line_stats
    from ..partition import make_partition
    from ..planning import needs_energies, plan_from_order
    from ._dask_decode import ClusterDecoding

    if track_loss:
        raise ValueError(
            "track_loss=True needs the exact sub-products on the parameter server, which dask.array inputs "
            "never send there; drop track_loss and call result.normalized_loss(C) (computed on the cluster)"
        )
    if spec.prior != "diagonal":
        raise ValueError(
            f"prior={spec.prior!r} estimates the sub-products' Gram matrix from the blocks on the parameter server, "
            f"which dask.array inputs never send there; use prior='diagonal' or pass numpy arrays"
        )
    runner, client = _cluster_client(spec, dict(options), spec.workers)
    own_decoder = decoder_for_code(spec.code_object, spec.decoder_object) is not spec.decoder_object
    if own_decoder or spec.code_object.backup_copies:
        raise ValueError(
            f"code={spec.code_object.name!r} is not supported with dask.array inputs: its own decoder or its backup "
            f"copies need the packets or the blocks on the parameter server; use code 'uncoded', 'repetition', 'mds', "
            f"'now', 'ew' or 'polynomial' (r×c), or pass numpy arrays"
        )
    ClusterDecoding.check_decoder(spec.decoder_object)
    A, B = check_factor(A, "A"), check_factor(B, "B")
    layout = make_partition(A.shape, B.shape, spec.partition, spec.blocks)
    a_stats, b_stats, *fro = line_statistics(client, A, B, layout.kind, spec.statistic, needs_energies(spec))
    if spec.reorder:
        order = order_from_line_stats(layout.kind, a_stats, b_stats, spec.statistic)
    else:
        identity_a, identity_b = np.arange(a_stats.size), np.arange(b_stats.size)
        order = ImportanceOrder(layout.kind, identity_a, identity_b, spec.statistic, a_stats, b_stats)
    energies = energies_from_line_norms(fro[0][order.a_perm], fro[1][order.b_perm], layout) if fro else None
    perms = (order.a_perm, order.b_perm) if spec.reorder else (None, None)
    a_blocks, b_blocks = lazy_blocks(A, B, layout, *perms)
    dtype = np.result_type(A.dtype, B.dtype)
    plan = plan_from_order(spec, layout, order, energies, a_blocks, b_blocks, dtype, seed,
                           cluster=ClusterDecoding(client))
    return plan, runner


def cluster_losses(C: Any, estimate: Any, client: Any = None) -> tuple[float, float]:
    """``(||C - C_hat||_F^2, ||C||_F^2)`` computed where the data is (either may be a dask array).

    A numpy operand is wrapped with ``da.from_array``; the sums run on ``client`` (or dask's
    default scheduler) and only two floats come back.
    """
    import dask
    import dask.array as da

    def lazy(M, name):
        if is_dask_array(M):
            return check_factor(M, name).astype(np.float64)
        return da.from_array(as_matrix(M, name)).astype(np.float64)

    C_, E_ = lazy(C, "C"), lazy(estimate, "estimate")
    if C_.shape != E_.shape:
        raise ValueError(f"C has shape {C_.shape} but the estimate has shape {E_.shape}; pass A @ B")
    diff = C_ - E_
    sums = [(diff * diff).sum(), (C_ * C_).sum()]
    values = client.gather(client.compute(sums)) if client is not None else dask.compute(*sums)
    return float(values[0]), float(values[1])
