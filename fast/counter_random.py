"""Counter-based random numbers: the same bits on NumPy and CuPy, in any processing order.

Shared randomness (the rotation's signs, the lattice dither) is a pure function of
``(seed, stream, counters...)``: each value is the SplitMix64 finalizer (Steele, Lea & Flood,
"Fast splittable pseudorandom number generators", OOPSLA 2014) applied to a running hash of the
seed, a stream label and the integer counters. Nothing is stateful, so a block's dither depends
only on the seed and the block's index, the encoder and decoder agree without exchanging
anything, and a GPU computes exactly the bits the CPU does (only unsigned 64-bit integer
operations are used, which wrap identically on both).

Uniform floats take the top 53 bits: ``(h >> 11) · 2^-53`` lies in [0, 1) and is exact in
float64.

>>> import numpy as np
>>> a = uniform(np, seed=7, stream=STREAM_DITHER_A, counters=(np.arange(3),))
>>> b = uniform(np, seed=7, stream=STREAM_DITHER_A, counters=(np.arange(3)[::-1],))[::-1]
>>> bool((a == b).all())
True
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np

__all__ = [
    "STREAM_DITHER_A",
    "STREAM_DITHER_B",
    "STREAM_ROTATION",
    "STREAM_TUNING",
    "first_counter_base",
    "hash64",
    "random_signs",
    "uniform",
    "validated_seed",
]

#: Stream labels keep the independent uses of one seed apart.
STREAM_ROTATION = 1
STREAM_DITHER_A = 2
STREAM_DITHER_B = 3
STREAM_TUNING = 4

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31, _S11 = (np.uint64(s) for s in (30, 27, 31, 11))


def validated_seed(seed: object, name: str = "seed") -> int:
    """``seed`` as a Python int in [0, 2^64); anything else raises, naming ``name``."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"{name} must be an integer in [0, 2**64), got {seed!r}")
    seed = int(seed)
    if not 0 <= seed < 2**64:
        raise ValueError(f"{name} must be an integer in [0, 2**64), got {seed}")
    return seed


def _finalize(xp: ModuleType, h: Any) -> Any:
    """The SplitMix64 finalizer on an array of uint64 (wrapping arithmetic)."""
    h = (h ^ (h >> _S30)) * _MIX1
    h = (h ^ (h >> _S27)) * _MIX2
    return h ^ (h >> _S31)


def _finalize_int(h: int) -> int:
    """The SplitMix64 finalizer on a Python int (mod 2^64)."""
    mask = 2**64 - 1
    h = ((h ^ (h >> 30)) * int(_MIX1)) & mask
    h = ((h ^ (h >> 27)) * int(_MIX2)) & mask
    return h ^ (h >> 31)


def _start(seed: int, stream: int) -> int:
    """The running hash before any counter: the finalizer of seed ^ (stream·golden)."""
    return _finalize_int(validated_seed(seed) ^ ((stream * int(_GOLDEN)) & (2**64 - 1)))


def first_counter_base(seed: int, stream: int) -> np.uint64:
    """The value the first counter is XORed with before its finalizer (hash64's first step:
    h = finalize(counter ^ base)), for compiled code that hashes counters itself."""
    return np.uint64((_start(seed, stream) + int(_GOLDEN)) & (2**64 - 1))


def hash64(xp: ModuleType, seed: int, stream: int, counters: tuple[Any, ...]) -> Any:
    """64 random bits per element of the broadcast ``counters`` (non-negative integer arrays)."""
    start = _start(seed, stream)
    h = None
    with np.errstate(over="ignore"):  # unsigned wrap-around is the intent
        for counter in counters:
            counter = xp.asarray(counter)
            if counter.dtype.kind not in "iu":
                raise TypeError(f"counters must be integer arrays, got dtype {counter.dtype}")
            if h is None:
                h = _finalize(xp, counter.astype(xp.uint64) ^ first_counter_base(seed, stream))
            else:
                h = _finalize(xp, (h + _GOLDEN) ^ counter.astype(xp.uint64))
    if h is None:
        return xp.asarray(np.uint64(start))
    return h


def uniform(xp: ModuleType, seed: int, stream: int, counters: tuple[Any, ...]) -> Any:
    """Uniform float64 values in [0, 1), one per element of the broadcast ``counters``."""
    bits = hash64(xp, seed, stream, counters)
    return (bits >> _S11).astype(xp.float64) * (2.0**-53)


def random_signs(xp: ModuleType, seed: int, stream: int, counters: tuple[Any, ...]) -> Any:
    """±1.0 (float64), one per element of the broadcast ``counters``, each sign with chance 1/2."""
    bits = hash64(xp, seed, stream, counters)
    return 1.0 - 2.0 * (bits >> np.uint64(63)).astype(xp.float64)
