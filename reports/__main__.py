"""``python -m reports``: verify every claim, measure every emitted kernel's accuracy against mpmath, and write
reports/out/ (claims.csv, kernel_accuracy.csv, report.tex/pdf with figures, summary.md, manifest.json). Exit
status 0 when every claim's status equals its expectation, 1 otherwise (the differing claims are listed), 2 on a
bad selection (unknown family or document: one line, no traceback). A kernel outside its accuracy target is
listed but does not change the exit status (tests/test_kernel_accuracy.py fails on it)."""
from __future__ import annotations

import argparse
import sys

from reports.accuracy import DEFAULT_POINTS
from reports.build import DEFAULT_OUT, UsageError, run


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def _nonnegative(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer >= 0, got {text}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be an integer >= 0, got {text}")
    return value


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m reports", description=__doc__)
    p.add_argument("--only", nargs="+", action="extend", metavar="FAMILY",
                   help="only these claim families (TOML stems under checks/claims/)")
    p.add_argument("--document", metavar="FILE", help="only claims on this document (file name under "
                                                      "../shared/documents)")
    p.add_argument("--samples", type=_positive, help="Monte Carlo sample count (default: each method's own)")
    p.add_argument("--seed", type=int, default=0, help="base PRNG seed (default 0)")
    p.add_argument("--out", default=str(DEFAULT_OUT), help=f"output directory (default {DEFAULT_OUT})")
    p.add_argument("--jobs", type=_positive, default=1, metavar="K",
                   help="verify in K worker processes (default 1); results do not depend on K")
    p.add_argument("--json", action="store_true", help="also print the rows as JSON to stdout")
    p.add_argument("--no-pdf", action="store_true", help="do not compile report.tex even where TeX is installed")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--no-plots", action="store_true", help="no figures (Monte Carlo histograms, convergence orders)")
    p.add_argument("--no-accuracy", action="store_true",
                   help="do not measure the emitted kernels against mpmath (kernel_accuracy.csv is not written)")
    p.add_argument("--accuracy-points", type=_positive, default=DEFAULT_POINTS, metavar="N",
                   help=f"seeded domain points per kernel and dtype (default {DEFAULT_POINTS})")
    p.add_argument("--accuracy-seed", type=_nonnegative, metavar="S",
                   help="seed of the kernel accuracy measurement (default: --seed)")
    return p


def main(argv=None) -> int:
    p = parser()
    args = p.parse_args(argv)
    if not args.no_accuracy and args.accuracy_seed is None and args.seed < 0:
        p.error(f"the kernel accuracy seed must be >= 0 and defaults to --seed ({args.seed}): "
                "give --accuracy-seed S or --no-accuracy")
    try:
        return run(only=args.only, document=args.document, samples=args.samples, seed=args.seed, out=args.out,
                   as_json=args.json, pdf=not args.no_pdf, progress=not args.no_progress, jobs=args.jobs,
                   plots=not args.no_plots, accuracy=not args.no_accuracy, accuracy_points=args.accuracy_points,
                   accuracy_seed=args.accuracy_seed)
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
