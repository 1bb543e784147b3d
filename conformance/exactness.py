"""Exactness of a closest-point decoder: the documented lattice point, bit for bit.

A decoder is a function ``decoder(x)`` taking a batch x of shape (N, d) (NumPy, or CuPy with
``device="gpu"``) and returning the closest lattice points in an array of the same shape, like
``lambda x: quantmm.fast.closest_point(x, "E8")``. :func:`check_exactness` holds it against
:mod:`quantmm.conformance.brute_force` (theory.md §1.4; Conway & Sloane 1982): for every input

- if the input is an exact tie (several closest points, found by exhaustive search in exact
  rational arithmetic, Q(√3) for A2), the decoder must return the point of the documented tie
  rule, computed exactly by :func:`~quantmm.conformance.brute_force.conformance_tie_rule_point`;
- otherwise it must return the unique closest point;

except for the float accuracy that :mod:`quantmm.fast.lattices` documents, and nothing more:

- **E8**: the coset comparison sums squared errors in float64, exact whenever the squares add
  without rounding. That holds for every input whose coordinates are multiples of 2^−22
  (:data:`E8_EXACT_GRID`: the errors are then multiples of 2^−22 of magnitude ≤ 1, their squares
  multiples of 2^−44, and sums of up to 16 of them below 16 fit in 48 bits), and there the rule is
  enforced exactly. Elsewhere the decoder may return any E8 point whose exact squared distance
  exceeds the minimum by at most the relative :data:`E8_RELATIVE_SLACK` = 2^−47 (documented:
  "at most a few float64 ulps of the squared distance farther than the closest one"; two sums of
  8 squares, each with relative error below 16·2^−53, differ from the exact ones by less than
  2·16·2^−53 = 2^−47 of the larger).
- **A2**: computed in float64 with √3 rounded, it may return a non-closest A2 point whose exact
  squared distance exceeds the minimum by less than :data:`A2_SQUARED_DISTANCE_SLACK` = 2^−28
  (absolute, compared exactly in Q(√3)); on an exact tie it must still return the rule's point
  or such a non-closest one, never another of the tied points. The returned point is identified
  as m·(1, 0) + n·(½, √3/2): its first coordinate must be m + n/2 exactly, its second within
  :data:`A2_SECOND_COORDINATE_ULPS` = 2 ulps (of the output's dtype) of n·√3/2 ("an ulp or so").
- **Z, D, D4**: no allowance (their rounding errors are exact in floating point).

The exhaustive search is skipped only where it cannot matter: when the decoder returned the rule's
point p and ||x − p||² is below (half the minimum distance)² (¼ for Z^d, ½ for D_d and E8), p is
the unique closest point by the triangle inequality, and the input is no tie.

Dimensions: "Z" and "D" are checked in dimension 8, "D4" in 4, "A2" in 2, "E8" in 8.

>>> import numpy as np
>>> from quantmm.fast import closest_point
>>> result = check_exactness(lambda x: closest_point(x, "D4"), "D4", profile="quick", seed=1)
>>> result.name, result.verdict, result.figures["mismatches"]
('exactness:D4', 'pass', 0)
>>> halves_up = lambda x: np.floor(x + 0.5)  # rounds halves up, not to even
>>> check_exactness(halves_up, "Z", seed=1).verdict
'fail'
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from fractions import Fraction
from typing import Any

import numpy as np

from quantmm.fast.backend import device_module, to_numpy

from .brute_force import (
    SEARCHES,
    a2_closest_points,
    a2_squared_distance,
    conformance_tie_rule_point,
    exact,
    nearest_float_to_surd,
    sign_of_surd,
)
from .results import FAIL, PASS, CheckResult, Failure
from .sandboxed_call import SandboxedCallError
from .strategies import LATTICE_DIMENSIONS, LATTICE_RANGE_LIMIT, draw_examples, lattice_inputs

__all__ = [
    "A2_SECOND_COORDINATE_ULPS",
    "A2_SQUARED_DISTANCE_SLACK",
    "E8_EXACT_GRID",
    "E8_RELATIVE_SLACK",
    "EXACTNESS_LATTICES",
    "EXACTNESS_PROFILES",
    "check_exactness",
]

#: The lattice names checked (those quantmm.fast.closest_point accepts).
EXACTNESS_LATTICES = tuple(LATTICE_DIMENSIONS)
#: Seeded random vectors and hypothesis examples per profile.
EXACTNESS_PROFILES = {
    "quick": {"random": 2000, "hypothesis": 100},
    "full": {"random": 100_000, "hypothesis": 2000},
}
#: E8: inputs on this grid (all coordinates multiples of it) get an exact coset comparison.
E8_EXACT_GRID = Fraction(1, 2**22)
#: E8 off that grid: any E8 point within this relative excess over the minimum is accepted.
E8_RELATIVE_SLACK = Fraction(1, 2**47)
#: A2: a returned point may exceed the minimum squared distance by less than this (absolute).
A2_SQUARED_DISTANCE_SLACK = Fraction(1, 2**28)
#: A2: the returned second coordinate is within this many ulps of the exact n·√3/2.
A2_SECOND_COORDINATE_ULPS = 2

_A2_RANGE_LIMIT = 2.0**20
#: (half the minimum distance)²: a lattice point nearer than that is the unique closest point
#: (another point q has ||x − q|| ≥ ||p − q|| − ||x − p|| > ||x − p||). Minimum distances: Z^d 1,
#: D_d and E8 √2 (Conway & Sloane, SPLAG ch. 4).
_UNIQUE_BELOW = {
    "Z": Fraction(1, 4),
    "D": Fraction(1, 2),
    "D4": Fraction(1, 2),
    "E8": Fraction(1, 2),
}
_RULE, _ACCURACY, _MISMATCH = "rule", "accuracy", "mismatch"


# --- inputs ---------------------------------------------------------------------------------------


def _random_inputs(lattice: str, dtype: np.dtype, count: int, seed: int) -> np.ndarray:
    """Seeded vectors in seven equal groups: Gaussian × 2^−10, × 1, × 2^10; uniform below the
    range limit; quarter-integers (ties everywhere in Z, D, E8; for A2 the first coordinate a
    half-integer, the second Gaussian × 10: A2's ties); half-integers; edge values
    (:func:`_edge_values`) drawn per coordinate."""
    d = LATTICE_DIMENSIONS[lattice]
    limit = _A2_RANGE_LIMIT if lattice == "A2" else LATTICE_RANGE_LIMIT[dtype]
    rng = np.random.default_rng([seed, EXACTNESS_LATTICES.index(lattice), dtype.itemsize])
    size = -(-count // 7)
    groups = [rng.normal(size=(size, d)) * scale for scale in (2.0**-10, 1.0, 2.0**10)]
    groups.append(rng.uniform(-1.0, 1.0, size=(size, d)) * (limit - 2.0))  # stays below in float32
    quarters = rng.integers(-12, 13, size=(size, d)) / 4
    if lattice == "A2":
        quarters[:, 1] = rng.normal(size=size) * 10
        quarters[:, 0] = rng.integers(-12, 13, size=size) / 2
    groups.append(quarters)
    groups.append(rng.integers(-12, 13, size=(size, d)) + 0.5)
    groups.append(rng.choice(_edge_values(lattice, dtype), size=(size, d)))
    return np.concatenate(groups)[:count].astype(dtype)


def _edge_values(lattice: str, dtype: np.dtype) -> np.ndarray:
    """Coordinates at the edges, mixed at random into vectors: the largest values below the range
    limit and a few ulps lower, the limit's half plus ½, quarter and half steps, signed zeros,
    the smallest subnormal and normal numbers."""
    limit = _A2_RANGE_LIMIT if lattice == "A2" else LATTICE_RANGE_LIMIT[dtype]
    kind = dtype.type
    below = [kind(limit)]
    for _ in range(4):
        below.append(np.nextafter(below[-1], kind(0)))
    info = np.finfo(dtype)
    magnitudes = [float(v) for v in below[1:]] + [limit / 2 + 0.5, limit / 2 - 0.5]
    magnitudes += [0.25, 0.5, 0.75, 1.5, float(info.smallest_subnormal), float(info.tiny), 0.0]
    return np.array(magnitudes + [-m for m in magnitudes])


def _hypothesis_inputs(lattice: str, dtype: np.dtype, count: int, seed: int) -> np.ndarray:
    """``count`` examples of :func:`lattice_inputs`, reproducible for ``seed``."""
    found = draw_examples(lattice_inputs(lattice, dtype), count, seed)
    return np.stack(found).astype(dtype)


# --- judging one input ----------------------------------------------------------------------------


def _on_exact_grid(x: Sequence[Fraction]) -> bool:
    return all((v / E8_EXACT_GRID).denominator == 1 for v in x)


def _is_e8_point(y: Sequence[Fraction]) -> bool:
    """y ∈ E8 = D8 ∪ (D8 + ½·1): all integers or all halves of odd integers, with an even sum."""
    integral = all(c.denominator == 1 for c in y)
    halves = all(c.denominator == 2 for c in y)
    return (integral or halves) and sum(y) % 2 == 0


def _squared_distance(y: Sequence[Fraction], x: Sequence[Fraction]) -> Fraction:
    return sum(((a - b) * (a - b) for a, b in zip(y, x, strict=True)), Fraction(0))


def _judge_rational(lattice: str, x: tuple[Fraction, ...], got: tuple[Fraction, ...]):
    """(verdict, tie, expected) for Z, D, D4 and E8."""
    rule = conformance_tie_rule_point(x, lattice)
    if got == rule and _squared_distance(rule, x) < _UNIQUE_BELOW[lattice]:
        return _RULE, False, rule  # within half the minimum distance: the unique closest point
    closest, minimum = SEARCHES[lattice](x)
    if rule not in closest:  # the reference contradicts itself: never the target's fault
        raise RuntimeError(f"tie rule point {rule} is not a closest point of {lattice} to {x}")
    tie = len(closest) > 1
    if got == rule:
        return _RULE, tie, rule
    if lattice == "E8" and not _on_exact_grid(x) and _is_e8_point(got):
        if _squared_distance(got, x) <= minimum * (1 + E8_RELATIVE_SLACK):
            return _ACCURACY, tie, rule
    return _MISMATCH, tie, rule


def _ulp(value: float, bits: int) -> Fraction:
    """The ulp of a float of ``bits`` (32 or 64) at |value| ≥ ½ (A2's nonzero n·√3/2)."""
    precision = 24 if bits == 32 else 53
    exponent = math.frexp(abs(value))[1] - 1
    return Fraction(2) ** (exponent - precision + 1)


def _a2_coordinates(got: Sequence[float], bits: int) -> tuple[int, int] | None:
    """(m, n) with got = (m + n/2, ≈ n√3/2) as documented, or None if got is no such point."""
    y0, y1 = (Fraction(float(v)) for v in got)
    n = round(2 * float(y1) / math.sqrt(3))
    m = y0 - Fraction(n, 2)
    if m.denominator != 1:
        return None
    q = Fraction(n, 2)  # the second coordinate should be q·√3
    slack = A2_SECOND_COORDINATE_ULPS * _ulp(float(q) * math.sqrt(3), bits)
    if q == 0:
        return (int(m), n) if y1 == 0 else None
    if sign_of_surd(y1 - slack, -q) <= 0 <= sign_of_surd(y1 + slack, -q):
        return int(m), n
    return None


def _judge_a2(x: tuple[Fraction, ...], got: Sequence[float], bits: int):
    """(verdict, tie, expected) for A2, points as integer coordinates (m, n)."""
    closest, (r, s) = a2_closest_points(x)
    rule = conformance_tie_rule_point(x, "A2")
    if rule not in closest:
        raise RuntimeError(f"tie rule point {rule} is not a closest point of A2 to {x}")
    tie = len(closest) > 1
    coordinates = _a2_coordinates(got, bits)
    if coordinates == rule:
        return _RULE, tie, rule
    if coordinates is not None and coordinates not in closest:
        chosen_r, chosen_s = a2_squared_distance(*coordinates, *x)
        if sign_of_surd(chosen_r - r - A2_SQUARED_DISTANCE_SLACK, chosen_s - s) < 0:
            return _ACCURACY, tie, rule
    return _MISMATCH, tie, rule


# --- reporting ------------------------------------------------------------------------------------


def _hex(values: Sequence[float]) -> list[str]:
    return [float(v).hex() for v in values]


def _expected_json(lattice: str, expected: Any, bits: int) -> dict[str, Any]:
    if lattice == "A2":
        m, n = expected
        point = [float(m + Fraction(n, 2)), nearest_float_to_surd(Fraction(n, 2), bits)]
        return {"coordinates": [m, n], "point": _hex(point)}
    return {"point": _hex([float(c) for c in expected])}


def _decoder_source(decoder: Callable[..., Any]) -> str:
    given = getattr(decoder, "reproduction_source", None)  # a sandboxed target says its own
    if isinstance(given, str):
        return given
    module = getattr(decoder, "__module__", None)
    name = getattr(decoder, "__qualname__", "")
    if module and name and "<" not in name and "." not in name:
        return f"from {module} import {name} as decoder"
    return "decoder = ...  # the decoder under test (a lambda or local function: define it here)"


def _reproduction(
    decoder: Callable[..., Any], lattice: str, dtype: np.dtype, seed: int, profile: str, x: Any
) -> str:
    row = ", ".join(f"float.fromhex({h!r})" for h in _hex(x))
    return "\n".join(
        [
            "import numpy as np",
            "from quantmm.conformance.brute_force import conformance_tie_rule_point",
            "from quantmm.conformance.exactness import check_exactness",
            _decoder_source(decoder),
            f"x = np.array([[{row}]], dtype=np.{dtype.name})",
            "print(decoder(x))  # got",
            f"print(conformance_tie_rule_point(x[0].tolist(), {lattice!r}))  # expected",
            f"print(check_exactness(decoder, {lattice!r}, profile={profile!r}, seed={seed}, "
            f"dtype=np.{dtype.name}).failure.message)",
        ]
    )


def _crash(name: str, message: str, seed: int, reproduction: str, figures: dict, tolerance: dict):
    failure = Failure(message, seed, reproduction, {})
    return CheckResult(name, FAIL, message, figures, tolerance, failure)


def _decoded(decoder: Callable[..., Any], x: np.ndarray, device: str) -> np.ndarray:
    """decoder(x) as a float64 NumPy array of x's shape; raises ValueError when it is not one."""
    xp = device_module(device)
    out = decoder(xp.asarray(x) if xp is not np else x.copy())
    out = np.asarray(to_numpy(out) if not isinstance(out, np.ndarray) else out)
    if out.shape != x.shape:
        raise ValueError(f"returned shape {out.shape} for input shape {x.shape}")
    if out.dtype.kind not in "fiu":
        raise ValueError(f"returned dtype {out.dtype}, expected a real dtype")
    out = out.astype(np.float64)
    if not np.isfinite(out).all():
        raise ValueError("returned NaN or infinite entries")
    return out


# --- the check ------------------------------------------------------------------------------------


def _validated(decoder: Any, lattice: Any, profile: Any, seed: Any, dtype: Any, device: Any):
    if not callable(decoder):
        raise TypeError(f"decoder must be callable, got {type(decoder).__name__}")
    if not isinstance(lattice, str) or lattice not in EXACTNESS_LATTICES:
        raise ValueError(f"lattice must be one of {', '.join(EXACTNESS_LATTICES)}, got {lattice!r}")
    if profile not in EXACTNESS_PROFILES:
        raise ValueError(f"profile must be one of {', '.join(EXACTNESS_PROFILES)}, got {profile!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    dtype = np.dtype(dtype)
    if dtype not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise TypeError(f"dtype must be float32 or float64, got {dtype}")
    device_module(device)  # ValueError for an unknown device, RuntimeError without CuPy
    return dtype


def check_exactness(
    decoder: Callable[[Any], Any],
    lattice: str,
    *,
    profile: str = "quick",
    seed: int = 0,
    dtype: Any = np.float64,
    device: str = "cpu",
) -> CheckResult:
    """Check ``decoder`` against the exact closest points of ``lattice`` (check "exactness:…").

    ``lattice`` is "Z", "D" (both in dimension 8), "D4", "A2" or "E8"; ``decoder(x)`` maps an
    (N, d) array of ``dtype`` on ``device`` ("cpu": NumPy, "gpu": CuPy) to the closest points,
    same shape. Inputs: seeded random vectors (EXACTNESS_PROFILES: 2000 in "quick", 10^5 in
    "full") and :func:`~quantmm.conformance.strategies.lattice_inputs` examples (100, resp. 2000),
    both reproducible from ``seed``. Each answer must be the documented tie rule's point on an
    exact tie and the closest point otherwise, within the documented float accuracy only (module
    docstring; theory.md §1.4). Figures: inputs, ties, answers accepted under the float accuracy
    allowance, mismatches (and those on exact ties); a failure holds the first mismatch (input
    as hex floats, expected, got) and a reproduction. A decoder that raises or returns NaN or a
    wrong shape fails.

    >>> from quantmm.fast import closest_point
    >>> check_exactness(lambda x: closest_point(x, "A2"), "A2", dtype=np.float32).passed
    True
    """
    dtype = _validated(decoder, lattice, profile, seed, dtype, device)
    name = f"exactness:{lattice}"
    sizes = EXACTNESS_PROFILES[profile]
    tolerance = {
        "tie_rule": "exact: the point of the documented tie rule (quantmm.fast.lattices)",
        "e8_exact_grid": float(E8_EXACT_GRID),
        "e8_coset_relative_slack": float(E8_RELATIVE_SLACK),
        "a2_squared_distance_slack": float(A2_SQUARED_DISTANCE_SLACK),
        "a2_second_coordinate_ulps": A2_SECOND_COORDINATE_ULPS,
    }
    batches = {
        "random": _random_inputs(lattice, dtype, sizes["random"], seed),
        "hypothesis": _hypothesis_inputs(lattice, dtype, sizes["hypothesis"], seed),
    }
    figures: dict[str, Any] = {
        "lattice": lattice,
        "dimension": LATTICE_DIMENSIONS[lattice],
        "dtype": dtype.name,
        "device": device,
        "random_inputs": len(batches["random"]),
        "hypothesis_inputs": len(batches["hypothesis"]),
        "inputs": sum(len(b) for b in batches.values()),
        "ties": 0,
        "within_documented_accuracy": 0,
        "mismatches": 0,
        "tie_mismatches": 0,
    }
    first_failure: Failure | None = None
    bits = 8 * dtype.itemsize
    for source, x in batches.items():
        try:
            decoded = _decoded(decoder, x, device)
        except Exception as error:  # the target misbehaved: a FAIL, not an exception
            what = str(error) if isinstance(error, SandboxedCallError) else repr(error)
            message = f"the decoder failed on the {source} batch {x.shape}: {what}"
            reproduction = _reproduction(decoder, lattice, dtype, seed, profile, x[0])
            return _crash(name, message, seed, reproduction, figures, tolerance)
        for index, (row, got) in enumerate(zip(x.tolist(), decoded.tolist(), strict=True)):
            if lattice == "A2":
                verdict, tie, expected = _judge_a2(exact(row), got, bits)
            else:
                verdict, tie, expected = _judge_rational(lattice, exact(row), exact(got))
            figures["ties"] += tie
            figures["within_documented_accuracy"] += verdict == _ACCURACY
            if verdict != _MISMATCH:
                continue
            figures["mismatches"] += 1
            figures["tie_mismatches"] += tie
            if first_failure is None:
                kind = "an exact tie" if tie else "a unique closest point"
                message = (
                    f"{lattice} ({dtype.name}): input {_hex(row)} ({kind}) decoded to "
                    f"{_hex(got)}, expected {_expected_json(lattice, expected, bits)}"
                )
                example = {
                    "source": source,
                    "index": index,
                    "x": _hex(row),
                    "got": _hex(got),
                    "expected": _expected_json(lattice, expected, bits),
                    "tie": tie,
                }
                reproduction = _reproduction(decoder, lattice, dtype, seed, profile, row)
                first_failure = Failure(message, seed, reproduction, example)
    if first_failure is not None:
        summary = (
            f"{figures['mismatches']} of {figures['inputs']} {lattice} inputs ({dtype.name}) "
            f"decoded to a point other than the documented one"
        )
        return CheckResult(name, FAIL, summary, figures, tolerance, first_failure)
    summary = (
        f"{figures['inputs']} {lattice} inputs ({dtype.name}, {figures['ties']} exact ties): "
        "every answer is the documented closest point"
    )
    return CheckResult(name, PASS, summary, figures, tolerance)
