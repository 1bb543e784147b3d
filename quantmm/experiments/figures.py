"""Figures with matplotlib (``quantmm[plot]``): headless, and the same bytes for the same data.

:func:`new_figure` returns a matplotlib figure on the Agg backend (no display needed);
:func:`save_figure` writes it as PNG (and SVG when asked) without the creation date and software
metadata, so two runs with the same seed write identical files, and atomically
(:mod:`quantmm.atomic`: drawn to a temporary file in the same folder, then renamed), so an
interrupted run never leaves a torn image under the final name.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from quantmm.atomic import atomic_path

__all__ = ["new_figure", "save_figure"]


def _pyplot() -> Any:
    try:
        import matplotlib
    except ImportError as missing:
        raise ValueError("plots need matplotlib: install quantmm[plot]") from missing
    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as pyplot

    return pyplot


def new_figure(width: float = 7.0, height: float = 4.5) -> tuple[Any, Any]:
    """A (figure, axes) pair on the Agg backend, ``width`` × ``height`` inches."""
    pyplot = _pyplot()
    figure, axes = pyplot.subplots(figsize=(width, height), dpi=100)
    return figure, axes


def save_figure(figure: Any, path: Path, formats: Sequence[str] = ("png",)) -> list[Path]:
    """Write ``figure`` to ``path`` with each suffix in ``formats``; returns the paths written."""
    pyplot = _pyplot()
    import matplotlib

    path = Path(path)
    written = []
    for suffix in formats:
        if suffix not in ("png", "svg"):
            raise ValueError(f"formats must be 'png' or 'svg', got {suffix!r}")
        target = path.with_suffix(f".{suffix}")
        metadata = {"Software": None} if suffix == "png" else {"Date": None, "Creator": None}
        # SVG element ids are random unless salted; a fixed salt gives the same bytes.
        with matplotlib.rc_context({"svg.hashsalt": "quantmm"}), atomic_path(target) as temporary:
            figure.savefig(temporary, format=suffix, metadata=metadata, bbox_inches="tight")
        written.append(target)
    pyplot.close(figure)
    return written
