"""quantmm.reference: the high-precision (mpmath) reference for quantized matrix multiplication.

Every function takes exact inputs (ints, fractions, decimal strings, or the exact value of a float)
and returns an :class:`mpmath.mpf` certified to ``digits`` significant decimal digits by a second
evaluation at higher precision; see :mod:`quantmm.reference.precision`.

THEORY.md §1 (Ordentlich–Polyanskiy): :func:`phi`, :func:`critical_rate`, :func:`gamma`,
:func:`gamma_derivative`, :func:`gamma_inverse`, :func:`time_sharing_fraction`,
:func:`one_sided`, :func:`unequal_rates`, :func:`lower_bound`, :func:`universal_guarantee`,
:func:`centered_frobenius_norms`; lattice constants :func:`normalized_second_moment`,
:func:`lattice_loss_db`, :func:`sphere_bound`, :func:`ball_bound`.
"""

from .converse import lower_bound
from .distortion_rate import (
    critical_rate,
    gamma,
    gamma_derivative,
    gamma_inverse,
    one_sided,
    phi,
    time_sharing_fraction,
    unequal_rates,
)
from .lattice_constants import (
    LATTICES,
    QuadraticSurd,
    ball_bound,
    lattice_loss_db,
    normalized_second_moment,
    normalized_second_moment_exact,
    sphere_bound,
)
from .precision import DEFAULT_DIGITS, MAX_DIGITS, UncertifiedValueError, to_decimal
from .universal import CenteredNorms, centered_frobenius_norms, universal_guarantee

__all__ = [
    "DEFAULT_DIGITS",
    "LATTICES",
    "MAX_DIGITS",
    "CenteredNorms",
    "QuadraticSurd",
    "UncertifiedValueError",
    "ball_bound",
    "centered_frobenius_norms",
    "critical_rate",
    "gamma",
    "gamma_derivative",
    "gamma_inverse",
    "lattice_loss_db",
    "lower_bound",
    "normalized_second_moment",
    "normalized_second_moment_exact",
    "one_sided",
    "phi",
    "sphere_bound",
    "time_sharing_fraction",
    "to_decimal",
    "unequal_rates",
    "universal_guarantee",
]
