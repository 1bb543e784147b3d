"""The conformance certificate: a versioned JSON record of what was checked and what was found.

Schema ``quantmm-certificate/2`` (every field always present):

- ``schema``: "quantmm-certificate/2";
- ``verdict``: "fail" if a check failed; else "partial" if the run was restricted (``--check``);
  else "pass". A check that does not apply is "skip" and listed in ``skipped`` with its reason;
- ``profile``, ``seed`` (the run seed every input and kernel seed is drawn from),
  ``seed_drawn`` (true when no seed was given and it was drawn at random), ``device``,
  ``timeout`` (seconds per kernel call);
- ``command``: how the run was asked for (``builtin``, ``target``, ``checks``), which
  ``quantmm verify`` re-runs;
- ``plan``: the drawn shapes and kernel seed (:func:`quantmm.conformance.inputs.plan`);
- ``isolation``: how kernel code was isolated (sandbox kind, private /tmp, read-only file
  system, network, PID namespace) and what the worker itself reported;
- ``software``: versions of quantmm, Python, NumPy, SciPy, mpmath, hypothesis, CuPy (or null) and
  numba (null when quantmm.fast's compiled kernels are off: not installed, or QUANTMM_NUMBA=0);
- ``platform``: the operating system and machine, and the GPU's name when device is "gpu";
- ``reference_data``: the sha256 checksum of the stored mpmath reference values' inputs;
- ``skipped``: ``{"target", "check", "why"}`` for every check that was not run or did not apply;
- ``targets``: one entry per target, ``{"name", "kind", "construction", "arguments", "sources",
  "checks"}``: ``construction`` is the kernel's target name (module:attribute or file:attribute)
  or the Python text that builds a decoder or function, ``sources`` maps each source file of the
  kernel (outside the standard library and site-packages) to its sha256, and ``checks`` lists
  ``{"name", "verdict", "summary", "figures", "tolerance", "failure"}`` where ``failure`` is null
  or ``{"message", "seed", "reproduction", "example"}``.

No clock times are recorded, so the same code, seed and machine give the same file. A
certificate is evidence to re-run (``quantmm verify``), not a signature: anyone can edit a JSON
file, and verify reports every field that a re-run does not reproduce.

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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from quantmm.atomic import atomic_write_text

from .results import FAIL, PASS, SKIP, CheckResult

__all__ = ["PARTIAL", "SCHEMA", "Certificate", "TargetReport", "environment", "plain"]

SCHEMA = "quantmm-certificate/2"
PARTIAL = "partial"


@dataclass(frozen=True)
class TargetReport:
    """The checks run on one target. ``kind``: "kernel", "decoder" or "function"."""

    name: str
    kind: str
    construction: str
    checks: list[CheckResult]
    arguments: dict[str, Any] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)
    array_library: dict[str, Any] | None = None  # a kernel's: {"name": "torch", "version": ...}
    interpreter: dict[str, Any] | None = None  # a kernel's workers': executable, python, numpy

    @property
    def passed(self) -> bool:
        return all(check.passed for check in self.checks)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "construction": self.construction,
            "arguments": self.arguments,
            "sources": self.sources,
            "array_library": self.array_library,
            "interpreter": self.interpreter,
            "checks": [check.to_json() for check in self.checks],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TargetReport:
        checks = [CheckResult.from_json(check) for check in data["checks"]]
        return cls(
            data["name"],
            data["kind"],
            data["construction"],
            checks,
            data.get("arguments", {}),
            data.get("sources", {}),
            data.get("array_library"),
            data.get("interpreter"),
        )


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
    from quantmm.fast import compiled

    software = {
        "quantmm": __version__,
        "python": platform.python_version(),
        "numpy": _version("numpy"),
        "scipy": _version("scipy"),
        "mpmath": _version("mpmath"),
        "hypothesis": _version("hypothesis"),
        "cupy": _version("cupy") if "cupy" in sys.modules or device == "gpu" else None,
        "numba": _version("numba") if compiled.available() else None,
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
    seed_drawn: bool = False
    timeout: float | None = None
    isolation: dict[str, Any] = field(default_factory=dict)
    plan: dict[str, Any] = field(default_factory=dict)
    command: dict[str, Any] | None = None
    partial: bool = False
    schema: str = SCHEMA

    @classmethod
    def build(
        cls,
        profile: str,
        seed: int,
        device: str,
        targets: list[TargetReport],
        reference_data: str | None = None,
        **recorded: Any,
    ) -> Certificate:
        software, machine = environment(device)
        return cls(profile, seed, device, software, machine, reference_data, targets, **recorded)

    @property
    def verdict(self) -> str:
        if not all(target.passed for target in self.targets):
            return FAIL
        return PARTIAL if self.partial else PASS

    @property
    def failures(self) -> list[tuple[str, CheckResult]]:
        """(target name, failing check) pairs."""
        return [(t.name, c) for t in self.targets for c in t.checks if not c.passed]

    @property
    def skipped(self) -> list[dict[str, str]]:
        """Every check that was skipped, with why."""
        return [
            {"target": t.name, "check": c.name, "why": c.summary}
            for t in self.targets
            for c in t.checks
            if c.verdict == SKIP
        ]

    def to_json(self) -> dict[str, Any]:
        return plain(
            {
                "schema": self.schema,
                "verdict": self.verdict,
                "profile": self.profile,
                "seed": self.seed,
                "seed_drawn": self.seed_drawn,
                "device": self.device,
                "timeout": self.timeout,
                "command": self.command,
                "plan": self.plan,
                "isolation": self.isolation,
                "software": self.software,
                "platform": self.platform,
                "reference_data": self.reference_data,
                "skipped": self.skipped,
                "targets": [target.to_json() for target in self.targets],
            }
        )

    @classmethod
    def from_json(cls, data: Any) -> Certificate:
        if not isinstance(data, dict) or data.get("schema") != SCHEMA:
            found = data.get("schema") if isinstance(data, dict) else type(data).__name__
            raise ValueError(f"not a {SCHEMA} certificate: schema {found!r}")
        try:
            certificate = cls(
                data["profile"],
                data["seed"],
                data["device"],
                data["software"],
                data["platform"],
                data["reference_data"],
                [TargetReport.from_json(t) for t in data["targets"]],
                seed_drawn=data["seed_drawn"],
                timeout=data["timeout"],
                isolation=data["isolation"],
                plan=data["plan"],
                command=data["command"],
                partial=data["verdict"] == PARTIAL,
            )
        except (KeyError, TypeError) as error:
            raise ValueError(f"the certificate lacks or garbles a field: {error}") from None
        if data.get("verdict") != certificate.verdict:
            raise ValueError("the certificate's verdict does not match its checks")
        return certificate

    def json_text(self) -> str:
        """The certificate as indented JSON (non-finite numbers as strings)."""
        return json.dumps(plain(self.to_json()), indent=2, sort_keys=False, allow_nan=False)

    def write(self, path: str | Path) -> None:
        """Write :meth:`json_text` (UTF-8) atomically (:mod:`quantmm.atomic`): the file is
        complete or absent, never torn."""
        atomic_write_text(path, self.json_text() + "\n")  # a temporary file, then renamed

    @classmethod
    def read(cls, path: str | Path) -> Certificate:
        return cls.from_json(json.loads(Path(path).read_text(encoding="utf-8")))

    def report(self) -> str:
        """A readable report: one line per check, then each failure with its reproduction."""
        lines = [
            f"quantmm conformance certificate ({self.schema}): {self.verdict.upper()}",
            f"profile {self.profile}, seed {self.seed}{' (drawn)' if self.seed_drawn else ''}, "
            f"device {self.device}, quantmm {self.software.get('quantmm')}",
        ]
        if self.isolation:
            sandbox = self.isolation.get("sandbox")
            lines.append(
                f"isolation: {sandbox}"
                + (
                    " (fresh processes, private /tmp, read-only file system, no network)"
                    if sandbox == "namespaces"
                    else " (fresh processes only: file-system and loopback side channels are NOT "
                    "closed on this machine)"
                )
            )
        if self.partial:
            lines.append("PARTIAL: the run was restricted to some checks; it certifies nothing")
        for target in self.targets:
            library = target.array_library or {}
            given = (
                f", {library['name']} {library.get('version')} arrays"
                if library.get("name", "numpy") != "numpy"
                else ""
            )
            lines.append(f"\n{target.name} [{target.kind}{given}]")
            for check in target.checks:
                lines.append(f"  {check.verdict.upper():4}  {check.name}: {check.summary}")
        for name, check in self.failures:
            failure = check.failure
            lines += [
                f"\nFAILED {name} / {check.name}: {failure.message}",
                f"seed: {failure.seed}",
                *([f"re-run: {failure.example['rerun']}"] if "rerun" in failure.example else []),
                "reproduction (Python):",
                *("    " + line for line in failure.reproduction.splitlines()),
            ]
        return "\n".join(lines)
