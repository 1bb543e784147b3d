"""The registry of certified quantities the command line can print (``quantmm value``/``table``).

Each entry names a reference function, its parameters (passed through as the exact strings the
user typed, so ``rate=0.1`` means exactly 1/10), and how it is labelled in a table. A quantity may
add details to its JSON output (``scalar_error`` adds E[D] and the codebook).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import mpmath

from quantmm import reference
from quantmm.reference import design_error, scalar_designs, scalar_gaussian
from quantmm.reference.precision import CertifiedValue, checks_digits, to_decimal
from quantmm.reference.scalar_codebook import ScalarCodebook


class Evaluation(NamedTuple):
    """A certified value and, for ``--json``, extra fields (already rendered as strings)."""

    value: mpmath.mpf
    details: dict[str, Any]


@dataclass(frozen=True)
class Quantity:
    """One printable quantity: ``function(**params, digits=N)`` returns a certified mpf or an
    :class:`Evaluation`. An optional parameter whose default is None is left out unless given."""

    name: str
    function: Callable[..., mpmath.mpf | Evaluation]
    required: tuple[str, ...]
    optional: dict[str, str | None] = field(default_factory=dict)
    summary: str = ""
    latex: str = ""

    @property
    def parameters(self) -> tuple[str, ...]:
        return self.required + tuple(self.optional)


@checks_digits
def _nsm(lattice: str, digits: int) -> mpmath.mpf:
    return reference.normalized_second_moment(lattice, digits=digits)


def codebook_document(codebook: ScalarCodebook, digits: int) -> dict[str, list[str]]:
    """A codebook's levels and thresholds as decimal strings."""
    return {
        "levels": [to_decimal(value, digits) for value in codebook.levels],
        "thresholds": [to_decimal(value, digits) for value in codebook.thresholds],
    }


@checks_digits
def _scalar_error(design: str, rho: str, levels: str, digits: int, k: str | None = None):
    result = design_error.scalar_error(design, rho, levels, digits=digits, k=k)
    details = {
        "mean": to_decimal(result.mean, digits),
        "codebook": codebook_document(result.codebook, digits),
    }
    return Evaluation(result.second_moment, details)


QUANTITIES: dict[str, Quantity] = {
    quantity.name: quantity
    for quantity in (
        Quantity(
            "critical_rate",
            reference.critical_rate,
            (),
            summary="R*, the phase transition",
            latex=r"R^\ast",
        ),
        Quantity(
            "phi",
            reference.phi,
            ("rate",),
            summary="φ(R) = 2·2^(−2R) − 2^(−4R)",
            latex=r"\varphi(R)",
        ),
        Quantity(
            "gamma",
            reference.gamma,
            ("rate",),
            summary="Γ(R), the distortion-rate function",
            latex=r"\Gamma(R)",
        ),
        Quantity(
            "gamma_derivative",
            reference.gamma_derivative,
            ("rate",),
            summary="Γ'(R)",
            latex=r"\Gamma'(R)",
        ),
        Quantity(
            "gamma_inverse",
            reference.gamma_inverse,
            ("distortion",),
            summary="the rate R with Γ(R) = D",
            latex=r"\Gamma^{-1}(D)",
        ),
        Quantity(
            "time_sharing_fraction",
            reference.time_sharing_fraction,
            ("rate",),
            summary="κ = min(R/R*, 1)",
            latex=r"\kappa(R)",
        ),
        Quantity(
            "one_sided",
            reference.one_sided,
            ("rate",),
            summary="2^(−2R), B known to the decoder",
            latex=r"2^{-2R}",
        ),
        Quantity(
            "unequal_rates",
            reference.unequal_rates,
            ("rate_a", "rate_b"),
            summary="D(R_a, R_b)",
            latex=r"D(R_a, R_b)",
        ),
        Quantity(
            "lower_bound",
            reference.lower_bound,
            ("n", "a", "b", "rate"),
            {"sigma_a": "1", "sigma_b": "1"},
            summary="n·a·b·σ_a²·σ_b²·Γ(R), the converse",
            latex=r"n a b \sigma_A^2 \sigma_B^2 \Gamma(R)",
        ),
        Quantity(
            "universal_guarantee",
            reference.universal_guarantee,
            ("rate", "fro_AtB_sq", "fro_A_sq", "fro_B_sq", "n"),
            {"alpha": "mmse"},
            summary="the §1.3 bound of the universal nested-lattice scheme",
            latex=r"\text{guarantee}(R)",
        ),
        Quantity(
            "nsm", _nsm, ("lattice",), summary="normalized second moment G(Λ)", latex=r"G(\Lambda)"
        ),
        Quantity(
            "lattice_loss_db",
            reference.lattice_loss_db,
            ("lattice",),
            summary="10·log10(2πe·G(Λ)) in dB",
            latex=r"10\log_{10}(2\pi e G)",
        ),
        Quantity(
            "sphere_bound", reference.sphere_bound, (), summary="1/(2πe)", latex=r"1/(2\pi e)"
        ),
        Quantity(
            "ball_bound",
            reference.ball_bound,
            ("dimension",),
            summary="G of the d-dimensional ball",
            latex=r"G(\text{ball}_d)",
        ),
        Quantity(
            "g_opt",
            scalar_gaussian.g_opt,
            ("rho",),
            summary="G_opt(ρ) = I(ρ)³/(12√(2π)), per side (theory.md §2.3)",
            latex=r"G_{\mathrm{opt}}(\rho)",
        ),
        Quantity(
            "g_pd",
            scalar_gaussian.g_pd,
            ("rho",),
            summary="G_PD(ρ) = (√3π/2)(1 + 2ρ²), the Panter–Dite design",
            latex=r"G_{\mathrm{PD}}(\rho)",
        ),
        Quantity(
            "design_gain_db",
            scalar_gaussian.design_gain_db,
            ("rho",),
            summary="10·log10(G_PD/G_opt)",
            latex=r"10\log_{10}(G_{\mathrm{PD}}/G_{\mathrm{opt}})",
        ),
        Quantity(
            "density_normalizer",
            scalar_gaussian.density_normalizer,
            ("rho",),
            summary="I(ρ), computed two ways that must agree",
            latex=r"I(\rho)",
        ),
        Quantity(
            "optimal_density",
            scalar_gaussian.optimal_density,
            ("u", "rho"),
            summary="λ*(u), the normalized optimal point density",
            latex=r"\lambda^\ast(u)",
        ),
        Quantity(
            "peak_location",
            scalar_gaussian.peak_location,
            ("rho",),
            summary="0, or +√(3 − 1/ρ²) when |ρ| > 1/√3",
            latex=r"u_{\mathrm{peak}}",
        ),
        Quantity(
            "compander_bias_coefficient",
            scalar_gaussian.compander_bias_coefficient,
            ("rho",),
            {"design": "opt"},
            summary="lim K²·E[D] for the opt or pd compander",
            latex=r"\lim K^2 E[D]",
        ),
        Quantity(
            "lloyd_max_distortion",
            scalar_designs.lloyd_max_distortion,
            ("levels",),
            summary="MSE of the K-level Lloyd–Max quantizer of N(0, 1)",
            latex=r"D_{\mathrm{LM}}(K)",
        ),
        Quantity(
            "scalar_error",
            _scalar_error,
            ("design", "rho", "levels"),
            {"k": None},
            summary="E[D²] of a design (--json adds E[D] and the codebook)",
            latex=r"E[D^2]",
        ),
    )
}


def evaluate(quantity: Quantity, params: dict[str, str], digits: int) -> Evaluation:
    """Call the quantity's reference function with the given string parameters.

    Unknown or missing parameters raise :class:`ValueError` naming the parameters the quantity
    takes.
    """
    unknown = [name for name in params if name not in quantity.parameters]
    if unknown:
        raise ValueError(
            f"unknown parameter {unknown[0]!r} for {quantity.name}; "
            f"it takes: {_describe_parameters(quantity)}"
        )
    missing = [name for name in quantity.required if name not in params]
    if missing:
        raise ValueError(
            f"missing parameter {missing[0]!r} for {quantity.name}; "
            f"it takes: {_describe_parameters(quantity)}"
        )
    defaults = {name: value for name, value in quantity.optional.items() if value is not None}
    result = quantity.function(**{**defaults, **params}, digits=digits)
    value, details = result if isinstance(result, Evaluation) else (result, {})
    if not isinstance(value, CertifiedValue):  # a field of a structured result (scalar_error)
        value = CertifiedValue(value, digits)
    return Evaluation(value, details)


def _describe_parameters(quantity: Quantity) -> str:
    names = [f"{name}=..." for name in quantity.required]
    names += [
        f"[{name}={'...' if default is None else default}]"
        for name, default in quantity.optional.items()
    ]
    return " ".join(names) if names else "no parameters"


def describe_all() -> str:
    """One line per quantity: its name and parameters."""
    return "; ".join(
        f"{quantity.name} {_describe_parameters(quantity)}".replace(" no parameters", "")
        for quantity in QUANTITIES.values()
    )
