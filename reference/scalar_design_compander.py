"""The compander designs ``opt`` and ``pd`` for standard Gaussian pairs (theory.md §2.4; AKP).

Points c_i = Λ⁻¹((i − ½)/K) with Λ the CDF of the optimal density
λ*(u) ∝ exp(−u²/6)((1 − ρ²) + ρ²u²)^(1/3) (``opt``) or of N(0, 3) (``pd``, Panter–Dite:
c_i = √3·Φ⁻¹((i − ½)/K)); midpoint thresholds. The ``opt`` compander is also the starting point
of the matmul-Lloyd design (:mod:`~quantmm.reference.scalar_design_matmul_lloyd`).
"""

from __future__ import annotations

import mpmath

from .scalar_codebook import ScalarCodebook
from .scalar_design_common import _midpoint_codebook
from .scalar_gaussian import _optimal_density_quantile_at_working_precision


def _compander_at_working_precision(design: str, rho: mpmath.mpf, size: int) -> ScalarCodebook:
    """Points c_i = Λ⁻¹((i − ½)/K), midpoint thresholds; ``pd`` is √3·Φ⁻¹((i − ½)/K) with
    Φ⁻¹(p) = √2·erfinv(2p − 1), ``opt`` uses the quantile of λ* (theory.md §2.4)."""
    positive = []
    for i in range(1, size + 1):
        if 2 * i - 1 <= size:
            continue
        if design == "pd":  # 2p − 1 = (2i − 1 − K)/K, formed exactly before rounding
            argument = mpmath.mpf(2 * i - 1 - size) / size
            positive.append(mpmath.sqrt(6) * mpmath.erfinv(argument))
        else:
            mass = mpmath.mpf(2 * i - 1) / (2 * size)
            positive.append(_optimal_density_quantile_at_working_precision(mass, rho))
    return _midpoint_codebook(positive, size, design)
