"""`python -m covshard ARGS`: run the installed binary with the same arguments and exit code."""

from __future__ import annotations

import os
import subprocess
import sys

from covshard import find_covshard_bin


def main() -> int:
    try:
        binary = find_covshard_bin()
    except FileNotFoundError as error:
        print(error, file=sys.stderr)
        return 1
    arguments = [binary, *sys.argv[1:]]
    if os.name == "nt":
        # Windows has no exec: run it as a child and pass its exit code on.
        return subprocess.run(arguments).returncode
    os.execv(binary, arguments)


if __name__ == "__main__":
    sys.exit(main())
