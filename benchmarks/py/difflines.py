"""Changed lines of a git change, old side, as the Python selectors need them.

Both Python selectors get exactly the lines covshard reads: the old-side line numbers of
`git diff BASE` against the working tree, with a pure insertion charged to the lines around it
(DESIGN.md, selection rule 1). Only Python files are returned; the selectors have no rules for
anything else.
"""

import re
import subprocess

HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+\d+(?:,\d+)? @@")


def changed_lines(repo, base):
    """{repository path: sorted old-side line numbers} for the change from `base`."""
    diff = subprocess.run(
        ["git", "-C", repo, "diff", "--no-color", "--no-ext-diff", "--unified=0", base, "--"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    out = {}
    path = None
    for line in diff.splitlines():
        if line.startswith("--- "):
            old = line[4:]
            path = old[2:] if old.startswith("a/") else None
        elif line.startswith("@@") and path and path.endswith(".py"):
            m = HUNK.match(line)
            start, count = int(m.group(1)), int(m.group(2) or 1)
            lines = out.setdefault(path, set())
            if count == 0:
                # A pure insertion after line `start`: the lines around it.
                lines.update((start, start + 1))
            else:
                lines.update(range(start, start + count))
    return {p: sorted(v) for p, v in out.items()}
