"""Monte Carlo normalized distortion of any matmul quantizer on Gaussian matrices (theory.md §1).

:func:`distortion` draws ``trials`` independent pairs (A, B), A n×a and B n×b with iid N(0, 1)
entries (or, with ``rho``, correlated pairs B = ρA + √(1 − ρ²)Z with a = b, so that column i of A
and column i of B are correlated Gaussian pairs as in theory.md §2.3), runs the kernel through
its byte payloads and returns

    D = ||AᵀB − C||_F² / (n·a·b)   averaged over trials, with its standard error,

and the rate measured from the payloads (8·len/entries). For iid N(0, 1) matrices the converse
(theory.md §1.2) says the expectation of D is at least Γ(R); ``gap_db`` = 10·log10(D/Γ(R)).

The matrices of trial t come from ``numpy.random.default_rng([seed, t])``: the same seed gives
the same matrices on every machine, and a trial can be reproduced alone.

>>> from quantmm.fast import NestedLatticeMatmul
>>> kernel = NestedLatticeMatmul(rate=3.25, seed=0)
>>> result = distortion(kernel, n=1024, a=32, b=32, trials=2, seed=1)
>>> round(result.mean, 4), round(result.rate, 2)  # the rate counts the header: small matrices
(0.033, 3.46)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .backend import to_numpy
from .counter_random import validated_seed

__all__ = ["DistortionEstimate", "distortion", "gaussian_pair"]


@dataclass(frozen=True)
class DistortionEstimate:
    """Mean normalized distortion over trials, its standard error and the measured rates."""

    mean: float
    standard_error: float
    trials: int
    rate_a: float
    rate_b: float
    values: tuple[float, ...]

    @property
    def rate(self) -> float:
        """The mean of the two measured rates (bits per entry)."""
        return (self.rate_a + self.rate_b) / 2

    @property
    def gap_db(self) -> float:
        """10·log10(mean / Γ(rate)): the distance above the distortion-rate function, in dB."""
        from .functions import gamma

        return 10.0 * math.log10(self.mean / float(gamma(np.array([self.rate]))[0]))


def gaussian_pair(n: int, a: int, b: int, seed: int, trial: int, rho: float | None = None):
    """The (A, B) of one trial (float64 NumPy arrays), as described in the module docstring."""
    rng = np.random.default_rng([validated_seed(seed), trial])
    A = rng.standard_normal((n, a))
    Z = rng.standard_normal((n, b))
    if rho is None:
        return A, Z
    if a != b:
        raise ValueError(f"rho needs a == b (paired columns), got a={a}, b={b}")
    return A, rho * A + math.sqrt(1.0 - rho * rho) * Z


def _positive(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def distortion(
    quantizer: Any,
    n: int,
    a: int,
    b: int,
    trials: int,
    seed: int,
    rho: float | None = None,
) -> DistortionEstimate:
    """Monte Carlo estimate of the normalized distortion of ``quantizer`` (module docstring)."""
    n, a, b = _positive(n, "n"), _positive(a, "a"), _positive(b, "b")
    trials = _positive(trials, "trials")
    if rho is not None and not (isinstance(rho, (int, float)) and -1.0 <= rho <= 1.0):
        raise ValueError(f"rho must be a number in [-1, 1] or None, got {rho!r}")
    values, rates_a, rates_b = [], [], []
    for trial in range(trials):
        A, B = gaussian_pair(n, a, b, seed, trial, rho)
        payload_a, payload_b = quantizer.encode_a(A), quantizer.encode_b(B)
        estimate = to_numpy(quantizer.estimate(payload_a, payload_b))
        values.append(float(((A.T @ B - estimate) ** 2).sum()) / (n * a * b))
        rates_a.append(8 * len(payload_a) / (n * a))
        rates_b.append(8 * len(payload_b) / (n * b))
    mean = float(np.mean(values))
    spread = float(np.std(values, ddof=1)) if trials > 1 else math.inf
    return DistortionEstimate(
        mean,
        spread / math.sqrt(trials),
        trials,
        float(np.mean(rates_a)),
        float(np.mean(rates_b)),
        tuple(values),
    )
