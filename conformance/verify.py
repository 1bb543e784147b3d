"""``quantmm verify``: re-run the certification a certificate records and compare field by field.

A certificate is evidence to re-run, not a signature: anyone can edit a JSON file. :func:`verify`
reads the recorded command, profile, seed, device, timeout and checks, certifies again, and
reports every field of the new certificate that differs from the file (a verdict, a figure, a
name, a version), and, separately, every kernel source file whose sha256 no longer matches. The
same code, seed and machine reproduce a certificate byte for byte, so any difference means that
the file was edited, or that the code, the environment or the machine changed.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .certificate import SCHEMA, Certificate

__all__ = ["Verification", "verify"]


@dataclass(frozen=True)
class Verification:
    """``differences``: "field: recorded → re-run" lines; ``sources``: source-hash notes;
    ``consistent``: whether the file's own verdict matched its checks."""

    differences: list[str]
    sources: list[str]
    consistent: bool
    rerun: Certificate

    @property
    def matches(self) -> bool:
        return not self.differences and not self.sources and self.consistent

    def report(self) -> str:
        lines = []
        if not self.consistent:
            lines.append("the file's verdict does not match its own checks (edited)")
        lines += [f"differs: {line}" for line in self.differences]
        lines += [f"source: {line}" for line in self.sources]
        if self.matches:
            lines.append("the re-run reproduces every field of the certificate")
        else:
            lines.append(
                f"{len(self.differences)} field(s) differ, {len(self.sources)} source note(s): "
                "the certificate is NOT reproduced"
            )
        return "\n".join(lines)


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 120 else text[:117] + "..."


def _differences(recorded: Any, rerun: Any, where: str = "") -> list[str]:
    if isinstance(recorded, dict) and isinstance(rerun, dict):
        found = []
        for key in list(recorded) + [key for key in rerun if key not in recorded]:
            path = f"{where}.{key}" if where else str(key)
            if key not in rerun:
                found.append(f"{path}: {_short(recorded[key])} → (absent)")
            elif key not in recorded:
                found.append(f"{path}: (absent) → {_short(rerun[key])}")
            else:
                found += _differences(recorded[key], rerun[key], path)
        return found
    if isinstance(recorded, list) and isinstance(rerun, list) and len(recorded) == len(rerun):
        found = []
        for index, (first, second) in enumerate(zip(recorded, rerun, strict=True)):
            found += _differences(first, second, f"{where}[{index}]")
        return found
    return [] if recorded == rerun else [f"{where}: {_short(recorded)} → {_short(rerun)}"]


def verify(path: str | Path, *, progress: Callable[[str], None] | None = None) -> Verification:
    """Re-run the certification recorded in ``path`` and compare (module docstring).

    ValueError if the file is not a certificate or records no command to re-run.
    """
    from .harness import builtin_targets, certify
    from .targets import load_target

    try:
        recorded = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"cannot read certificate {str(path)!r}: {error}") from None
    if not isinstance(recorded, dict) or recorded.get("schema") != SCHEMA:
        raise ValueError(f"{str(path)!r} is not a {SCHEMA} certificate")
    try:
        Certificate.from_json(recorded)
        consistent = True
    except ValueError:
        consistent = False
    command = recorded.get("command")
    if not isinstance(command, dict):
        raise ValueError(
            f"{str(path)!r} records no command to re-run (made through the Python API)"
        )
    device = recorded.get("device", "cpu")
    if command.get("builtin"):
        kernels, decoders, functions = builtin_targets(device)
        if command.get("checks"):
            decoders, functions = [], []
    else:
        target = load_target(
            command["target"],
            arguments=command.get("arguments"),
            array=command.get("array"),
            python=command.get("python"),
        )
        kernels, decoders, functions = [target], [], []
    rerun = certify(
        kernels,
        decoders,
        functions,
        profile=recorded.get("profile", "quick"),
        seed=recorded.get("seed"),
        device=device,
        checks=command.get("checks"),
        timeout=recorded.get("timeout") or 60.0,
        isolation=command.get("isolation", "auto"),
        progress=progress,
        command=command,
    )
    rerun = dataclasses.replace(rerun, seed_drawn=bool(recorded.get("seed_drawn")))
    fresh = json.loads(json.dumps(rerun.to_json()))
    sources = []
    for old, new in zip(recorded.get("targets", []), fresh["targets"], strict=False):
        old_sources, new_sources = old.get("sources", {}), new.get("sources", {})
        for file in sorted(set(old_sources) | set(new_sources)):
            if old_sources.get(file) != new_sources.get(file):
                sources.append(
                    f"{new.get('name')}: {file} sha256 {old_sources.get(file)} → "
                    f"{new_sources.get(file)} (the kernel's source changed since it was certified)"
                )
        for target in (old, new):
            target.pop("sources", None)
    return Verification(_differences(recorded, fresh), sources, consistent, rerun)
