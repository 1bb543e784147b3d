"""Normalized second moments of Z, A2, D4 and E8: exact derivations and a Monte Carlo check.

theory.md §1.4; derivation in ``proofs/second_moments.md``. Two certificates:

- ``second_moment_closed_forms`` (a proof). G(Z) = ∫_{−1/2}^{1/2} x² dx = 1/12 in exact
  rationals; G of every root lattice used (Z ≅ A1, A2, D4, E8) from its Voronoi cell written as
  |W| copies of the fundamental alcove, a simplex whose second moment is a finite rational sum
  (Conway & Sloane, *SPLAG* ch. 21; the alcove formula is derived in the Markdown). Each derived G
  equals the claimed closed form exactly (their squares are equal Fractions). Then, with
  :mod:`mpmath.iv` enclosures at 120 bits: the reference's stored values and 30-digit outputs, the
  losses 10·log10(2πe·G) (E8: 0.88 dB), the sphere and ball bounds, G < 1/12, and the ordering
  Z > A2 > D4 > E8.
- ``second_moment_monte_carlo`` (a statistical check, not a proof). Points x = B·v with v uniform
  on [0, 1)^d (B the generator of :func:`quantmm.fast.lattices.lattice`) are decoded by our
  :func:`~quantmm.fast.lattices.closest_point`; x − Q(x) is then uniform on the Voronoi cell, and
  the 5-standard-error interval of ||x − Q(x)||²/(d·V^(2/d)) must contain the closed form.

>>> facts = prove_closed_forms()
>>> facts[0].statement
'G(Z) = ∫_{-1/2}^{1/2} x² dx / 1 = 1/12 exactly (Fraction arithmetic), the claimed 1/12'
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import mpmath
import numpy as np
from mpmath import iv

from quantmm.fast.lattices import closest_point, lattice
from quantmm.reference.lattice_constants import (
    lattice_loss_db,
    normalized_second_moment,
    normalized_second_moment_exact,
)
from quantmm.reference.precision import to_decimal

from .intervals import (
    CertificateFailure,
    Fact,
    certainly_above,
    certainly_below,
    certainly_contains,
    endpoints,
    interval,
    overlapping,
    precision,
    rounds_to,
)
from .runner import Certificate

__all__ = [
    "CERTIFICATES",
    "MONTE_CARLO_SAMPLES",
    "ROOT_SYSTEMS",
    "SEED",
    "THEORY_CLOSED_FORMS",
    "Z_SCORE",
    "RootSystem",
    "SecondMomentEstimate",
    "alcove_second_moment_squared",
    "estimate_second_moment",
    "prove_closed_forms",
    "prove_monte_carlo",
]

#: The closed forms theory.md §1.4 claims, as G = rational·√radicand.
THEORY_CLOSED_FORMS: dict[str, tuple[Fraction, int]] = {
    "Z": (Fraction(1, 12), 1),
    "A2": (Fraction(5, 108), 3),  # 5/(36√3)
    "D4": (Fraction(13, 240), 2),  # 13/(120√2)
    "E8": (Fraction(929, 12960), 1),
}

#: The lattices in order of decreasing G (the ordering the certificate proves).
LATTICE_ORDER = ("Z", "A2", "D4", "E8")

BITS = 120  # iv working precision of the closed-form certificate
REFERENCE_DIGITS = 30  # digits of the reference's values checked against the enclosures

SEED = 20_060_406  # the Monte Carlo's seed; lattice i draws from default_rng([SEED, i])
Z_SCORE = 5  # the Monte Carlo interval is mean ± Z_SCORE·(standard error)
#: Monte Carlo sample sizes (vectors per lattice), chosen to keep the certificate near 10 s.
MONTE_CARLO_SAMPLES: dict[str, int] = {
    "Z": 64_000_000,
    "A2": 32_000_000,
    "D4": 16_000_000,
    "E8": 6_000_000,
}
_CHUNK = 1 << 17  # vectors decoded at a time
_MEMBERSHIP_TOLERANCE = 1e-9  # |B⁻¹Q(x) − round(B⁻¹Q(x))| allowed (A2's √3 is rounded)


@dataclass(frozen=True)
class RootSystem:
    """A simply-laced root system: Dynkin diagram, marks of the highest root, Weyl group order.

    ``edges`` are the diagram's edges between nodes 1..rank (Bourbaki numbering); ``marks`` are
    the coefficients m_i of the highest root θ = Σ m_i α_i; ``weyl_order`` is |W| (Humphreys,
    *Reflection Groups and Coxeter Groups*, §2.11 table). The root lattice has roots of norm 2.
    """

    name: str
    rank: int
    edges: tuple[tuple[int, int], ...]
    marks: tuple[int, ...]
    weyl_order: int

    def cartan(self) -> list[list[Fraction]]:
        """The Cartan matrix (= the Gram matrix of the simple roots, roots of norm 2).

        >>> ROOT_SYSTEMS["A2"].cartan()
        [[Fraction(2, 1), Fraction(-1, 1)], [Fraction(-1, 1), Fraction(2, 1)]]
        """
        matrix = [[Fraction(2 * (i == j)) for j in range(self.rank)] for i in range(self.rank)]
        for a, b in self.edges:
            matrix[a - 1][b - 1] = matrix[b - 1][a - 1] = Fraction(-1)
        return matrix


#: The code lattices as root lattices (up to scale; G is scale-invariant): Z ≅ A1 scaled by 1/√2,
#: the code's A2 (minimum norm 1) is the root lattice A2 scaled by 1/√2, D4 and E8 are as stored.
ROOT_SYSTEMS: dict[str, RootSystem] = {
    "Z": RootSystem("A1", 1, (), (1,), 2),
    "A2": RootSystem("A2", 2, ((1, 2),), (1, 1), 6),
    "D4": RootSystem("D4", 4, ((1, 2), (2, 3), (2, 4)), (1, 2, 1, 1), 192),
    "E8": RootSystem(
        "E8",
        8,
        ((1, 3), (3, 4), (4, 5), (5, 6), (6, 7), (7, 8), (2, 4)),
        (2, 3, 4, 6, 5, 4, 3, 2),
        696_729_600,
    ),
}


# ---------------------------------------------------------------- exact linear algebra


def _inverse_and_determinant(matrix: Sequence[Sequence[Fraction]]) -> tuple[list, Fraction]:
    """Gauss–Jordan elimination in exact rationals: (inverse, determinant)."""
    d = len(matrix)
    rows = [
        [Fraction(v) for v in row] + [Fraction(int(i == j)) for j in range(d)]
        for i, row in enumerate(matrix)
    ]
    determinant = Fraction(1)
    for col in range(d):
        pivot = next((r for r in range(col, d) if rows[r][col] != 0), None)
        if pivot is None:
            raise ValueError("matrix must be invertible")
        if pivot != col:
            rows[col], rows[pivot] = rows[pivot], rows[col]
            determinant = -determinant
        scale = rows[col][col]
        determinant *= scale
        rows[col] = [v / scale for v in rows[col]]
        for r in range(d):
            if r != col and rows[r][col] != 0:
                factor = rows[r][col]
                rows[r] = [v - factor * w for v, w in zip(rows[r], rows[col], strict=True)]
    return [row[d:] for row in rows], determinant


def _exact_root(value: Fraction, degree: int) -> Fraction:
    """The rational ``degree``-th root of a positive rational, or CertificateFailure if none."""
    numerator = round(value.numerator ** (1 / degree))
    denominator = round(value.denominator ** (1 / degree))
    for n in (numerator - 1, numerator, numerator + 1):
        for m in (denominator - 1, denominator, denominator + 1):
            if n > 0 and m > 0 and Fraction(n, m) ** degree == value:
                return Fraction(n, m)
    raise CertificateFailure(f"{value} has no rational {degree}-th root")


def _quadratic_form(matrix: Sequence[Sequence[Fraction]], vector: Sequence[Fraction]) -> Fraction:
    return sum(
        (
            vector[i] * matrix[i][j] * vector[j]
            for i in range(len(vector))
            for j in range(len(vector))
        ),
        Fraction(0),
    )


# ---------------------------------------------------------------- the alcove derivation


@dataclass(frozen=True)
class AlcoveDerivation:
    """G of a root lattice from its alcove: G = S/((d+1)(d+2)·d·(det C)^(1/d)).

    second_moments.md §3.

    ``vertex_sum`` is S = Σ|v_i|² + |Σ v_i|² over the alcove's vertices v_i = ω_i/m_i;
    ``cartan_determinant`` is det C = covolume²; ``g_squared`` is G² exactly.
    """

    root_system: RootSystem
    vertex_sum: Fraction
    cartan_determinant: Fraction
    g_squared: Fraction

    def enclosure(self) -> iv.mpf:
        """G as an interval at the current iv precision, from S, d and det C."""
        d = self.root_system.rank
        scale = interval(Fraction((d + 1) * (d + 2) * d))
        covolume_power = iv.exp(iv.log(interval(self.cartan_determinant)) / d)
        return interval(self.vertex_sum) / (scale * covolume_power)


def alcove_second_moment_squared(root_system: RootSystem) -> AlcoveDerivation:
    """G² of a simply-laced root lattice, exactly, from its fundamental alcove (theory.md §1.4).

    Checks on the way, each raising :class:`CertificateFailure` when it fails: θ = Σ m_i α_i has
    norm 2 and is dominant (so it is the highest root and the alcove's vertices are 0 and ω_i/m_i),
    and |W| alcoves have exactly the covolume: (|W|·vol(alcove))² = det C with
    vol(alcove) = 1/(d!·Π m_i·√det C).

    >>> alcove_second_moment_squared(ROOT_SYSTEMS["E8"]).g_squared == Fraction(929, 12960) ** 2
    True
    """
    cartan = root_system.cartan()
    d = root_system.rank
    marks = [Fraction(m) for m in root_system.marks]
    if _quadratic_form(cartan, marks) != 2:
        raise CertificateFailure(f"{root_system.name}: θ = Σ m_i α_i does not have norm 2")
    pairings = [sum((cartan[i][j] * marks[j] for j in range(d)), Fraction(0)) for i in range(d)]
    if any(p < 0 for p in pairings):
        raise CertificateFailure(f"{root_system.name}: θ = Σ m_i α_i is not dominant")
    weight_gram, cartan_determinant = _inverse_and_determinant(cartan)  # Gram of the ω_i
    alcove_volume_squared = 1 / (
        (math.factorial(d) * math.prod(root_system.marks)) ** 2 * cartan_determinant
    )
    if root_system.weyl_order**2 * alcove_volume_squared != cartan_determinant:
        raise CertificateFailure(
            f"{root_system.name}: |W| = {root_system.weyl_order} alcoves do not fill the covolume"
        )
    vertex = [1 / m for m in marks]  # v_i = ω_i / m_i in the basis of fundamental weights
    squared_norms = sum((vertex[i] ** 2 * weight_gram[i][i] for i in range(d)), Fraction(0))
    vertex_sum = squared_norms + _quadratic_form(weight_gram, vertex)
    scale = Fraction((d + 1) * (d + 2) * d)
    covolume_power_squared = _exact_root(cartan_determinant**2, d)  # (det C)^(2/d)
    g_squared = vertex_sum**2 / (scale**2 * covolume_power_squared)
    return AlcoveDerivation(root_system, vertex_sum, cartan_determinant, g_squared)


# ---------------------------------------------------------------- closed-form certificate


def _surd_text(rational: Fraction, radicand: int) -> str:
    return str(rational) if radicand == 1 else f"{rational}·√{radicand}"


def _surd_enclosure(rational: Fraction, radicand: int) -> iv.mpf:
    return interval(rational) * iv.sqrt(interval(radicand))


def _checked_claims(claimed: Mapping[str, tuple[Fraction, int]]) -> dict[str, tuple[Fraction, int]]:
    if set(claimed) != set(LATTICE_ORDER):
        raise ValueError(
            f"claimed must name exactly {', '.join(LATTICE_ORDER)}, got {sorted(claimed)}"
        )
    checked = {}
    for name, (rational, radicand) in claimed.items():
        if (
            not isinstance(rational, Fraction)
            or isinstance(radicand, bool)
            or not isinstance(radicand, int)
        ):
            raise TypeError(f"claimed[{name!r}] must be (Fraction, int), got {claimed[name]!r}")
        if rational <= 0 or radicand < 1:
            raise ValueError(f"claimed[{name!r}] must be positive, got {claimed[name]!r}")
        checked[name] = (rational, radicand)
    return checked


def _exactly_equal(left: Fraction, right: Fraction, statement: str, evidence: str) -> Fact:
    """An exact equality of rationals as a Fact, or CertificateFailure naming both sides."""
    if left != right:
        raise CertificateFailure(f"false: {statement} ({left} ≠ {right})")
    return Fact(statement, evidence)


def _integral_fact(claim: tuple[Fraction, int]) -> Fact:
    """G(Z) = ∫_{−1/2}^{1/2} x² dx / (1 · 1^2): the cell [−1/2, 1/2] has volume 1 and d = 1."""
    half = Fraction(1, 2)
    integral = (half**3 - (-half) ** 3) / 3
    rational, radicand = claim
    return _exactly_equal(
        integral**2,
        rational**2 * radicand,
        f"G(Z) = ∫_{{-1/2}}^{{1/2}} x² dx / 1 = {integral} exactly (Fraction arithmetic), "
        f"the claimed {_surd_text(rational, radicand)}",
        f"[x³/3] from -1/2 to 1/2 = {integral}; squares {integral**2} = {rational**2 * radicand}",
    )


def _hexagon_fact(claim: tuple[Fraction, int]) -> Fact:
    """G(A2) from the regular hexagon of inradius r = 1/2 (side s, s² = 4r²/3 = 1/3).

    Six triangles (apex 0, apothem r, base s) each have polar moment s·r³/4 + s³·r/48 and area
    s·r/2, so J = 6s(r³/4 + s²r/48), A = 3sr and G = J/(2A²); G² = J²/(4A⁴) is rational.
    """
    r = Fraction(1, 2)
    s_squared = 4 * r**2 / 3
    polar_over_s = 6 * (r**3 / 4 + s_squared * r / 48)  # J / s
    area_squared = 9 * s_squared * r**2  # A²
    if area_squared != Fraction(3, 4):  # the covolume² det[[1, 1/2], [1/2, 1]]
        raise CertificateFailure("false: the hexagon's area is not A2's covolume √3/2")
    g_squared = polar_over_s**2 * s_squared / (4 * area_squared**2)
    rational, radicand = claim
    with precision(BITS):
        side = iv.sqrt(interval(s_squared))
        derived = interval(polar_over_s) * side / (2 * (3 * side * interval(r)) ** 2)
    statement = (
        f"G(A2) from the regular hexagon of inradius 1/2 (area √3/2 = covolume): polar moment "
        f"J = 6s(r³/4 + s²r/48), G = J/(2A²); G² = {g_squared} exactly = "
        f"({_surd_text(rational, radicand)})², the claim"
    )
    _exactly_equal(g_squared, rational**2 * radicand, statement, "")
    overlap = overlapping(derived, _surd_enclosure(rational, radicand), "G(A2): hexagon agrees")
    return Fact(statement, overlap.evidence)


def _alcove_fact(name: str, claim: tuple[Fraction, int]) -> Fact:
    derivation = alcove_second_moment_squared(ROOT_SYSTEMS[name])
    rational, radicand = claim
    system = derivation.root_system
    d = system.rank
    derived, stored = derivation.enclosure(), _surd_enclosure(rational, radicand)
    statement = (
        f"G({name}) from |W({system.name})| = {system.weyl_order} alcoves: "
        f"S/((d+1)(d+2)·d·(det C)^(1/d)) with S = {derivation.vertex_sum}, d = {d}, "
        f"det C = {derivation.cartan_determinant}; G² = {derivation.g_squared} exactly = "
        f"({_surd_text(rational, radicand)})², the claim"
    )
    _exactly_equal(derivation.g_squared, rational**2 * radicand, statement, "")
    overlap = overlapping(derived, stored, f"G({name}): derived and claimed enclosures agree")
    return Fact(statement, overlap.evidence)


def _reference_fact(name: str, claim: tuple[Fraction, int], enclosure: iv.mpf) -> Fact:
    """The reference stores exactly the claim and prints its correctly rounded 30 digits."""
    rational, radicand = claim
    stored = normalized_second_moment_exact(name)
    if (stored.rational, stored.radicand) != (rational, radicand):
        raise CertificateFailure(
            f"false: the reference stores G({name}) = {stored}, not the claimed "
            f"{_surd_text(rational, radicand)}"
        )
    printed = to_decimal(normalized_second_moment(name, digits=REFERENCE_DIGITS), REFERENCE_DIGITS)
    return rounds_to(
        enclosure,
        printed,
        f"reference: normalized_second_moment_exact({name!r}) = {stored} exactly, and "
        f"normalized_second_moment({name!r}, 30) = {printed} is G rounded to 30 digits",
    )


def _loss_db(g: iv.mpf) -> iv.mpf:
    return 10 * iv.log(2 * iv.pi * iv.e * g) / iv.log(interval(10))


def _loss_fact(enclosures: Mapping[str, iv.mpf], claimed_e8_loss_db: str) -> Fact:
    """10·log10(2πe·G) for each lattice; E8's rounds to the claimed two decimals."""
    losses = {name: _loss_db(g) for name, g in enclosures.items()}
    for name, loss in losses.items():
        printed = to_decimal(lattice_loss_db(name, digits=REFERENCE_DIGITS), REFERENCE_DIGITS)
        rounds_to(loss, printed, f"lattice_loss_db({name!r}, 30)")
    e8 = rounds_to(losses["E8"], claimed_e8_loss_db, "E8 loss rounds to the claim")
    gain = _loss_db(enclosures["Z"]) - losses["E8"]
    listed = ", ".join(
        f"{name} {mpmath.nstr(endpoints(loss)[0], 6)}" for name, loss in losses.items()
    )
    return Fact(
        f"losses 10·log10(2πe·G) in dB: {listed}; E8's rounds to the claimed "
        f"{claimed_e8_loss_db} dB "
        f"(E8's gain over Z is {mpmath.nstr(endpoints(gain)[0], 4)} dB); the reference's "
        "lattice_loss_db(·, 30) are these losses rounded to 30 digits",
        e8.evidence,
    )


def _ball_bound(d: int) -> iv.mpf:
    """G of the d-ball, Γ(d/2 + 1)^(2/d)/((d + 2)π), for even d (Γ is a factorial)."""
    factorial = interval(math.factorial(d // 2))
    return iv.exp(iv.log(factorial) * 2 / d) / ((d + 2) * iv.pi)


def _bounds_fact(enclosures: Mapping[str, iv.mpf]) -> Fact:
    """1/(2πe) < ball bound_d < G(Λ) (the ball bound for d even), and G < 1/12 except for Z."""
    sphere = 1 / (2 * iv.pi * iv.e)
    for name, g in enclosures.items():
        certainly_above(g, sphere, f"G({name}) > 1/(2πe)")
        if name != "Z":
            d = ROOT_SYSTEMS[name].rank
            certainly_above(g, _ball_bound(d), f"G({name}) > ball bound of dimension {d}")
            certainly_below(g, interval(Fraction(1, 12)), f"G({name}) < 1/12")
    worst = certainly_above(enclosures["E8"], sphere, "G(E8) > 1/(2πe)")
    return Fact(
        "every G is certainly above the sphere bound 1/(2πe); G(A2), G(D4), G(E8) are above the "
        "ball bound Γ(d/2+1)^(2/d)/((d+2)π) of their dimension and below G(Z) = 1/12 "
        "(closest to the sphere bound: E8)",
        worst.evidence,
    )


def _ordering_fact(enclosures: Mapping[str, iv.mpf]) -> Fact:
    pairs = list(itertools.pairwise(LATTICE_ORDER))
    facts = [certainly_above(enclosures[a], enclosures[b], f"G({a}) > G({b})") for a, b in pairs]
    return Fact("G(Z) > G(A2) > G(D4) > G(E8)", "; ".join(f.evidence for f in facts))


def prove_closed_forms(
    claimed: Mapping[str, tuple[Fraction, int]] = THEORY_CLOSED_FORMS,
    claimed_e8_loss_db: str = "0.88",
) -> list[Fact]:
    """Prove theory.md §1.4's normalized second moments and what it says about them.

    ``claimed`` maps Z, A2, D4, E8 to G = rational·√radicand; ``claimed_e8_loss_db`` is E8's
    loss 10·log10(2πe·G) to the decimals given. A wrong claim raises :class:`CertificateFailure`.

    >>> prove_closed_forms(claimed_e8_loss_db="0.65")
    Traceback (most recent call last):
    ...
    quantmm.proofs.intervals.CertificateFailure: false: E8 loss rounds to the claim ...
    """
    claims = _checked_claims(claimed)
    if not isinstance(claimed_e8_loss_db, str) or "." not in claimed_e8_loss_db:
        raise ValueError(f"claimed_e8_loss_db must be a decimal string, got {claimed_e8_loss_db!r}")
    with precision(BITS):
        facts = [_integral_fact(claims["Z"])]
        facts.append(_hexagon_fact(claims["A2"]))
        facts += [_alcove_fact(name, claims[name]) for name in LATTICE_ORDER]
        facts.append(_identification_fact())
        enclosures = {name: _surd_enclosure(*claims[name]) for name in LATTICE_ORDER}
        facts += [_reference_fact(name, claims[name], enclosures[name]) for name in LATTICE_ORDER]
        facts.append(_loss_fact(enclosures, claimed_e8_loss_db))
        facts.append(_bounds_fact(enclosures))
        facts.append(_ordering_fact(enclosures))
    return facts


# ---------------------------------------------------------------- Monte Carlo


@dataclass(frozen=True)
class SecondMomentEstimate:
    """Sample mean and standard error of ||x − Q(x)||²/d over ``samples`` vectors.

    ``largest_membership_error`` is max |B⁻¹Q(x) − round(B⁻¹Q(x))|: 0 (or rounding) when every
    decoded point is a lattice point.
    """

    name: str
    dimension: int
    samples: int
    mean: float
    standard_error: float
    largest_membership_error: float


Decoder = Callable[[Any, str], Any]


def estimate_second_moment(
    name: str, samples: int, seed: int, decoder: Decoder = closest_point
) -> SecondMomentEstimate:
    """Monte Carlo E||x − Q(x)||²/d for x = B·v, v uniform on [0, 1)^d (second_moments.md §4).

    ``B`` is ``lattice(name).generator``; ``decoder(x, name)`` is the closest-point map (ours by
    default). The draws come from ``numpy.random.default_rng([seed, i])`` with i the lattice's
    position in Z, A2, D4, E8: the same seed gives the same bytes.

    >>> estimate = estimate_second_moment("E8", 20_000, seed=1)
    >>> abs(estimate.mean - 929 / 12960) < 5 * estimate.standard_error
    True
    """
    if name not in LATTICE_ORDER:
        raise ValueError(f"name must be one of {', '.join(LATTICE_ORDER)}, got {name!r}")
    if isinstance(samples, bool) or not isinstance(samples, int) or samples < 2:
        raise ValueError(f"samples must be an integer >= 2, got {samples!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    generator = lattice(name).generator
    inverse = np.linalg.inv(generator)
    d = generator.shape[0]
    rng = np.random.default_rng([seed, LATTICE_ORDER.index(name)])
    sums, squares, membership = [], [], 0.0
    for start in range(0, samples, _CHUNK):
        v = rng.random((min(_CHUNK, samples - start), d))
        x = v @ generator.T
        point = np.asarray(decoder(x, name), dtype=np.float64)
        error = x - point
        value = np.zeros(len(x))
        for i in range(d):  # fixed summation order
            value += error[:, i] * error[:, i]
        value /= d
        sums.append(float(value.sum()))
        squares.append(float((value * value).sum()))
        coordinates = point @ inverse.T
        membership = max(membership, float(np.abs(coordinates - np.rint(coordinates)).max()))
    mean = math.fsum(sums) / samples
    variance = max(math.fsum(squares) - samples * mean * mean, 0.0) / (samples - 1)
    return SecondMomentEstimate(name, d, samples, mean, math.sqrt(variance / samples), membership)


_A2_GRAM = ((Fraction(1), Fraction(1, 2)), (Fraction(1, 2), Fraction(1)))


def _code_gram(name: str) -> list[list[Fraction]]:
    """The exact Gram matrix BᵀB of the code's generator B = ``lattice(name).generator``.

    Z, D4, E8 have dyadic generators (exact floats); A2's is (1, 0), (1/2, √3/2), whose Gram
    matrix [[1, 1/2], [1/2, 1]] is rational; the stored floats round √3/2, and their Gram
    matrix is checked to be within 2^-50 of the exact one.
    """
    basis = [[Fraction(float(v)) for v in row] for row in lattice(name).generator]
    d = len(basis)
    gram = [
        [sum((basis[k][i] * basis[k][j] for k in range(d)), Fraction(0)) for j in range(d)]
        for i in range(d)
    ]
    if name != "A2":
        return gram
    if any(
        abs(gram[i][j] - _A2_GRAM[i][j]) > Fraction(1, 2**50) for i in range(2) for j in range(2)
    ):
        raise CertificateFailure("false: the code's A2 generator is not (1, 0), (1/2, √3/2)")
    return [list(row) for row in _A2_GRAM]


def _covolume_power(name: str) -> iv.mpf:
    """V^(2/d) = det(BᵀB)^(1/d) for the code's generator B, from its exact Gram matrix."""
    gram = _code_gram(name)
    determinant = _inverse_and_determinant(gram)[1]
    return iv.exp(iv.log(interval(determinant)) / len(gram))


def _equivalent_by_signed_permutation(
    gram: list[list[Fraction]], cartan: list[list[Fraction]]
) -> bool:
    """Whether PᵀSᵀ·gram·SP = cartan for some permutation P and signs S (small d only)."""
    d = len(gram)
    for order in itertools.permutations(range(d)):
        for signs in itertools.product((1, -1), repeat=d):
            if all(
                signs[i] * signs[j] * gram[order[i]][order[j]] == cartan[i][j]
                for i in range(d)
                for j in range(d)
            ):
                return True
    return False


def _identification_fact() -> Fact:
    """The code's lattices are the root lattices of ROOT_SYSTEMS up to scale (exact Gram checks)."""
    scales = {"Z": Fraction(2), "A2": Fraction(2), "D4": Fraction(1)}
    for name, scale in scales.items():
        scaled = [[scale * v for v in row] for row in _code_gram(name)]
        if not _equivalent_by_signed_permutation(scaled, ROOT_SYSTEMS[name].cartan()):
            raise CertificateFailure(f"false: the code's {name} is not {ROOT_SYSTEMS[name].name}")
    gram = _code_gram("E8")
    even = all(v.denominator == 1 for row in gram for v in row) and all(
        gram[i][i] % 2 == 0 for i in range(8)
    )
    determinant = _inverse_and_determinant(gram)[1]
    if not even or determinant != 1:
        raise CertificateFailure("false: the code's E8 Gram matrix is not even unimodular")
    return Fact(
        "the code's lattices are the root lattices up to scale: 2·Gram(Z) = C(A1), "
        "2·Gram(A2) and Gram(D4) equal the Cartan matrices C(A2), C(D4) after a signed "
        "permutation of the basis, and Gram(E8) is integral, even, of determinant 1 (the unique "
        "even unimodular lattice of rank 8 is E8)",
        "exact Fraction arithmetic on lattice(name).generator",
    )


def _monte_carlo_fact(
    estimate: SecondMomentEstimate, claim: tuple[Fraction, int], z_score: float, seed: int
) -> Fact:
    name = estimate.name
    covolume_power = _covolume_power(name)
    half_width = z_score * estimate.standard_error
    low = interval(estimate.mean - half_width) / covolume_power
    high = interval(estimate.mean + half_width) / covolume_power
    confidence = iv.mpf([endpoints(low)[1], endpoints(high)[0]])
    relative = half_width / estimate.mean
    rational, radicand = claim
    fact = certainly_contains(
        confidence,
        _surd_enclosure(rational, radicand),
        f"G({name}) = {_surd_text(rational, radicand)} lies in the z = {z_score} interval of "
        f"||x − Q(x)||²/(d·V^(2/d)) over {estimate.samples:,} points x = B·v, v uniform on "
        f"[0,1)^{estimate.dimension} (seed {seed}), Q the decoder under test; relative half-width "
        f"{relative:.2e} — contains at z = {z_score}, a statistical check, not a proof",
    )
    if estimate.largest_membership_error > _MEMBERSHIP_TOLERANCE:
        raise CertificateFailure(
            f"false: the decoder's outputs for {name} are not lattice points "
            f"(max |B⁻¹Q(x) − round| = {estimate.largest_membership_error:.3g})"
        )
    return Fact(
        fact.statement,
        f"{fact.evidence}; every Q(x) a lattice point (max |B⁻¹Q(x) − round| = "
        f"{estimate.largest_membership_error:.1e})",
    )


def prove_monte_carlo(
    claimed: Mapping[str, tuple[Fraction, int]] = THEORY_CLOSED_FORMS,
    decoder: Decoder = closest_point,
    samples: Mapping[str, int] = MONTE_CARLO_SAMPLES,
    seed: int = SEED,
    z_score: float = Z_SCORE,
) -> list[Fact]:
    """Check each closed form against a Monte Carlo estimate from ``decoder`` (theory.md §1.4).

    For every lattice in ``samples`` the interval mean ± z_score·SE, divided by the enclosure of
    V^(2/d), must certainly contain the claimed G, and every decoded point must be a lattice
    point. The interval is statistical: this is a check, not a proof.

    >>> def z4_rounding(x, name):  # D4 decoded without its parity fix
    ...     return np.rint(x)
    >>> prove_monte_carlo(decoder=z4_rounding, samples={"D4": 20_000})
    Traceback (most recent call last):
    ...
    quantmm.proofs.intervals.CertificateFailure: false: G(D4) = 13/240·√2 lies in ...
    """
    claims = _checked_claims(claimed)
    if not samples or not set(samples) <= set(LATTICE_ORDER):
        raise ValueError(f"samples must map some of {', '.join(LATTICE_ORDER)} to sizes")
    if not z_score > 0 or not math.isfinite(z_score):
        raise ValueError(f"z_score must be positive and finite, got {z_score!r}")
    facts = []
    with precision(BITS):
        for name in LATTICE_ORDER:
            if name in samples:
                estimate = estimate_second_moment(name, samples[name], seed, decoder)
                facts.append(_monte_carlo_fact(estimate, claims[name], z_score, seed))
    return facts


CERTIFICATES = (
    Certificate(
        "second_moment_closed_forms",
        "G(Z)=1/12, G(A2)=5√3/108, G(D4)=13√2/240, G(E8)=929/12960 derived exactly; "
        "losses, bounds, ordering",
        "second_moments.md",
        prove_closed_forms,
    ),
    Certificate(
        "second_moment_monte_carlo",
        "our closest-point decoders reproduce each G within 5 standard errors (statistical)",
        "second_moments.md",
        prove_monte_carlo,
    ),
)
