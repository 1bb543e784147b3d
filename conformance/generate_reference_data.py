"""Write the stored reference values of the numerical-agreement check.

Run ``python -m quantmm.conformance.generate_reference_data [--output PATH]`` (default: the
package's ``data/reference_values.json``). The tests never run this; they verify the file's
checksums and recompute a random sample of its rows with mpmath (tests/test_reference_data.py).

Inputs (:func:`reference_inputs`, deterministic: a fixed seed for the random ones):

- Γ and φ (theory.md §1.1) at rates 0, the smallest subnormal and normal, tiny rates, the float64
  R* and its neighbours, rates just around R*, integers, halves, large rates up to 600 (where
  φ is subnormal or rounds to 0), and seeded random rates;
- λ* (theory.md §2.3) for ρ ∈ {0, ±0.3, float(1/√3), 0.8, 0.999, 1, −1} at u ∈ [−60, 60]: 0,
  the peaks ±√(3 − 1/ρ²) and their neighbourhood, a grid, the tails and seeded random points.

Every value is the certified reference (:mod:`quantmm.reference`) at 40 significant digits,
rendered by :func:`quantmm.reference.to_decimal`. Arguments are stored as ``float.hex`` strings,
so they are the exact binary values both the reference and the fast path see.

>>> inputs = reference_inputs()
>>> sorted({row["function"] for row in inputs})
['gamma', 'optimal_density', 'phi']
>>> inputs[0]
{'function': 'gamma', 'args': ['0x0.0p+0']}
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any

import mpmath
import numpy as np

from quantmm import reference

from .errors import correctly_rounded
from .reference_data import (
    DENSITY_RHOS,
    REFERENCE_DATA_SCHEMA,
    REFERENCE_DIGITS,
    canonical_sha256,
    reference_value,
)

__all__ = ["DEFAULT_OUTPUT", "INPUT_SEED", "generate", "main", "reference_inputs", "render"]

#: Where the package keeps the data (installed as package data of quantmm.conformance).
DEFAULT_OUTPUT = Path(__file__).resolve().parent / "data" / "reference_values.json"
#: Seed of the random inputs (fixed: the inputs, and so their checksum, never change).
INPUT_SEED = 20250105


def _critical_rate_float() -> float:
    """The float64 nearest R* (the certified value carries more than 30 correct digits)."""
    return float(correctly_rounded(reference.critical_rate(digits=30), "float64"))


def _exp(x: float) -> float:
    """e^x correctly rounded to float64 (the same on every machine)."""
    with mpmath.workprec(200):
        return float(mpmath.exp(mpmath.mpf(float(x))))


def _rates() -> list[float]:
    """The rates of the Γ and φ rows (sorted, distinct)."""
    rng = np.random.default_rng([INPUT_SEED, 1])
    critical = _critical_rate_float()
    neighbours = [critical]
    for direction in (0.0, 2.0):
        step = critical
        for _ in range(2):
            step = float(np.nextafter(step, direction))
            neighbours.append(step)
    rates = [
        0.0,
        5e-324,
        2.2250738585072014e-308,
        1e-300,
        1e-100,
        1e-20,
        1e-10,
        1e-5,
        1e-3,
        0.1,
        0.25,
        0.5,
        0.75,
        *neighbours,
        *(critical * (1 + offset) for offset in (-1e-3, -1e-6, -1e-9, 1e-9, 1e-6, 1e-3)),
        *(float(k) for k in range(1, 31)),
        *(k + 0.5 for k in range(1, 10)),
        40.0,
        64.0,
        100.0,
        200.0,
        300.0,
        500.0,
        511.0,
        512.0,
        520.0,
        530.0,
        537.0,
        537.75,  # φ ≈ 0.71·2^−1074: rounds up to the smallest subnormal
        538.25,  # φ ≈ 0.35·2^−1074: rounds to 0
        # (538 itself is left out: φ(538) = 2^−1075 − 2^−2152 lies 2^−2152 below the float64
        # tie at 2^−1075, which no 40-digit decimal can resolve; _require_unambiguous_rounding)
        538.5,
        539.0,
        600.0,
        *rng.uniform(0.0, 5.0, 12).tolist(),
        # exp correctly rounded (mpmath), not NumPy's: its SIMD exp differs by an ulp between
        # processors, which changed a stored input on another machine
        *(_exp(x) for x in rng.uniform(-30.0, math.log(600.0), 10)),
        *rng.uniform(0.0, 600.0, 6).tolist(),
    ]
    return sorted(set(rates))


def _density_points(rho: float, rng: np.random.Generator) -> list[float]:
    """The u of the λ* rows for one ρ (sorted, distinct, all in [−60, 60])."""
    points = [0.0, 1e-300, 1e-8, 0.5, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0, 20.0, 40.0, 55.0, 60.0]
    if 3 * rho * rho > 1:
        peak = math.sqrt(3 - 1 / (rho * rho))
        points += [peak, peak - 1e-3, peak + 1e-3, float(np.nextafter(peak, 0.0))]
    points += [-p for p in points[1:]]
    points += np.clip(rng.normal(0.0, 4.0, 6), -60.0, 60.0).tolist()
    return sorted(set(points))


def reference_inputs() -> list[dict[str, Any]]:
    """The inputs of every stored row, in file order: ``{"function", "args"}`` with the arguments
    as ``float.hex`` strings (λ* rows: ``[u, rho]``). Deterministic (fixed seed)."""
    inputs: list[dict[str, Any]] = []
    rates = _rates()
    for function in ("gamma", "phi"):
        inputs += [{"function": function, "args": [rate.hex()]} for rate in rates]
    for index, rho in enumerate(DENSITY_RHOS):
        rng = np.random.default_rng([INPUT_SEED, 2, index])
        inputs += [
            {"function": "optimal_density", "args": [u.hex(), float(rho).hex()]}
            for u in _density_points(rho, rng)
        ]
    return inputs


def _require_unambiguous_rounding(value: str, digits: int, row: dict[str, Any]) -> None:
    """Refuse a value whose float64 rounding the ``digits``-digit decimal cannot decide.

    The stored decimal is within half a unit in its last digit of the true value; if every value
    that close rounds to the same float64, the decimal's correctly rounded float64 is the true
    value's. That fails only for a true value within ~1e−40 relative of a float64 tie (an exact
    tie needs 54 significant bits). Only float64 is guarded: the checks compare in float64, and
    some rows are exact float32 ties (Γ(12) = (2^25 − 1)/2^48 has 25 significant bits), which a
    float32 row would have to store as an exact rational instead.
    """
    exact = Fraction(value)
    width = abs(exact) * Fraction(1, 10 ** (digits - 1))
    if correctly_rounded(exact - width, "float64") != correctly_rounded(exact + width, "float64"):
        raise ValueError(f"{row}: {value} is too close to a float64 rounding tie")


def _generating_commit() -> str:
    try:
        completed = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=Path(__file__).resolve().parent,
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return completed.stdout.strip() or "unknown"


def generate(digits: int = REFERENCE_DIGITS) -> dict[str, Any]:
    """The whole data file as a JSON object (schema ``quantmm-reference-data/1``).

    ``inputs_sha256`` covers the inputs (function and arguments of every row); ``rows_sha256``
    covers the rows including their values, so a changed value is detected on load too.
    """
    inputs = reference_inputs()
    rows = []
    for row in inputs:
        value = reference_value(row["function"], row["args"], digits)
        _require_unambiguous_rounding(value, digits, row)
        rows.append({**row, "value": value})
    return {
        "schema": REFERENCE_DATA_SCHEMA,
        "description": (
            # the stored data (data/reference_values.json) keeps the wording it was generated with
            "Certified mpmath values of quantmm.reference.gamma, phi and optimal_density "
            "(THEORY.md 1.1, 2.3); arguments are float.hex strings, values decimal strings with "
            "`digits` significant digits. Written by python -m "
            "quantmm.conformance.generate_reference_data."
        ),
        "mpmath_version": mpmath.__version__,
        "generating_commit": _generating_commit(),
        "digits": digits,
        "inputs_sha256": canonical_sha256(inputs),
        "rows_sha256": canonical_sha256(rows),
        "rows": rows,
    }


def render(data: dict[str, Any]) -> str:
    """The data file's text: the header fields indented, then one row per line (diffable).

    >>> rows = [{"function": "phi", "args": ["0x0.0p+0"], "value": "1"}]
    >>> print(render({"schema": REFERENCE_DATA_SCHEMA, "rows": rows}), end="")
    {
     "schema": "quantmm-reference-data/1",
     "rows": [
      {"function": "phi", "args": ["0x0.0p+0"], "value": "1"}
     ]
    }
    """
    header = {key: value for key, value in data.items() if key != "rows"}
    lines = [
        f" {json.dumps(key)}: {json.dumps(value, ensure_ascii=True)},"
        for key, value in header.items()
    ]
    rows = [f"  {json.dumps(row, ensure_ascii=True)}" for row in data["rows"]]
    return "{\n" + "\n".join(lines) + '\n "rows": [\n' + ",\n".join(rows) + "\n ]\n}\n"


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point: write the data file and print where and how many rows."""
    parser = argparse.ArgumentParser(
        prog="python -m quantmm.conformance.generate_reference_data", description=__doc__
    )
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="file to write")
    arguments = parser.parse_args(argv)
    data = generate()
    arguments.output.parent.mkdir(parents=True, exist_ok=True)
    text = render(data)
    arguments.output.write_text(text, encoding="ascii")
    print(f"wrote {len(data['rows'])} rows ({len(text)} bytes) to {arguments.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
