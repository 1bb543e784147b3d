"""The conformance certificate: a versioned JSON record of what was checked and what was found.

Schema ``quantmm-certificate/1`` (every field always present):

- ``schema``: "quantmm-certificate/1";
- ``verdict``: "pass" if no check failed, else "fail";
- ``profile``: "quick" or "full"; ``seed``: the harness seed; ``device``: "cpu" or "gpu";
- ``software``: versions of quantmm, Python, NumPy, SciPy, mpmath, hypothesis and CuPy (or null);
- ``platform``: the operating system and machine, and the GPU's name when device is "gpu";
- ``reference_data``: the sha256 checksum of the stored mpmath reference values' inputs;
- ``targets``: one entry per certified target, ``{"name", "kind", "construction", "checks"}``,
  where ``checks`` is a list of check results ``{"name", "verdict", "summary", "figures",
  "tolerance", "failure"}`` and ``failure`` is null or ``{"message", "seed", "reproduction",
  "example"}``.

No clock times are recorded, so the same code, seed and machine give the same file.

>>> from quantmm.conformance.results import CheckResult, PASS
>>> result = CheckResult("determinism", PASS, "ok", {}, {})
>>> certificate = Certificate.build("quick", 0, "cpu", [TargetReport("k", "kernel", "", [result])])
>>> Certificate.from_json(certificate.to_json()) == certificate, certificate.verdict
(True, 'pass')
"""

from __future__ import annotations

import json
import math
import platform
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .results import FAIL, PASS, CheckResult

__all__ = ["SCHEMA", "Certificate", "TargetReport", "environment", "plain"]

SCHEMA = "quantmm-certificate/1"


@dataclass(frozen=True)
class TargetReport:
    """The checks run on one target. ``kind``: "kernel", "decoder" or "function"."""

    name: str
    kind: str
    construction: str
    checks: list[CheckResult]

    @property
    def passed(self) -> bool:
        return all(check.passed for check in self.checks)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "construction": self.construction,
            "checks": [check.to_json() for check in self.checks],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TargetReport:
        checks = [CheckResult.from_json(check) for check in data["checks"]]
        return cls(data["name"], data["kind"], data["construction"], checks)


def plain(value: Any) -> Any:
    """``value`` with NumPy scalars made Python numbers and non-finite floats made strings
    ("inf", "-inf", "nan"), so it is strict JSON.

    >>> import numpy as np
    >>> plain({"a": np.float64(1.5), "b": [float("inf"), np.bool_(True)]})
    {'a': 1.5, 'b': ['inf', True]}
    """
    if isinstance(value, dict):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    if hasattr(value, "item") and callable(value.item) and getattr(value, "ndim", None) == 0:
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


def _version(module: str) -> str | None:
    try:
        return __import__(module).__version__
    except Exception:
        return None


def environment(device: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(software versions, platform description) for a certificate."""
    from quantmm import __version__

    software = {
        "quantmm": __version__,
        "python": platform.python_version(),
        "numpy": _version("numpy"),
        "scipy": _version("scipy"),
        "mpmath": _version("mpmath"),
        "hypothesis": _version("hypothesis"),
        "cupy": _version("cupy") if "cupy" in sys.modules or device == "gpu" else None,
    }
    machine = {
        "system": platform.system(),
        "release": platform.release(),
        "machine": platform.machine(),
    }
    if device == "gpu":
        import cupy

        machine["gpu"] = cupy.cuda.runtime.getDeviceProperties(0)["name"].decode()
    return software, machine


@dataclass(frozen=True)
class Certificate:
    """A certificate (see the module docstring for the schema)."""

    profile: str
    seed: int
    device: str
    software: dict[str, Any]
    platform: dict[str, Any]
    reference_data: str | None
    targets: list[TargetReport]
    schema: str = SCHEMA

    @classmethod
    def build(
        cls,
        profile: str,
        seed: int,
        device: str,
        targets: list[TargetReport],
        reference_data: str | None = None,
    ) -> Certificate:
        software, machine = environment(device)
        return cls(profile, seed, device, software, machine, reference_data, targets)

    @property
    def verdict(self) -> str:
        return PASS if all(target.passed for target in self.targets) else FAIL

    @property
    def failures(self) -> list[tuple[str, CheckResult]]:
        """(target name, failing check) pairs."""
        return [(t.name, c) for t in self.targets for c in t.checks if not c.passed]

    def to_json(self) -> dict[str, Any]:
        return plain(
            {
                "schema": self.schema,
                "verdict": self.verdict,
                "profile": self.profile,
                "seed": self.seed,
                "device": self.device,
                "software": self.software,
                "platform": self.platform,
                "reference_data": self.reference_data,
                "targets": [target.to_json() for target in self.targets],
            }
        )

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Certificate:
        if data.get("schema") != SCHEMA:
            raise ValueError(f"not a {SCHEMA} certificate: schema {data.get('schema')!r}")
        certificate = cls(
            data["profile"],
            data["seed"],
            data["device"],
            data["software"],
            data["platform"],
            data["reference_data"],
            [TargetReport.from_json(t) for t in data["targets"]],
        )
        if data.get("verdict") != certificate.verdict:
            raise ValueError("the certificate's verdict does not match its checks")
        return certificate

    def write(self, path: str | Path) -> None:
        """Write the certificate as indented JSON (UTF-8; non-finite numbers as strings)."""
        text = json.dumps(plain(self.to_json()), indent=2, sort_keys=False, allow_nan=False)
        Path(path).write_text(text + "\n", encoding="utf-8")

    @classmethod
    def read(cls, path: str | Path) -> Certificate:
        return cls.from_json(json.loads(Path(path).read_text(encoding="utf-8")))

    def report(self) -> str:
        """A readable report: one line per check, then each failure with its reproduction."""
        lines = [
            f"quantmm conformance certificate ({self.schema}): {self.verdict.upper()}",
            f"profile {self.profile}, seed {self.seed}, device {self.device}, "
            f"quantmm {self.software.get('quantmm')}",
        ]
        for target in self.targets:
            lines.append(f"\n{target.name} [{target.kind}]")
            for check in target.checks:
                lines.append(f"  {check.verdict.upper():4}  {check.name}: {check.summary}")
        for name, check in self.failures:
            failure = check.failure
            lines += [
                f"\nFAILED {name} / {check.name}: {failure.message}",
                f"seed: {failure.seed}",
                "reproduction:",
                *("    " + line for line in failure.reproduction.splitlines()),
            ]
        return "\n".join(lines)
