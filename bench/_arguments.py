"""Argument parsing shared by the benchmark scripts (a helper module, not a benchmark: nox skips ``bench/_*.py``)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def parse_known(parser: argparse.ArgumentParser) -> argparse.Namespace:
    """Parse the command line; options the script does not take are named on stderr and ignored.

    ``nox -s bench -- <args>`` passes the same arguments to every script, so each takes what it knows.
    """
    args, unknown = parser.parse_known_args()
    if unknown:
        print(f"{Path(sys.argv[0]).stem}: ignoring arguments it does not take: {' '.join(unknown)}", file=sys.stderr)
    return args
