"""The stored reference values, loaded and verified.

``data/reference_values.json`` (written by :mod:`quantmm.conformance.generate_reference_data`,
schema ``quantmm-reference-data/1``) holds certified mpmath values of Γ, φ (theory.md §1.1) and
λ* (theory.md §2.3) with the mpmath version, the generating commit and two checksums: of the
inputs (``inputs_sha256``) and of the rows including their values (``rows_sha256``).
:func:`load_reference_data` refuses a file whose schema or checksums do not match, and
:func:`recompute` evaluates rows again with the mpmath reference so the data cannot rot.

>>> data = load_reference_data()
>>> data.schema, data.digits
('quantmm-reference-data/1', 40)
>>> row = data.rows_for("gamma")[0]
>>> row.args, row.value
((0.0,), '1.000000000000000000000000000000000000000')
>>> recompute([row])
[]
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import mpmath

from quantmm import reference

__all__ = [
    "DENSITY_RHOS",
    "REFERENCE_DATA_FILE",
    "REFERENCE_DATA_SCHEMA",
    "REFERENCE_DIGITS",
    "REFERENCE_FUNCTIONS",
    "Mismatch",
    "ReferenceData",
    "ReferenceRow",
    "canonical_sha256",
    "load_reference_data",
    "recompute",
    "reference_value",
]

#: The data file's name inside the package (``quantmm.conformance``).
REFERENCE_DATA_FILE = "data/reference_values.json"
#: The schema identifier written into (and required from) the data file.
REFERENCE_DATA_SCHEMA = "quantmm-reference-data/1"
#: Significant decimal digits of every stored value.
REFERENCE_DIGITS = 40

#: The certified reference function behind each stored function name.
REFERENCE_FUNCTIONS: dict[str, Callable[..., mpmath.mpf]] = {
    "gamma": reference.gamma,
    "phi": reference.phi,
    "optimal_density": reference.optimal_density,
}

#: The correlations of the stored λ* rows: the float nearest 1/√3 lies just above 1/√3 (bimodal).
DENSITY_RHOS = (0.0, 0.3, -0.3, 1 / math.sqrt(3), 0.8, 0.999, 1.0, -1.0)


def canonical_sha256(value: Any) -> str:
    """sha256 of the canonical JSON of ``value`` (sorted keys, no spaces, ASCII).

    >>> canonical_sha256([])
    '4f53cda18c2baa0c0354bb5f9a3ecbe5ed12ab4d8e11ba873c2f11161202b945'
    """
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode("ascii")).hexdigest()


def reference_value(function: str, args: Sequence[str], digits: int = REFERENCE_DIGITS) -> str:
    """The certified reference value (theory.md §1.1, §2.3) of one row at ``args`` (``float.hex``
    strings), rendered with ``digits`` significant digits by
    :func:`~quantmm.reference.to_decimal`.

    >>> reference_value("gamma", [(1.0).hex()], 10)
    '0.4375000000'
    """
    arguments = [float.fromhex(text) for text in args]
    value = REFERENCE_FUNCTIONS[function](*arguments, digits=digits)
    return reference.to_decimal(value, digits)


_HEADER_FIELDS = (
    "schema",
    "mpmath_version",
    "generating_commit",
    "digits",
    "inputs_sha256",
    "rows_sha256",
    "rows",
)
_FUNCTIONS = tuple(REFERENCE_FUNCTIONS)
_ARGUMENT_COUNTS = {"gamma": 1, "phi": 1, "optimal_density": 2}


@dataclass(frozen=True)
class ReferenceRow:
    """One stored value: ``function`` at ``args`` (exact floats; λ*: ``(u, rho)``) is ``value``,
    a decimal string of the certified value with the file's number of significant digits."""

    function: str
    args: tuple[float, ...]
    value: str

    def to_json(self) -> dict[str, Any]:
        """The row as stored: arguments as ``float.hex`` strings."""
        return {
            "function": self.function,
            "args": [a.hex() for a in self.args],
            "value": self.value,
        }


@dataclass(frozen=True)
class ReferenceData:
    """A verified reference-data file.

    ``checksum`` (``rows_sha256``) identifies the whole content, inputs and values: certificates
    report it. ``inputs_checksum`` (``inputs_sha256``) covers the inputs alone.
    """

    path: str
    schema: str
    mpmath_version: str
    generating_commit: str
    digits: int
    inputs_checksum: str
    checksum: str
    rows: tuple[ReferenceRow, ...]

    def rows_for(self, function: str) -> tuple[ReferenceRow, ...]:
        """The rows of ``function`` ("gamma", "phi" or "optimal_density"), in file order.

        >>> len(load_reference_data().rows_for("phi")) > 50
        True
        """
        if function not in _FUNCTIONS:
            raise KeyError(f"no reference rows for function {function!r}; there are {_FUNCTIONS}")
        return tuple(row for row in self.rows if row.function == function)


@dataclass(frozen=True)
class Mismatch:
    """A stored row whose recomputed value differs from the stored one."""

    row: ReferenceRow
    stored: str
    recomputed: str


def _invalid(path: str, why: str) -> ValueError:
    return ValueError(f"reference data file {path} is invalid: {why}")


def _parse_row(entry: Any, index: int, path: str) -> ReferenceRow:
    if not isinstance(entry, dict) or set(entry) != {"function", "args", "value"}:
        raise _invalid(path, f"row {index} must have exactly the keys function, args, value")
    function, args, value = entry["function"], entry["args"], entry["value"]
    if function not in _FUNCTIONS:
        raise _invalid(path, f"row {index} has unknown function {function!r}")
    if not isinstance(args, list) or len(args) != _ARGUMENT_COUNTS[function]:
        raise _invalid(path, f"row {index} must have {_ARGUMENT_COUNTS[function]} argument(s)")
    try:
        floats = tuple(float.fromhex(text) for text in args)
    except (TypeError, ValueError):
        raise _invalid(
            path, f"row {index} has an argument that is not a float.hex string"
        ) from None
    if not isinstance(value, str):
        raise _invalid(path, f"row {index} has a value that is not a decimal string")
    return ReferenceRow(function, floats, value)


def load_reference_data(path: str | Path | None = None) -> ReferenceData:
    """Load and verify a reference-data file (default: the one installed with the package).

    Raises ``ValueError`` naming the file when it is not valid JSON, its schema is not
    ``quantmm-reference-data/1``, a field is missing, or either checksum does not match the
    content (the inputs, or the rows including their values).
    """
    if path is None:
        source = resources.files("quantmm.conformance").joinpath(REFERENCE_DATA_FILE)
        name, text = str(source), source.read_text(encoding="ascii")
    else:
        name, text = str(path), Path(path).read_text(encoding="ascii")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise _invalid(name, f"not JSON ({error})") from None
    if not isinstance(data, dict):
        raise _invalid(name, "the top level must be a JSON object")
    missing = [field for field in _HEADER_FIELDS if field not in data]
    if missing:
        raise _invalid(name, f"missing field(s) {missing}")
    if data["schema"] != REFERENCE_DATA_SCHEMA:
        raise _invalid(name, f"schema must be {REFERENCE_DATA_SCHEMA!r}, got {data['schema']!r}")
    entries = data["rows"]
    if not isinstance(entries, list) or not entries:
        raise _invalid(name, "rows must be a non-empty list")
    inputs = [{key: row.get(key) for key in ("function", "args")} for row in entries]
    if canonical_sha256(inputs) != data["inputs_sha256"]:
        raise _invalid(name, "inputs_sha256 does not match the rows' inputs (file altered?)")
    if canonical_sha256(entries) != data["rows_sha256"]:
        raise _invalid(name, "rows_sha256 does not match the rows (a value altered?)")
    rows = tuple(_parse_row(entry, index, name) for index, entry in enumerate(entries))
    return ReferenceData(
        path=name,
        schema=data["schema"],
        mpmath_version=str(data["mpmath_version"]),
        generating_commit=str(data["generating_commit"]),
        digits=int(data["digits"]),
        inputs_checksum=data["inputs_sha256"],
        checksum=data["rows_sha256"],
        rows=rows,
    )


def _significant_digits(value: str) -> int:
    """How many significant digits a :func:`~quantmm.reference.to_decimal` string carries."""
    mantissa = value.lstrip("+-").split("e")[0].replace(".", "")
    stripped = mantissa.lstrip("0")
    return len(stripped) if stripped else len(mantissa)  # zero is written with `digits` zeros


def recompute(rows: Iterable[ReferenceRow], digits: int = REFERENCE_DIGITS) -> list[Mismatch]:
    """Evaluate ``rows`` again with the certified mpmath reference at ``digits`` digits and
    return those whose rendering differs from the stored value (an empty list: all agree).

    ``digits`` must be the number of digits the rows were stored with (the values are compared
    as strings, both correctly rounded by :func:`~quantmm.reference.to_decimal`).
    """
    mismatches = []
    for row in rows:
        stored_digits = _significant_digits(row.value)
        if stored_digits != digits:
            raise ValueError(
                f"rows were stored with {stored_digits} digits; recompute them with "
                f"digits={stored_digits}, got digits={digits}"
            )
        recomputed = reference_value(row.function, [a.hex() for a in row.args], digits)
        if recomputed != row.value:
            mismatches.append(Mismatch(row, row.value, recomputed))
    return mismatches
