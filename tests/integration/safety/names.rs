//! The safety table of the names project (`tests/fixtures/names`): edits aimed at the names
//! rule. Every test imports `geo`, whose `__init__.py` imports every module, so every test
//! depends on every module: an import-time edit that selects a strict subset of the suite
//! (`Local`) does so only by following names. Edits where names cannot be followed (a star
//! import, `__all__`, a registry) are `Module`: the whole suite is right for them. So are
//! edits where import-time code works on a changed value (calls it, indexes it, passes it to
//! a call, or combines a value whose type changed): a raise there breaks every importer, and
//! covshard cannot tell that it will not raise.
//!
//! `at_most` bounds a few edits exactly: a new function with a new test selects only the new
//! test file; a new import or a method nothing calls selects nothing.

use super::Effect::Breaks;
use super::Reach::{Global, Local, Module};
use super::{Edit, Reach, Tree, harmless};

const CONSTS: &str = "src/geo/consts.py";
const DERIVED: &str = "src/geo/derived.py";
const SHAPES: &str = "src/geo/shapes.py";
const MEASURE: &str = "src/geo/measure.py";
const INIT: &str = "src/geo/__init__.py";
const STUB: &str = "src/geo/measure.pyi";
const FORMATS: &str = "src/geo/formats.py";
const PALETTE: &str = "src/geo/palette.py";
const IDS: &str = "src/geo/ids.py";
const LAZY: &str = "src/geo/lazy.py";
const EXTRA: &str = "src/geo/extra.py";
const LATER: &str = "src/geo/later.py";
const PLUGIN: &str = "src/geo/testing.py";
const REGISTRY: &str = "src/geo/registry.py";
const SPEED: &str = "src/geo/speed.py";
const PLUG: &str = "src/geo/plug_inch.py";

fn breaks(name: &'static str, reach: Reach, apply: fn(&Tree)) -> Edit {
    Edit {
        name,
        reach,
        effect: Breaks,
        apply,
        at_most: None,
    }
}

pub(super) fn edits() -> Vec<Edit> {
    vec![
        // --- Constants read by name, by module, through re-exports and star imports ---------
        breaks(
            "constant read through its module, a star import, a re-export and a test with no coverage: PRECISION 2 -> 1",
            Local,
            |t| t.replace(CONSTS, "PRECISION = 2", "PRECISION = 1"),
        ),
        breaks(
            "constant behind an import-time chain, a dynamic getattr and a string patch: LIMIT 100 -> 50",
            Local,
            |t| t.replace(CONSTS, "LIMIT = 100", "LIMIT = 50"),
        ),
        breaks(
            "constant read through an alias, a default argument and a class attribute: SCALE 10 -> 20",
            Local,
            |t| t.replace(CONSTS, "SCALE = 10", "SCALE = 20"),
        ),
        breaks(
            "constant read by a conftest fixture, a formatter, a cached table, a dynamic import: UNIT cm -> mm",
            Local,
            |t| t.replace(CONSTS, "UNIT = \"cm\"", "UNIT = \"mm\""),
        ),
        breaks(
            "constant deleted, read through its module at call time: DEFAULT_SIDES",
            Local,
            |t| t.delete(CONSTS, "DEFAULT_SIDES = 3\n"),
        ),
        breaks(
            "new constant, seen only by a dynamic vars() read",
            Local,
            |t| t.append(CONSTS, "TOLERANCE = 0.1\n"),
        ),
        breaks(
            "constant renamed, patched by its dotted name in a test: LIMIT -> MAX_LIMIT",
            Module,
            |t| {
                t.replace(CONSTS, "LIMIT = 100", "MAX_LIMIT = 100");
                t.replace(
                    DERIVED,
                    "from .consts import LIMIT, SCALE",
                    "from .consts import MAX_LIMIT as LIMIT, SCALE",
                );
            },
        ),
        breaks(
            "new function in the base module shadows a name another module gets from math",
            Local,
            |t| t.append(CONSTS, "\n\ndef floor(x):\n    return -1\n"),
        ),
        // --- Import-time chains -------------------------------------------------------------
        breaks("import-time chain: MAX_AREA formula changed", Local, |t| {
            t.replace(
                DERIVED,
                "MAX_AREA = LIMIT * SCALE",
                "MAX_AREA = LIMIT * SCALE * 2",
            )
        }),
        breaks(
            "import-time chain: a statement inserted after MAX_AREA",
            Local,
            |t| {
                t.insert_after(
                    DERIVED,
                    "MAX_AREA = LIMIT * SCALE\n",
                    "MAX_AREA = MAX_AREA // 2\n",
                )
            },
        ),
        breaks(
            "factory run at import time: make_palette numbers from 0",
            Module,
            |t| {
                t.replace(
                    PALETTE,
                    "enumerate(names, start=1)",
                    "enumerate(names, start=0)",
                )
            },
        ),
        // --- Class attributes, enums, dataclasses -------------------------------------------
        breaks(
            "class attribute read through describe() and by a test with no coverage: Square.sides 4 -> 5",
            Local,
            |t| t.replace(SHAPES, "    sides = 4\n", "    sides = 5\n"),
        ),
        breaks(
            "class attribute inserted in a subclass: Circle.sides",
            Local,
            |t| t.insert_after(SHAPES, "    label = \"circle\"\n", "    sides = 1\n"),
        ),
        breaks(
            "class attribute deleted from the base class: Shape.sides",
            Local,
            |t| t.delete(SHAPES, "    sides = 0\n"),
        ),
        breaks("enum member value: Color.RED 1 -> 3", Local, |t| {
            t.replace(PALETTE, "    RED = 1\n", "    RED = 3\n")
        }),
        breaks("dataclass default: Style.width 1 -> 2", Local, |t| {
            t.replace(PALETTE, "    width: int = 1\n", "    width: int = 2\n")
        }),
        breaks("dataclass field inserted: Style.dash", Module, |t| {
            t.insert_after(PALETTE, "    width: int = 1\n", "    dash: bool = False\n")
        }),
        // --- Functions: defaults, memoised, shadowing ---------------------------------------
        breaks("default argument: perimeter n=4 -> 3", Local, |t| {
            t.replace(
                MEASURE,
                "def perimeter(side, n=4):",
                "def perimeter(side, n=3):",
            )
        }),
        breaks(
            "memoised function (lru_cache): unit_factor's table changed",
            Local,
            |t| t.replace(FORMATS, "\"cm\": 1.0", "\"cm\": 2.0"),
        ),
        breaks(
            "memoised function (lru_cache): a line inserted in unit_factor",
            Local,
            |t| {
                t.insert_after(
                    FORMATS,
                    "    table = {\"mm\": 0.1, \"cm\": 1.0, \"m\": 100.0}\n",
                    "    table[\"cm\"] = 3.0\n",
                )
            },
        ),
        breaks("try/except import: tau from math becomes pi", Local, |t| {
            t.replace(
                SHAPES,
                "    from math import tau\n",
                "    from math import pi as tau\n",
            )
        }),
        // --- Calls that change what they are given -----------------------------------------
        breaks(
            "counter advanced at import time: a next() call inserted before SECOND",
            Module,
            |t| t.insert_after(IDS, "FIRST = next(_ids)\n", "SKIPPED = next(_ids)\n"),
        ),
        breaks(
            "counter advanced at import time: the first next() call deleted",
            Module,
            |t| t.delete(IDS, "FIRST = next(_ids)\n"),
        ),
        breaks(
            "augmented assignment inserted after a constant: SECOND += 10",
            Local,
            |t| t.insert_after(IDS, "SECOND = next(_ids)\n", "SECOND += 10\n"),
        ),
        breaks(
            "a helper fills the table it is given: registration order swapped",
            Module,
            |t| {
                t.replace(
                    IDS,
                    "register_kind(KINDS, \"point\")\nregister_kind(KINDS, \"line\")\n",
                    "register_kind(KINDS, \"line\")\nregister_kind(KINDS, \"point\")\n",
                )
            },
        ),
        breaks(
            "a helper fills the table it is given: a call inserted before the others",
            Module,
            |t| {
                t.insert_before(
                    IDS,
                    "register_kind(KINDS, \"point\")\n",
                    "register_kind(KINDS, \"plane\")\n",
                )
            },
        ),
        breaks(
            "private constant of a star-imported module: _DIGITS 1 -> 0",
            Local,
            |t| t.replace(MEASURE, "_DIGITS = 1", "_DIGITS = 0"),
        ),
        breaks(
            "private constant of a star-imported module deleted: _DIGITS",
            Local,
            |t| t.delete(MEASURE, "_DIGITS = 1\n"),
        ),
        breaks(
            "a name deleted at the end of the module is still used before: _it.count(2)",
            Module,
            |t| t.replace(IDS, "_it.count(1)", "_it.count(2)"),
        ),
        // --- Names made on first use ----------------------------------------------------------
        breaks(
            "module __getattr__ (PEP 562): a value it computes changed",
            Module,
            |t| t.replace(LAZY, "{\"TAU\": 6.28}", "{\"TAU\": 6.3}"),
        ),
        breaks(
            "module imported lazily by a function: its constant changed",
            Local,
            |t| t.replace(EXTRA, "EXTRA_LIMIT = 7", "EXTRA_LIMIT = 8"),
        ),
        breaks(
            "module imported lazily by a function: a statement inserted",
            Local,
            |t| t.append(EXTRA, "EXTRA_LIMIT = EXTRA_LIMIT + 1\n"),
        ),
        breaks(
            "module imported lazily by a function: its constant deleted",
            Local,
            |t| t.delete(EXTRA, "EXTRA_LIMIT = 7\n"),
        ),
        // A test imports the module inside itself and runs `make_table` then; the next test
        // only calls `size` and `hook` (whose header a call records, as an import does).
        breaks(
            "function run while a test imports its module: changed line",
            Local,
            |t| t.replace(LATER, "{\"size\": 2}", "{\"size\": 4}"),
        ),
        breaks(
            "function run while a test imports its module: inserted line",
            Local,
            |t| {
                t.insert_after(
                    LATER,
                    "    table = {\"size\": 2}\n",
                    "    table[\"size\"] = 5\n",
                )
            },
        ),
        breaks(
            "function run while a test imports its module: deleted line",
            Local,
            |t| t.delete(LATER, "    table[\"size\"] += 1\n"),
        ),
        // Calling `hook` records its header, as importing does: only the test that imported
        // the module ran its import-time code.
        harmless(
            "new constant in a module a test imports inside itself, beside a docstring-only function",
            &["tests/test_later.py::test_later_first"],
            |t| t.append(LATER, "\nUNUSED = 1\n"),
        ),
        breaks(
            "fixture of a plugin module: the constant it reads changed",
            Local,
            |t| t.replace(PLUGIN, "DIGITS = 2", "DIGITS = 3"),
        ),
        breaks(
            "fixture of a plugin module: a statement inserted in its body",
            Local,
            |t| {
                t.insert_after(
                    PLUGIN,
                    "    def round_to(value):\n",
                    "        value = value * 10\n",
                )
            },
        ),
        // --- Import-time code that now raises -------------------------------------------------
        breaks(
            "import of a name the module does not bind inserted (a typo): PRECISON",
            Module,
            |t| {
                t.insert_after(
                    DERIVED,
                    "from .consts import LIMIT, SCALE\n",
                    "from .consts import PRECISON  # noqa: F401\n",
                )
            },
        ),
        breaks(
            "constant renamed without its importers: SCALE -> SCALE_FACTOR",
            Module,
            |t| t.replace(CONSTS, "SCALE = 10", "SCALE_FACTOR = 10"),
        ),
        breaks(
            "constant its importers import deleted: SCALE",
            Module,
            |t| t.delete(CONSTS, "SCALE = 10\n"),
        ),
        breaks(
            "import of a package that is not installed inserted",
            Module,
            |t| {
                t.insert_before(
                    PALETTE,
                    "import enum\n",
                    "import geo_not_installed  # noqa: F401\n",
                )
            },
        ),
        breaks(
            "a name nothing binds read at import time: BORDER = WIDTH * 2",
            Module,
            |t| t.append(DERIVED, "\nBORDER = WIDTH * 2  # noqa: F821\n"),
        ),
        // --- New names nothing reads yet -----------------------------------------------------
        Edit {
            name: "new function with a new test file: only the new test file",
            reach: Local,
            effect: Breaks,
            apply: |t| {
                t.append(
                    SHAPES,
                    "\n\ndef hexagon_area(side):\n    return round(2.598 * side**2, consts.PRECISION)\n",
                );
                t.write(
                    "tests/test_hexagon.py",
                    "from geo.shapes import hexagon_area\n\n\ndef test_hexagon_area():\n    assert hexagon_area(1) == 2.5\n",
                );
            },
            at_most: Some(&["tests/test_hexagon.py"]),
        },
        harmless("new import nothing uses: import os", &[], |t| {
            t.insert_before(
                SHAPES,
                "from . import consts\n",
                "import os  # noqa: F401\n",
            )
        }),
        harmless(
            "new import of a package the base already imports: import pytest",
            &[],
            |t| {
                t.insert_before(
                    SHAPES,
                    "from . import consts\n",
                    "import pytest  # noqa: F401\n",
                )
            },
        ),
        // `fields(geo.Style)` in test_palette reads attributes by no name: it may read any.
        harmless(
            "new method nothing calls: Shape.volume",
            &["tests/test_palette.py"],
            |t| {
                t.insert_after(
                    SHAPES,
                    "    label = \"shape\"\n",
                    "\n    def volume(self):\n        return 0\n",
                )
            },
        ),
        harmless("TYPE_CHECKING import changed", &[], |t| {
            t.replace(
                SHAPES,
                "    from .palette import Style  # noqa: F401\n",
                "    from .palette import Grid, Style  # noqa: F401\n",
            )
        }),
        harmless("module docstring reworded", &[], |t| {
            t.replace(
                DERIVED,
                "\"\"\"Values computed from the constants while the module is imported.\"\"\"",
                "\"\"\"Values the module computes from the constants at import.\"\"\"",
            )
        }),
        // --- Import-time code that may raise on what the change makes ---------------------------
        breaks(
            "constant's type changed, combined at import time: LIMIT 100 -> \"100\"",
            Module,
            |t| t.replace(CONSTS, "LIMIT = 100", "LIMIT = \"100\""),
        ),
        breaks(
            "table lookup at import time with a changed key: DEFAULT_COLOR red -> blue",
            Module,
            |t| {
                t.replace(
                    CONSTS,
                    "DEFAULT_COLOR = \"red\"",
                    "DEFAULT_COLOR = \"blue\"",
                )
            },
        ),
        breaks(
            "assert at import time on a changed constant: MIN_SIDES 3 -> 2",
            Module,
            |t| t.replace(CONSTS, "MIN_SIDES = 3", "MIN_SIDES = 2"),
        ),
        breaks("an assert inserted at import time", Module, |t| {
            t.insert_after(
                DERIVED,
                "CEILING = LIMIT + SCALE\n",
                "assert MAX_AREA < 10\n",
            )
        }),
        breaks(
            "dataclass default changed to a mutable value: Style.width 1 -> []",
            Module,
            |t| t.replace(PALETTE, "    width: int = 1\n", "    width: int = []\n"),
        ),
        breaks(
            "a name a decorator factory reads at import time, deleted: PREFIX",
            Module,
            |t| t.delete(REGISTRY, "PREFIX = \"\"\n"),
        ),
        breaks(
            "a name a decorator factory reads at import time, changed: PREFIX \"\" -> \"x\"",
            Module,
            |t| t.replace(REGISTRY, "PREFIX = \"\"", "PREFIX = \"x\""),
        ),
        breaks(
            "a regular expression that does not compile, added at import time",
            Module,
            |t| {
                t.insert_after(
                    FORMATS,
                    "import functools\n",
                    "import re\n\nPATTERN = re.compile(\"(\")\n",
                )
            },
        ),
        breaks(
            "an optional import the base only suppresses, made unconditional",
            Module,
            |t| t.insert_after(CONSTS, "star imports.\"\"\"\n", "\nimport geo_native\n"),
        ),
        breaks(
            "a standard-library name that does not exist: from math import tau2",
            Module,
            |t| t.insert_after(CONSTS, "star imports.\"\"\"\n", "\nfrom math import tau2\n"),
        ),
        breaks("a name read before the module binds it", Module, |t| {
            t.insert_before(CONSTS, "LIMIT = 100", "EARLY = LIMIT\n")
        }),
        breaks(
            "a name only `if TYPE_CHECKING:` imports, read at import time",
            Module,
            |t| {
                t.insert_before(
                    SHAPES,
                    "try:\n    from math import tau\n",
                    "DEFAULT_STYLE = Style\n\n",
                )
            },
        ),
        breaks(
            "fast path removed: the try/except import falls back for both names",
            Local,
            |t| t.delete(SPEED, "def fast_area(r):\n    return 3.0 * r * r\n"),
        ),
        harmless("a memoised helper added, nothing calls it", &[], |t| {
            t.append(
                    FORMATS,
                    "\n\n@functools.lru_cache(maxsize=None)\ndef unit_names():\n    return (\"mm\", \"cm\", \"m\")\n",
                )
        }),
        // --- __all__, followed as the names star imports gain or lose ------------------------
        breaks(
            "__all__ changed line: a star-imported module exports a function that shadows too_big",
            Local,
            |t| {
                t.replace(
                    MEASURE,
                    "\"rounded_area\"]",
                    "\"rounded_area\", \"too_big\"]",
                );
                t.append(MEASURE, "\n\ndef too_big(value):\n    return False\n");
            },
        ),
        breaks(
            "__all__ inserted line: the package exports a module that shadows a test's own name",
            Local,
            |t| t.insert_after(INIT, "__all__ = [\n", "    \"formats\",\n"),
        ),
        breaks(
            "__all__ deleted line: the package stops exporting a name a star import brought",
            Local,
            |t| t.delete(INIT, "    \"area\",\n"),
        ),
        // The star importer `tests/test_star.py` is selected whole (pytest reads its namespace
        // for tests and fixtures); three readers of `geo.__all__` covshard cannot rule out: the
        // conftest's fixture
        // `unit` mentions the module `geo` itself, which a fixture could hand to its tests,
        // `fields(geo.Style)` hands a value of it to a call that may read anything, and
        // `geo.measure.__all__` is an `__all__` read from an object of the package.
        harmless(
            "__all__ gains a name no star importer reads",
            &[
                "tests/test_palette.py",
                "tests/test_star.py",
                "tests/test_stubs.py",
                "tests/test_units.py",
            ],
            |t| t.insert_after(INIT, "__all__ = [\n", "    \"registry\",\n"),
        ),
        // --- Comments beside code: the line's code is the same ------------------------------
        harmless(
            "a trailing comment added to an import-time line: LIMIT",
            &[],
            |t| t.replace(CONSTS, "LIMIT = 100\n", "LIMIT = 100  # type: int\n"),
        ),
        harmless("a trailing comment deleted from a star import", &[], |t| {
            t.replace(
                MEASURE,
                "from .consts import *  # noqa: F403\n",
                "from .consts import *\n",
            )
        }),
        harmless(
            "a trailing comment added to a function body line: area",
            &[],
            |t| {
                t.replace(
                    MEASURE,
                    "    return shape.area()\n",
                    "    return shape.area()  # shapes know their area\n",
                )
            },
        ),
        // --- A type stub: Python never imports it; a test reads it as a file -----------------
        breaks(
            "type stub changed line: area declared as areas",
            Local,
            |t| t.replace(STUB, "def area(", "def areas("),
        ),
        harmless(
            "type stub inserted line: a declaration the module does not export",
            &["tests/test_stubs.py"],
            |t| t.append(STUB, "def volume(shape: Shape) -> float: ...\n"),
        ),
        breaks("type stub deleted line: factor's declaration", Local, |t| {
            t.delete(STUB, "def factor() -> float: ...\n")
        }),
        // --- Where names cannot be followed ---------------------------------------------------
        breaks(
            "__all__ of a module a plugin star-imports drops a fixture: shape_side",
            Module,
            |t| {
                t.replace(
                    "src/geo/fixtures.py",
                    "__all__ = [\"shape_side\"]",
                    "__all__ = []",
                )
            },
        ),
        breaks(
            "star import replaced by a named import: measure loses PRECISION",
            Module,
            |t| {
                t.replace(
                    MEASURE,
                    "from .consts import *  # noqa: F403\n",
                    "from .consts import SCALE  # noqa: F401\n",
                )
            },
        ),
        breaks(
            "__all__ of a star-imported module loses a name: factor",
            Module,
            |t| t.replace(MEASURE, "\"factor\", ", ""),
        ),
        breaks(
            "__all__ lists a name the module no longer binds (it star-imports another): factor",
            Module,
            |t| t.delete(MEASURE, "def factor():\n    return FACTOR\n\n\n"),
        ),
        breaks(
            "__all__ lists a name the module renames (it star-imports another): factor",
            Module,
            |t| t.replace(MEASURE, "def factor():", "def factor_of():"),
        ),
        breaks(
            "__all__ lists a name the module does not bind: a star import of it raises",
            Module,
            |t| {
                t.replace(
                    MEASURE,
                    "\"rounded_area\"]",
                    "\"rounded_area\", \"volume\"]",
                )
            },
        ),
        breaks(
            "registry: a formatter registered under another name",
            Module,
            |t| t.replace(FORMATS, "@formatter(\"plain\")", "@formatter(\"text\")"),
        ),
        // A plugin a loader imports by a computed name: no import reaches it.
        breaks(
            "plugin imported by a computed name: changed line",
            Module,
            |t| t.replace(PLUG, "UNITS[\"in\"] = 2.54", "UNITS[\"in\"] = 2.5"),
        ),
        breaks(
            "plugin imported by a computed name: inserted line",
            Module,
            |t| t.append(PLUG, "UNITS[\"ft\"] = 30.48\n"),
        ),
        breaks(
            "plugin imported by a computed name: deleted line",
            Module,
            |t| t.delete(PLUG, "UNITS[\"in\"] = 2.54\n"),
        ),
        breaks("root conftest fixture: big 10_000 -> 100", Global, |t| {
            t.replace("tests/conftest.py", "return 10_000", "return 100")
        }),
    ]
}
