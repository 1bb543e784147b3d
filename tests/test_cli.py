"""The ``quantmm`` command line, run as a real program in a subprocess.

Every test starts the installed console script (``quantmm`` next to the running interpreter) or
``python -m quantmm`` and reads its exit status, stdout and stderr, the way a user or a script
would. Expected values come from one of two places, and each test says which:

* an independent computation written here: a closed form, exact rationals (``fractions``,
  ``decimal``), or mpmath evaluated from the definition (R* through Lambert's W);
* the Python API (``quantmm.gamma`` and friends) rendered with ``to_decimal``, for the checks that
  are about plumbing only: the command line must print what the library computes.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
from decimal import Decimal, localcontext
from fractions import Fraction
from pathlib import Path

import mpmath
import pytest

import quantmm
from quantmm import reference
from quantmm.quantities import QUANTITIES
from quantmm.reference.precision import DEFAULT_DIGITS, MAX_DIGITS, to_decimal

#: The console script installed next to the interpreter running the tests.
CONSOLE_SCRIPT = Path(sys.executable).parent / "quantmm"

#: Exit status the command line documents for bad input.
EXIT_BAD_INPUT = 2
#: Exit status the command line documents for a value it cannot certify.
EXIT_UNCERTIFIED = 3


def run_cli(*args: str, module: bool = False) -> subprocess.CompletedProcess[str]:
    """Run ``quantmm ARGS`` (the console script, or ``python -m quantmm`` when ``module``).

    It runs in a neutral directory, so the installed package answers, not a stray checkout in the
    working directory.
    """
    if module:
        command = [sys.executable, "-m", "quantmm", *args]
    else:
        if not CONSOLE_SCRIPT.exists():
            pytest.skip(
                f"the quantmm console script is not installed next to the interpreter "
                f"({CONSOLE_SCRIPT}); install the project with `pip install -e .`"
            )
        command = [str(CONSOLE_SCRIPT), *args]
    return subprocess.run(
        command, capture_output=True, text=True, timeout=120, cwd=tempfile.gettempdir()
    )


def only_line(result: subprocess.CompletedProcess[str]) -> str:
    """The single line a successful command printed (it must exit 0 and print one line)."""
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert result.stdout.endswith("\n")
    lines = result.stdout.splitlines()
    assert len(lines) == 1, result.stdout
    return lines[0]


def significant_digits(text: str) -> int:
    """How many significant digits a decimal string shows (trailing zeros count)."""
    mantissa = text.lstrip("+-").lower().split("e")[0].replace(".", "")
    return len(mantissa.lstrip("0"))


def rounded(value: Fraction, digits: int) -> Decimal:
    """The exact rational ``value`` correctly rounded (half-even) to ``digits`` significant digits.

    Decimal division of two exact integers is rounded once, so the result is the true rounding.
    """
    with localcontext() as context:
        context.prec = digits
        return Decimal(value.numerator) / Decimal(value.denominator)


# ---------------------------------------------------------------------------------------------
# Independent computations (no quantmm code).
# ---------------------------------------------------------------------------------------------


def critical_rate_lambert() -> mpmath.mpf:
    """R* = u/(2 ln 2), u = −1/2 − W₋₁(−1/(2√e)): the positive root of 2^(2R) = 1 + 4R·ln 2.

    Call inside ``mpmath.workdps``.
    """
    u = -mpmath.mpf(1) / 2 - mpmath.re(mpmath.lambertw(-1 / (2 * mpmath.sqrt(mpmath.e)), -1))
    return u / (2 * mpmath.ln(2))


def phi_definition(rate: mpmath.mpf) -> mpmath.mpf:
    """φ(R) = 2·2^(−2R) − 2^(−4R), straight from the definition."""
    return 2 * mpmath.power(2, -2 * rate) - mpmath.power(2, -4 * rate)


# ---------------------------------------------------------------------------------------------
# 1. One value, many digits: the console script against the API and against Lambert's W.
# ---------------------------------------------------------------------------------------------


def test_gamma_at_half_rate_to_50_digits_matches_api_and_lambert_closed_form():
    text = only_line(run_cli("value", "gamma", "rate=0.5", "--digits", "50"))
    assert significant_digits(text) == 50

    # Plumbing: the command line prints what the Python API computes.
    assert text == to_decimal(quantmm.reference.gamma("0.5", digits=50), 50)

    # Independent: R* through Lambert's W at 80 digits, then the time-sharing branch of Γ.
    with mpmath.workdps(80):
        critical = critical_rate_lambert()
        # R* really is the positive root, and 1/2 is below it (so the straight branch applies).
        residual = mpmath.power(2, 2 * critical) - 1 - 4 * critical * mpmath.ln(2)
        assert abs(residual) < mpmath.mpf(10) ** -75
        assert mpmath.mpf("0.9") < critical < mpmath.mpf("0.91")
        rate = mpmath.mpf(1) / 2
        assert rate < critical
        expected = 1 - (rate / critical) * (1 - phi_definition(critical))
        assert text == mpmath.nstr(expected, 50, strip_zeros=False)


def test_default_digits_and_critical_rate_match_lambert_closed_form():
    text = only_line(run_cli("value", "critical_rate"))
    # Without --digits the command line prints DEFAULT_DIGITS significant digits.
    assert significant_digits(text) == DEFAULT_DIGITS
    # Independent: R* through Lambert's W, at far more digits than asked.
    with mpmath.workdps(DEFAULT_DIGITS + 40):
        assert text == mpmath.nstr(critical_rate_lambert(), DEFAULT_DIGITS, strip_zeros=False)


# ---------------------------------------------------------------------------------------------
# 2. --json
# ---------------------------------------------------------------------------------------------


def test_json_output_is_one_object_with_the_typed_params_and_the_plain_value():
    plain = only_line(run_cli("value", "gamma", "rate=0.5", "--digits", "25"))
    document = json.loads(
        only_line(run_cli("value", "gamma", "rate=0.5", "--digits", "25", "--json"))
    )
    assert set(document) == {"quantity", "params", "digits", "value"}
    assert document["quantity"] == "gamma"
    assert document["params"] == {"rate": "0.5"}  # the string typed, not a float 0.5
    assert document["digits"] == 25
    assert document["value"] == plain
    # Plumbing: the same value the API gives.
    assert plain == to_decimal(quantmm.gamma("0.5", digits=25), 25)


def test_json_params_keep_every_string_as_typed():
    args = ("lower_bound", "n=16", "a=2", "b=3", "rate=1/3", "sigma_a=0.50")
    document = json.loads(only_line(run_cli("value", *args, "--digits", "12", "--json")))
    assert document["params"] == {
        "n": "16",
        "a": "2",
        "b": "3",
        "rate": "1/3",
        "sigma_a": "0.50",
    }
    # Plumbing: the API with the same exact strings (sigma_b takes its default 1).
    api = reference.lower_bound("16", "2", "3", "1/3", sigma_a="0.50", digits=12)
    assert document["value"] == to_decimal(api, 12)


# ---------------------------------------------------------------------------------------------
# 3. Every registered quantity prints what the API computes.
# ---------------------------------------------------------------------------------------------

#: Example parameters for every quantity the command line knows.
EXAMPLES: dict[str, dict[str, str]] = {
    "critical_rate": {},
    "phi": {"rate": "0.75"},
    "gamma": {"rate": "0.3"},
    "gamma_derivative": {"rate": "1.5"},
    "gamma_inverse": {"distortion": "0.5"},
    "time_sharing_fraction": {"rate": "1/3"},
    "one_sided": {"rate": "0.1"},
    "unequal_rates": {"rate_a": "1", "rate_b": "0.5"},
    "lower_bound": {"n": "16", "a": "2", "b": "3", "rate": "1"},
    "universal_guarantee": {
        "rate": "1",
        "fro_AtB_sq": "8",
        "fro_A_sq": "8",
        "fro_B_sq": "8",
        "n": "8",
    },
    "nsm": {"lattice": "E8"},
    "lattice_loss_db": {"lattice": "D4"},
    "sphere_bound": {},
    "ball_bound": {"dimension": "8"},
    "g_opt": {"rho": "0.5"},
    "g_pd": {"rho": "0.5"},
    "design_gain_db": {"rho": "0.9"},
    "density_normalizer": {"rho": "0.3"},
    "optimal_density": {"u": "1.5", "rho": "0.8"},
    "peak_location": {"rho": "0.9"},
    "compander_bias_coefficient": {"rho": "0.4", "design": "pd"},
    "lloyd_max_distortion": {"levels": "4"},
    "scalar_error": {"design": "lloyd_max", "rho": "0.5", "levels": "3"},
}

#: The public API function behind each command-line name (the same name, except nsm).
API_FUNCTIONS = {
    "nsm": reference.normalized_second_moment,
    "scalar_error": lambda **kw: reference.scalar_error(**kw).second_moment,
}


def test_examples_cover_every_registered_quantity():
    # A quantity added to the registry without a command-line example fails here.
    assert set(EXAMPLES) == set(QUANTITIES)


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_every_quantity_prints_the_api_value(name: str):
    digits = 40
    params = EXAMPLES[name]
    text = only_line(
        run_cli(
            "value",
            name,
            *(f"{key}={value}" for key, value in params.items()),
            "--digits",
            str(digits),
        )
    )
    # Plumbing: the public API function called directly with the same strings.
    function = API_FUNCTIONS.get(name) or getattr(reference, name)
    assert text == to_decimal(function(**params, digits=digits), digits)
    assert significant_digits(text) == digits


# ---------------------------------------------------------------------------------------------
# 4. Exact values through the command line (closed forms, exact rationals).
# ---------------------------------------------------------------------------------------------


def test_gamma_at_rate_one_is_exactly_seven_sixteenths():
    # Independent: 1 > R*, so Γ(1) = φ(1) = 2/4 − 1/16 = 7/16 exactly.
    assert only_line(run_cli("value", "gamma", "rate=1", "--digits", "20")) == (
        "0.43750000000000000000"
    )


def test_nsm_of_e8_is_929_over_12960():
    text = only_line(run_cli("value", "nsm", "lattice=E8", "--digits", "12"))
    # Independent: G(E8) = 929/12960 (Conway & Sloane), rounded with decimal.
    expected = rounded(Fraction(929, 12960), 12)
    assert text == str(expected) == "0.0716820987654"


def test_one_sided_at_rate_two_is_one_sixteenth():
    text = only_line(run_cli("value", "one_sided", "rate=2", "--digits", "5"))
    # Independent: 2^(−4) = 1/16, an exact mpf, rendered with 5 significant digits.
    assert text == to_decimal(mpmath.mpf(1) / 16, 5)
    assert Decimal(text) == Decimal(1) / 16
    assert significant_digits(text) == 5


@pytest.mark.parametrize(
    ("args", "digits", "exact"),
    [
        # n·a·b·Γ(1) = 16·2·3·7/16 = 42.
        (("lower_bound", "n=16", "a=2", "b=3", "rate=1"), 10, Fraction(42)),
        # MMSE bound with φ = φ(1) = 7/16: φ²·8 + φ(1 − φ)·8·8/8 = 8φ = 7/2.
        (
            ("universal_guarantee", "rate=1", "fro_AtB_sq=8", "fro_A_sq=8", "fro_B_sq=8", "n=8"),
            10,
            Fraction(7, 2),
        ),
        # 2^(−2·0.5) = 1/2.
        (("one_sided", "rate=0.5"), 30, Fraction(1, 2)),
        # Γ(0) = 1 − 0·(1 − φ(R*)) = 1: nothing is described.
        (("gamma", "rate=0"), 15, Fraction(1)),
        # Γ(1) = 7/16 and Γ is strictly decreasing, so Γ⁻¹(7/16) = 1.
        (("gamma_inverse", "distortion=7/16"), 15, Fraction(1)),
    ],
)
def test_closed_form_values(args: tuple[str, ...], digits: int, exact: Fraction):
    text = only_line(run_cli("value", *args, "--digits", str(digits)))
    # Independent: the exact rational, correctly rounded with decimal.
    assert Decimal(text) == rounded(exact, digits)
    assert significant_digits(text) == digits


@pytest.mark.parametrize(
    ("args", "exact"),
    [
        # D(R, R) = Γ(R) = φ(R) = 2·4^(−R) − 16^(−R) for R ≥ R* (theory.md §1.2): about 1.2e-60.
        pytest.param(
            ("unequal_rates", "rate_a=100", "rate_b=100"),
            Fraction(2, 4**100) - Fraction(1, 16**100),
            id="unequal_rates-R100",
        ),
        # The unbiased bound ((4^R/(4^R − 1))² − 1)·||Ā||²·||B̄||²/n, here with 8·8/8 = 8.
        pytest.param(
            (
                "universal_guarantee",
                "rate=100",
                "fro_AtB_sq=8",
                "fro_A_sq=8",
                "fro_B_sq=8",
                "n=8",
                "alpha=unbiased",
            ),
            (Fraction(4**100, 4**100 - 1) ** 2 - 1) * 8,
            id="universal_guarantee-unbiased-R100",
        ),
    ],
)
def test_tiny_positive_values_are_certified_or_refused_never_printed_as_zero(
    args: tuple[str, ...], exact: Fraction
):
    """A strictly positive quantity whose formula cancels (1 − (1 − ε)², (1 + ε)² − 1) must be
    printed correctly or refused with exit status 3; printing a "certified" 0.0 is wrong."""
    digits = 10
    result = run_cli("value", *args, "--digits", str(digits))
    if result.returncode == EXIT_UNCERTIFIED:
        assert result.stdout == ""
        assert len(result.stderr.splitlines()) == 1
        assert "cannot certify" in result.stderr
        return
    text = only_line(result)
    # Independent: exact rationals, correctly rounded with decimal.
    assert Decimal(text) == rounded(exact, digits)


# ---------------------------------------------------------------------------------------------
# 5. Bad input: exit status 2, nothing on stdout, one line on stderr naming the problem.
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "mentions"),
    [
        pytest.param(
            ("value", "no_such_quantity"),
            ("no_such_quantity", "gamma", "critical_rate", "nsm"),
            id="unknown-quantity",
        ),
        pytest.param(
            ("value", "gamma", "rate=1", "bogus=2"),
            ("bogus", "gamma", "rate="),
            id="unknown-parameter",
        ),
        pytest.param(("value", "gamma"), ("missing", "rate"), id="missing-parameter"),
        pytest.param(
            ("value", "lower_bound", "n=16", "a=2", "rate=1"),
            ("missing", "'b'"),
            id="missing-one-of-several",
        ),
        pytest.param(("value", "gamma", "rate"), ("name=value", "'rate'"), id="no-equals-sign"),
        pytest.param(("value", "gamma", "rate="), ("name=value", "rate="), id="empty-value"),
        pytest.param(
            ("value", "gamma", "rate=1", "rate=2"), ("rate", "twice"), id="parameter-twice"
        ),
        pytest.param(("value", "gamma", "rate=-1"), ("rate", ">= 0"), id="negative-rate"),
        pytest.param(("value", "gamma", "rate=nan"), ("rate", "nan"), id="nan-rate"),
        pytest.param(("value", "gamma", "rate=inf"), ("rate", "inf"), id="inf-rate"),
        pytest.param(("value", "gamma", "rate=abc"), ("rate", "abc"), id="non-numeric-rate"),
        pytest.param(
            ("value", "gamma_inverse", "distortion=0"), ("distortion",), id="distortion-zero"
        ),
        pytest.param(
            ("value", "gamma_inverse", "distortion=1.5"), ("distortion",), id="distortion-above-1"
        ),
        pytest.param(("value", "gamma", "rate=1", "--digits", "0"), ("digits",), id="digits-zero"),
        pytest.param(
            ("value", "gamma", "rate=1", "--digits", str(MAX_DIGITS + 1)),
            ("digits", str(MAX_DIGITS)),
            id="digits-above-max",
        ),
        pytest.param(
            ("value", "nsm", "lattice=F4"),
            ("lattice", "F4", "Z", "A2", "D4", "E8"),
            id="unknown-lattice",
        ),
        pytest.param(
            ("table", "nsm", "lattice=E8", "--rates", "0:1:1"),
            ("nsm", "rate", "gamma"),
            id="table-without-rate-parameter",
        ),
        pytest.param(
            ("table", "gamma", "--rates", "0:1"), ("--rates", "START:STOP:STEP"), id="rates-two"
        ),
        pytest.param(
            ("table", "gamma", "--rates", "0:x:1"), ("--rates", "STOP"), id="rates-non-numeric"
        ),
        pytest.param(("table", "gamma", "--rates", "0:1:0"), ("STEP",), id="rates-step-zero"),
        pytest.param(("table", "gamma", "--rates", "1:0:1"), ("STOP",), id="rates-stop-below"),
        pytest.param(
            ("table", "gamma", "rate=1", "--rates", "0:1:1"), ("--rates",), id="table-rate-param"
        ),
        pytest.param(  # the row count was printed with all its 2001 digits
            ("table", "gamma", "--rates", "0:1e1000:1e-1000"),
            ("about 1e2000 rows", "at most 10000"),
            id="rates-astronomical",
        ),
    ],
)
def test_bad_input_is_one_line_on_stderr_and_exit_status_2(
    args: tuple[str, ...], mentions: tuple[str, ...]
):
    result = run_cli(*args)
    assert result.returncode == EXIT_BAD_INPUT, (result.stdout, result.stderr)
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("quantmm: error: ")
    assert "Traceback" not in result.stderr
    for word in mentions:
        assert word in lines[0], (word, lines[0])


# ---------------------------------------------------------------------------------------------
# 6. Tables.
# ---------------------------------------------------------------------------------------------

#: The exact rates of --rates 0:1:0.25, written out by hand.
QUARTER_RATES = ["0", "0.25", "0.5", "0.75", "1"]
TABLE_DIGITS = 15


def table_rows(output: str, table_format: str) -> list[tuple[str, str]]:
    """(rate, value) pairs of a ``quantmm table gamma`` output, checking the format's frame."""
    lines = output.splitlines()
    if table_format == "csv":
        assert lines[0] == "rate,gamma"
        return [tuple(line.split(",")) for line in lines[1:]]
    if table_format == "markdown":
        assert re.fullmatch(r"\|\s*rate\s*\|\s*gamma\s*\|", lines[0])
        assert re.fullmatch(r"\|(\s*:?-{3,}:?\s*\|){2}", lines[1])
        rows = [re.fullmatch(r"\|\s*(\S+)\s*\|\s*(\S+)\s*\|", line) for line in lines[2:]]
        assert all(rows), lines
        return [(row.group(1), row.group(2)) for row in rows]
    if table_format == "latex":
        assert r"\begin{tabular}" in output
        assert r"\end{tabular}" in output
        assert output.index(r"\begin{tabular}") < output.index(r"\end{tabular}")
        data = [
            re.fullmatch(r"\$([0-9./]+)\$ & \$([-+0-9.e]+)\$ \\\\", line.strip()) for line in lines
        ]
        rows = [row for row in data if row]
        assert all(line.rstrip().endswith("\\\\") for line in lines if re.match(r"\$[0-9]", line))
        return [(row.group(1), row.group(2)) for row in rows]
    if table_format == "json":
        document = json.loads(output)
        assert document["quantity"] == "gamma"
        assert document["digits"] == TABLE_DIGITS
        assert all(set(row) == {"rate", "value"} for row in document["rows"])
        return [(row["rate"], row["value"]) for row in document["rows"]]
    raise AssertionError(f"unknown format {table_format}")


@pytest.mark.parametrize("table_format", ["csv", "markdown", "latex", "json"])
def test_gamma_table_in_every_format(table_format: str):
    result = run_cli(
        "table",
        "gamma",
        "--rates",
        "0:1:0.25",
        "--digits",
        str(TABLE_DIGITS),
        "--format",
        table_format,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    rows = table_rows(result.stdout, table_format)
    assert [rate for rate, _ in rows] == QUARTER_RATES
    # Plumbing: each value is the API's Γ at the same exact rate.
    for rate, value in rows:
        assert value == to_decimal(quantmm.gamma(rate, digits=TABLE_DIGITS), TABLE_DIGITS), rate
    # Independent end points: Γ(0) = 1 and Γ(1) = 7/16.
    assert Decimal(rows[0][1]) == 1
    assert Decimal(rows[-1][1]) == Decimal(7) / 16


def test_table_with_a_non_terminating_step_prints_exact_rational_rates():
    result = run_cli("table", "gamma", "--rates", "0:1:1/3", "--digits", "20")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "rate,gamma"
    rows = [line.split(",") for line in lines[1:]]
    # Independent: 0, 1/3, 2/3, 1 exactly (never 0.333… floats, and STOP included).
    assert [rate for rate, _ in rows] == ["0", "1/3", "2/3", "1"]
    # Plumbing: the API at the exact thirds.
    for rate, value in rows:
        assert value == to_decimal(quantmm.gamma(Fraction(rate), digits=20), 20)


def test_lower_bound_table_is_the_closed_form():
    result = run_cli(
        "table", "lower_bound", "n=4096", "a=1", "b=1", "--rates", "1:1:1", "--digits", "8"
    )
    assert result.returncode == 0, result.stderr
    # Independent: 4096·Γ(1) = 4096·7/16 = 1792.
    assert result.stdout.splitlines() == ["rate,lower_bound", "1,1792.0000"]
    assert Decimal("1792.0000") == Decimal(4096 * 7) / 16


# ---------------------------------------------------------------------------------------------
# 7. cite
# ---------------------------------------------------------------------------------------------


def test_cite_text_names_the_three_papers():
    result = run_cli("cite")
    assert result.returncode == 0, result.stderr
    for arxiv in ("2410.13780", "2502.09720", "2603.19559"):
        assert arxiv in result.stdout


def test_cite_bibtex_has_four_balanced_entries():
    result = run_cli("cite", "--format", "bibtex")
    assert result.returncode == 0, result.stderr
    entries = [line for line in result.stdout.splitlines() if line.startswith("@")]
    assert len(entries) == 4
    assert all(re.fullmatch(r"@\w+\{[\w:-]+,", entry) for entry in entries), entries
    depth = 0
    for character in result.stdout:
        depth += {"{": 1, "}": -1}.get(character, 0)
        assert depth >= 0
    assert depth == 0
    for arxiv in ("2410.13780", "2502.09720", "2603.19559"):
        assert arxiv in result.stdout


# ---------------------------------------------------------------------------------------------
# 8. --version, and python -m quantmm.
# ---------------------------------------------------------------------------------------------


def test_version():
    assert only_line(run_cli("--version")) == f"quantmm {quantmm.__version__}"


def test_python_m_quantmm_is_the_same_program():
    args = ("value", "gamma", "rate=0.5", "--digits", "50")
    through_module = only_line(run_cli(*args, module=True))
    assert through_module == only_line(run_cli(*args))
    # Plumbing: the API value.
    assert through_module == to_decimal(quantmm.gamma("0.5", digits=50), 50)
    assert only_line(run_cli("--version", module=True)) == f"quantmm {quantmm.__version__}"


def test_python_m_quantmm_reports_bad_input_with_exit_status_2():
    result = run_cli("value", "gamma", "rate=-1", module=True)
    assert result.returncode == EXIT_BAD_INPUT
    assert result.stdout == ""
    assert len(result.stderr.splitlines()) == 1
    assert "rate" in result.stderr


def test_scalar_error_json_adds_the_mean_and_the_codebook():
    # Plumbing: the same numbers as the Python API.
    result = run_cli(
        "value",
        "scalar_error",
        "design=lloyd_max",
        "rho=0.5",
        "levels=3",
        "--json",
        "--digits",
        "12",
    )
    document = json.loads(only_line(result))
    expected = reference.scalar_error("lloyd_max", "0.5", 3, digits=12)
    assert document["value"] == to_decimal(expected.second_moment, 12)
    assert document["mean"] == to_decimal(expected.mean, 12)
    assert document["codebook"]["levels"] == [to_decimal(v, 12) for v in expected.codebook.levels]
    assert len(document["codebook"]["thresholds"]) == 2


def test_codebook_command_prints_lloyd_max_two_levels_in_closed_form():
    # K = 2 Lloyd–Max: levels ±√(2/π), threshold 0 (closed form).
    document = json.loads(
        run_cli("codebook", "design=lloyd_max", "rho=0", "levels=2", "--digits", "20").stdout
    )
    with mpmath.workdps(40):
        root = to_decimal(mpmath.sqrt(2 / mpmath.pi), 20)
    assert document["levels"] == ["-" + root, root]
    assert float(document["thresholds"][0]) == 0


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("codebook", "design=opt", "rho=0.5"), ["missing", "levels"]),
        (("codebook", "design=opt", "rho=0.5", "levels=4", "size=3"), ["unknown", "size"]),
        (("codebook", "design=nope", "rho=0.5", "levels=4"), ["design must be one of"]),
        (("codebook", "design=opt", "rho=1.5", "levels=4"), ["rho"]),
    ],
)
def test_codebook_command_rejects_bad_input_on_one_line(args, words):
    result = run_cli(*args)
    assert result.returncode == EXIT_BAD_INPUT
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("quantmm: error:")
    for word in words:
        assert word in lines[0]


# -- parsing as a new user expects -----------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ("value", "gamma", "--digits", "40", "rate=2"),
        ("value", "--digits", "40", "gamma", "rate=2"),
        ("value", "gamma", "rate=2", "--digits", "40"),
    ],
    ids=["option-between", "option-first", "option-last"],
)
def test_options_and_parameters_may_come_in_any_order(args):
    """Expected: the Python API's value (plumbing only)."""
    result = run_cli(*args)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(to_decimal(quantmm.gamma(2, digits=40), 40))


def test_table_and_codebook_take_options_between_parameters():
    table = run_cli("table", "gamma", "--rates", "1:2:1", "--digits", "10")
    between = run_cli("table", "--digits", "10", "gamma", "--rates", "1:2:1")
    assert table.returncode == between.returncode == 0, table.stderr + between.stderr
    assert table.stdout == between.stdout
    book = run_cli("codebook", "design=uniform", "--digits", "12", "rho=0", "levels=2")
    assert book.returncode == 0, book.stderr
    assert json.loads(book.stdout)["digits"] == 12


@pytest.mark.parametrize(
    ("args", "refused"),
    [
        (("experiment", "lattice-gap", "--output", "x.png"), "--output"),  # not --output-dir
        (("certify", "--built"), "--built"),  # not --builtin
        (("value", "gamma", "rate=1", "--dig", "20"), "--dig"),  # not --digits
    ],
    ids=["output-is-not-output-dir", "built-is-not-builtin", "dig-is-not-digits"],
)
def test_an_abbreviated_option_is_refused_not_guessed(args, refused):
    result = run_cli(*args)
    assert result.returncode == EXIT_BAD_INPUT
    assert f"unrecognized arguments: {refused}" in result.stderr
    assert not (Path(tempfile.gettempdir()) / "x.png").exists()  # no folder made of the name


def _subcommands() -> dict:
    from quantmm.cli import _parser, _subcommands

    return _subcommands(_parser())


@pytest.mark.parametrize("name", sorted(_subcommands()))
def test_help_explains_every_option_and_names_its_default(name):
    """Every option has a help text; one with a default other than None/False shows it."""
    parser = _subcommands()[name]
    text = " ".join(parser.format_help().split())
    for action in parser._actions:
        if not action.option_strings or action.dest == "help":
            continue
        assert action.help, f"quantmm {name} {action.option_strings[0]} has no help text"
        if action.default not in (None, False) and not isinstance(action.default, bool):
            assert "default" in " ".join(action.help.split()) or f"(default: {action.default})" in (
                text
            ), f"quantmm {name} --help does not name the default of {action.option_strings[0]}"


# -- machine-readable output ------------------------------------------------------------------


def test_cite_json_holds_the_references_of_the_text_and_bibtex():
    """Expected: the text and BibTeX outputs (each title and arXiv id appears there)."""
    entries = json.loads(run_cli("cite", "--format", "json").stdout)
    text = " ".join(run_cli("cite").stdout.split())
    bibtex = " ".join(
        run_cli("cite", "--format", "bibtex").stdout.replace("{", "").replace("}", "").split()
    )
    assert [entry["key"] for entry in entries] == re.findall(
        r"@\w+\{(\w+),", run_cli("cite", "--format", "bibtex").stdout
    )
    for entry in entries:
        assert entry["title"] in text and entry["title"] in bibtex, entry["title"]
        if "arxiv" in entry:
            assert f"arXiv:{entry['arxiv']}" in text
    assert entries[-1]["version"] == quantmm.__version__


def test_prove_json_is_one_document_with_the_facts_of_the_report():
    """Expected: the text report of the same certificate (its facts, one per check mark)."""
    report = run_cli("prove", "critical_rate")
    result = run_cli("prove", "critical_rate", "--json")
    assert report.returncode == result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    (certificate,) = document["certificates"]
    assert document["verdict"] == certificate["verdict"] == "proved"
    assert len(certificate["facts"]) == report.stdout.count("✓") > 0
    for fact in certificate["facts"]:
        assert fact["statement"] in report.stdout
    assert "PROVED" in result.stderr  # the progress went to stderr
    listed = json.loads(run_cli("prove", "--list", "--json").stdout)
    assert "critical_rate" in [entry["name"] for entry in listed]


# -- tables over any parameter ---------------------------------------------------------------


def test_a_table_over_rho_prints_what_value_prints_for_each_rho():
    """Expected: `quantmm value g_opt rho=...` once per row (plumbing), at exact -1/2, 0, 1/2."""
    result = run_cli("table", "g_opt", "--over", "rho=-0.5:0.5:0.5", "--digits", "12")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.split()
    assert lines[0] == "rho,g_opt"
    for line, rho in zip(lines[1:], ("-0.5", "0", "0.5"), strict=True):
        value = run_cli("value", "g_opt", f"rho={rho}", "--digits", "12").stdout.strip()
        assert line == f"{rho},{value}"


def test_a_table_over_an_integer_parameter_and_its_formats():
    result = run_cli("table", "lloyd_max_distortion", "--over", "levels=1:3:1", "--format", "json")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["over"] == "levels" and [row["levels"] for row in document["rows"]] == [
        "1",
        "2",
        "3",
    ]
    # K = 1: the best single level is the mean 0, distortion E[X²] = 1 (closed form)
    assert Decimal(document["rows"][0]["value"]) == 1
    latex = run_cli("table", "g_opt", "--over", "rho=0:1:1", "--format", "latex").stdout
    assert r"$\rho$ & $G_{\mathrm{opt}}(\rho)$ \\" in latex


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--over", "rho"), "--over must be NAME=START:STOP:STEP"),
        (("--over", "sigma=0:1:1"), "g_opt has no parameter 'sigma'; it takes: rho"),
        (("--over", "rho=0:1"), "--over rho must be START:STOP:STEP"),
        (("--over", "rho=1:0:1"), "--over rho STOP must be >= 1"),
        (("rho=0", "--over", "rho=0:1:1"), "give the values of rho with --over, not rho="),
        (("--over", "rho=0:1:1", "--rates", "0:1:1"), "not allowed with argument"),
    ],
    ids=["no-equals", "unknown", "two-parts", "stop-below", "also-fixed", "both-grids"],
)
def test_bad_table_grids_are_refused_by_name(args, message):
    result = run_cli("table", "g_opt", *args)
    assert result.returncode == EXIT_BAD_INPUT
    assert message in result.stderr, result.stderr
