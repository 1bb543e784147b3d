"""References for ``quantmm cite``: the three papers quantmm implements, and quantmm itself."""

from __future__ import annotations

import json

from quantmm._version import __version__

CITE_FORMATS = ("text", "bibtex", "json")

_TEXT = f"""\
O. Ordentlich and Y. Polyanskiy, "Optimal Quantization for Matrix Multiplication,"
  arXiv:2410.13780, 2024. (docs/theory.md §1: Γ(R), the converse, the universal
  nested-lattice scheme)
S. Savkin, E. Porat, O. Ordentlich and Y. Polyanskiy, "NestQuant: Nested Lattice Quantization for
  Matrix Products and LLMs," Proc. 42nd Int. Conf. Machine Learning (ICML), PMLR 267,
  pp. 53042-53062, 2025. arXiv:2502.09720. (docs/theory.md §1.4: E8 Voronoi codes)
C. Ang, S. Kim and M. Pilanci, "Optimal Scalar Quantization for Matrix Multiplication: Closed-Form
  Density and Phase Transition," arXiv:2603.19559, 2026. (docs/theory.md §2: scalar quantizers)
The quantmm developers, "quantmm: a numerical reference for quantized matrix multiplication,"
  software, version {__version__}, 2026."""

_BIBTEX = f"""\
@misc{{ordentlich2024optimal,
  title         = {{Optimal Quantization for Matrix Multiplication}},
  author        = {{Ordentlich, Or and Polyanskiy, Yury}},
  year          = {{2024}},
  eprint        = {{2410.13780}},
  archivePrefix = {{arXiv}},
  primaryClass  = {{cs.IT}}
}}

@inproceedings{{savkin2025nestquant,
  title     = {{{{NestQuant}}: Nested Lattice Quantization for Matrix Products and {{LLMs}}}},
  author    = {{Savkin, Semyon and Porat, Eitan and Ordentlich, Or and Polyanskiy, Yury}},
  booktitle = {{Proceedings of the 42nd International Conference on Machine Learning}},
  series    = {{Proceedings of Machine Learning Research}},
  volume    = {{267}},
  pages     = {{53042--53062}},
  publisher = {{PMLR}},
  year      = {{2025}},
  note      = {{arXiv:2502.09720}}
}}

@misc{{ang2026optimal,
  title         = {{Optimal Scalar Quantization for Matrix Multiplication: Closed-Form Density and
                   Phase Transition}},
  author        = {{Ang, Calvin and Kim, Sungyoon and Pilanci, Mert}},
  year          = {{2026}},
  eprint        = {{2603.19559}},
  archivePrefix = {{arXiv}},
  primaryClass  = {{cs.IT}}
}}

@software{{quantmm,
  title   = {{quantmm: a numerical reference for quantized matrix multiplication}},
  author  = {{{{The quantmm developers}}}},
  version = {{{__version__}}},
  year    = {{2026}}
}}"""


#: The same references as data (``quantmm cite --format json``), in the order of the text.
REFERENCES = (
    {
        "key": "ordentlich2024optimal",
        "authors": ["Or Ordentlich", "Yury Polyanskiy"],
        "title": "Optimal Quantization for Matrix Multiplication",
        "year": 2024,
        "arxiv": "2410.13780",
    },
    {
        "key": "savkin2025nestquant",
        "authors": ["Semyon Savkin", "Eitan Porat", "Or Ordentlich", "Yury Polyanskiy"],
        "title": "NestQuant: Nested Lattice Quantization for Matrix Products and LLMs",
        "year": 2025,
        "venue": "Proceedings of the 42nd International Conference on Machine Learning (ICML), "
        "PMLR 267, pp. 53042-53062",
        "arxiv": "2502.09720",
    },
    {
        "key": "ang2026optimal",
        "authors": ["Calvin Ang", "Sungyoon Kim", "Mert Pilanci"],
        "title": "Optimal Scalar Quantization for Matrix Multiplication: Closed-Form Density and "
        "Phase Transition",
        "year": 2026,
        "arxiv": "2603.19559",
    },
    {
        "key": "quantmm",
        "authors": ["The quantmm developers"],
        "title": "quantmm: a numerical reference for quantized matrix multiplication",
        "year": 2026,
        "version": __version__,
    },
)


def citation(cite_format: str = "text") -> str:
    """The references in ``cite_format`` ``text``, ``bibtex`` or ``json``.

    >>> citation("bibtex").count("@")
    4
    >>> [entry["key"] for entry in json.loads(citation("json"))][:2]
    ['ordentlich2024optimal', 'savkin2025nestquant']
    """
    if cite_format == "text":
        return _TEXT
    if cite_format == "bibtex":
        return _BIBTEX
    if cite_format == "json":
        return json.dumps(list(REFERENCES), indent=2, ensure_ascii=False)
    raise ValueError(f"--format must be one of {', '.join(CITE_FORMATS)}, got {cite_format!r}")
