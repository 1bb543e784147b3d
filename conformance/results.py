"""What a conformance check returns: its verdict, its figures, its tolerance, and a failure record.

Every check in :mod:`quantmm.conformance` returns one :class:`CheckResult`. A failing check
carries a :class:`Failure` with the seed and a copy-paste reproduction, so nobody has to guess
how to see the failure again. Everything here turns into plain JSON (:meth:`CheckResult.to_json`)
and back (:meth:`CheckResult.from_json`), so a certificate is a stable, diffable file.

>>> result = CheckResult("determinism", PASS, "same seed, same bytes", {"payloads": 4}, {})
>>> CheckResult.from_json(result.to_json()) == result
True
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["FAIL", "PASS", "SKIP", "VERDICTS", "CheckResult", "Failure"]

PASS = "pass"
FAIL = "fail"
SKIP = "skip"  # the check does not apply to this target (say why in ``summary``)
VERDICTS = (PASS, FAIL, SKIP)


@dataclass(frozen=True)
class Failure:
    """The first failing example of a check.

    ``example``: the failing input in JSON form (small arrays as nested lists, large ones
    described); ``seed``: the seed that reproduces it; ``reproduction``: Python or shell text a
    user can paste to see the failure again; ``message``: what went wrong, in one sentence.
    """

    message: str
    seed: int | None
    reproduction: str
    example: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "message": self.message,
            "seed": self.seed,
            "reproduction": self.reproduction,
            "example": self.example,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Failure:
        return cls(data["message"], data["seed"], data["reproduction"], data.get("example", {}))


@dataclass(frozen=True)
class CheckResult:
    """One check's outcome.

    ``name``: the check's registered name; ``verdict``: "pass", "fail" or "skip";
    ``summary``: one line for the report; ``figures``: the measured numbers (JSON values);
    ``tolerance``: the thresholds the verdict used (JSON values); ``failure``: set iff failed.
    """

    name: str
    verdict: str
    summary: str
    figures: dict[str, Any]
    tolerance: dict[str, Any]
    failure: Failure | None = None

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {VERDICTS}, got {self.verdict!r}")
        if (self.verdict == FAIL) != (self.failure is not None):
            raise ValueError("a failing result needs a Failure, and only a failing one has one")

    @property
    def passed(self) -> bool:
        """True unless the verdict is "fail" (a skipped check does not fail a certificate)."""
        return self.verdict != FAIL

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "verdict": self.verdict,
            "summary": self.summary,
            "figures": self.figures,
            "tolerance": self.tolerance,
            "failure": None if self.failure is None else self.failure.to_json(),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CheckResult:
        failure = data.get("failure")
        return cls(
            data["name"],
            data["verdict"],
            data["summary"],
            data["figures"],
            data["tolerance"],
            None if failure is None else Failure.from_json(failure),
        )
