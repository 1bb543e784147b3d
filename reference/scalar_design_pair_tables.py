"""The pair tables of one symmetric codebook used on both X and Y, and the stationarity system
of F(Q) = E[D²](Q, Q) + β·E[D]² (theory.md §2.4; AKP = Ang, Kim, Pilanci, arXiv:2603.19559).

X, Y are standard normal with correlation ρ, 0 ≤ ρ ≤ 1 (the designs depend on |ρ| only), and
D = XY − Q(X)Q(Y). This module computes, at the working precision and in float64 (the float64
versions only give the starting points of the iterative designs, never a returned value): the
tables P, M (:func:`_pair_tables_at_working_precision`, :func:`_float_tables`); E[D²], E[D] and F
from them (:func:`_moments`, :func:`_objective`); and the residual (R_a, R_t) of the stationarity
conditions of F with its analytic Jacobian (:func:`_stationarity_system`). The matmul-Lloyd design
(:mod:`~quantmm.reference.scalar_design_matmul_lloyd`) solves R = 0; the uniform design
(:mod:`~quantmm.reference.scalar_design_uniform`) takes the derivatives of E[D²] along its step
from R and its Jacobian.

The pair tables
---------------
For a codebook with levels a_i and cells S_i, let P_ij = P(X ∈ S_i, Y ∈ S_j) and
M_ij = E[XY; X ∈ S_i, Y ∈ S_j]. Then (Isserlis: E[X²Y²] = 1 + 2ρ²)

    E[D²] = 1 + 2ρ² − 2·Σ a_i a_j M_ij + Σ a_i² a_j² P_ij,     E[D] = ρ − Σ a_i a_j P_ij.

At ρ = 0 the tables factor (P_ij = p_i p_j, M_ij = μ_i μ_j, μ_i = E[X; S_i]); at ρ = 1 they are
diagonal (P_ii = p_i, M_ii = E[X²; S_i]); otherwise each row is a one-dimensional integral over the
cell of X of φ(x)·P(Y ∈ S_j | x) and φ(x)·x·E[Y; S_j | x] (Y | x ~ N(ρx, 1 − ρ²)), computed with
the Gauss–Legendre rules and cell refinement of :mod:`quantmm.reference.product_moments`.

The stationarity system
-----------------------
With g(x) = E[Y·Q(Y) | x], h(x) = E[Q(Y)² | x] and q(x) = E[Q(Y) | x], the stationary points of
F(Q) are the fixed points of the matmul-Lloyd best response with Q_Y = Q (derivation in
:mod:`~quantmm.reference.scalar_design_matmul_lloyd`, finding 1):

    R_a,i = Σ_j a_j M_ij − a_i·Σ_j a_j² P_ij + β·E[D]·Σ_j a_j P_ij = 0,
    R_t,m = (a_m + a_(m+1))·h(t_m) − 2·t_m·g(t_m) − 2β·E[D]·q(t_m) = 0,

with β = k − 1 for the bias-aware objective (0 otherwise); ∂F/∂a_i = −4·R_a,i and
∂F/∂t_m = 2φ(t_m)(a_m − a_(m+1))·R_t,m. At ρ = 1, g and h are taken as their ρ → 1 limits at a
threshold (the average of the two adjacent cells).
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence
from dataclasses import dataclass

import mpmath

from .product_moments import _integrate, _normal_mass, _pieces
from .scalar_codebook import ScalarCodebook
from .scalar_design_common import _density

_FLOAT_LIMIT = 9.0  # float quadratures stop at |x| = 9: (1 + x²)·φ(x) < 1e-16 beyond


# ---------------------------------------------------------------------------------------------
# Pair tables and the stationarity system of F(Q) = E[D²](Q, Q) (+ β·E[D]²).
# ---------------------------------------------------------------------------------------------


def _cell_masses_and_means(book: ScalarCodebook) -> tuple[list, list]:
    """p_i = P(X ∈ S_i) and μ_i = E[X; S_i] = φ(l) − φ(r)."""
    masses, means = [], []
    for left, right in book.cells():
        masses.append(_normal_mass(left, right))
        means.append(_density(left) - _density(right))
    return masses, means


def _conditional_cells(
    x: mpmath.mpf, book: ScalarCodebook, rho: mpmath.mpf
) -> tuple[list, list, list]:
    """For Y | x ~ N(ρx, 1 − ρ²), |ρ| < 1: (P(Y ∈ S_j | x), E[Y; S_j | x]) per cell and the
    conditional density at each threshold. Each Φ is taken on the side where it is small."""
    spread = mpmath.sqrt(1 - rho * rho)
    mean = rho * x
    below, above, density = [mpmath.mpf(0)], [mpmath.mpf(1)], [mpmath.mpf(0)]
    for threshold in book.thresholds:
        z = (threshold - mean) / spread
        if z < 0:
            low = mpmath.ncdf(z)
            below.append(low)
            above.append(1 - low)
        else:
            high = mpmath.ncdf(-z)
            below.append(1 - high)
            above.append(high)
        density.append(mpmath.npdf(z))
    below.append(mpmath.mpf(1))
    above.append(mpmath.mpf(0))
    density.append(mpmath.mpf(0))
    masses, firsts = [], []
    for j in range(book.size):
        if above[j] <= below[j]:
            mass = above[j] - above[j + 1]
        else:
            mass = below[j + 1] - below[j]
        masses.append(mass)
        firsts.append(mean * mass + spread * (density[j] - density[j + 1]))
    return masses, firsts, [d / spread for d in density[1:-1]]


def _threshold_conditionals(
    m: int, book: ScalarCodebook, rho: mpmath.mpf
) -> tuple[list, list, list]:
    """:func:`_conditional_cells` at x = t_m; at ρ = 1 (Y = X) the ρ → 1 limit: half of the mass
    in each of the two cells that meet at t_m, and no conditional density."""
    if rho == 1:
        half = mpmath.mpf(1) / 2
        masses = [half if j in (m, m + 1) else mpmath.mpf(0) for j in range(book.size)]
        threshold = book.thresholds[m]
        return masses, [threshold * p for p in masses], [mpmath.mpf(0)] * (book.size - 1)
    return _conditional_cells(book.thresholds[m], book, rho)


def _pair_tables_at_working_precision(book: ScalarCodebook, rho: mpmath.mpf) -> tuple[list, list]:
    """(P, M): P_ij = P(X ∈ S_i, Y ∈ S_j), M_ij = E[XY; X ∈ S_i, Y ∈ S_j] for a symmetric
    codebook used on both sides and 0 ≤ ρ ≤ 1 (see the module docstring)."""
    size = book.size
    zero = mpmath.mpf(0)
    if rho == 0 or rho == 1:
        masses, means = _cell_masses_and_means(book)
        if rho == 0:
            return (
                [[masses[i] * masses[j] for j in range(size)] for i in range(size)],
                [[means[i] * means[j] for j in range(size)] for i in range(size)],
            )
        tables = ([[zero] * size for _ in range(size)], [[zero] * size for _ in range(size)])
        for i, (left, right) in enumerate(book.cells()):
            left_term = left * _density(left) if mpmath.isfinite(left) else zero
            right_term = right * _density(right) if mpmath.isfinite(right) else zero
            tables[0][i][i] = masses[i]
            tables[1][i][i] = masses[i] + left_term - right_term
        return tables
    # Rows over x ≥ 0; the part of S_i below 0 is the mirror of S_(K−1−i) above 0, and
    # (x, y) → (−x, −y) maps cell j to K − 1 − j.
    positive = ([[zero] * size for _ in range(size)], [[zero] * size for _ in range(size)])
    for left, right, _ in _pieces(book, book, rho, mpmath.mpf(0)):
        cell = bisect.bisect_left(book.thresholds, (left + right) / 2)

        def integrand(x: mpmath.mpf) -> list[mpmath.mpf]:
            masses, firsts, _ = _conditional_cells(x, book, rho)
            weight = mpmath.npdf(x)
            return [weight * p for p in masses] + [weight * x * e for e in firsts]

        values = _integrate(integrand, left, right)
        for j in range(size):
            positive[0][cell][j] += values[j]
            positive[1][cell][j] += values[size + j]
    return tuple(
        [
            [table[i][j] + table[size - 1 - i][size - 1 - j] for j in range(size)]
            for i in range(size)
        ]
        for table in positive
    )


@dataclass(frozen=True)
class _Moments:
    """E[D²], E[D] and the vectors Σ_j a_j P_ij, Σ_j a_j² P_ij, Σ_j a_j M_ij of one codebook."""

    second_moment: object
    mean: object
    level_mass: list
    square_mass: list
    cross: list


def _moments(levels: Sequence, rho, tables: tuple[list, list]) -> _Moments:
    """Generic arithmetic (floats or mpf) on the pair tables."""
    pair, product = tables
    size = len(levels)
    level_mass = [sum(pair[i][j] * levels[j] for j in range(size)) for i in range(size)]
    square_mass = [sum(pair[i][j] * levels[j] ** 2 for j in range(size)) for i in range(size)]
    cross = [sum(product[i][j] * levels[j] for j in range(size)) for i in range(size)]
    second = (
        1
        + 2 * rho * rho
        - 2 * sum(levels[i] * cross[i] for i in range(size))
        + sum(levels[i] ** 2 * square_mass[i] for i in range(size))
    )
    mean = rho - sum(levels[i] * level_mass[i] for i in range(size))
    return _Moments(second, mean, level_mass, square_mass, cross)


def _stationarity_system(
    levels: Sequence,
    thresholds: Sequence,
    rho,
    beta,
    tables: tuple[list, list],
    conditionals: Sequence[tuple[list, list, list]],
    densities: Sequence,
    with_jacobian: bool = True,
) -> tuple[list, list | None, _Moments]:
    """The residual (R_a, R_t) of the module docstring and its Jacobian in the variables
    (a_0 … a_(K−1), t_0 … t_(K−2)), each threshold moving on both sides at once.

    ``conditionals[m]`` holds (P(Y ∈ S_j | t_m), E[Y; S_j | t_m], conditional density at each
    threshold), ``densities[m]`` = φ(t_m). The boundary derivatives of the tables are
    ∂P_ij/∂t_n = φ_n[(δ_in − δ_i,n+1)·p_n[j] + (δ_jn − δ_j,n+1)·p_n[i]] and the same for M with
    t_n·e_n. Generic arithmetic: works on floats and on mpf."""
    pair, product = tables
    size = len(levels)
    a, t = levels, thresholds
    moments = _moments(levels, rho, tables)
    e1, pa, pa2, ma = moments.mean, moments.level_mass, moments.square_mass, moments.cross
    q = [sum(a[j] * c[0][j] for j in range(size)) for c in conditionals]
    g = [sum(a[j] * c[1][j] for j in range(size)) for c in conditionals]
    h = [sum(a[j] ** 2 * c[0][j] for j in range(size)) for c in conditionals]
    residual = [ma[i] - a[i] * pa2[i] + beta * e1 * pa[i] for i in range(size)]
    residual += [
        (a[m] + a[m + 1]) * h[m] - 2 * t[m] * g[m] - 2 * beta * e1 * q[m] for m in range(size - 1)
    ]
    if not with_jacobian:
        return residual, None, moments
    count = 2 * size - 1
    jacobian = [[0 * rho] * count for _ in range(count)]
    de1_da = [-2 * pa[k] for k in range(size)]
    de1_dt = [-2 * densities[n] * (a[n] - a[n + 1]) * q[n] for n in range(size - 1)]
    for i in range(size):
        row = jacobian[i]
        for k in range(size):
            row[k] = (
                product[i][k]
                - 2 * a[i] * a[k] * pair[i][k]
                + beta * (de1_da[k] * pa[i] + e1 * pair[i][k])
            )
        row[i] -= pa2[i]
        for n in range(size - 1):
            p_n, e_n, _ = conditionals[n]
            side = (1 if i == n else 0) - (1 if i == n + 1 else 0)
            d_ma = t[n] * densities[n] * (side * g[n] + (a[n] - a[n + 1]) * e_n[i])
            d_pa2 = densities[n] * (side * h[n] + (a[n] ** 2 - a[n + 1] ** 2) * p_n[i])
            d_pa = densities[n] * (side * q[n] + (a[n] - a[n + 1]) * p_n[i])
            row[size + n] = d_ma - a[i] * d_pa2 + beta * (de1_dt[n] * pa[i] + e1 * d_pa)
    for m in range(size - 1):
        row = jacobian[size + m]
        p_m, e_m, d_m = conditionals[m]
        pair_sum = a[m] + a[m + 1]
        for k in range(size):
            row[k] = (
                pair_sum * 2 * a[k] * p_m[k]
                - 2 * t[m] * e_m[k]
                - 2 * beta * (de1_da[k] * q[m] + e1 * p_m[k])
            )
        row[m] += h[m]
        row[m + 1] += h[m]
        # x-derivatives of h, g, q at x = t_m (Gaussian location family: d/dx E[f(Y)|x] =
        # ρ·E[f'(Y)|x]); at ρ = 1 the densities d_m vanish and only ∂g/∂x = ρ·q remains.
        dh_dx = rho * sum((a[n + 1] ** 2 - a[n] ** 2) * d_m[n] for n in range(size - 1))
        dg_dx = rho * (q[m] + sum((a[n + 1] - a[n]) * t[n] * d_m[n] for n in range(size - 1)))
        dq_dx = rho * sum((a[n + 1] - a[n]) * d_m[n] for n in range(size - 1))
        for n in range(size - 1):
            dh = (a[n] ** 2 - a[n + 1] ** 2) * d_m[n]
            dg = (a[n] - a[n + 1]) * t[n] * d_m[n]
            dq = (a[n] - a[n + 1]) * d_m[n]
            if n == m:
                dh, dg, dq = dh + dh_dx, dg + dg_dx, dq + dq_dx
            row[size + n] = (
                pair_sum * dh
                - 2 * t[m] * dg
                - (2 * g[m] if n == m else 0)
                - 2 * beta * (de1_dt[n] * q[m] + e1 * dq)
            )
    return residual, jacobian, moments


def _system_at_working_precision(
    book: ScalarCodebook, rho: mpmath.mpf, beta: mpmath.mpf, with_jacobian: bool = True
) -> tuple[list, list | None, _Moments]:
    tables = _pair_tables_at_working_precision(book, rho)
    conditionals = [_threshold_conditionals(m, book, rho) for m in range(book.size - 1)]
    densities = [mpmath.npdf(t) for t in book.thresholds]
    return _stationarity_system(
        book.levels, book.thresholds, rho, beta, tables, conditionals, densities, with_jacobian
    )


def _objective(moments: _Moments, beta):
    """F = E[D²] + β·E[D]²."""
    return moments.second_moment + beta * moments.mean**2


# ---------------------------------------------------------------------------------------------
# Float64 machinery for the starting points (never part of a returned value).
# ---------------------------------------------------------------------------------------------


def _float_conditionals(x, levels, thresholds, rho):
    """Vectorized :func:`_conditional_cells` for 0 ≤ ρ < 1 (or ρ = 1 away from thresholds):
    arrays (n, K) of P(Y ∈ S_j | x), E[Y; S_j | x] and (n, K − 1) conditional densities."""
    import numpy as np
    from scipy.special import ndtr

    x = np.atleast_1d(np.asarray(x, dtype=float))[:, None]
    size = len(levels)
    cuts = np.asarray(thresholds, dtype=float)[None, :]
    if rho >= 1:
        edges = np.concatenate(([-np.inf], thresholds, [np.inf]))
        inside = ((x > edges[None, :-1]) & (x <= edges[None, 1:])).astype(float)
        return inside, inside * x, np.zeros((x.shape[0], size - 1))
    spread = math.sqrt(1 - rho * rho)
    z = (cuts - rho * x) / spread
    low = np.where(z < 0, ndtr(z), 1 - ndtr(-z))
    high = np.where(z < 0, 1 - ndtr(z), ndtr(-z))
    ones, zeros = np.ones((x.shape[0], 1)), np.zeros((x.shape[0], 1))
    low = np.concatenate((zeros, low, ones), axis=1)
    high = np.concatenate((ones, high, zeros), axis=1)
    density = np.exp(-(z**2) / 2) / math.sqrt(2 * math.pi)
    padded = np.concatenate((zeros, density, zeros), axis=1)
    use_high = high[:, :-1] <= low[:, :-1]
    masses = np.where(use_high, high[:, :-1] - high[:, 1:], low[:, 1:] - low[:, :-1])
    firsts = rho * x * masses + spread * (padded[:, :-1] - padded[:, 1:])
    return masses, firsts, density / spread


def _float_tables(thresholds_x, thresholds_y, rho):
    """Float64 pair tables for (possibly different) partitions of X and Y, 0 ≤ ρ ≤ 1."""
    import numpy as np
    from numpy.polynomial.legendre import leggauss
    from scipy.special import ndtr

    tx, ty = np.asarray(thresholds_x, float), np.asarray(thresholds_y, float)
    if rho >= 1:
        ex = np.concatenate(([-np.inf], tx, [np.inf]))
        ey = np.concatenate(([-np.inf], ty, [np.inf]))
        left = np.maximum(ex[:-1, None], ey[None, :-1])
        right = np.minimum(ex[1:, None], ey[None, 1:])
        right = np.maximum(left, right)
        mass = ndtr(right) - ndtr(left)
        finite_left = np.where(np.isfinite(left), left, 0.0)
        finite_right = np.where(np.isfinite(right), right, 0.0)
        left_term = finite_left * np.exp(-(finite_left**2) / 2) / math.sqrt(2 * math.pi)
        right_term = finite_right * np.exp(-(finite_right**2) / 2) / math.sqrt(2 * math.pi)
        return mass, mass + left_term - right_term
    breaks = {-_FLOAT_LIMIT, _FLOAT_LIMIT, *tx.tolist()}
    breaks.update(np.arange(-_FLOAT_LIMIT, _FLOAT_LIMIT, 0.5).tolist())
    if rho > 0:
        width = math.sqrt(1 - rho * rho) / rho
        for s in ty:
            offset = width
            breaks.add(s / rho)
            while 0 < offset < 1:
                breaks.update((s / rho - offset, s / rho + offset))
                offset *= 2
    points = np.array(sorted(b for b in breaks if -_FLOAT_LIMIT <= b <= _FLOAT_LIMIT))
    nodes, weights = leggauss(20)
    half = (points[1:] - points[:-1]) / 2
    middle = (points[1:] + points[:-1]) / 2
    xs = (middle[:, None] + half[:, None] * nodes[None, :]).ravel()
    ws = (half[:, None] * weights[None, :]).ravel()
    cell = np.searchsorted(tx, np.repeat(middle, len(nodes)), side="left")
    masses, firsts, _ = _float_conditionals(xs, np.zeros(len(ty) + 1), ty, rho)
    weight = ws * np.exp(-(xs**2) / 2) / math.sqrt(2 * math.pi)
    pair = np.zeros((len(tx) + 1, len(ty) + 1))
    product = np.zeros_like(pair)
    np.add.at(pair, cell, weight[:, None] * masses)
    np.add.at(product, cell, (weight * xs)[:, None] * firsts)
    return pair, product


def _float_system(levels, thresholds, rho, beta, with_jacobian=True):
    """:func:`_stationarity_system` in float64 for a symmetric codebook on both sides."""
    import numpy as np

    size = len(levels)
    pair, product = _float_tables(thresholds, thresholds, rho)
    tables = (pair.tolist(), product.tolist())
    conditionals = []
    for m, threshold in enumerate(thresholds):
        if rho >= 1:
            masses = [0.5 if j in (m, m + 1) else 0.0 for j in range(size)]
            conditionals.append((masses, [threshold * p for p in masses], [0.0] * (size - 1)))
        else:
            p, e, d = _float_conditionals(threshold, levels, thresholds, rho)
            conditionals.append((p[0].tolist(), e[0].tolist(), d[0].tolist()))
    densities = [math.exp(-(t**2) / 2) / math.sqrt(2 * math.pi) for t in thresholds]
    residual, jacobian, moments = _stationarity_system(
        [float(v) for v in levels],
        [float(v) for v in thresholds],
        float(rho),
        float(beta),
        tables,
        conditionals,
        densities,
        with_jacobian,
    )
    return np.array(residual), (np.array(jacobian) if with_jacobian else None), moments


def _float_objective(levels, thresholds, rho, beta) -> float:
    pair, product = _float_tables(thresholds, thresholds, rho)
    return float(_objective(_moments(list(levels), rho, (pair.tolist(), product.tolist())), beta))
