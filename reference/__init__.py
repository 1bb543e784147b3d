"""quantmm.reference: the high-precision (mpmath) reference for quantized matrix multiplication.

Every function takes exact inputs (ints, fractions, decimal strings, or the exact value of a float)
and returns an :class:`mpmath.mpf` certified to ``digits`` significant decimal digits by a second
evaluation at higher precision; see :mod:`quantmm.reference.precision`.

theory.md §1 (Ordentlich–Polyanskiy): :func:`phi`, :func:`critical_rate`, :func:`gamma`,
:func:`gamma_derivative`, :func:`gamma_inverse`, :func:`time_sharing_fraction`,
:func:`one_sided`, :func:`unequal_rates`, :func:`lower_bound`, :func:`universal_guarantee`,
:func:`centered_frobenius_norms`; lattice constants :func:`normalized_second_moment`,
:func:`lattice_loss_db`, :func:`sphere_bound`, :func:`ball_bound`.

theory.md §2 (Ang–Kim–Pilanci, scalar quantization): the high-resolution theory for general pairs
(:mod:`~quantmm.reference.scalar_highres`), the closed forms for correlated Gaussian pairs
(:mod:`~quantmm.reference.scalar_gaussian`), finite-K designs
(:mod:`~quantmm.reference.scalar_designs`) and their exact error moments
(:mod:`~quantmm.reference.product_moments`, :mod:`~quantmm.reference.design_error`).
"""

from .converse import lower_bound
from .design_error import ScalarError, scalar_error
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
from .precision import (
    DEFAULT_DIGITS,
    MAX_DIGITS,
    CertifiedValue,
    UncertifiedValueError,
    to_decimal,
)
from .product_moments import ProductErrorMoments, mean_squared_error, product_error_moments
from .scalar_codebook import ScalarCodebook
from .scalar_designs import DESIGNS, MAX_LEVELS, design_codebook, lloyd_max_distortion
from .scalar_gaussian import (
    compander_bias_coefficient,
    density_normalizer,
    design_gain_db,
    g_opt,
    g_pd,
    is_bimodal,
    optimal_density,
    optimal_density_cdf,
    optimal_density_quantile,
    peak_location,
)
from .scalar_highres import (
    bennett_coefficient,
    bias_crossover,
    gaussian_pair,
    optimal_point_density,
    optimal_point_density_constant,
    panter_dite_constant,
    product_error,
)
from .universal import CenteredNorms, centered_frobenius_norms, universal_guarantee

__all__ = [
    "DEFAULT_DIGITS",
    "DESIGNS",
    "LATTICES",
    "MAX_DIGITS",
    "MAX_LEVELS",
    "CenteredNorms",
    "CertifiedValue",
    "ProductErrorMoments",
    "QuadraticSurd",
    "ScalarCodebook",
    "ScalarError",
    "UncertifiedValueError",
    "ball_bound",
    "bennett_coefficient",
    "bias_crossover",
    "centered_frobenius_norms",
    "compander_bias_coefficient",
    "critical_rate",
    "density_normalizer",
    "design_codebook",
    "design_gain_db",
    "g_opt",
    "g_pd",
    "gamma",
    "gamma_derivative",
    "gamma_inverse",
    "gaussian_pair",
    "is_bimodal",
    "lattice_loss_db",
    "lloyd_max_distortion",
    "lower_bound",
    "mean_squared_error",
    "normalized_second_moment",
    "normalized_second_moment_exact",
    "one_sided",
    "optimal_density",
    "optimal_density_cdf",
    "optimal_density_quantile",
    "optimal_point_density",
    "optimal_point_density_constant",
    "panter_dite_constant",
    "peak_location",
    "phi",
    "product_error",
    "product_error_moments",
    "scalar_error",
    "sphere_bound",
    "time_sharing_fraction",
    "to_decimal",
    "unequal_rates",
    "universal_guarantee",
]
