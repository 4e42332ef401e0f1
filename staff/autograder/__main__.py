"""Command line: ``python -m staff.autograder grade SUBMISSION`` or ``... batch DIR --csv scores.csv``."""

import argparse
import os
import signal
import sys
from pathlib import Path

from .batch import batch
from .console import say
from .grade import NOT_ISOLATED, function_scores, grade
from .runner import DEFAULT_BUDGET, DEFAULT_TIMEOUT, isolating


def _interrupt(signum, frame):
    raise KeyboardInterrupt(f"stopped by signal {signum}")


def _parser():
    parser = argparse.ArgumentParser(prog="python -m staff.autograder", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    one = sub.add_parser("grade", help="grade one submission (folder or zip) into results.json")
    one.add_argument("submission", type=Path)
    one.add_argument("--results", type=Path, default=Path("results.json"), help="default: ./results.json")
    one.add_argument("--metadata", type=Path, default=None, help="Gradescope's submission_metadata.json")
    one.add_argument("-k", dest="keyword", default=None, help="grade only the tests matching this pytest -k expression")
    one.add_argument("-v", "--verbose", action="store_true", help="print every grading test's outcome (to stderr)")
    many = sub.add_parser("batch", help="grade every sub-folder or zip of DIR into a CSV")
    many.add_argument("folder", type=Path)
    many.add_argument("--csv", type=Path, required=True)
    many.add_argument("--jobs", type=int, default=None, help=f"submissions graded at once (default {os.cpu_count()})")
    for p in (one, many):
        p.add_argument(
            "--timeout",
            type=float,
            default=DEFAULT_TIMEOUT,
            help=f"seconds each student call may take (default {DEFAULT_TIMEOUT:g})",
        )
        p.add_argument(
            "--budget",
            type=float,
            default=DEFAULT_BUDGET,
            help=f"seconds all student calls of a submission may take together (default {DEFAULT_BUDGET:g})",
        )
        p.add_argument(
            "--no-isolation",
            dest="isolate",
            action="store_false",
            help="run student code as your own user even as root (what a run without root does anyway; it warns)",
        )
    return parser


def main(argv=None):
    """Parse ``argv`` and grade; return the exit status (0 when a results file or CSV was written)."""
    parser = _parser()
    args = parser.parse_args(argv)
    if not args.timeout > 0 or not args.budget > 0:
        parser.error("--timeout and --budget must be positive numbers of seconds")
    if getattr(args, "jobs", None) is not None and args.jobs < 1:
        parser.error("--jobs must be at least 1")
    if args.command == "batch":
        batch(args.folder, args.csv, timeout=args.timeout, budget=args.budget, jobs=args.jobs, isolate=args.isolate)
        say(f"wrote {args.csv}")
        return 0
    # Gradescope stops an overlong run with SIGTERM: end pytest cleanly so results.json is final.
    signal.signal(signal.SIGTERM, _interrupt)
    if not (args.isolate and isolating()):
        say(f"warning: {NOT_ISOLATED}", stream=sys.stderr)
    results = grade(
        args.submission,
        args.results,
        timeout=args.timeout,
        metadata=args.metadata,
        keyword=args.keyword,
        verbose=args.verbose,
        budget=args.budget,
        isolate=args.isolate,
    )
    lines = [f"{name:32s} {got:6g} / {total:g}" for name, (got, total) in function_scores(results).items()]
    say(*lines, f"{'total':32s} {results['score']:6g}   ({args.results})")
    if not results["tests"]:
        say(results["output"], stream=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
