"""Closest-point decoders for Z^d, D_d, A2 and E8, batched over any leading shape (theory.md §1.4).

Algorithms are Conway & Sloane, "Fast quantizing and decoding algorithms for lattice quantizers
and codes", IEEE Trans. Inf. Theory 28 (1982), and *Sphere Packings, Lattices and Groups*, ch. 20:

- **Z^d**: round every coordinate.
- **D_d** (integer vectors with even sum, d ≥ 2): round every coordinate to f(x); if the sum of f(x)
  is odd, re-round the coordinate with the largest rounding error the other way.
- **A2** (the hexagonal lattice with minimum distance 1, basis (1, 0), (1/2, √3/2)): the union of
  the rectangular lattice Z × √3Z and its translate by (1/2, √3/2); round in each and keep the
  nearer.
- **E8** = D8 ∪ (D8 + ½·1): decode in both cosets and keep the nearer.

**Tie rule** (deterministic, the same on NumPy and CuPy, float32 and float64):

1. a coordinate exactly halfway between two integers rounds to the even one (IEEE ``rint``);
2. D_d's re-rounded coordinate is the one with the largest |x_i − f(x_i)|, the lowest index among
   equals, and "the other way" is up when x_i ≥ f(x_i) and down otherwise;
3. between the two cosets of A2 and E8 the first (Z × √3Z, resp. D8) wins when the squared
   distances are equal.

The coset comparison sums squared errors in float64 in a fixed order, so it is exact whenever the
errors' squares add without rounding (for instance dyadic inputs with few bits) and otherwise
correct up to one rounding of a float64 sum: a point it returns is at most a few float64 ulps
of the squared distance farther than the closest one.

**Range.** A lattice point must be exactly representable: entries must satisfy
|x| < 2^21 in float32 and |x| < 2^50 in float64, else ``ValueError``. (E8's half-integers need
ulp(x) ≤ 1/2; a margin keeps x − f(x) exact.) A2's points involve √3 and cannot be exact: A2 is
computed in float64 for either dtype with |x| < 2^20, where the rounding of √3·k and x/√3 moves
a squared distance by less than 2^-28, and only comparisons closer than that can go either way.
Points come back in the input's dtype (A2's second coordinate within an ulp or so of the exact
value).

**Array libraries.** NumPy and CuPy arrays are computed on by their own modules; the arrays of any
other library that follows the Python array API standard (PyTorch, JAX, array-api-strict, …) by
their array-API namespace (:func:`quantmm.fast.backend.array_namespace`, which needs the optional
``array-api-compat``: ``pip install 'quantmm[array-api]'``), with the same code, the same checks
and messages, and the result in the caller's library and on its device. The code uses only
functions of the standard (the few calls NumPy and CuPy spell differently go through
:mod:`quantmm.fast.backend`), so on NumPy it gives the same bits as before, and on another
library the same bits wherever that library's elementwise arithmetic is IEEE's (tested
with array-api-strict).

>>> import numpy as np
>>> closest_point(np.array([0.6, 0.6, 0.1, 0.1, 0.1, 0.1, 0.1, 0.4]), "E8").tolist()
[1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]
>>> closest_point(np.array([0.5, 1.5]), "Z").tolist()
[0.0, 2.0]
>>> closest_point(np.array([0.6, 0.6, 0.6, 0.1]), "D").tolist()  # tie: lowest index re-rounded
[0.0, 1.0, 1.0, 0.0]
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from types import ModuleType
from typing import Any

import numpy as np

from .backend import (
    array_namespace,
    astype,
    device_kwargs,
    dtype_name,
    is_numpy_or_cupy,
    round_half_even,
    validated_array,
)

__all__ = [
    "LATTICE_NAMES",
    "Lattice",
    "closest_point",
    "closest_point_coordinates",
    "lattice",
]

#: Names accepted by :func:`closest_point`; "Z" and "D" take their dimension from the input.
LATTICE_NAMES = ("Z", "D", "A2", "D4", "E8")

_RANGE_LIMIT = {"float32": 2.0**21, "float64": 2.0**50}  # by dtype name: any array library
_A2_RANGE_LIMIT = 2.0**20  # √3·k is rounded: keep its absolute error below 2^-31
_SQRT3 = float(np.sqrt(3.0))


@dataclass(frozen=True)
class Lattice:
    """A lattice usable in a Voronoi code: name, dimension d, generator and constants.

    ``generator`` has the basis vectors as columns (a point is ``generator @ coordinates``);
    ``second_moment`` is E||U||²/d for U uniform on the Voronoi cell of this scaling, i.e.
    G(Λ)·det(generator)^(2/d) (theory.md §1.4); ``covering_radius`` bounds every cell point's norm.
    """

    name: str
    dimension: int
    generator: np.ndarray
    second_moment: float
    covering_radius: float


def _d_generator(d: int) -> np.ndarray:
    """Conway–Sloane's D_d basis (rows (−1,−1,0,…), (1,−1,0,…), (0,1,−1,0,…), …) as columns."""
    rows = np.zeros((d, d))
    rows[0, :2] = (-1.0, -1.0)
    for i in range(1, d):
        rows[i, i - 1 : i + 1] = (1.0, -1.0)
    return rows.T.copy()


def _e8_generator() -> np.ndarray:
    """Conway–Sloane's E8 basis (SPLAG ch. 4, eq. (97) ordering), as columns; det = 1."""
    rows = np.zeros((8, 8))
    rows[0, 0] = 2.0
    for i in range(1, 7):
        rows[i, i - 1 : i + 1] = (-1.0, 1.0)
    rows[7, :] = 0.5
    return rows.T.copy()


@cache
def lattice(name: str) -> Lattice:
    """The code lattice ``name`` (Z = Z^1, A2, D4 or E8) with its constants.

    The second moments come from the certified exact normalized second moments of
    :mod:`quantmm.reference` times det^(2/d): Z 1/12, A2 5/72, D4 13/120, E8 929/12960.

    >>> lattice("D4").second_moment == 13 / 120
    True
    """
    from fractions import Fraction

    from quantmm.reference.lattice_constants import normalized_second_moment_exact

    # (generator, covering radius, det^(2/d) as (rational, radicand)): G·det^(2/d) is rational.
    # Covering radii: SPLAG ch. 4 (minimum norms 1, 1, 2, 2).
    generators = {
        "Z": (np.eye(1), 0.5, (Fraction(1), 1)),
        "A2": (np.array([[1.0, 0.5], [0.0, _SQRT3 / 2]]), 1 / _SQRT3, (Fraction(1, 2), 3)),
        "D4": (_d_generator(4), 1.0, (Fraction(1), 2)),
        "E8": (_e8_generator(), 1.0, (Fraction(1), 1)),
    }
    name = name.strip().upper() if isinstance(name, str) else name
    if name not in generators:
        raise ValueError(f"lattice must be one of {', '.join(generators)}, got {name!r}")
    generator, covering_radius, (det_rational, det_radicand) = generators[name]
    d = generator.shape[0]
    nsm = normalized_second_moment_exact(name)
    assert nsm.radicand in (1, det_radicand)
    second_moment = nsm.rational * det_rational * (det_radicand if nsm.radicand > 1 else 1)
    if nsm.radicand == 1:
        assert det_radicand == 1
    return Lattice(name, d, generator, float(second_moment), covering_radius)


def _checked(x: Any, lattice_name: str) -> tuple[Any, Any]:
    """``x`` checked for ``lattice_name``, and its namespace (NumPy, CuPy or array-API)."""
    xp = array_namespace(x, "x")
    x = validated_array(x, "x", xp=xp)
    dims = {"A2": 2, "D4": 4, "E8": 8}
    shape = tuple(x.shape)  # a tuple in every library (PyTorch's is a torch.Size)
    if x.ndim == 0:
        raise ValueError("x must have at least one axis (the last is the lattice's coordinates)")
    if lattice_name in dims and shape[-1] != dims[lattice_name]:
        raise ValueError(
            f"x must have last axis {dims[lattice_name]} for {lattice_name}, got shape {shape}"
        )
    if lattice_name == "D" and shape[-1] < 2:
        raise ValueError(f"x must have last axis >= 2 for D_d, got shape {shape}")
    dtype = dtype_name(x.dtype)
    limit = _A2_RANGE_LIMIT if lattice_name == "A2" else _RANGE_LIMIT[dtype]
    largest = float(xp.max(xp.abs(x)))
    if largest >= limit:
        raise ValueError(
            f"x must have entries of magnitude below {limit:g} for {dtype} (lattice points "
            f"must be exactly representable), got {largest:g}"
        )
    return x, xp


def _round_z(xp: ModuleType, x: Any) -> Any:
    return round_half_even(xp, x)


def _is_odd(xp: ModuleType, integers: Any) -> Any:
    """Whether integer-valued floats are odd (exact: halving is exact, floor is exact)."""
    return xp.floor(integers * 0.5) * 2.0 != integers


def _parity_fixed(xp: ModuleType, x: Any) -> tuple[Any, Any, Any, Any]:
    """D_d's Conway–Sloane decoding of x in pieces (see :func:`_parity_fixed_from`)."""
    f = round_half_even(xp, x)
    return _parity_fixed_from(xp, f, x - f)


def _parity_fixed_from(xp: ModuleType, f: Any, error: Any) -> tuple[Any, Any, Any, Any]:
    """From the rounded vector f and the errors x − f: the index k of the worst coordinate
    (first among equals), the step (±1, or 0 when the sum of f is even) to add at k, and the
    squared distance Σ (x − f)² + (1 − 2|x_k − f_k|)·[odd], summed left to right."""
    magnitude = xp.abs(error)
    worst = xp.argmax(magnitude, axis=-1)  # first index among equals
    worst_error = xp.take_along_axis(error, worst[..., None], axis=-1)[..., 0]
    odd = _is_odd(xp, xp.sum(f, axis=-1))
    # ±1 times 1 or 0 (odd): ±1, or a zero that carries the sign, as NumPy's where(…, 1.0, −1.0)
    # times the boolean gave (the array API multiplies no booleans into floats, and a signed zero
    # decides the sign of a zero coordinate in _with_step)
    up = astype(xp, worst_error >= 0, f.dtype)
    step = (2.0 * up - 1.0) * astype(xp, odd, f.dtype)
    total = error[..., 0] * error[..., 0]
    for i in range(1, f.shape[-1]):
        total = total + error[..., i] * error[..., i]
    # re-rounding coordinate k the other way turns |e_k|² into (1 − |e_k|)²
    distance = xp.where(odd, total + (1.0 - 2.0 * xp.abs(worst_error)), total)
    return f, worst, step, distance


def _rounded_minus_half(xp: ModuleType, x: Any) -> tuple[Any, Any]:
    """rint(x − ½) (ties to even) and (x − ½) − rint(x − ½), without forming x − ½, which is
    rounded near the top of the range: with ⌊x⌋ and frac = x − ⌊x⌋ (both exact), the nearest
    integer to x − ½ is ⌊x⌋, except for integer x, a tie, which goes to the even of ⌊x⌋ − 1, ⌊x⌋."""
    rounded = xp.floor(x)
    error = (x - rounded) - 0.5
    tie = error == -0.5  # x is an integer: x − ½ is halfway, and goes to the even neighbour
    if bool(xp.any(tie)):  # rare: skip the fix-up when there is none
        # an odd tied ⌊x⌋ goes down to ⌊x⌋ − 1, with error +½ (a whole-array where, not masked
        # assignment, which JAX's immutable arrays do not have; same values)
        down = tie & _is_odd(xp, rounded)
        rounded = xp.where(down, rounded - 1.0, rounded)
        error = xp.where(down, -error, error)
    return rounded, error


def _with_step(xp: ModuleType, f: Any, worst: Any, step: Any) -> Any:
    at_worst = xp.arange(f.shape[-1], **device_kwargs(xp, f)) == worst[..., None]
    # 1 or 0 times the step: away from k a zero with the step's sign, as NumPy's boolean product
    # gave (it decides the sign of a zero coordinate)
    return f + astype(xp, at_worst, f.dtype) * step[..., None]


def _round_d(xp: ModuleType, x: Any) -> Any:
    """D_d: round, and fix the parity by re-rounding the worst coordinate the other way."""
    f, worst, step, _ = _parity_fixed(xp, x)
    return _with_step(xp, f, worst, step)


def _squared_distance(xp: ModuleType, x: Any, point: Any) -> Any:
    """Σ (x_i − p_i)² in float64, summed left to right (the same order on NumPy and CuPy)."""
    error = astype(xp, x, xp.float64) - astype(xp, point, xp.float64)
    total = error[..., 0] * error[..., 0]
    for i in range(1, x.shape[-1]):
        total = total + error[..., i] * error[..., i]
    return total


def _nearer(xp: ModuleType, x: Any, first: Any, second: Any) -> tuple[Any, Any]:
    """The nearer of two candidates (the first on equal distance) and a mask 'second chosen'."""
    use_second = _squared_distance(xp, x, second) < _squared_distance(xp, x, first)
    return xp.where(use_second[..., None], second, first), use_second


def _round_e8(xp: ModuleType, x: Any) -> Any:
    """E8 = D8 ∪ (D8 + ½), in float64; the second coset is decoded from ⌊x⌋ and x − ⌊x⌋
    (exact) rather than from x − ½, and the squared distances come from the rounding errors."""
    wide = astype(xp, x, xp.float64)
    f1, worst1, step1, distance1 = _parity_fixed(xp, wide)
    f2, worst2, step2, distance2 = _parity_fixed_from(xp, *_rounded_minus_half(xp, wide))
    second = distance2 < distance1  # the D8 coset wins ties
    base = xp.where(second[..., None], f2 + 0.5, f1)
    point = _with_step(xp, base, xp.where(second, worst2, worst1), xp.where(second, step2, step1))
    return astype(xp, point, x.dtype)


def _round_a2(xp: ModuleType, x: Any) -> tuple[Any, Any]:
    """A2 point and its integer coordinates in the basis (1, 0), (1/2, √3/2), computed in float64
    (√3 makes every step inexact; float64 keeps the errors below 2^-31 in the A2 range)."""
    dtype = x.dtype
    x = astype(xp, x, xp.float64)
    sqrt3, half = _SQRT3, 0.5
    u, v = x[..., 0], x[..., 1] / sqrt3
    m1, k1 = round_half_even(xp, u), round_half_even(xp, v)
    m2, k2 = round_half_even(xp, u - half), round_half_even(xp, v - half)
    first = xp.stack([m1, sqrt3 * k1], axis=-1)
    second = xp.stack([m2 + half, sqrt3 * (k2 + half)], axis=-1)
    point, use_second = _nearer(xp, x, first, second)
    m = astype(xp, xp.where(use_second, m2, m1), xp.int64)
    k = astype(xp, xp.where(use_second, k2, k1), xp.int64)
    coset = astype(xp, use_second, xp.int64)
    # (m, √3k) = (m − k)·(1, 0) + 2k·(1/2, √3/2); the second coset adds (1/2, √3/2).
    coordinates = xp.stack([m - k, 2 * k + coset], axis=-1)
    return astype(xp, point, dtype), coordinates


@cache
def _exact_inverse(name: str) -> np.ndarray:
    """The inverse generator of Z, D4 or E8, in exact rationals (its entries are dyadic)."""
    from fractions import Fraction

    generator = [[Fraction(v).limit_denominator(2) for v in row] for row in lattice(name).generator]
    d = len(generator)
    augmented = [row + [Fraction(int(i == j)) for j in range(d)] for i, row in enumerate(generator)]
    for col in range(d):
        pivot = next(r for r in range(col, d) if augmented[r][col] != 0)
        augmented[col], augmented[pivot] = augmented[pivot], augmented[col]
        scale = augmented[col][col]
        augmented[col] = [v / scale for v in augmented[col]]
        for r in range(d):
            if r != col and augmented[r][col] != 0:
                factor = augmented[r][col]
                pivot_row = augmented[col]
                augmented[r] = [
                    v - factor * w for v, w in zip(augmented[r], pivot_row, strict=True)
                ]
    inverse = np.array([[float(v) for v in row[d:]] for row in augmented])
    assert all(float(v) == v for row in augmented for v in row[d:])  # dyadic: exact in float64
    return inverse


def _canonical(name: str) -> str:
    if not isinstance(name, str) or name.strip().upper() not in LATTICE_NAMES:
        raise ValueError(f"lattice must be one of {', '.join(LATTICE_NAMES)}, got {name!r}")
    return name.strip().upper()


def _closest(xp: ModuleType, x: Any, name: str) -> Any:
    if name == "Z":
        return _round_z(xp, x)
    if name in ("D", "D4"):
        return _round_d(xp, x)
    if name == "E8":
        return _round_e8(xp, x)
    return _round_a2(xp, x)[0]


def closest_point(x: Any, lattice: str) -> Any:
    """The closest point of ``lattice`` to each vector along ``x``'s last axis.

    ``lattice`` is "Z" (Z^d), "D" (D_d), "D4", "A2" or "E8"; ``x`` is a float32 or float64 NumPy
    or CuPy array of any leading shape, or such an array of another array-API library (with
    ``array-api-compat``). Returns an array of the same shape, dtype, library and device.
    The tie rule, the range limit and the array libraries are in the module docstring.

    >>> import numpy as np
    >>> closest_point(np.array([[0.3, 0.4], [0.5, 0.8]]), "A2").round(6).tolist()
    [[0.0, 0.0], [0.5, 0.866025]]
    """
    from . import compiled, cuda_kernels

    name = _canonical(lattice)
    x, xp = _checked(x, name)
    if xp is np and compiled.available():
        return compiled.closest_point(x, name)
    if xp is not np and is_numpy_or_cupy(xp) and cuda_kernels.available():
        return cuda_kernels.kernels().closest_point(x, name)
    return _closest(xp, x, name)


def closest_point_coordinates(x: Any, lattice_name: str) -> Any:
    """Integer coordinates (int64) of the closest point of a code lattice (Z, A2, D4, E8).

    The closest point is ``lattice(lattice_name).generator @ coordinates``.

    >>> import numpy as np
    >>> closest_point_coordinates(np.array([0.6, 0.6, 0.1, 0.1, 0.1, 0.1, 0.1, 0.4]), "E8").tolist()
    [1, 1, 0, 0, 0, 0, 0, 0]
    """
    name = _canonical(lattice_name)
    if name == "D":
        raise ValueError("lattice must be a code lattice (Z, A2, D4, E8), got 'D'")
    code_lattice = lattice(name)
    x, xp = _checked(x, name)
    if name == "Z" and x.shape[-1] != 1:
        raise ValueError(
            f"x must have last axis 1 for the code lattice Z, got shape {tuple(x.shape)}"
        )
    return _coordinates(xp, x, code_lattice)


def _coordinates(xp: ModuleType, x: Any, code_lattice: Lattice) -> Any:
    """Closest point's integer coordinates, without input checks (internal, float64 input)."""
    if code_lattice.name == "A2":
        return _round_a2(xp, x)[1]
    # Exact in int64: 2·point and 2·G⁻¹ are integers (half-integer points, dyadic G⁻¹ with
    # entries of magnitude <= 6), so every partial sum stays below 2^51·12·8 < 2^58.
    twice_point = round_half_even(
        xp, 2 * astype(xp, _closest(xp, x, code_lattice.name), xp.float64)
    )
    twice_inverse = np.rint(2 * _exact_inverse(code_lattice.name)).astype(np.int64)
    twice_inverse = xp.asarray(twice_inverse.tolist(), dtype=xp.int64, **device_kwargs(xp, x))
    d = twice_inverse.shape[0]
    twice_point = astype(xp, twice_point, xp.int64)
    total = twice_point[..., 0:1] * twice_inverse[:, 0]
    for j in range(1, d):
        total = total + twice_point[..., j : j + 1] * twice_inverse[:, j]
    return total // 4
