"""``dask.array`` factors that stay on the cluster: statistics, blocks and the plan.

With ``backend="dask"``, :func:`uepmm.coded_matmul` takes ``dask.array`` factors and the
parameter server (PS, this process) never holds them (docs/distributed.md, "Data that lives
on the cluster"):

1. **Statistics** (:func:`line_statistics`, from :func:`line_sums`): one task per chunk
   reads it once and returns its per-row and per-column sums of squares and of absolute values
   (float64); one task per band of chunks adds them up; only vectors of length U, H or Q come
   back.  These four sums give every statistic of the importance order (Sec. VII-C; Frobenius
   or mean absolute value) and the Frobenius energies, for either partition, so they are kept
   on the PS under the array's dask name (a hash of its graph or of the data it wraps; at most
   :data:`CACHE_BYTES`): another job on the same array reads none of its chunks for them, and
   an array with other content has another name.  A NaN or Inf entry shows up in them.
2. **Blocks** (:func:`lazy_blocks`): the order needs every line's statistic, so the blocks come
   in a second pass, which reads each chunk once more, with one task (:func:`_split`) that cuts
   it into one piece per block needing its lines (a slice where they are a contiguous run); block
   ``i`` is one task that places its pieces and zero-pads (r×c).  A piece is picked from its
   split's output where the split ran, so only the piece travels.
   :class:`~uepmm.backends.dask.DaskBackend` computes the block tasks on the cluster as futures
   before the clock starts, and each logical worker's task reads the futures of its own blocks
   there.  A first job thus reads each chunk twice, later jobs on the same arrays once.  Inputs
   that are not persisted are recomputed by each pass (persist them first).
3. **The plan** (:func:`plan_on_cluster`): the same order, classes, energies and the one draw
   (:func:`uepmm.draw.draw_job`) as :func:`uepmm.api.plan_job`, from those vectors alone, so a
   seed draws the same stragglers and code rows for dask and numpy inputs.

Packets, verification and decoding on the cluster are in :mod:`uepmm.backends._dask_decode`.
"""

from __future__ import annotations

import math
import threading
import uuid
from collections import OrderedDict
from typing import Any

import numpy as np

from .._validation import as_matrix, is_dask_array

__all__ = [
    "check_factor", "line_sums", "forget_line_statistics", "line_statistics", "lazy_blocks", "plan_on_cluster",
    "cluster_losses",
]


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


#: Most bytes of line sums :func:`line_statistics` keeps between jobs (least recently used out first).
CACHE_BYTES = 16 * 2**20

_LINE_SUMS: OrderedDict[tuple, tuple[np.ndarray, ...]] = OrderedDict()
_CACHE_LOCK = threading.Lock()


def _cache_key(M) -> tuple:
    """What names ``M``'s content: dask's name (a hash of its graph, or of the data it wraps),
    with the chunks and dtype for safety."""
    return (M.name, M.chunks, np.dtype(M.dtype).str)


def forget_line_statistics() -> None:
    """Drop every cached line sum (:func:`line_statistics` recomputes them on the next job)."""
    with _CACHE_LOCK:
        _LINE_SUMS.clear()


def _remember(key: tuple, sums: tuple[np.ndarray, ...]) -> None:
    with _CACHE_LOCK:
        _LINE_SUMS[key] = sums
        _LINE_SUMS.move_to_end(key)
        while _LINE_SUMS and sum(v.nbytes for e in _LINE_SUMS.values() for v in e) > CACHE_BYTES:
            _LINE_SUMS.popitem(last=False)


def _recall(key: tuple) -> tuple[np.ndarray, ...] | None:
    with _CACHE_LOCK:
        sums = _LINE_SUMS.get(key)
        if sums is not None:
            _LINE_SUMS.move_to_end(key)
        return sums


def _chunk_sums(x: np.ndarray) -> tuple[np.ndarray, ...]:
    """Runs on a Dask worker, one read of one chunk: per row and per column, the sum of
    squares and the sum of absolute values (float64)."""
    x = np.asarray(x)
    magnitude = np.abs(x)
    return (
        np.einsum("ij,ij->i", x, x, dtype=np.float64),
        magnitude.sum(axis=1, dtype=np.float64),
        np.einsum("ij,ij->j", x, x, dtype=np.float64),
        magnitude.sum(axis=0, dtype=np.float64),
    )


def _band_sums(offset: int, *parts: tuple[np.ndarray, ...]) -> np.ndarray:
    """Runs on a Dask worker: the chunk sums ``parts[k][offset:offset + 2]`` of one band of
    chunks added up, as a ``(2, lines)`` array (squares, absolute values)."""
    return np.stack([sum(p[offset + s] for p in parts) for s in (0, 1)])


def _sum_tasks(M) -> tuple[list, list]:
    """Lazy row-band and column-band sums of ``M``: one task per chunk, one per band."""
    import dask

    chunks = M.to_delayed()
    pieces = [[dask.delayed(_chunk_sums, pure=True)(c) for c in row] for row in chunks]
    rows = [dask.delayed(_band_sums, pure=True)(0, *line) for line in pieces]
    cols = [dask.delayed(_band_sums, pure=True)(2, *line) for line in zip(*pieces)]
    return rows, cols


def line_sums(client: Any, *arrays) -> list[tuple[np.ndarray, ...]]:
    """Per array: ``(row squares, row |.|, column squares, column |.|)``, float64 line sums.

    Each chunk is read by one task (:func:`_chunk_sums`); one ``client.compute`` for every
    array not seen before, and only vectors come back.  The sums are kept (up to
    :data:`CACHE_BYTES`) under the array's dask name: another job on the same array reads
    none of its chunks for them, and a changed array has another name.
    """
    keys = [_cache_key(M) for M in arrays]
    found = {k: _recall(k) for k in keys}
    todo = {k: M for k, M in zip(keys, arrays) if found[k] is None}
    if todo:
        tasks = {k: _sum_tasks(M) for k, M in todo.items()}
        flat = [t for rows, cols in tasks.values() for t in rows + cols]
        values = iter(client.gather(client.compute(flat)))
        for k, (rows, cols) in tasks.items():
            row_bands = [next(values) for _ in rows]
            col_bands = [next(values) for _ in cols]
            row, col = np.concatenate(row_bands, axis=1), np.concatenate(col_bands, axis=1)
            found[k] = (row[0], row[1], col[0], col[1])
            _remember(k, found[k])
    return [found[k] for k in keys]


def _statistic(sums: tuple[np.ndarray, ...], axis: int, statistic: str, length: int) -> np.ndarray:
    """The line statistic along ``axis`` (``1``: per row) from :func:`line_sums`."""
    squares, magnitudes = (sums[0], sums[1]) if axis == 1 else (sums[2], sums[3])
    return np.sqrt(squares) if statistic == "fro" else magnitudes / length


def line_statistics(client: Any, A, B, kind: str, statistic: str, fro: bool) -> tuple[np.ndarray, ...]:
    """``(a, b)`` line statistics, plus ``(a_fro, b_fro)`` Frobenius line norms with ``fro``.

    r×c: rows of ``A`` and columns of ``B``; c×r: columns of ``A`` and rows of ``B`` (as
    :func:`uepmm.importance.importance_order`), from :func:`line_sums` (one read of each
    chunk, none for an array seen before).  A statistic that is not finite means a NaN or
    Inf entry.
    """
    a_axis, b_axis = (1, 0) if kind == "rxc" else (0, 1)
    a_sums, b_sums = line_sums(client, A, B)
    a_len, b_len = A.shape[a_axis], B.shape[b_axis]
    values = [_statistic(a_sums, a_axis, statistic, a_len), _statistic(b_sums, b_axis, statistic, b_len)]
    if fro and statistic != "fro":
        values += [_statistic(a_sums, a_axis, "fro", a_len), _statistic(b_sums, b_axis, "fro", b_len)]
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


def _split(x: np.ndarray, lines: list, axis: int) -> tuple[np.ndarray, ...]:
    """Runs on a Dask worker, one read of one chunk: its lines ``lines[k]`` (a slice or an
    index array along ``axis``) as piece ``k``, one piece per block that needs any."""
    x = np.asarray(x)
    return tuple(x[part] if axis == 0 else x[:, part] for part in lines)


def _block(pieces: list, where: list, count: int, padded: int | None, axis: int) -> np.ndarray:
    """Runs on a Dask worker: piece ``k`` goes to lines ``where[k][0]`` and, across them, to
    ``where[k][1]`` (a slice) of a block of ``count`` lines, zero-padded to ``padded``."""
    first = np.asarray(pieces[0])
    other = max(w[1].stop for w in where)
    lines = count if padded is None else padded
    shape = (lines, other) if axis == 0 else (other, lines)
    out = (np.zeros if lines > count else np.empty)(shape, dtype=first.dtype)
    for piece, (positions, span) in zip(pieces, where):
        if axis == 0:
            out[positions, span] = piece
        else:
            out[span, positions] = piece
    return out


def _runs(local: np.ndarray):
    """``local`` (sorted) as a slice when it is a contiguous run (no copy), else itself."""
    if np.array_equal(local, np.arange(local[0], local[0] + local.size)):
        return slice(int(local[0]), int(local[0]) + local.size)
    return local


def lazy_blocks(A, B, layout: Any, a_perm: np.ndarray | None, b_perm: np.ndarray | None) -> tuple[list, list]:
    """The blocks of :meth:`uepmm.partition.Partition.a_blocks` / ``b_blocks`` as lazy tasks.

    Block ``i`` holds lines ``perm[e_i:e_(i+1)]`` (or ``e_i:e_(i+1)``), padded (r×c).  Each
    chunk of the array is read by one task (:func:`_split`) that cuts it into one piece per
    block needing its lines; block ``i`` is one task that places its pieces.  Nothing is
    computed here.
    """
    import dask

    token = uuid.uuid4().hex[:12]

    def blocks(M, perm, edges, axis, padded, side):
        lines = np.arange(M.shape[axis]) if perm is None else np.asarray(perm)
        block_of = np.repeat(np.arange(len(edges) - 1), np.diff(edges))
        slot = np.arange(lines.size) - np.asarray(edges)[block_of]  # position within its block
        band_edges = np.cumsum((0,) + tuple(M.chunks[axis]))
        other_edges = np.cumsum((0,) + tuple(M.chunks[1 - axis]))
        band = np.searchsorted(band_edges, lines, side="right") - 1
        chunks = M.to_delayed()
        if axis == 1:
            chunks = chunks.T  # chunks[band][other]
        pieces: list[list] = [[] for _ in range(len(edges) - 1)]
        where: list[list] = [[] for _ in range(len(edges) - 1)]
        for r in np.unique(band):
            mine = np.flatnonzero(band == r)
            mine = mine[np.argsort(lines[mine], kind="stable")]  # chunk order: plain slices where runs
            needed = np.unique(block_of[mine])
            cuts, places = [], []
            for i in needed:
                here = mine[block_of[mine] == i]
                cuts.append(_runs(lines[here] - band_edges[r]))
                places.append(slot[here])
            for c, chunk in enumerate(chunks[r]):
                split = dask.delayed(_split, pure=False)(chunk, cuts, axis)
                span = slice(int(other_edges[c]), int(other_edges[c + 1]))
                for k, i in enumerate(needed):
                    pieces[i].append(split[k])
                    where[i].append((places[k], span))
        return [
            dask.delayed(_block, pure=False)(
                pieces[i], where[i], int(hi - lo), padded, axis, dask_key_name=f"uepmm-block-{side}{i}-{token}"
            )
            for i, (lo, hi) in enumerate(zip(edges, edges[1:]))
        ]

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
