"""``python -m grading grade <assignment>``: what ``make grade`` runs; ``report [<assignment>]``: ``make report``;
``bench``: the benchmark."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from grading.sandbox import SandboxUnavailable


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m grading", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    grade = commands.add_parser("grade", help="pre-check, autograde (parallel), feedback, grades.csv")
    grade.add_argument("assignment")
    grade.add_argument("--root", type=Path, default=Path.cwd(), help="the course directory (default: here)")
    grade.add_argument("--jobs", type=int, default=None, help="parallel workers (default: one per core)")
    grade.add_argument("--force", action="store_true", help="grade again students the journal has as done")
    grade.add_argument("--no-progress", action="store_true", help="no progress bars")
    bench = commands.add_parser("bench", help="make grade against stock nbgrader, on generated submissions")
    bench.add_argument("--submissions", type=int, default=24, help="generated submissions per assignment")
    bench.add_argument("--jobs", type=int, default=None)
    bench.add_argument("--assignment", action="append", help="only these assignments (default: all)")
    report = commands.add_parser("report", help="what the class misunderstood: .grading/<assignment>/class.html")
    report.add_argument("assignment", nargs="?", help="one assignment (default: every graded one, and the overview)")
    report.add_argument("--root", type=Path, default=Path.cwd(), help="the course directory (default: here)")
    args = parser.parse_args(argv)
    if args.command == "report":
        from grading.report import main as write_reports

        try:
            pages = write_reports(args.root, args.assignment)
        except ValueError as error:
            print(f"make report: {error}", file=sys.stderr)
            return 2
        print("\n".join(str(page) for page in pages))
        return 0
    if args.command == "bench":
        from grading.bench import run_bench

        return run_bench(args.submissions, args.jobs, args.assignment)
    from grading.driver import grade_assignment

    start = time.monotonic()
    try:
        outcomes = grade_assignment(
            args.root, args.assignment, jobs=args.jobs, force=args.force, progress=not args.no_progress
        )
    except (SandboxUnavailable, ValueError) as error:
        print(f"make grade: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(
            f"\ninterrupted: the students already graded are kept (.grading/{args.assignment}/journal.jsonl); "
            "run the same command again to grade the rest",
            file=sys.stderr,
        )
        return 130
    counts = {s: sum(o.status == s for o in outcomes) for s in dict.fromkeys(o.status for o in outcomes)}
    print(
        f"{args.assignment}: {len(outcomes)} submission{'s' * (len(outcomes) != 1)} "
        f"({', '.join(f'{n} {s}' for s, n in counts.items())}) "
        f"in {time.monotonic() - start:.0f} s"
    )
    for o in outcomes:
        if o.status not in ("graded", "skipped"):
            print(
                f"  {o.student}: {o.status}"
                + (f", {o.error}" if o.error else "")
                + "".join(f"\n    - {n}" for n in o.notes)
            )
    print(
        "gradebook, autograded/, feedback/, grades.csv updated; per-student report: "
        f".grading/{args.assignment}/report.csv"
    )
    return 1 if counts.get("failed") else 0


if __name__ == "__main__":
    sys.exit(main())
