"""The registry of certified quantities the command line can print (``quantmm value``/``table``).

Each entry names a reference function, its parameters (passed through as the exact strings the
user typed, so ``rate=0.1`` means exactly 1/10), and how it is labelled in a table.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import mpmath

from quantmm import reference


@dataclass(frozen=True)
class Quantity:
    """One printable quantity: ``function(**params, digits=N)`` returns a certified mpf."""

    name: str
    function: Callable[..., mpmath.mpf]
    required: tuple[str, ...]
    optional: dict[str, str] = field(default_factory=dict)
    summary: str = ""
    latex: str = ""

    @property
    def parameters(self) -> tuple[str, ...]:
        return self.required + tuple(self.optional)


def _nsm(lattice: str, digits: int) -> mpmath.mpf:
    return reference.normalized_second_moment(lattice, digits=digits)


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
    )
}


def evaluate(quantity: Quantity, params: dict[str, str], digits: int) -> mpmath.mpf:
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
    arguments = {**quantity.optional, **params}
    return quantity.function(**arguments, digits=digits)


def _describe_parameters(quantity: Quantity) -> str:
    names = [f"{name}=..." for name in quantity.required]
    names += [f"[{name}={default}]" for name, default in quantity.optional.items()]
    return " ".join(names) if names else "no parameters"


def describe_all() -> str:
    """One line per quantity: its name and parameters."""
    return "; ".join(
        f"{quantity.name} {_describe_parameters(quantity)}".replace(" no parameters", "")
        for quantity in QUANTITIES.values()
    )
