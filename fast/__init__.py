"""quantmm.fast: vectorized quantizers for matrix multiplication on NumPy (CPU) and CuPy (GPU).

One source serves both array libraries (:mod:`quantmm.fast.backend`); results are bit-identical
on the two wherever the payload bytes are concerned. What is here (theory.md §1.3–§1.4, §2):

- :func:`closest_point` for Z^d, D_d, A2, D4, E8 (Conway–Sloane, with a documented tie rule);
- :class:`VoronoiCode`: dithered nested-lattice (Voronoi) codes with a scale list and exact overload
  detection; :class:`RandomizedHadamard`: a seeded orthogonal rotation of any length;
- kernels implementing :class:`quantmm.protocol.MatmulQuantizer` (``encode_a``, ``encode_b``,
  ``estimate`` on byte payloads): :class:`NestedLatticeMatmul` and :class:`ScalarMatmul`;
- :class:`PayloadError`: what every decoder raises for a payload that is not exactly what its
  encoder wrote (checksum, layout, values; :mod:`quantmm.fast.payload`);
- float64 vectorized :func:`gamma`, :func:`phi`, :func:`optimal_density`;
- :func:`distortion`: Monte Carlo normalized distortion with its standard error.

>>> import numpy as np
>>> from quantmm.fast import NestedLatticeMatmul
>>> kernel = NestedLatticeMatmul(rate=4.06, seed=0)
>>> A = np.random.default_rng(0).normal(size=(64, 2))
>>> C = kernel.estimate(kernel.encode_a(A), kernel.encode_b(A))
>>> C.shape
(2, 2)
"""

from .backend import cupy_or_none, device_module
from .functions import gamma, optimal_density, phi
from .lattices import LATTICE_NAMES, closest_point, closest_point_coordinates, lattice
from .monte_carlo import DistortionEstimate, distortion, gaussian_pair
from .nested_lattice import NestedLatticeMatmul
from .payload import PayloadError
from .rotation import RandomizedHadamard, walsh_hadamard
from .scalar_matmul import ScalarMatmul
from .scale_lists import default_betas, tune_betas
from .voronoi import OverloadError, VoronoiCode, VoronoiCodewords

__all__ = [
    "LATTICE_NAMES",
    "DistortionEstimate",
    "NestedLatticeMatmul",
    "OverloadError",
    "PayloadError",
    "RandomizedHadamard",
    "ScalarMatmul",
    "VoronoiCode",
    "VoronoiCodewords",
    "closest_point",
    "closest_point_coordinates",
    "cupy_or_none",
    "default_betas",
    "device_module",
    "distortion",
    "gamma",
    "gaussian_pair",
    "lattice",
    "optimal_density",
    "phi",
    "tune_betas",
    "walsh_hadamard",
]
