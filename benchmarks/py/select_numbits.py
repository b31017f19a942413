"""The selector that queries the coverage database directly from Python.

    python select_numbits.py DB REPO BASE RECORDED_ROOT

sqlite3 plus coverage's numbits SQL functions: for each changed file, one query returns the
contexts whose line bitmap intersects the changed lines (`numbits_any_intersection`), so no
line is decoded in Python. Same output as select_coverage_api.py.
"""

import json
import sqlite3
import sys

from coverage.numbits import nums_to_numbits, register_sqlite_functions

from difflines import changed_lines

QUERY = """
    SELECT DISTINCT context.context
    FROM line_bits JOIN context ON context.id = line_bits.context_id
    WHERE line_bits.file_id = ? AND numbits_any_intersection(line_bits.numbits, ?)
"""


def main():
    db, repo, base, root = sys.argv[1:5]
    changed = changed_lines(repo, base)
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    register_sqlite_functions(con)
    tests = set()
    import_time_hit = False
    for path, lines in changed.items():
        row = con.execute("SELECT id FROM file WHERE path = ?", (f"{root}/{path}",)).fetchone()
        if row is None:
            continue
        for (context,) in con.execute(QUERY, (row[0], nums_to_numbits(lines))):
            if context == "":
                import_time_hit = True
            else:
                tests.add(context.rsplit("|", 1)[0])
    print(json.dumps({"tests": sorted(tests), "count": len(tests), "import_time_hit": import_time_hit}))


if __name__ == "__main__":
    main()
