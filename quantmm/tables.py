"""Tables of certified values over a grid of one parameter (``quantmm table``), ready to paste.

The grid is exact: ``--rates 0:2:0.25`` means the rates 0, 1/4, …, 2 as rationals, never
accumulated floats, and ``--over rho=-0.5:0.5:0.25`` the same for any numeric parameter.
"""

from __future__ import annotations

import json
from fractions import Fraction

from quantmm.reference.precision import exact_real

FORMATS = ("csv", "markdown", "latex", "json")
#: More rows than this is almost certainly a typo in --rates.
MAX_ROWS = 10_000


def parse_rates(text: str) -> list[Fraction]:
    """Exact rates START, START+STEP, … up to and including STOP (``--rates``; rates >= 0).

    >>> [str(rate) for rate in parse_rates("0:1:0.25")]
    ['0', '1/4', '1/2', '3/4', '1']
    """
    return parse_grid(text, "--rates", minimum=0)


def parse_grid(text: str, option: str, *, minimum: Fraction | int | None = None) -> list[Fraction]:
    """Exact values START, START+STEP, … up to and including STOP of ``option``'s text
    START:STOP:STEP (STEP > 0; START >= ``minimum`` when given; the quantity checks its domain).

    >>> [str(value) for value in parse_grid("-1/2:1/2:1/2", "--over rho")]
    ['-1/2', '0', '1/2']
    """
    parts = text.split(":")
    if len(parts) != 3:
        raise ValueError(f"{option} must be START:STOP:STEP, got {text!r}")
    start = exact_real(parts[0], f"{option} START", minimum=minimum)
    stop = exact_real(parts[1], f"{option} STOP", minimum=start)
    step = exact_real(parts[2], f"{option} STEP", minimum=0, minimum_inclusive=False)
    count = int((stop - start) / step) + 1
    if count > MAX_ROWS:
        shown = str(count) if count < 10**15 else f"about 1e{len(str(count)) - 1}"
        raise ValueError(f"{option} gives {shown} rows; at most {MAX_ROWS} are allowed")
    return [start + i * step for i in range(count)]


def format_rate(rate: Fraction) -> str:
    """A rate as a terminating decimal when it has one, else as p/q.

    >>> format_rate(Fraction(5, 4)), format_rate(Fraction(1, 3)), format_rate(Fraction(2))
    ('1.25', '1/3', '2')
    """
    denominator = rate.denominator
    for prime in (2, 5):
        while denominator % prime == 0:
            denominator //= prime
    if denominator != 1:
        return f"{rate.numerator}/{rate.denominator}"
    if rate.denominator == 1:
        return str(rate.numerator)
    places = 0
    while (rate * 10**places).denominator != 1:
        places += 1
    scaled = rate.numerator * 10**places // rate.denominator
    sign = "-" if scaled < 0 else ""
    digits = str(abs(scaled)).rjust(places + 1, "0")
    return f"{sign}{digits[:-places]}.{digits[-places:]}"


def format_table(
    quantity: str,
    latex_symbol: str,
    params: dict[str, str],
    digits: int,
    rows: list[tuple[str, str]],
    table_format: str,
    over: str = "rate",
) -> str:
    """Render (value of ``over``, quantity) rows as csv, markdown, latex or json."""
    if table_format == "csv":
        return "\n".join([f"{over},{quantity}", *(f"{x},{value}" for x, value in rows)])
    if table_format == "markdown":
        lines = [f"| {over} | {quantity} |", "|---:|---:|"]
        return "\n".join(lines + [f"| {x} | {value} |" for x, value in rows])
    if table_format == "latex":
        fixed = ", ".join(f"{name} = {value}" for name, value in params.items())
        header = _LATEX_PARAMETERS.get(over) or r"\mathrm{" + over.replace("_", r"\_") + "}"
        lines = [
            f"% quantmm table {quantity}"
            + (f" ({fixed})" if fixed else "")
            + f", {digits} significant digits",
            r"\begin{tabular}{rl}",
            r"\hline",
            rf"${header}$ & ${latex_symbol}$ \\",
            r"\hline",
            *(rf"${x}$ & ${value}$ \\" for x, value in rows),
            r"\hline",
            r"\end{tabular}",
        ]
        return "\n".join(lines)
    if table_format == "json":
        document = {
            "quantity": quantity,
            "params": params,
            "over": over,
            "digits": digits,
            "rows": [{over: x, "value": value} for x, value in rows],
        }
        return json.dumps(document, indent=2)
    raise ValueError(f"--format must be one of {', '.join(FORMATS)}, got {table_format!r}")


#: LaTeX for the parameters a table may run over (others are set in \mathrm).
_LATEX_PARAMETERS = {
    "rate": "R",
    "rate_a": "R_a",
    "rate_b": "R_b",
    "distortion": "D",
    "rho": r"\rho",
    "levels": "K",
    "dimension": "d",
    "sigma_a": r"\sigma_A",
    "sigma_b": r"\sigma_B",
    "alpha": r"\alpha",
}
