"""``python -m bench [name ...] [--quick] [--postgres]``: run benchmarks and print their verdicts."""

from __future__ import annotations

import argparse
import sys
import time

from bench import burst, calendar, feeds, overhead, punctuality, reports, scale_out
from bench.common import machine

BENCHMARKS = {"overhead": overhead.run, "burst": burst.run, "punctuality": punctuality.run,
              "scale_out": scale_out.run, "calendar": calendar.run, "feeds": feeds.run,
              "reports": reports.run}


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("names", nargs="*", metavar="name",
                        help=f"benchmarks to run (default: all): {', '.join(BENCHMARKS)}")
    parser.add_argument("--quick", action="store_true",
                        help="smaller loads (punctuality: 1,000 deliveries over 60 s instead of "
                             "10,000 over 10 minutes)")
    parser.add_argument("--postgres", action="store_true",
                        help="store on PostgreSQL instead of SQLite (scale_out always uses PostgreSQL)")
    args = parser.parse_args()
    unknown = [name for name in args.names if name not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")

    for key, value in machine().items():
        print(f"{key:<11} {value}")
    print(f"run         {'quick' if args.quick else 'full'}")
    results = {}
    for name in args.names or BENCHMARKS:
        print(f"\n== {name} ==", flush=True)
        start = time.monotonic()
        results[name] = BENCHMARKS[name](args.quick, "postgresql" if args.postgres else "sqlite")
        print(f"  ({time.monotonic() - start:.0f} s)", flush=True)
    print("\n" + "  ".join(f"{name} {'PASS' if ok else 'MISS'}" for name, ok in results.items()))
    return 0 if all(results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
