"""Run the benchmarks: `python -m bench` runs them all, `python -m bench NAME` one of them.

Reads DATABASE_URL (default: geoapp's local server) and GEOAPP_DATA_DIR, prints
the results and appends them, dated, to bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from datetime import datetime

from bench import (
    bench_assign,
    bench_boundaries,
    bench_cells,
    bench_concerns,
    bench_export,
    bench_geocode,
    bench_hotspots,
    bench_incidents,
    bench_tiles,
)
from bench.common import Outcome, append_results, environment, format_section, log

BENCHMARKS: dict[str, Callable[[argparse.Namespace], Outcome]] = {
    bench_boundaries.NAME: lambda _args: bench_boundaries.run(),
    bench_assign.NAME: lambda args: bench_assign.run(points=args.points),
    bench_geocode.NAME: lambda _args: bench_geocode.run(),
    bench_concerns.NAME: lambda _args: bench_concerns.run(),
    bench_incidents.NAME: lambda args: bench_incidents.run(rows=args.rows),
    bench_cells.NAME: lambda args: bench_cells.run(rows=args.rows),
    bench_hotspots.NAME: lambda _args: bench_hotspots.run(),
    bench_export.NAME: lambda args: bench_export.run(rows=args.rows),
    bench_tiles.NAME: lambda args: bench_tiles.run(rows=args.rows),
}


def main(argv: list[str] | None = None) -> int:
    """Run the chosen benchmarks, print the section and record it; return the exit status."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "names", nargs="*", metavar="NAME", help=f"one of {', '.join(BENCHMARKS)} (default: all)"
    )
    parser.add_argument(
        "--points",
        type=int,
        default=bench_assign.POINTS,
        help="points for the assign benchmark (default: %(default)s)",
    )
    parser.add_argument(
        "--rows",
        type=int,
        default=bench_incidents.ROWS,
        help="rows for the incidents, cells, export and tiles benchmarks (default: %(default)s)",
    )
    parser.add_argument(
        "--no-record", action="store_true", help="print the results without appending them"
    )
    args = parser.parse_args(argv)
    unknown = [name for name in args.names if name not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")
    names = args.names or list(BENCHMARKS)

    started = datetime.now().astimezone()
    load_at_start = os.getloadavg()
    outcomes = []
    for name in names:
        log(f"== {name}")
        outcomes.append(BENCHMARKS[name](args))
    section = format_section(outcomes, environment(outcomes[-1].url, load_at_start), started)
    print("\n" + section)
    if not args.no_record:
        append_results(section)
        log("appended to bench/RESULTS.md")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
