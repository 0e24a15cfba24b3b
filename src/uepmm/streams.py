"""Random streams: which draw comes from which stream, in which order (docs/design.md, "Streams").

Every random draw of a job comes from the seed the caller passes, through one of two contracts:

* an ``int`` (or a sequence of them), a ``SeedSequence`` or ``None``: split into two
  independent streams, ``code, times = SeedSequence(seed).spawn(2)``.  The response times
  come from ``times`` and the code's coefficient rows from ``code`` (adaptive packets,
  :mod:`uepmm.adaptive`, from a third child ``adaptive``, the one ``spawn(3)`` would add), so the same seed gives
  the same stragglers whatever the code (common random numbers across schemes);
* a numpy ``Generator``: one stream used as given, the response times first, then the code
  (then, with adaptive packets, their draws).
  Training draws every product from :func:`product_rng` ``(s)`` this way.

:func:`job_streams` turns a seed into the pair ``(times_rng, code_rng)`` (the same object
twice for a ``Generator``); :func:`uepmm.draw.draw_job` is the only caller that draws from them.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

__all__ = ["JobStreams", "job_streams", "product_rng", "trial_seed", "SeedLike"]

SeedLike = int | np.random.SeedSequence | np.random.Generator | None


class _Streams(NamedTuple):
    times: np.random.Generator
    code: np.random.Generator


class JobStreams(_Streams):
    """The two streams of one job: ``times`` (response times) and ``code`` (coefficient rows).

    ``adaptive``: the stream of the later packets of :mod:`uepmm.adaptive` (their rows and
    durations), made on first use, so a job without adaptive packets draws exactly what it always
    drew; still a pair when unpacked (``times, code = job_streams(seed)``).
    """

    _adaptive = None  # (``_replace``/``_make`` build the pair without ``__new__``: no adaptive stream given)

    def __new__(cls, times: np.random.Generator, code: np.random.Generator, adaptive=None):
        self = super().__new__(cls, times, code)
        self._adaptive = adaptive  # a Generator, or a SeedSequence made into one on first use
        return self

    @property
    def adaptive(self) -> np.random.Generator:
        """The adaptive packets' stream (the code stream, continued, when none was given)."""
        if self._adaptive is None:
            return self.code
        if isinstance(self._adaptive, np.random.SeedSequence):
            self._adaptive = np.random.default_rng(self._adaptive)
        return self._adaptive


def job_streams(seed: SeedLike) -> JobStreams:
    """The streams of a job from ``seed`` (module docstring: the contract).

    Examples
    --------
    The response times do not depend on the code: the same seed gives the same stragglers.

    >>> import numpy as np, uepmm
    >>> a, b = uepmm.job_streams(0), uepmm.job_streams(0)
    >>> bool(a.times.random() == b.times.random())
    True
    """
    if isinstance(seed, np.random.Generator):
        return JobStreams(seed, seed, seed)
    try:
        seeds = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    except (TypeError, ValueError) as exc:
        raise type(exc)(
            f"seed must be a non-negative int (or a sequence of them), a numpy SeedSequence, a numpy "
            f"Generator or None; got {seed!r} ({exc})"
        ) from None
    first = seeds.n_children_spawned
    code_seed, times_seed = seeds.spawn(2)
    # the third child of the same spawn, made without spawning it: a caller that spawns from
    # ``seeds`` again gets the children it always got
    adaptive_seed = np.random.SeedSequence(seeds.entropy, spawn_key=(*seeds.spawn_key, first + 2),
                                           pool_size=seeds.pool_size)
    return JobStreams(np.random.default_rng(times_seed), np.random.default_rng(code_seed), adaptive_seed)


#: ``spawn_key`` prefix of Monte Carlo trial seeds (:func:`trial_seed`); 0 is the figures' matrix draws.
_STREAM_TRIALS = 1


def trial_seed(seed: int, trial: int) -> np.random.SeedSequence:
    """A fresh seed of Monte Carlo trial ``trial``: pass it as ``plan_job(seed=...)`` to get the same draws
    (``uepmm compare``, the figures and :mod:`uepmm.recommend` draw their trials from it)."""
    return np.random.SeedSequence(entropy=seed, spawn_key=(_STREAM_TRIALS, trial))


def product_rng(seed: int) -> np.random.Generator:
    """The one random stream of a training product: a ``PCG64`` generator seeded from ``seed``.

    ``coded_matmul(..., seed=product_rng(seed))`` draws the response times from it first,
    then the code, exactly as the lean training path does.  The 256 bits of PCG64 state come
    from splitmix64 (:class:`_ProductSeed`) rather than numpy's ``SeedSequence``: a training
    step builds five of these streams, and ``SeedSequence``'s entropy pooling cost about
    50 µs each on the development machine, a quarter of a plain step per step.

    Examples
    --------
    >>> import uepmm
    >>> uepmm.product_rng(3).random() == uepmm.product_rng(3).random()
    True
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise TypeError(f"seed must be a non-negative int, got {seed!r}")
    return np.random.Generator(np.random.PCG64(_ProductSeed(int(seed))))


_MASK64 = (1 << 64) - 1
_GOLDEN64 = 0x9E3779B97F4A7C15


def _mix64(z: int) -> int:
    """The splitmix64 output function (Steele, Lea & Flood 2014): a bijection of 64-bit words."""
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
    return z ^ (z >> 31)


class _ProductSeed(np.random.bit_generator.ISeedSequence):
    """Seed material for :func:`product_rng`: a splitmix64 stream keyed by the seed.

    The seed is folded into a 64-bit key 64 bits at a time (injective below ``2**64``,
    which covers every product seed of a layer seeded below 128); ``generate_state``
    returns the splitmix64 sequence from that key.
    """

    __slots__ = ("_key",)

    def __init__(self, seed: int):
        key = _mix64((seed & _MASK64) ^ _GOLDEN64)
        seed >>= 64
        while seed:
            key = _mix64(key ^ (seed & _MASK64))
            seed >>= 64
        self._key = key

    def generate_state(self, n_words: int, dtype=np.uint32) -> np.ndarray:
        dtype = np.dtype(dtype)
        n64 = n_words if dtype == np.uint64 else (n_words + 1) // 2
        state, words = self._key, []
        for _ in range(n64):
            state = (state + _GOLDEN64) & _MASK64
            words.append(_mix64(state))
        out = np.array(words, dtype=np.uint64)
        if dtype == np.uint64:
            return out
        if dtype != np.uint32:
            raise ValueError(f"generate_state supports uint32 and uint64 words, got {dtype}")
        return out.view(np.uint32)[:n_words].copy()
