"""quantmm.experiments: the papers' figures and tables, computed by quantmm.

``quantmm plot rate-distortion``, ``quantmm plot density`` and ``quantmm experiment
scalar-matmul | least-squares | lattice-gap`` are built from the pieces here: seeded trials with
progress and optional Dask (:mod:`~quantmm.experiments.trials`), sweeps that keep each finished
configuration on disk and resume, and the run every experiment shares: options checked, CSVs,
figure and report (:mod:`~quantmm.experiments.runner`), figures
(:mod:`~quantmm.experiments.figures`), and one module per experiment or plot, holding only what
is its own. Each writes a CSV and a PNG; they need ``quantmm[plot]`` (matplotlib, tqdm).
"""
