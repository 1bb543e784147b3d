"""Finite-K scalar quantizer designs for standard Gaussian pairs (theory.md §2.4).

X, Y are standard normal with correlation ρ and both are quantized by the same K-level codebook
(AKP = Ang, Kim, Pilanci, arXiv:2603.19559; D = XY − Q(X)Q(Y)). Every design is regular and
symmetric: one half is computed and mirrored, so for odd K the middle level is exactly 0 and for
even K the middle threshold is exactly 0. Every design depends on ρ only through |ρ| (with
(X, Y) → (X, −Y), D → −D for a symmetric codebook), and is computed at |ρ|.

``opt``, ``pd``
    Companders: points c_i = Λ⁻¹((i − ½)/K) with Λ the CDF of the optimal density
    λ*(u) ∝ exp(−u²/6)((1 − ρ²) + ρ²u²)^(1/3) (``opt``) or of N(0, 3) (``pd``, Panter–Dite:
    c_i = √3·Φ⁻¹((i − ½)/K)); midpoint thresholds.
``lloyd_max``
    The MSE-optimal quantizer of N(0, 1): Newton's method at the working precision on the
    centroid/midpoint conditions, from a float Lloyd iteration.
``uniform``
    Levels (i − (K + 1)/2)·Δ, midpoint thresholds, Δ the interior minimizer of E[D²](Δ): a root
    of dE[D²]/dΔ (analytic) bracketed at the working precision around a float search.
``matmul_lloyd``, ``matmul_lloyd_bias``
    The best *common* codebook: a local minimizer of F(Q) = E[D²] (or, for the bias-aware
    variant, F(Q) = E[D²] + (k − 1)·E[D]², which is k·E[D²] + k(k−1)·E[D]² divided by k) when Q
    quantizes both X and Y.

Cost (one core, 30 certified digits, i.e. evaluations at 40 and 70 digits, first call; results
are cached per working precision): ``pd`` at K = 64 under 0.1 s, Lloyd–Max and ``opt`` at
K = 64 about 2.5 s; ``matmul_lloyd`` (or ``matmul_lloyd_bias``) at K = 16 about 9 s at ρ = 0.5,
30 s at ρ = 0.99 and 1 s at ρ = 1 (closed-form tables); ``uniform`` at K = 16, ρ = 0.9 about
22 s. Almost all of it is the pair tables at 70 digits
(one 1-D Gauss–Legendre integral per cell of X with K conditional Φ's per node); the float
stages take under 2 s.

The code
--------
This module holds the public functions, the argument validation and the dispatch (cached per
working precision); each family has its own module:

:mod:`~quantmm.reference.scalar_design_common`
    symmetric codebooks, the positive-half reduction of a Newton system, the Newton precision
    schedule and the seed cache of the iterative designs;
:mod:`~quantmm.reference.scalar_design_compander`
    ``opt`` and ``pd``;
:mod:`~quantmm.reference.scalar_design_lloyd_max`
    ``lloyd_max``;
:mod:`~quantmm.reference.scalar_design_pair_tables`
    the pair tables, E[D²] and E[D] of a codebook, and the stationarity system of F (mpmath and
    float64), shared by the next two;
:mod:`~quantmm.reference.scalar_design_uniform`
    ``uniform``;
:mod:`~quantmm.reference.scalar_design_matmul_lloyd`
    ``matmul_lloyd`` and ``matmul_lloyd_bias``: the matmul-Lloyd findings, the float stages and
    Newton's method at the working precision.
"""

from __future__ import annotations

import functools

import mpmath

from .precision import (
    DEFAULT_DIGITS,
    certified,
    certified_values,
    checks_digits,
    exact_integer,
    exact_real,
    to_mpf,
)
from .product_moments import _mean_squared_error_at_working_precision
from .scalar_codebook import ScalarCodebook
from .scalar_design_common import _single_level
from .scalar_design_compander import _compander_at_working_precision
from .scalar_design_lloyd_max import _lloyd_max_at_working_precision
from .scalar_design_matmul_lloyd import _matmul_lloyd_at_working_precision
from .scalar_design_uniform import _uniform_at_working_precision

__all__ = ["DESIGNS", "MAX_LEVELS", "design_codebook", "lloyd_max_distortion"]

#: The design names accepted by :func:`design_codebook`.
DESIGNS = ("opt", "pd", "lloyd_max", "uniform", "matmul_lloyd", "matmul_lloyd_bias")

#: The most levels each design is computed for: the largest K whose certified codebook (17
#: digits) takes under a minute on one core. Measured (2 shared cores, 2026-12): ``pd`` 4096
#: levels 3.4 s (closed form); ``opt`` 256 levels 10 s (1024: 37 s); ``lloyd_max`` 64 levels 5 s
#: (256: 203 s); ``uniform`` 64 levels 12 s (256: 236 s); ``matmul_lloyd`` and
#: ``matmul_lloyd_bias`` 64 levels 36 s. Larger K was accepted and ran for minutes, or tried to
#: allocate hundreds of GiB.
MAX_LEVELS = {
    "opt": 256,
    "pd": 4096,
    "lloyd_max": 64,
    "uniform": 64,
    "matmul_lloyd": 64,
    "matmul_lloyd_bias": 64,
}


def _validated_levels(design: str, levels: object) -> int:
    """K, an integer in [1, MAX_LEVELS[design]]."""
    size = exact_integer(levels, "levels")
    if size > MAX_LEVELS[design]:
        raise ValueError(
            f"levels must be an integer in [1, {MAX_LEVELS[design]}] for design {design!r} "
            f"(the largest codebook it computes in under a minute), got {levels!r}"
        )
    return size


# ---------------------------------------------------------------------------------------------
# Dispatch: the designs at the working precision.
# ---------------------------------------------------------------------------------------------


def _design_at_working_precision(
    design: str, rho: mpmath.mpf, levels: int, k: int | None = None
) -> ScalarCodebook:
    """The ``design`` codebook (K = ``levels``) at the current working precision, for the
    correlation ``rho`` (an mpf in [−1, 1]; only |ρ| matters) and, for ``matmul_lloyd_bias``,
    the inner dimension ``k``. Cached per working precision."""
    return _cached_design(design, abs(+rho), levels, k, mpmath.mp.prec)


@functools.lru_cache(maxsize=256)
def _cached_design(
    design: str, rho: mpmath.mpf, size: int, k: int | None, precision: int
) -> ScalarCodebook:
    with mpmath.workprec(precision):
        if size == 1:
            return _single_level(design)
        if design in ("opt", "pd"):
            return _compander_at_working_precision(design, rho, size)
        if design == "lloyd_max":
            return _lloyd_max_at_working_precision(size)
        if design == "uniform":
            return _uniform_at_working_precision(rho, size)
        if design == "matmul_lloyd":
            return _matmul_lloyd_at_working_precision(rho, size, 0, design)
        if design == "matmul_lloyd_bias":
            if k is None:
                raise ValueError("k (the inner dimension) is required for matmul_lloyd_bias")
            return _matmul_lloyd_at_working_precision(rho, size, k - 1, design)
    raise ValueError(f"design must be one of {', '.join(DESIGNS)}, got {design!r}")


# ---------------------------------------------------------------------------------------------
# Public, certified functions.
# ---------------------------------------------------------------------------------------------


def _validated(design: object, rho: object, levels: object, k: object) -> tuple:
    if design not in DESIGNS:
        raise ValueError(f"design must be one of {', '.join(DESIGNS)}, got {design!r}")
    exact_rho = exact_real(rho, "rho", minimum=-1, maximum=1)
    size = _validated_levels(design, levels)
    if design == "matmul_lloyd_bias":
        if k is None:
            raise ValueError(
                "k (the inner dimension, an integer >= 1) is required for matmul_lloyd_bias"
            )
        k = exact_integer(k, "k")
    elif k is not None:
        raise ValueError(f"k is only accepted for matmul_lloyd_bias, got k={k!r} for {design!r}")
    return exact_rho, size, k


@checks_digits
def design_codebook(
    design: str,
    rho: object,
    levels: object,
    digits: int = DEFAULT_DIGITS,
    k: object = None,
) -> ScalarCodebook:
    """The K-level codebook of ``design`` for standard Gaussian pairs with correlation ``rho``,
    certified to ``digits`` significant digits in every level and threshold (theory.md §2.4; AKP).

    ``design`` is one of :data:`DESIGNS` (see the module docstring): ``opt`` (λ* compander),
    ``pd`` (Panter–Dite compander), ``lloyd_max`` (MSE-optimal for N(0, 1), independent of ρ),
    ``uniform`` (step minimizing E[D²]), ``matmul_lloyd`` (a stationary point of E[D²] when the
    codebook quantizes both X and Y) and ``matmul_lloyd_bias`` (the same for
    k·E[D²] + k(k−1)·E[D]², which needs the inner dimension ``k``). ``rho`` is exact in [−1, 1];
    the designs depend on |ρ| only. K = ``levels`` >= 1; K = 1 is the single level 0.

    >>> from quantmm.reference import to_decimal
    >>> book = design_codebook("lloyd_max", 0, 2, digits=20)
    >>> [to_decimal(v, 20) for v in book.levels], book.thresholds  # ±√(2/π)
    (['-0.79788456080286535588', '0.79788456080286535588'], (mpf('0.0'),))
    >>> book = design_codebook("pd", "0.5", 3, digits=12)
    >>> [to_decimal(v, 12) for v in book.levels]  # 0 and ±√3·Φ⁻¹(5/6)
    ['-1.67562330483', '0.00000000000', '1.67562330483']
    >>> book = design_codebook("matmul_lloyd", "0.9", 3, digits=15)
    >>> [to_decimal(v, 15) for v in book.levels[1:]], [to_decimal(v, 15) for v in book.thresholds]
    (['0.00000000000000', '1.73502951026730'], ['-1.08103447441321', '1.08103447441321'])
    """
    exact_rho, size, k = _validated(design, rho, levels, k)
    magnitude = abs(exact_rho)

    def evaluate() -> tuple[mpmath.mpf, ...]:
        book = _design_at_working_precision(design, to_mpf(magnitude), size, k)
        return (*book.levels, *book.thresholds)

    values = certified_values(evaluate, digits, f"design_codebook({design})", structural_zeros=True)
    return ScalarCodebook(tuple(values[:size]), tuple(values[size:]), design)


@checks_digits
def lloyd_max_distortion(levels: object, digits: int = DEFAULT_DIGITS) -> mpmath.mpf:
    """E[(X − Q(X))²] of the K-level Lloyd–Max quantizer of N(0, 1) (theory.md §2.4; computed,
    not taken from Max's 1960 table). K = 1 gives 1, K = 2 gives 1 − 2/π.

    >>> from quantmm.reference import to_decimal
    >>> to_decimal(lloyd_max_distortion(2, digits=20), 20)  # 1 − 2/π
    '0.36338022763241865692'
    >>> to_decimal(lloyd_max_distortion(8, digits=20), 20)
    '0.034547760788503730277'
    """
    size = _validated_levels("lloyd_max", levels)
    return certified(
        lambda: _mean_squared_error_at_working_precision(
            _design_at_working_precision("lloyd_max", mpmath.mpf(0), size)
        ),
        digits,
        "lloyd_max_distortion",
    )
