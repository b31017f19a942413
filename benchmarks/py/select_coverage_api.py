"""The selector a user would write with coverage.py's public API.

    python select_coverage_api.py DB REPO BASE RECORDED_ROOT

For each changed Python file, `CoverageData.contexts_by_lineno` maps lines to the contexts that
ran them; every context that ran a changed line selects its test. Prints JSON
`{"tests": [...], "count": N, "import_time_hit": bool}` (`import_time_hit`: a changed line was
run by the empty context, which this selector cannot turn into tests).
"""

import json
import sys

from coverage import CoverageData

from difflines import changed_lines


def main():
    db, repo, base, root = sys.argv[1:5]
    changed = changed_lines(repo, base)
    data = CoverageData(basename=db)
    data.read()
    tests = set()
    import_time_hit = False
    for path, lines in changed.items():
        by_line = data.contexts_by_lineno(f"{root}/{path}")
        for line in lines:
            for context in by_line.get(line, ()):
                if context == "":
                    import_time_hit = True
                else:
                    tests.add(context.rsplit("|", 1)[0])
    print(json.dumps({"tests": sorted(tests), "count": len(tests), "import_time_hit": import_time_hit}))


if __name__ == "__main__":
    main()
