#!/usr/bin/env python3
"""Edits that make importing a module raise, for covshard's names rule.

A change to import-time code that follows names (DESIGN.md, "follow names, not modules") must
still select every test of a module whose import now raises: a module that fails to import
fails every test that imports it, whatever names they read. Each case builds a tiny project
(a package whose `__init__.py` imports its modules; `tests/test_other.py` reads none of the
changed names, so it fails only when an import raises), records the base with real pytest and
pytest-cov (`--cov=pkg --cov-context=test`), applies an edit to the working tree without
committing it, runs the suite for real to learn which tests fail, and checks that `covshard
select` selects each of them. Harmless cases check that covshard selects nothing.

Usage: cases.py --covshard BINARY --python PYTHON --work DIR [-v] [NAME_SUBSTRING ...]
Prints one line per case (ok, MISS, OVER: a harmless edit selected something, NOFAIL or
BROKEN: the case itself is wrong) and exits 1 unless every case is ok. Run by the
integration test `raises` (`cargo test --test integration raises -- --nocapture`).
"""
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap

ROOT = None
PY = None
PYPROJECT = """\
[project]
name = "pkg"
version = "0.1.0"

[tool.pytest.ini_options]
pythonpath = ["src"]
testpaths = ["tests"]
"""


def d(s):
    return textwrap.dedent(s).lstrip("\n")


CASES = []


def case(name, base, edit, why=""):
    """base: {path: text}; edit: {path: text or None (delete)}; paths relative to the root."""
    CASES.append(dict(name=name, base=base, edit=edit, why=why))


# A package whose __init__ imports `other`; every test imports the package. test_other does
# not mention the changed name: it fails only because importing the package raises.
def pkg(consts, other, consts_new=None, other_new=None, extra=None, extra_new=None, init=None):
    base = {
        "src/pkg/__init__.py": init or "from . import consts, other\n",
        "src/pkg/consts.py": d(consts),
        "src/pkg/other.py": d(other) + "\n\ndef answer():\n    return 42\n",
        "tests/test_other.py": "from pkg.other import answer\n\n\ndef test_answer():\n    assert answer() == 42\n",
    }
    if extra:
        base.update({k: d(v) for k, v in extra.items()})
    edit = {}
    if consts_new is not None:
        edit["src/pkg/consts.py"] = d(consts_new)
    if other_new is not None:
        edit["src/pkg/other.py"] = d(other_new) + "\n\ndef answer():\n    return 42\n"
    if extra_new:
        edit.update({k: (d(v) if v is not None else None) for k, v in extra_new.items()})
    return base, edit


# --- value reads that are Copied/Combined but still raise ----------------------------------

case("unpack_copied",
     *pkg("PAIR = (1, 2)\n", "from .consts import PAIR\nLO, HI = PAIR\n",
          consts_new="PAIR = (1, 2, 3)\n"),
     why="`LO, HI = PAIR` is a Copied read, but unpacking raises ValueError on a new length")

case("dict_unpack_copied",
     *pkg("EXTRA = {'b': 2}\n", "from .consts import EXTRA\nSETTINGS = {'a': 1, **EXTRA}\n",
          consts_new="EXTRA = None\n"),
     why="`{**EXTRA}` is visited as a dict value (Copied); None is not a mapping")

case("ifexp_kept_type",
     *pkg("DEBUG = True\nLEVEL = 'debug' if DEBUG else None\n",
          "from .consts import LEVEL\nLOGGER_NAME = 'app.' + LEVEL\n",
          consts_new="DEBUG = False\nLEVEL = 'debug' if DEBUG else None\n"),
     why="kept_type is propagated through the test of a conditional expression: LEVEL becomes None")

case("boolop_kept_type",
     *pkg("MAX_ITEMS = 0\nLIMIT = MAX_ITEMS or 'unlimited'\n",
          "from .consts import LIMIT\nBANNER = 'limit: ' + LIMIT\n",
          consts_new="MAX_ITEMS = 50\nLIMIT = MAX_ITEMS or 'unlimited'\n"),
     why="`X or Y` picks a value, not a type: LIMIT turns from str to int, kept_type says kept")

case("fstring_format_spec",
     *pkg("NUM_FORMAT = '.2f'\n", "from .consts import NUM_FORMAT\nEXAMPLE = f'{1.5:{NUM_FORMAT}}'\n",
          consts_new="NUM_FORMAT = 'd'\n"),
     why="an f-string format spec is Combined, but a str of the same type can be an invalid spec")

# --- moving a binding below a read ---------------------------------------------------------

case("move_constant_below_use",
     {"src/pkg/__init__.py": "from . import consts\n",
      "src/pkg/consts.py": "TIMEOUT = 30\nDEFAULT_TIMEOUT = TIMEOUT\nRETRIES = 3\n\n\ndef answer():\n    return 42\n",
      "tests/test_other.py": "from pkg.consts import answer\n\n\ndef test_answer():\n    assert answer() == 42\n"},
     {"src/pkg/consts.py": "DEFAULT_TIMEOUT = TIMEOUT\nRETRIES = 3\nTIMEOUT = 30\n\n\ndef answer():\n    return 42\n"},
     why="the moved `TIMEOUT = 30` is a changed (not removed) name; the unchanged Copied read above it now raises NameError")

case("move_constant_below_comprehension",
     {"src/pkg/__init__.py": "from . import consts\n",
      "src/pkg/consts.py": "TIMEOUT = 30\nTIMEOUTS = [TIMEOUT * n for n in (1, 2)]\nA = 1\nB = 2\n\n\ndef answer():\n    return 42\n",
      "tests/test_other.py": "from pkg.consts import answer\n\n\ndef test_answer():\n    assert answer() == 42\n"},
     {"src/pkg/consts.py": "TIMEOUTS = [TIMEOUT * n for n in (1, 2)]\nA = 1\nB = 2\nTIMEOUT = 30\n\n\ndef answer():\n    return 42\n"},
     why="a comprehension at module level runs at once: the moved name is read before it is bound")

# --- conditional bindings ------------------------------------------------------------------

case("version_check_condition",
     *pkg("", "from .compat import helper\n",
          extra={"src/pkg/compat.py": """
              import sys
              if sys.version_info >= (3, 8):
                  def helper():
                      return 1
              """},
          extra_new={"src/pkg/compat.py": """
              import sys
              if sys.version_info >= (3, 13):
                  def helper():
                      return 1
              """}),
     why="the `if` binds `helper` syntactically on both sides, so it is followed as changed, not removed")

case("try_handler_leaves_name_unbound",
     *pkg("", "from .meta import BUILD\n",
          extra={"src/pkg/meta.py": """
              try:
                  RAW = "1.0+abc"
                  BUILD = RAW.split("+")[1]
              except Exception:
                  RAW = "unknown"
              """},
          extra_new={"src/pkg/meta.py": """
              try:
                  RAW = "1.0"
                  BUILD = RAW.split("+")[1]
              except Exception:
                  RAW = "unknown"
              """}),
     why="a caught raise skips the rest of the try body: BUILD is no longer bound")

case("new_del_of_imported_name",
     *pkg("def helper():\n    return 1\n\n\nTABLE = {'x': 1}\n",
          "from .consts import helper\n",
          consts_new="def helper():\n    return 1\n\n\nTABLE = {'x': 1}\ndel helper\n"),
     why="a new `del X` statement is followed as a changed name, not a removed one")

# --- new statements that raise without a call/subscript/division -------------------------

case("new_stmt_operator_type_error",
     *pkg("VERSION = (1, 2)\n", "X = 1\n", consts_new="VERSION = (1, 2)\nVERSION_TEXT = 'v' + VERSION\n"),
     why="`+` of str and tuple: operators are not `computes`")

case("new_stmt_attribute_error",
     *pkg("import enum\n\n\nclass Color(enum.Enum):\n    RED = 1\n", "X = 1\n",
          other_new="from .consts import Color\nDEFAULT = Color.PURPLE\n"),
     why="an attribute the class lacks: attribute reads are not `computes`")

case("new_stmt_never_raise_path_none",
     *pkg("X = 1\n", "import os\nfrom pathlib import Path\n",
          other_new="import os\nfrom pathlib import Path\nDATA_DIR = Path(os.environ.get('PKG_DATA_DIR_UNSET'))\n"),
     why="`Path` and `os.environ.get` are NEVER_RAISE, but Path(None) raises TypeError")

case("new_stmt_never_raise_dict",
     *pkg("CHOICES = ['small', 'large']\n", "X = 1\n",
          consts_new="CHOICES = ['small', 'large']\nLOOKUP = dict(CHOICES)\n"),
     why="`dict` is NEVER_RAISE, but dict(list of str) raises ValueError")

case("new_stmt_never_raise_typevar",
     *pkg("X = 1\n", "from typing import TypeVar\n",
          other_new="from typing import TypeVar\nT = TypeVar('T', int)\n"),
     why="`TypeVar` is NEVER_RAISE, but a single constraint raises TypeError")

case("new_stmt_typing_generic",
     *pkg("X = 1\n", "from typing import Dict\n",
          other_new="from typing import Dict\nNames = Dict[str]\n"),
     why="typing subscripts are never `computes`, but Dict[str] raises TypeError")

case("new_class_attr_reads_later_global",
     *pkg("X = 1\n", "class Widget:\n    size = 1\n\n\nDEFAULT_COLOR = 'red'\n",
          other_new="class Widget:\n    size = 1\n    color = DEFAULT_COLOR\n\n\nDEFAULT_COLOR = 'red'\n"),
     why="`bound_later` is checked for module-level statements only, not class bodies")

case("new_class_comprehension_scope",
     *pkg("X = 1\n", "class Routes:\n    BASE = '/api'\n",
          other_new="class Routes:\n    BASE = '/api'\n    ALL = [BASE + p for p in ('/a', '/b')]\n"),
     why="a class attribute is not visible inside a comprehension of the class body")

case("new_slots_conflict",
     *pkg("X = 1\n", "class Point:\n    __slots__ = ('x', 'y')\n",
          other_new="class Point:\n    __slots__ = ('x', 'y')\n    x = 0\n"),
     why="a class variable conflicting with __slots__ raises ValueError at class creation")

case("remove_future_annotations",
     *pkg("X = 1\n", "from __future__ import annotations\nfrom typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .consts import Heavy\n\n\ndef use(h: Heavy) -> int:\n    return 1\n",
          other_new="from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .consts import Heavy\n\n\ndef use(h: Heavy) -> int:\n    return 1\n"),
     why="without the future import, the annotation is evaluated at def time (Python 3.11)")

case("new_import_windows_only",
     *pkg("X = 1\n", "X = 2\n", other_new="import msvcrt\nX = 2\n"),
     why="a plain stdlib import is taken to never fail; msvcrt/winreg exist only on Windows")

# --- new imports of project modules that raise --------------------------------------------

case("new_import_of_broken_project_module",
     *pkg("X = 1\n", "X = 2\n",
          other_new="from . import plot\nX = 2\n",
          extra={"src/pkg/plot.py": "import matplotlib_not_installed_here\n\n\ndef draw():\n    return 1\n"}),
     why="import_effects judges a module's effects, not whether its own imports raise")

case("new_import_of_project_module_whose_class_body_raises",
     *pkg("X = 1\n", "X = 2\n",
          other_new="from . import shapes\nX = 2\n",
          extra={"src/pkg/shapes.py": "class Shape:\n    SIDES = {}['sides']\n\n\ndef area():\n    return 1\n"}),
     why="a module the base never imported raises in a class body, not at its top level")

case("new_circular_import",
     *pkg("X = 1\n", "from .consts import X\n\n\ndef helper_other():\n    return 1\n",
          consts_new="from .other import helper_other\nX = 1\n"),
     why="a new import that closes an import cycle raises ImportError (partially initialized module)")

# --- conftest ------------------------------------------------------------------------------

case("conftest_unpack",
     {"src/pkg/__init__.py": "",
      "src/pkg/consts.py": "PAIR = (1, 2)\n\n\ndef answer():\n    return 42\n",
      "tests/conftest.py": "from pkg.consts import PAIR\nLO, HI = PAIR\n",
      "tests/test_other.py": "from pkg.consts import answer\n\n\ndef test_answer():\n    assert answer() == 42\n"},
     {"src/pkg/consts.py": "PAIR = (1, 2, 3)\n\n\ndef answer():\n    return 42\n"},
     why="conftest import-time unpacking is Copied")

case("conftest_new_bad_import",
     {"src/pkg/__init__.py": "",
      "src/pkg/consts.py": "X = 1\n\n\ndef answer():\n    return 42\n",
      "tests/conftest.py": "import pytest\n",
      "tests/test_other.py": "from pkg.consts import answer\n\n\ndef test_answer():\n    assert answer() == 42\n"},
     {"tests/conftest.py": "import pytest\nfrom pkg.consts import NOPE\n"},
     why="control: a conftest edit")

# --- classes whose creation is tolerated -------------------------------------------------

case("enum_init_kept_type",
     *pkg("import enum\nLABELS = {1: 'small', 2: 'medium'}\n\n\nclass Size(enum.Enum):\n    SMALL = 1\n    MEDIUM = 2\n\n    def __init__(self, value):\n        self.label = LABELS[value]\n",
          "X = 1\n",
          consts_new="import enum\nLABELS = {1: 'small', 2: 'medium'}\n\n\nclass Size(enum.Enum):\n    SMALL = 1\n    MEDIUM = 3\n\n    def __init__(self, value):\n        self.label = LABELS[value]\n"),
     why="tolerates_kept_types looks at the header only; the enum's __init__ runs on every member value")

case("new_setter_on_plain_method",
     *pkg("X = 1\n", "class Box:\n    def size(self):\n        return 1\n",
          other_new="class Box:\n    def size(self):\n        return 1\n\n    @size.setter\n    def size(self, v):\n        pass\n"),
     why="`.setter` never raises by name, but `size` is a plain function here (AttributeError)")

case("try_import_handler_without_binding",
     *pkg("def fast_sum(xs):\n    return sum(xs)\n", "from .compat import fast_sum\n",
          consts_new="def slow_sum(xs):\n    return sum(xs)\n",
          extra={"src/pkg/compat.py": """
              try:
                  from .consts import fast_sum
                  HAVE_SPEEDUPS = True
              except ImportError:
                  HAVE_SPEEDUPS = False
              """},
          init="from . import consts, compat, other\n"),
     why="a removed name imported in a guarded try: the try's bindings are followed as changed, so `fast_sum`, now unbound, is not followed as removed")

# --- controls (expected ok) ----------------------------------------------------------------

case("control_all_shrinks",
     *pkg("__all__ = ['A', 'B']\nA = 1\nB = 2\n", "from . import B\n",
          consts_new="__all__ = ['A']\nA = 1\nB = 2\n",
          init="from .consts import *\nfrom . import other\n"))

case("control_star_reexport_chain_removed",
     *pkg("LIMIT = 1\n", "from .api import LIMIT\n",
          consts_new="MAX = 1\n",
          extra={"src/pkg/api.py": "from .consts import *\n"},
          init="from . import consts, api, other\n"))

# --- harmless edits (over-selection check: OVER when anything is selected) ---------------

def harmless(name, base, edit):
    CASES.append(dict(name=name, base=base, edit=edit, why="", harmless=True))

harmless("harmless_new_stdlib_from_import",
         *pkg("X = 1\n", "X = 2\n", other_new="from pathlib import Path\nX = 2\n"))

harmless("harmless_new_method_in_dataclass",
         *pkg("from dataclasses import dataclass\n\n\n@dataclass\nclass P:\n    x: int = 0\n", "X = 1\n",
              consts_new="from dataclasses import dataclass\n\n\n@dataclass\nclass P:\n    x: int = 0\n\n    def double(self):\n        return self.x * 2\n"))

harmless("harmless_new_method_in_enum",
         *pkg("import enum\n\n\nclass C(enum.Enum):\n    A = 1\n", "X = 1\n",
              consts_new="import enum\n\n\nclass C(enum.Enum):\n    A = 1\n\n    def describe(self):\n        return self.name\n"))

harmless("harmless_new_logger",
         *pkg("import logging\nX = 1\n", "X = 1\n", consts_new="import logging\nX = 1\nlog = logging.getLogger(__name__)\n"))

# --- controls (expected ok) ----------------------------------------------------------------

case("control_worked_on",
     *pkg("LIMIT = 10\n", "from .consts import LIMIT\nHALF = 100 // LIMIT\n", consts_new="LIMIT = 0\n"))

case("control_removed",
     *pkg("LIMIT = 10\n", "from .consts import LIMIT\n", consts_new="X = 1\n"))


# -------------------------------------------------------------------------------------------

def sh(cmd, cwd, check=True, env=None):
    r = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env=env)
    if check and r.returncode != 0:
        raise RuntimeError(f"{cmd} failed:\n{r.stdout}\n{r.stderr}")
    return r


def write(root, files):
    for path, text in files.items():
        full = os.path.join(root, path)
        if text is None:
            if os.path.exists(full):
                os.remove(full)
            continue
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "w") as f:
            f.write(text)


def pytest_run(root, cov):
    env = dict(os.environ)
    env.pop("PKG_DATA_DIR_UNSET", None)
    cmd = [PY, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rfE"]
    if cov:
        cmd += ["--cov=pkg", "--cov-report=", "--cov-context=test"]
    return sh(cmd, root, check=False, env=env)


def collect(root):
    r = sh([PY, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--collect-only"], root, check=False)
    return [l.strip() for l in r.stdout.splitlines() if "::" in l]


def failures(root, base_tests):
    """Node ids and paths that fail after the edit: FAILED ids, ERROR paths/ids, or every test
    when pytest could not start (a conftest that fails to import)."""
    r = pytest_run(root, cov=False)
    out = r.stdout + r.stderr
    failed = set()
    for line in out.splitlines():
        m = re.match(r"(FAILED|ERROR) (\S+)", line)
        if m:
            failed.add(m.group(2))
    if r.returncode not in (0, 1) and not failed:
        failed = {"<all>"}
    return failed, out


def covered(item, tests, base_tests):
    """Whether running the selection would reveal the failure of `item`."""
    if item == "<all>":
        return bool(tests)
    path = item.split("::")[0]
    for t in tests:
        if t == item or item.startswith(t.rstrip("/") + "/") or item.startswith(t + "::"):
            return True
        # A collection error in a file shows whichever of its tests runs.
        if "::" not in item and (t == path or t.startswith(path + "::")):
            return True
    return False


def run_case(binary, c):
    root = os.path.join(ROOT, c["name"])
    shutil.rmtree(root, ignore_errors=True)
    os.makedirs(root)
    files = {"pyproject.toml": PYPROJECT}
    files.update(c["base"])
    write(root, files)
    sh(["git", "init", "-q"], root)
    sh(["git", "add", "-A"], root)
    sh(["git", "-c", "user.email=r@x", "-c", "user.name=r", "commit", "-qm", "base"], root)
    r = pytest_run(root, cov=True)
    if r.returncode != 0:
        return "BROKEN", f"base run fails:\n{r.stdout[-2000:]}"
    base_tests = collect(root)
    write(root, c["edit"])
    failed, out = failures(root, base_tests)
    sel = sh([binary, "select", "--db", ".coverage", "--base", "HEAD", "--format", "json"], root, check=False)
    try:
        js = json.loads(sel.stdout)
    except json.JSONDecodeError:
        return "BROKEN", f"covshard output:\n{sel.stdout}\n{sel.stderr}"
    tests = js.get("tests", [])
    run_all = js.get("run_all", False)
    if c.get("harmless"):
        if failed:
            return "BROKEN", f"a harmless edit fails {sorted(failed)}"
        return ("OVER" if tests or run_all else "ok"), f"selected={tests} run_all={run_all}\nreasons={json.dumps(js.get('reasons'), indent=1)[:1500]}"
    if not failed:
        return "NOFAIL", f"the edit fails no test; selection {tests} run_all={run_all}"
    missed = sorted(f for f in failed if not run_all and not covered(f, tests, base_tests))
    reasons = json.dumps(js.get("reasons"), indent=1)[:1500]
    detail = f"failing={sorted(failed)}\nselected={tests} run_all={run_all}\nreasons={reasons}"
    return ("MISS" if missed else "ok"), (f"missed={missed}\n" if missed else "") + detail


def main():
    global ROOT, PY
    import argparse

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--covshard", required=True)
    parser.add_argument("--python", required=True)
    parser.add_argument("--work", required=True)
    parser.add_argument("-v", action="store_true", dest="verbose")
    parser.add_argument("names", nargs="*")
    options = parser.parse_args()
    binary, verbose, args = options.covshard, options.verbose, options.names
    ROOT, PY = options.work, options.python
    counts = {}
    for c in CASES:
        if args and not any(a in c["name"] for a in args):
            continue
        status, detail = run_case(binary, c)
        counts[status] = counts.get(status, 0) + 1
        print(f"{status:6} {c['name']}" + (f"  -- {c['why']}" if status == "MISS" and c["why"] else ""))
        if verbose or status != "ok":
            print(textwrap.indent(detail, "    "))
    print(counts)
    sys.exit(0 if set(counts) <= {"ok"} else 1)


if __name__ == "__main__":
    main()
