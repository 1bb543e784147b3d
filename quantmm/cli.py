"""The ``quantmm`` command line: certified values, paper tables and citations.

    quantmm value QUANTITY [name=value ...] [--digits N] [--json]
    quantmm table QUANTITY --rates START:STOP:STEP [name=value ...] [--digits N]
                  [--format csv|markdown|latex|json]
    quantmm codebook design=NAME rho=R levels=K [k=N] [--digits N] [--format json|csv]
    quantmm cite [--format text|bibtex]
    quantmm certify (TARGET | --builtin) [--profile quick|full] [--seed N] [--device cpu|gpu]
                    [--output PATH] [--check NAME ...] [--timeout SECONDS]
                    [--isolation auto|namespaces|process]
    quantmm verify CERTIFICATE
    quantmm prove [NAME ...] [--list]
    quantmm experiment scalar-matmul|least-squares|lattice-gap [--size tiny|quick|full | --full]
                       [--seed N] [--device cpu|gpu] [--scheduler ADDRESS] [--output-dir DIR]
                       [--resume] [--no-progress]
    quantmm plot rate-distortion|density [the same options] [--rho R ...] [--levels K]

Exit status: 0 on success, 2 for bad input (unknown quantity or parameter, value out of domain,
digits out of range, an output path that cannot be written, a target that does not load, an
unreachable scheduler: all checked before any work starts, reported on one line), 3 when a value
cannot be certified to the asked digits; ``certify`` exits 1 when any check fails and 4 when no
check failed but the run was restricted (``--check``: a partial certificate), ``verify`` exits 1
when the re-run does not reproduce the certificate, ``prove`` when any certificate fails; 130
when interrupted (Ctrl-C or SIGTERM): every file written is complete (:mod:`quantmm.atomic`),
``certify`` kills its kernel processes and writes no certificate, ``experiment`` keeps each
finished configuration for ``--resume``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

from quantmm._version import __version__
from quantmm.citation import CITE_FORMATS, citation
from quantmm.quantities import QUANTITIES, Quantity, codebook_document, describe_all, evaluate
from quantmm.reference.precision import DEFAULT_DIGITS, UncertifiedValueError, to_decimal
from quantmm.reference.scalar_designs import design_codebook
from quantmm.tables import FORMATS, format_rate, format_table, parse_grid, parse_rates

CODEBOOK_FORMATS = ("json", "csv")
EXIT_BAD_INPUT = 2
EXIT_UNCERTIFIED = 3
EXIT_CHECK_FAILED = 1
EXIT_PARTIAL = 4
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as a shell reports a Ctrl-C
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE: the reader of the output went away (`| head`)


EXIT_STATUS_HELP = """exit status:
  0    success
  1    a check failed (certify), the re-run differs (verify), a proof failed (prove)
  2    bad input, reported on one line before any work starts
  3    a value cannot be certified to the asked digits
  4    certify --check: no check failed, but the certificate is partial
  130  interrupted (Ctrl-C or SIGTERM): files are complete or absent, certify writes
       no certificate, experiment keeps finished configurations for --resume
  141  the reader of the output went away (quantmm table ... | head)"""


class _InputError(ValueError):
    """Bad command-line input: reported on one line, exit status 2."""


def _add_digits(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--digits",
        type=int,
        default=DEFAULT_DIGITS,
        help=f"significant decimal digits (default {DEFAULT_DIGITS})",
    )


class _HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Help that names every option's default (unless it is None or False, or the help text
    already says it), with the descriptions' line breaks kept."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        default = action.default
        if (
            action.option_strings
            and default not in (None, False, argparse.SUPPRESS)
            and "default" not in text
        ):
            shown = " ".join(map(str, default)) if isinstance(default, list) else default
            text = f"{text} (default: {shown})".strip()
        return text


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="quantmm",
        description="Certified reference values for quantized matrix multiplication.",
        epilog=EXIT_STATUS_HELP,
        formatter_class=_HelpFormatter,
        allow_abbrev=False,
    )
    parser.add_argument("--version", action="version", version=f"quantmm {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, **options: str) -> argparse.ArgumentParser:
        """A subcommand that parses options exactly as spelled (no abbreviations: ``--output``
        must not be taken for ``--output-dir``) and shows the defaults in its help."""
        return subparsers.add_parser(
            name, allow_abbrev=False, formatter_class=_HelpFormatter, **options
        )

    value = command("value", help="print one certified value")
    value.add_argument("quantity", metavar="QUANTITY", help=f"one of: {', '.join(QUANTITIES)}")
    value.add_argument("params", nargs="*", metavar="name=value", help="the quantity's parameters")
    _add_digits(value)
    value.add_argument("--json", action="store_true", help="print one JSON object")

    table = command("table", help="print a table of certified values over one parameter")
    table.add_argument("quantity", metavar="QUANTITY", help="the quantity to tabulate")
    table.add_argument("params", nargs="*", metavar="name=value", help="fixed parameters")
    grid = table.add_mutually_exclusive_group(required=True)
    grid.add_argument(
        "--rates",
        metavar="START:STOP:STEP",
        help="exact rates, STOP included, e.g. 0:2:0.25 (the same as --over rate=...)",
    )
    grid.add_argument(
        "--over",
        metavar="NAME=START:STOP:STEP",
        help="any numeric parameter over exact values, STOP included, e.g. rho=-0.5:0.5:0.25",
    )
    _add_digits(table)
    table.add_argument(
        "--format", choices=FORMATS, default="csv", dest="table_format", help="the table's format"
    )

    codebook = command("codebook", help="print a scalar design's levels and thresholds")
    codebook.add_argument(
        "params", nargs="*", metavar="name=value", help="design=NAME rho=R levels=K [k=N]"
    )
    _add_digits(codebook)
    codebook.add_argument(
        "--format",
        choices=CODEBOOK_FORMATS,
        default="json",
        dest="book_format",
        help="json: one object with the levels and thresholds; csv: one row per level",
    )

    cite = command("cite", help="print the references to cite")
    cite.add_argument(
        "--format",
        choices=CITE_FORMATS,
        default="text",
        dest="cite_format",
        help="text: the references as prose; bibtex: BibTeX entries; json: a list of objects",
    )

    certify = command(
        "certify", help="check a kernel (or every built-in one) against the reference"
    )
    certify.add_argument(
        "target",
        nargs="?",
        metavar="TARGET",
        help="module:attribute naming a kernel object or a factory f(seed=..., device=...)",
    )
    certify.add_argument("--builtin", action="store_true", help="certify every built-in target")
    certify.add_argument(
        "--profile",
        choices=("quick", "full"),
        default="quick",
        help="quick: 8 Gaussian trials of about 1000×32; full: 20 of about 4100×120",
    )
    certify.add_argument(
        "--seed",
        type=int,
        default=None,
        help="run seed of every random choice: shapes, matrices, kernel seeds (default: drawn "
        "at random and recorded in the certificate)",
    )
    certify.add_argument(
        "--timeout",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="seconds each kernel call may take before it is stopped and failed (default 60)",
    )
    certify.add_argument(
        "--isolation",
        choices=("auto", "namespaces", "process"),
        default="auto",
        help="auto: Linux namespaces where allowed (private /tmp, read-only file system, no "
        "network), else fresh processes only; namespaces: require them (default auto)",
    )
    certify.add_argument(
        "--device",
        choices=("cpu", "gpu"),
        default="cpu",
        help="the device passed to a factory target (gpu needs CuPy and a GPU)",
    )
    certify.add_argument(
        "--array",
        metavar="LIBRARY",
        default=None,
        help="numpy, torch, jax or cupy: hand the kernel its matrices as arrays of this library "
        "(default: the library the kernel declares in its array_library attribute, else numpy)",
    )
    certify.add_argument(
        "--python",
        metavar="INTERPRETER",
        default=None,
        help="run the kernel's processes with this Python, the interpreter of the kernel's own "
        "environment (it needs NumPy and the kernel's packages, not quantmm); default: this one",
    )
    certify.add_argument(
        "--output",
        metavar="PATH",
        help="where to write the JSON certificate (written whole, never torn; not written if "
        "the run is interrupted: a certificate of part of a run could pass for a whole one)",
    )
    certify.add_argument(
        "--json",
        action="store_true",
        help="print the certificate's JSON (what --output writes) instead of the report",
    )
    certify.add_argument(
        "--junit-xml",
        metavar="PATH",
        help="also write the checks as JUnit XML, one test case per target and check, for CI "
        "services to show (written whole, like --output)",
    )
    certify.add_argument(
        "--check",
        action="append",
        dest="checks",
        metavar="NAME",
        help="run only this kernel check (repeatable)",
    )
    verify = command(
        "verify", help="re-run the certification a certificate records and compare every field"
    )
    verify.add_argument("certificate", metavar="CERTIFICATE", help="a certificate JSON file")
    prove = command("prove", help="re-check the interval-arithmetic certificates of proofs/")
    prove.add_argument(
        "names", nargs="*", metavar="NAME", help="run only these certificates (default: all)"
    )
    prove.add_argument("--list", action="store_true", help="list the certificates and exit")
    prove.add_argument(
        "--json",
        action="store_true",
        help="print one JSON object (every certificate's verdict and facts) instead of the "
        "report; progress goes to standard error",
    )
    experiment = command(
        "experiment", help="run a seeded experiment; writes CSV and PNG (needs quantmm[plot])"
    )
    experiment.add_argument(
        "name", choices=tuple(EXPERIMENTS), metavar="NAME", help=", ".join(EXPERIMENTS)
    )
    _add_run_options(experiment)
    plot = command("plot", help="draw a figure of the theory and the kernels (needs quantmm[plot])")
    plot.add_argument("name", choices=tuple(PLOTS), metavar="NAME", help=", ".join(PLOTS))
    _add_run_options(plot)
    plot.add_argument("--rho", type=float, nargs="+", help="density only: the correlations to draw")
    plot.add_argument("--levels", type=int, help="density only: the compander's number of levels")
    return parser


#: ``quantmm experiment NAME`` and ``quantmm plot NAME``: the module whose ``run`` does the work.
EXPERIMENTS = {
    "scalar-matmul": "quantmm.experiments.scalar_matmul",
    "least-squares": "quantmm.experiments.least_squares",
    "lattice-gap": "quantmm.experiments.lattice_gap",
}
PLOTS = {
    "rate-distortion": "quantmm.experiments.rate_distortion",
    "density": "quantmm.experiments.density",
}


def _add_run_options(parser: argparse.ArgumentParser) -> None:
    sizes = parser.add_mutually_exclusive_group()
    sizes.add_argument(
        "--size",
        choices=("tiny", "quick", "full"),
        default="quick",
        help="tiny (seconds, for tests), quick (default, about a minute), full (the paper's size)",
    )
    sizes.add_argument(
        "--full", action="store_const", const="full", dest="size", help="the same as --size full"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of every random choice")
    parser.add_argument(
        "--device", choices=("cpu", "gpu"), default="cpu", help="where the trials run (default cpu)"
    )
    parser.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="a Dask scheduler to run the trials on (tcp://host:port; checked before any work)",
    )
    parser.add_argument(
        "--output-dir",
        default="quantmm-output",
        help="where the CSV and figures go (each written whole, never torn), and NAME.parts/: "
        "one file per finished configuration, kept as it finishes (default quantmm-output)",
    )
    parser.add_argument(
        "--resume",
        action="store_true",
        help="skip the configurations whose results are already in OUTPUT_DIR/NAME.parts (from "
        "an interrupted run with the same seed, size and device); without --resume every "
        "configuration is computed again",
    )
    parser.add_argument(
        "--no-progress", action="store_false", dest="progress", help="no progress bar"
    )


def _quantity(name: str) -> Quantity:
    if name not in QUANTITIES:
        raise _InputError(f"unknown quantity {name!r}; available: {describe_all()}")
    return QUANTITIES[name]


def _params(items: Sequence[str]) -> dict[str, str]:
    params: dict[str, str] = {}
    for item in items:
        name, separator, text = item.partition("=")
        if not separator or not name or not text:
            raise _InputError(f"parameters are written name=value, got {item!r}")
        if name in params:
            raise _InputError(f"parameter {name!r} given twice")
        params[name] = text
    return params


def _value(arguments: argparse.Namespace) -> str:
    quantity = _quantity(arguments.quantity)
    params = _params(arguments.params)
    result = evaluate(quantity, params, arguments.digits)
    text = to_decimal(result.value, arguments.digits)
    if not arguments.json:
        return text
    document = {
        "quantity": quantity.name,
        "params": params,
        "digits": arguments.digits,
        "value": text,
        **result.details,
    }
    return json.dumps(document)


def _table(arguments: argparse.Namespace) -> str:
    quantity = _quantity(arguments.quantity)
    if arguments.over is None:
        name, grid, option = "rate", arguments.rates, "--rates"
    else:
        name, equals, grid = arguments.over.partition("=")
        option = f"--over {name}"
        if not equals or not name:
            raise _InputError(f"--over must be NAME=START:STOP:STEP, got {arguments.over!r}")
    if name not in quantity.parameters:
        offered = ", ".join(quantity.parameters) or "none"
        if name == "rate":
            rated = [n for n, q in QUANTITIES.items() if "rate" in q.parameters]
            raise _InputError(
                f"{quantity.name} has no rate parameter; rate tables exist for: "
                f"{', '.join(rated)}; --over NAME=... runs over another parameter ({offered})"
            )
        raise _InputError(f"{quantity.name} has no parameter {name!r}; it takes: {offered}")
    params = _params(arguments.params)
    if name in params:
        raise _InputError(f"give the values of {name} with {option.split()[0]}, not {name}=")
    values = parse_rates(grid) if arguments.over is None else parse_grid(grid, option)
    rows = []
    for value in values:
        text = format_rate(value)
        result = evaluate(quantity, {**params, name: text}, arguments.digits).value
        rows.append((text, to_decimal(result, arguments.digits)))
    return format_table(
        quantity.name,
        quantity.latex,
        params,
        arguments.digits,
        rows,
        arguments.table_format,
        over=name,
    )


CODEBOOK_PARAMETERS = ("design", "rho", "levels", "k")


def _codebook(arguments: argparse.Namespace) -> str:
    params = _params(arguments.params)
    unknown = [name for name in params if name not in CODEBOOK_PARAMETERS]
    missing = [name for name in CODEBOOK_PARAMETERS[:3] if name not in params]
    if unknown or missing:
        problem = f"unknown parameter {unknown[0]!r}" if unknown else f"missing {missing[0]!r}"
        raise _InputError(f"{problem}; codebook takes: design=... rho=... levels=... [k=...]")
    book = design_codebook(
        params["design"],
        params["rho"],
        params["levels"],
        digits=arguments.digits,
        k=params.get("k"),
    )
    document = codebook_document(book, arguments.digits)
    if arguments.book_format == "csv":
        lines = ["index,level,threshold"]
        for index, level in enumerate(document["levels"]):
            threshold = document["thresholds"][index] if index < len(document["thresholds"]) else ""
            lines.append(f"{index},{level},{threshold}")
        return "\n".join(lines)
    return json.dumps({"params": params, "digits": arguments.digits, **document}, indent=2)


def _check_device(device: str) -> None:
    """``--device gpu`` needs CuPy and a visible GPU."""
    if device == "gpu":
        from quantmm.fast.backend import cupy_or_none

        if cupy_or_none() is None:
            raise _InputError("--device gpu needs CuPy and a visible GPU; neither was found")


def _probe(option: str, path: str, folder: Path) -> None:
    """Refuse ``folder`` unless a file can be created in it (permissions, read-only mounts)."""
    from quantmm.atomic import probe_directory

    try:
        probe_directory(folder)
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise _InputError(f"{option} {path!r} is not writable: {reason}") from None


def _writable(path: str, option: str = "--output") -> None:
    """Refuse an output file (``option``) that cannot be written, before any work starts."""
    target = Path(path)
    if target.is_dir():
        raise _InputError(f"{option} {path!r} is a directory; give a file name")
    if target.parent.exists() and not target.parent.is_dir():
        raise _InputError(f"{option} {path!r}: {str(target.parent)!r} is a file, not a folder")
    if not target.parent.is_dir():
        raise _InputError(f"{option} {path!r}: the folder {str(target.parent)!r} does not exist")
    if not os.access(target.parent, os.W_OK) or (
        target.exists() and not os.access(target, os.W_OK)
    ):
        raise _InputError(f"{option} {path!r} is not writable")
    _probe(option, path, target.parent)


def _writable_folder(path: str) -> None:
    """Refuse an --output-dir that is a file, lies under a file, or cannot be written."""
    target = Path(path)
    if target.exists() and not target.is_dir():
        raise _InputError(f"--output-dir {path!r} is a file; give a folder")
    existing = target
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise _InputError(f"--output-dir {path!r}: {str(existing)!r} is a file, not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise _InputError(f"--output-dir {path!r} is not writable")
    _probe("--output-dir", path, existing)


def _reachable(scheduler: str | None) -> None:
    """Refuse a --scheduler that does not answer (a few seconds), before any work starts."""
    if scheduler is None:
        return
    from quantmm.experiments.trials import check_scheduler

    try:
        check_scheduler(scheduler)
    except ValueError as error:
        raise _InputError(f"--scheduler: {error}") from None


def _certify(arguments: argparse.Namespace) -> int:
    """Run the conformance harness; print the report, write the certificate, return the status."""
    from quantmm.conformance.arrays import check_array_library
    from quantmm.conformance.harness import builtin_targets, certify
    from quantmm.conformance.targets import load_target

    if arguments.builtin == (arguments.target is not None):
        raise _InputError("give either a TARGET (module:attribute) or --builtin, not both")
    if arguments.builtin and (arguments.array or arguments.python):
        raise _InputError(
            "--array and --python apply to a TARGET; the built-in kernels run in quantmm's own "
            "environment and take NumPy arrays"
        )
    try:
        check_array_library(arguments.array, arguments.device, argument="--array")
    except ValueError as error:
        raise _InputError(str(error)) from None
    if arguments.seed is not None and arguments.seed < 0:
        raise _InputError(f"--seed must be a non-negative integer, got {arguments.seed}")
    if arguments.output:
        _writable(arguments.output)
    if arguments.junit_xml:
        _writable(arguments.junit_xml, "--junit-xml")
    _check_device(arguments.device)
    if arguments.builtin:
        kernels, decoders, functions = builtin_targets(arguments.device)
        if arguments.checks:
            decoders, functions = [], []
    else:
        target = load_target(arguments.target, array=arguments.array, python=arguments.python)
        kernels, decoders, functions = [target], [], []
    command = {
        "builtin": arguments.builtin,
        "target": kernels[0].target if not arguments.builtin else None,
        "checks": arguments.checks,
        "isolation": arguments.isolation,
        "array": arguments.array,
        "python": kernels[0].python if not arguments.builtin else None,
    }
    arguments.written = False
    certificate = certify(
        kernels,
        decoders,
        functions,
        profile=arguments.profile,
        seed=arguments.seed,
        device=arguments.device,
        checks=arguments.checks,
        timeout=arguments.timeout,
        isolation=arguments.isolation,
        command=command,
    )
    print(certificate.json_text() if arguments.json else certificate.report())
    if arguments.output:
        certificate.write(arguments.output)
        arguments.written = True
        where = sys.stderr if arguments.json else sys.stdout  # stdout stays one JSON document
        print(f"\ncertificate written to {arguments.output}", file=where)
    if arguments.junit_xml:
        from quantmm.atomic import atomic_write_text
        from quantmm.conformance.junit import junit_xml

        atomic_write_text(arguments.junit_xml, junit_xml(certificate) + "\n")
        where = sys.stderr if arguments.json else sys.stdout
        print(f"JUnit XML written to {arguments.junit_xml}", file=where)
    return {"pass": 0, "partial": EXIT_PARTIAL}.get(certificate.verdict, EXIT_CHECK_FAILED)


def _verify(arguments: argparse.Namespace) -> int:
    from quantmm.conformance.verify import verify

    verification = verify(arguments.certificate, progress=lambda line: print(line, file=sys.stderr))
    print(verification.report())
    return 0 if verification.matches else EXIT_CHECK_FAILED


def _prove(arguments: argparse.Namespace) -> int:
    """Run the certificates, printing each one's facts as it finishes; return the status."""
    from quantmm.proofs.runner import CERTIFICATES, FAILED, format_result, report, run

    if arguments.list:
        listed = [
            {"name": c.name, "title": c.title, "derivation": f"proofs/{c.derivation}"}
            for c in CERTIFICATES
        ]
        if arguments.json:
            print(json.dumps(listed, indent=2, ensure_ascii=False))
        else:
            for entry in listed:
                print(f"{entry['name']}: {entry['title']} ({entry['derivation']})")
        return 0
    stream = sys.stderr if arguments.json else sys.stdout
    try:
        results = run(
            arguments.names, progress=lambda result: print(format_result(result), file=stream)
        )
    except ValueError as error:
        print(f"quantmm: error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    failed = any(result.verdict == FAILED for result in results)
    if arguments.json:
        document = {
            "verdict": "failed" if failed else "proved",
            "summary": report(results),
            "certificates": [
                {
                    "name": result.name,
                    "title": result.title,
                    "derivation": f"proofs/{result.derivation}",
                    "verdict": result.verdict,
                    "seconds": round(result.seconds, 3),
                    "facts": [
                        {"statement": fact.statement, "evidence": fact.evidence}
                        for fact in result.facts
                    ],
                    "message": result.message,
                }
                for result in results
            ],
        }
        print(json.dumps(document, indent=2, ensure_ascii=False))
    else:
        print(report(results))
    return EXIT_CHECK_FAILED if failed else 0


def _run_job(arguments: argparse.Namespace) -> int:
    """Run an experiment or a plot; print its report and the files it wrote."""
    import importlib

    modules = EXPERIMENTS if arguments.command == "experiment" else PLOTS
    options = {
        "size": arguments.size,
        "seed": arguments.seed,
        "device": arguments.device,
        "scheduler": arguments.scheduler,
        "output_dir": Path(arguments.output_dir),
        "progress": arguments.progress,
        "resume": arguments.resume,
    }
    if arguments.command == "plot":
        extra = {"rhos": arguments.rho, "levels": arguments.levels}
        if arguments.name != "density" and any(value is not None for value in extra.values()):
            raise _InputError("--rho and --levels apply to `quantmm plot density` only")
        options.update({name: value for name, value in extra.items() if value is not None})
    _check_device(arguments.device)
    _writable_folder(arguments.output_dir)
    _reachable(arguments.scheduler)
    result = importlib.import_module(modules[arguments.name]).run(**options)
    print(result.report)
    for path in result.files:
        print(f"wrote {path}")
    return 0


def _one_line(text: object) -> str:
    """An error message on one line (a kernel's exception text may hold newlines)."""
    return " ".join(str(text).split())


def _error(message: object, status: int = EXIT_BAD_INPUT) -> int:
    print(f"quantmm: error: {_one_line(message)}", file=sys.stderr)
    return status


def _raise_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


@contextlib.contextmanager
def _sigterm_interrupts() -> Iterator[None]:
    """SIGTERM stops the command as Ctrl-C does (a KeyboardInterrupt), while it runs."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _interrupted(arguments: argparse.Namespace, interrupt: KeyboardInterrupt) -> str:
    """The one line that says what an interrupt stopped and what was kept."""
    from quantmm.experiments.runner import SweepInterrupted, parts_directory

    command = arguments.command
    if command in ("certify", "verify"):
        from quantmm.conformance.sandbox import abandon_workers

        abandon_workers()
        if getattr(arguments, "written", False):
            return f"interrupted after the certificate was written to {arguments.output}"
        if command == "verify":
            return "interrupted: the kernel processes were stopped; nothing was verified"
        return (
            "interrupted: the kernel processes were stopped and no certificate was written (a "
            "certificate of part of a run could pass for a whole one)"
        )
    if isinstance(interrupt, SweepInterrupted):
        return (
            f"interrupted: kept {interrupt.kept} of {interrupt.total} finished results (one per "
            f"configuration and stage) in {interrupt.where}; the CSV and figures were not "
            "written; the same command with --resume computes only the rest"
        )
    if command in ("experiment", "plot"):
        parts = parts_directory(Path(arguments.output_dir), arguments.name)
        return (
            f"interrupted: every file written is complete; finished configurations are kept in "
            f"{parts} (--resume reuses them)"
        )
    return "interrupted"


def _quiet_broken_pipe() -> int:
    """The reader of stdout went away (``quantmm table ... | head``): stop without a traceback
    (and without a second one when Python flushes stdout at exit)."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    return EXIT_BROKEN_PIPE


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """The parser of each subcommand of :func:`_parser`'s ``parser``, by name."""
    return next(
        action.choices
        for action in parser._actions
        if isinstance(action, argparse._SubParsersAction)
    )


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    """The parsed command line. A subcommand's options and its positional arguments may come in
    any order (``quantmm value gamma --digits 40 rate=2``): the subcommand's own parser reads
    its part intermixed."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = _parser()
    arguments, _ = parser.parse_known_args(argv)  # the command (exits on --help, --version)
    tail = argv[argv.index(arguments.command) + 1 :]
    parsed = _subcommands(parser)[arguments.command].parse_intermixed_args(tail)
    parsed.command = arguments.command
    return parsed


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (module docstring)."""
    arguments = _parse(argv)
    try:
        with _sigterm_interrupts():
            return _dispatch(arguments)
    except KeyboardInterrupt as interrupt:
        print(f"quantmm: {_interrupted(arguments, interrupt)}", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return _quiet_broken_pipe()


def _dispatch(arguments: argparse.Namespace) -> int:
    """Run the parsed command; bad input is one line on stderr and exit status 2."""
    if arguments.command == "prove":
        return _prove(arguments)
    if arguments.command in ("experiment", "plot"):
        try:
            return _run_job(arguments)
        except ValueError as error:
            return _error(error)
    if arguments.command in ("certify", "verify"):
        try:
            return _certify(arguments) if arguments.command == "certify" else _verify(arguments)
        except (ValueError, TypeError) as error:
            return _error(error)
    try:
        if arguments.command == "value":
            output = _value(arguments)
        elif arguments.command == "table":
            output = _table(arguments)
        elif arguments.command == "codebook":
            output = _codebook(arguments)
        else:
            output = citation(arguments.cite_format)
    except UncertifiedValueError as error:
        print(f"quantmm: cannot certify: {_one_line(error)}", file=sys.stderr)
        return EXIT_UNCERTIFIED
    except ValueError as error:
        return _error(error)
    print(output)
    return 0
