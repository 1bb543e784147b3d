"""quantmm: the numerical reference for quantized matrix multiplication.

The front door re-exports the certified mpmath reference (:mod:`quantmm.reference`); the command
line lives in :mod:`quantmm.cli` (``quantmm`` or ``python -m quantmm``).

>>> import quantmm
>>> quantmm.to_decimal(quantmm.gamma(1, digits=4), 4)
'0.4375'
"""

from quantmm._version import __version__
from quantmm.reference import (
    DEFAULT_DIGITS,
    MAX_DIGITS,
    UncertifiedValueError,
    ball_bound,
    centered_frobenius_norms,
    critical_rate,
    gamma,
    gamma_derivative,
    gamma_inverse,
    lattice_loss_db,
    lower_bound,
    normalized_second_moment,
    normalized_second_moment_exact,
    one_sided,
    phi,
    sphere_bound,
    time_sharing_fraction,
    to_decimal,
    unequal_rates,
    universal_guarantee,
)

__all__ = [
    "DEFAULT_DIGITS",
    "MAX_DIGITS",
    "UncertifiedValueError",
    "__version__",
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
