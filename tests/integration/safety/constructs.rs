//! The safety table of the constructs project (`tests/fixtures/constructs`): one module per
//! Python construct that makes selection hard, and for each construct a changed line, an
//! inserted line and a deleted line. Edits that insert lines take another path through
//! selection than edits that change lines (an inserted line has no old-side line of its own),
//! so each construct is tried both ways, and with a deletion.
//!
//! In this project `kit/__init__.py` imports `kit.exports` (a star import) and `kit.plugins`
//! (which registers into `kit.registry`), so every test depends on those; every other module
//! is imported only by its own test file.

use super::Effect::{Breaks, Harmless};
use super::Reach::{Global, Local, Module};
use super::{Edit, Tree, harmless};

const PROPS: &str = "src/kit/props.py";
const DISPATCH: &str = "src/kit/dispatch.py";
const BRANCHES: &str = "src/kit/branches.py";
const CLOSURES: &str = "src/kit/closures.py";
const MODELS: &str = "src/kit/models.py";
const FACTORY: &str = "src/kit/factory.py";
const HEADERS: &str = "src/kit/headers.py";
const FORMATS: &str = "src/kit/formats.py";
const PLUGINS: &str = "src/kit/plugins.py";
const EXPORTS: &str = "src/kit/exports.py";
const INIT: &str = "src/kit/__init__.py";
const NESTED_CONFTEST: &str = "tests/nested/conftest.py";
const HELPERS: &str = "src/kit/helpers.py";
const REACH: &str = "src/kit/reach.py";
const HANDLERS: &str = "src/kit/handlers.py";
const HOOKS: &str = "src/kit/hooks.py";
const SWITCHES: &str = "src/kit/switches.py";
const LOOKUP: &str = "src/kit/lookup.py";
const LEVELS: &str = "src/kit/levels.py";
const TIERS: &str = "src/kit/tiers.py";
const BACKENDS: &str = "src/kit/backends.py";
const STORE: &str = "src/kit/store.py";
const RATES: &str = "src/kit/rates.py";
const COLORS: &str = "src/kit/colors.py";
const SEEDS: &str = "src/kit/seeds.py";
const TABLES: &str = "src/kit/tables.py";
const CLI: &str = "src/kit/cli.py";
const TESTING: &str = "src/kit/testing.py";
const SLUGS: &str = "src/kit/slugs.py";
const GREET: &str = "src/kit/templates/greet.md";
const SHOUT: &str = "src/kit/shout.py";
const WORK: &str = "src/kit/work.py";
const LINES: &str = "src/kit/lines.py";
const ARITH: &str = "src/kit/doctested/arith.py";
const GUIDE: &str = "docs/guide.rst";
const RECIPES: &str = "docs/test_recipes.py";

/// One edit of the table.
fn edit(name: &'static str, reach: super::Reach, apply: fn(&Tree)) -> Edit {
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
        // --- A property's getter, setter and deleter share one name -----------------------
        edit("property getter: changed line", Local, |t| {
            t.replace(
                PROPS,
                "        self.log.append(\"get\")\n        return self._v\n",
                "        self.log.append(\"get\")\n        return self._v + 1\n",
            )
        }),
        edit("property getter: inserted line", Local, |t| {
            t.insert_after(
                PROPS,
                "        self.log.append(\"get\")\n",
                "        self._v = -1\n",
            )
        }),
        edit("property getter: deleted line", Local, |t| {
            t.delete(PROPS, "        self.log.append(\"get\")\n")
        }),
        edit("property setter: changed line", Local, |t| {
            t.replace(
                PROPS,
                "        self._v = value\n",
                "        self._v = -value\n",
            )
        }),
        edit(
            "property setter: inserted line (the getter shares its name)",
            Local,
            |t| t.insert_after(PROPS, "        self._v = value\n", "        self._v = -1\n"),
        ),
        edit("property setter: deleted line", Local, |t| {
            t.delete(PROPS, "        self.log.append(\"set\")\n")
        }),
        edit("property deleter: changed line", Local, |t| {
            t.replace(PROPS, "        self._v = None\n", "        self._v = 0\n")
        }),
        edit("property deleter: inserted line", Local, |t| {
            t.insert_after(
                PROPS,
                "        self._v = None\n",
                "        self._v = \"gone\"\n",
            )
        }),
        edit("property deleter: deleted line", Local, |t| {
            t.delete(PROPS, "        self.log.append(\"del\")\n")
        }),
        // --- cached_property: computed once, by whichever test reads it first -------------
        edit("cached_property: changed line", Module, |t| {
            t.replace(PROPS, "return self._v * 2", "return self._v * 3")
        }),
        edit("cached_property: inserted line", Module, |t| {
            t.insert_after(
                PROPS,
                "        self.log.append(\"doubled\")\n",
                "        self._v += 1\n",
            )
        }),
        edit("cached_property: deleted line", Module, |t| {
            t.delete(PROPS, "        self.log.append(\"doubled\")\n")
        }),
        // --- typing.overload stubs before the real definition ------------------------------
        edit("@overload implementation: changed line", Local, |t| {
            t.replace(DISPATCH, "return raw.strip()", "return raw.lstrip()")
        }),
        edit(
            "@overload implementation: inserted line (the stubs share its name)",
            Local,
            |t| {
                t.insert_before(
                    DISPATCH,
                    "    return raw.strip()\n",
                    "    raw = raw + \"!\"\n",
                )
            },
        ),
        edit("@overload implementation: deleted lines", Local, |t| {
            t.delete(
                DISPATCH,
                "    if isinstance(raw, int):\n        return raw\n",
            )
        }),
        // --- functools.singledispatch: several `def _` registrations -----------------------
        edit("singledispatch registration: changed line", Local, |t| {
            t.replace(DISPATCH, "\",\".join(parts)", "\";\".join(parts)")
        }),
        edit(
            "singledispatch registration: inserted line (every registration is `_`)",
            Local,
            |t| {
                t.insert_after(
                    DISPATCH,
                    "    parts = [str(v) for v in value]\n",
                    "    parts.reverse()\n",
                )
            },
        ),
        edit("singledispatch registration: deleted line", Local, |t| {
            t.delete(DISPATCH, "    parts = [str(v) for v in value]\n")
        }),
        // --- functools.singledispatchmethod -------------------------------------------------
        edit(
            "singledispatchmethod registration: changed line",
            Local,
            |t| t.replace(DISPATCH, "text = arg.upper()", "text = arg.lower()"),
        ),
        edit(
            "singledispatchmethod registration: inserted line",
            Local,
            |t| {
                t.insert_after(
                    DISPATCH,
                    "        text = arg.upper()\n",
                    "        text = text * 2\n",
                )
            },
        ),
        edit(
            "singledispatchmethod registration: deleted line",
            Local,
            |t| t.delete(DISPATCH, "        text = arg.upper()\n"),
        ),
        // --- One function defined in both branches of an `if` and of a `try` ---------------
        edit(
            "function in both branches of if: changed line",
            Local,
            |t| t.replace(BRANCHES, "sep = \"-\"", "sep = \"=\""),
        ),
        edit(
            "function in both branches of if: inserted line in the live branch",
            Local,
            |t| {
                t.insert_after(
                    BRANCHES,
                    "        sep = \"-\"\n",
                    "        parts = list(reversed(parts))\n",
                )
            },
        ),
        edit(
            "function in both branches of if: deleted line",
            Local,
            |t| t.delete(BRANCHES, "        sep = \"-\"\n"),
        ),
        edit(
            "function in both branches of try: changed line",
            Local,
            |t| t.replace(BRANCHES, "% 251", "% 7"),
        ),
        edit(
            "function in both branches of try: inserted line in the live branch",
            Local,
            |t| t.insert_after(BRANCHES, "        total = 0\n", "        total = 1\n"),
        ),
        edit(
            "function in both branches of try: deleted line",
            Local,
            |t| t.delete(BRANCHES, "        total = 0\n"),
        ),
        // --- if TYPE_CHECKING: / else: at module level --------------------------------------
        edit("TYPE_CHECKING else branch: changed line", Module, |t| {
            t.replace(BRANCHES, "    Thing = None\n", "    Thing = object\n")
        }),
        edit("TYPE_CHECKING else branch: inserted line", Module, |t| {
            t.insert_after(BRANCHES, "    Thing = None\n", "    Thing = int\n")
        }),
        edit("TYPE_CHECKING else branch: deleted lines", Module, |t| {
            t.delete(BRANCHES, "else:\n    Thing = None\n")
        }),
        Edit {
            name: "TYPE_CHECKING block: changed import (never runs)",
            reach: Module,
            effect: Harmless,
            at_most: None,
            apply: |t| {
                t.replace(
                    BRANCHES,
                    "    from kit.props import Thing\n",
                    "    from kit.props import Thing as Thing\n",
                )
            },
        },
        // --- Nested functions and closures --------------------------------------------------
        edit("closure: changed line", Local, |t| {
            t.replace(CLOSURES, "count[0] += by\n", "count[0] += by * 2\n")
        }),
        edit("closure: inserted line", Local, |t| {
            t.insert_after(
                CLOSURES,
                "        count[0] += by\n",
                "        count[0] -= 1\n",
            )
        }),
        edit("closure: deleted line", Local, |t| {
            t.delete(CLOSURES, "        count[0] += by\n")
        }),
        edit(
            "nested function defined in both branches: changed line",
            Local,
            |t| t.replace(CLOSURES, "word = \"Hi\"", "word = \"Hey\""),
        ),
        edit(
            "nested function defined in both branches: inserted line in the second",
            Local,
            |t| {
                t.insert_after(
                    CLOSURES,
                    "            word = \"Hi\"\n",
                    "            name = name.upper()\n",
                )
            },
        ),
        edit(
            "nested function defined in both branches: deleted line",
            Local,
            |t| t.delete(CLOSURES, "            word = \"Hi\"\n"),
        ),
        // --- Lambdas assigned at module level -----------------------------------------------
        edit("module-level lambda: changed line", Module, |t| {
            t.replace(CLOSURES, "lambda x: x * x", "lambda x: x * x + 1")
        }),
        edit("module-level lambda: inserted line", Module, |t| {
            t.insert_after(
                CLOSURES,
                "clamp = lambda x, lo=0, hi=10: (  # noqa: E731\n",
                "    1 +\n",
            )
        }),
        edit(
            "module-level lambda: deleted line (the test file stops collecting)",
            Module,
            |t| t.delete(CLOSURES, "square = lambda x: x * x  # noqa: E731\n"),
        ),
        // --- A registering class decorator (its body runs at import time) ------------------
        edit("class decorator body: changed line", Module, |t| {
            t.replace(
                MODELS,
                "key = cls.__name__.lower()",
                "key = cls.__name__.upper()",
            )
        }),
        edit(
            "class decorator body: inserted line (run at import time)",
            Module,
            |t| {
                t.insert_after(
                    MODELS,
                    "    MODELS[key] = cls\n",
                    "    MODELS[key + \"2\"] = cls\n",
                )
            },
        ),
        edit("class decorator body: deleted line", Module, |t| {
            t.delete(MODELS, "    MODELS[key] = cls\n")
        }),
        edit("class decorator applied: removed", Module, |t| {
            t.replace(MODELS, "@model\nclass Gadget:\n", "class Gadget:\n")
        }),
        // --- dataclass field defaults --------------------------------------------------------
        edit("dataclass field default: changed line", Module, |t| {
            t.replace(MODELS, "retries: int = 3", "retries: int = 4")
        }),
        edit("dataclass field: inserted line", Module, |t| {
            t.insert_after(
                MODELS,
                "    timeout: float = 1.5\n",
                "    verbose: bool = False\n",
            )
        }),
        edit("dataclass field: deleted line", Module, |t| {
            t.delete(MODELS, "    timeout: float = 1.5\n")
        }),
        // --- __init_subclass__ (runs when each subclass is created) ------------------------
        edit("__init_subclass__: changed line", Module, |t| {
            t.replace(
                MODELS,
                "key = name or cls.__name__.lower()",
                "key = name or cls.__name__.upper()",
            )
        }),
        edit(
            "__init_subclass__: inserted line (run at import time)",
            Module,
            |t| {
                t.insert_after(
                    MODELS,
                    "        key = name or cls.__name__.lower()\n",
                    "        key = \"plugin-\" + key\n",
                )
            },
        ),
        edit("__init_subclass__: deleted line", Module, |t| {
            t.delete(MODELS, "        Plugin.registry[key] = cls\n")
        }),
        // --- A metaclass's __new__ ------------------------------------------------------------
        edit("metaclass __new__: changed line", Module, |t| {
            t.replace(
                MODELS,
                "namespace.setdefault(\"tag\", name.lower())",
                "namespace.setdefault(\"tag\", name.upper())",
            )
        }),
        edit(
            "metaclass __new__: inserted line (run at import time)",
            Module,
            |t| {
                t.insert_after(
                    MODELS,
                    "        namespace.setdefault(\"tag\", name.lower())\n",
                    "        namespace[\"tag\"] = \"x\"\n",
                )
            },
        ),
        edit("metaclass __new__: deleted line", Module, |t| {
            t.delete(
                MODELS,
                "        namespace.setdefault(\"tag\", name.lower())\n",
            )
        }),
        // --- An attrs-like class decorator applied in a test module ------------------------
        edit(
            "class decorator applied in a test module: changed line",
            Module,
            |t| {
                t.replace(
                    FACTORY,
                    "names = list(cls.__annotations__)",
                    "names = sorted(cls.__annotations__, reverse=True)",
                )
            },
        ),
        edit(
            "class decorator applied in a test module: inserted line",
            Module,
            |t| {
                t.insert_after(
                    FACTORY,
                    "    names = list(cls.__annotations__)\n",
                    "    names.reverse()\n",
                )
            },
        ),
        edit(
            "class decorator applied in a test module: deleted line",
            Module,
            |t| t.delete(FACTORY, "    cls.__fields__ = tuple(names)\n"),
        ),
        // --- A class factory called at module level of another module ----------------------
        edit("factory called at import time: changed line", Module, |t| {
            t.replace(FACTORY, "start=1", "start=0")
        }),
        edit(
            "factory called at import time: inserted line",
            Module,
            |t| {
                t.insert_after(
                    FACTORY,
                    "        namespace[member] = number\n",
                    "    namespace[\"GREEN\"] = 0\n",
                )
            },
        ),
        edit(
            "factory called at import time: deleted line (the importer stops collecting)",
            Module,
            |t| t.delete(FACTORY, "    namespace = {}\n"),
        ),
        // --- A method that a memoised function in another module calls ---------------------
        edit(
            "callee of an lru_cache function: changed line",
            Module,
            |t| t.replace(HEADERS, "head = self.blob[:4]", "head = self.blob[:3]"),
        ),
        edit(
            "callee of an lru_cache function: inserted line",
            Module,
            |t| {
                t.insert_after(
                    HEADERS,
                    "        head = self.blob[:4]\n",
                    "        head = head.lower()\n",
                )
            },
        ),
        edit(
            "callee of an lru_cache function: deleted line",
            Module,
            |t| t.delete(HEADERS, "        head = self.blob[:4]\n"),
        ),
        edit(
            "callee of a hand-written cache: changed line",
            Module,
            |t| t.replace(HEADERS, "return self.blob[4]", "return self.blob[4] + 1"),
        ),
        edit(
            "callee of a hand-written cache: inserted line",
            Module,
            |t| {
                t.insert_before(
                    HEADERS,
                    "        return self.blob[4]\n",
                    "        self.blob = self.blob[1:]\n",
                )
            },
        ),
        edit("memoised function itself: deleted line", Module, |t| {
            t.delete(FORMATS, "    reader = HeaderReader(SAMPLES[kind])\n")
        }),
        // --- Functions a memoised one reaches without naming them ---------------------------
        edit(
            "memoised caller through a decorator's wrapper: changed line",
            Module,
            |t| t.replace(HELPERS, "return 2 * fn(x)", "return 3 * fn(x)"),
        ),
        edit(
            "memoised caller through a decorated function: inserted line",
            Module,
            |t| t.insert_before(HELPERS, "    return x + 1\n", "    x = x * 2\n"),
        ),
        edit(
            "memoised caller through an inherited __init__: changed line",
            Module,
            |t| t.replace(HELPERS, "self.k = k + 1", "self.k = k + 2"),
        ),
        edit(
            "memoised caller through an inherited __init__: inserted line",
            Module,
            |t| {
                t.insert_after(
                    HELPERS,
                    "        self.k = k + 1\n",
                    "        self.k = -self.k\n",
                )
            },
        ),
        edit(
            "memoised callers through an import alias and a module-level alias: changed line",
            Module,
            |t| t.replace(HELPERS, "return x * x", "return x * x + 1"),
        ),
        edit(
            "memoised callers through a partial, a class attribute, an instance cache and a one-line function: changed line",
            Module,
            |t| t.replace(HELPERS, "return x * m\n", "return x * m + 1\n"),
        ),
        edit(
            "memoised callers through a partial and others: deleted line",
            Module,
            |t| {
                t.replace(
                    HELPERS,
                    "def times(x, m=1):\n    return x * m\n",
                    "def times(x, m=1):\n    pass\n",
                )
            },
        ),
        edit(
            "function under a hand-written memoize decorator (a closure's cache): changed line",
            Module,
            |t| t.replace(REACH, "return k * 10", "return k * 11"),
        ),
        edit(
            "function under a hand-written memoize decorator: inserted line",
            Module,
            |t| t.insert_before(REACH, "    return k * 10\n", "    k = k + 1\n"),
        ),
        edit(
            "method caching on a module-level instance: changed line",
            Module,
            |t| t.replace(HELPERS, "times(k, 3)", "times(k, 4)"),
        ),
        edit(
            "callee of a cache in an unmeasured test helper and of a session fixture: inserted line",
            Module,
            |t| t.insert_before(HELPERS, "    return x * x\n", "    x = x + 1\n"),
        ),
        // --- A decorator inside a factory that runs at import time -------------------------
        edit(
            "decorator added to a function nested in a factory run at import time",
            Module,
            |t| {
                t.insert_before(
                    HANDLERS,
                    "    @register(name)\n",
                    "    @register(name + \"_alias\")\n",
                )
            },
        ),
        edit(
            "decorator argument of a function nested in a factory run at import time",
            Module,
            |t| t.replace(HANDLERS, "@register(name)", "@register(name.upper())"),
        ),
        // --- A module that registers into another module's registry at import time --------
        edit("registration at import time: changed line", Module, |t| {
            t.replace(
                PLUGINS,
                "registry.register(\"reverse\", Reverse)",
                "registry.register(\"rev\", Reverse)",
            )
        }),
        edit("registration at import time: inserted line", Module, |t| {
            t.insert_after(
                PLUGINS,
                "registry.register(\"reverse\", Reverse)\n",
                "registry.register(\"upper\", Reverse)\n",
            )
        }),
        edit("registration at import time: deleted line", Module, |t| {
            t.delete(PLUGINS, "registry.register(\"upper\", Upper)\n")
        }),
        // --- __all__ and the star import that reads it -------------------------------------
        edit("__all__: changed line", Module, |t| {
            t.replace(
                EXPORTS,
                "__all__ = [\"slug\", \"title\"]",
                "__all__ = [\"slug\"]",
            )
        }),
        edit("__all__: inserted line", Module, |t| {
            t.insert_after(
                EXPORTS,
                "__all__ = [\"slug\", \"title\"]\n",
                "__all__ += [\"internal\"]\n",
            )
        }),
        edit("__all__: deleted line", Module, |t| {
            t.delete(EXPORTS, "__all__ = [\"slug\", \"title\"]\n")
        }),
        edit("star import: replaced by a named import", Module, |t| {
            t.replace(
                INIT,
                "from .exports import *  # noqa: F403\n",
                "from .exports import slug  # noqa: F401\n",
            )
        }),
        // --- A conftest fixture that overrides the root one ---------------------------------
        edit("conftest fixture override: changed line", Local, |t| {
            t.replace(
                NESTED_CONFTEST,
                "merged[\"level\"] = \"nested\"",
                "merged[\"level\"] = \"inner\"",
            )
        }),
        edit("conftest fixture override: inserted line", Local, |t| {
            t.insert_after(
                NESTED_CONFTEST,
                "    merged[\"level\"] = \"nested\"\n",
                "    merged[\"retries\"] = 2\n",
            )
        }),
        edit("conftest fixture override: deleted line", Local, |t| {
            t.delete(NESTED_CONFTEST, "    merged[\"level\"] = \"nested\"\n")
        }),
        edit("root conftest fixture: changed line", Global, |t| {
            t.replace("tests/conftest.py", "\"retries\": 1", "\"retries\": 2")
        }),
        // --- A module handed on as a value, whose names another module reads by listing them
        edit(
            "module read through vars() of a parameter: inserted line",
            Local,
            |t| t.append(HOOKS, "hook_c = hook_a\n"),
        ),
        edit(
            "module read through vars() of a parameter: changed line",
            Local,
            |t| t.replace(HOOKS, "hook_b = hook_a", "hook_z = hook_a"),
        ),
        edit(
            "module read through vars() of a parameter: deleted line",
            Local,
            |t| t.delete(HOOKS, "hook_b = hook_a\n"),
        ),
        // --- A base-class method called through its class on a module-level instance ------
        edit(
            "callee of a store filled through Store.update(self, ...): changed line",
            Module,
            |t| t.replace(STORE, "    base = 10\n", "    base = 20\n"),
        ),
        edit(
            "callee of a store filled through Store.update(self, ...): inserted line",
            Module,
            |t| t.insert_after(STORE, "    base = 10\n", "    base += 1\n"),
        ),
        edit(
            "callee of a store filled through Store.update(self, ...): deleted line",
            Module,
            |t| t.delete(STORE, "    base = 10\n"),
        ),
        // --- A cached function that imports its callee inside its body ---------------------
        edit(
            "callee a cached function imports in its body: changed line",
            Module,
            |t| t.replace(BACKENDS, "    speed = 2\n", "    speed = 5\n"),
        ),
        edit(
            "callee a cached function imports in its body: inserted line",
            Module,
            |t| t.insert_after(BACKENDS, "    speed = 2\n", "    speed += 1\n"),
        ),
        edit(
            "callee a cached function imports in its body: deleted line",
            Module,
            |t| t.delete(BACKENDS, "    speed = 2\n"),
        ),
        // --- A cached function that reaches its callee through a class it makes -----------
        edit(
            "callee of a class a cached function makes in its body: changed line",
            Module,
            |t| t.replace(RATES, "    factor = 3\n", "    factor = 4\n"),
        ),
        edit(
            "callee of a class a cached function makes in its body: inserted line",
            Module,
            |t| t.insert_after(RATES, "    factor = 3\n", "    factor += 1\n"),
        ),
        edit(
            "callee of a class a cached function makes in its body: deleted line",
            Module,
            |t| t.delete(RATES, "    factor = 3\n"),
        ),
        // --- A module kept in a list, whose names `getattr` reads from a computed object ---
        edit(
            "module read by getattr of a computed object: changed line",
            Local,
            |t| t.replace(SWITCHES, "MODE = \"fast\"", "MODE = \"slow\""),
        ),
        edit(
            "module read by getattr of a computed object: inserted line",
            Local,
            |t| t.insert_after(SWITCHES, "MODE = \"fast\"\n", "MODE = \"slow\"\n"),
        ),
        edit(
            "module read by getattr of a computed object: deleted line",
            Local,
            |t| t.delete(SWITCHES, "RETRIES = 2\n"),
        ),
        // A module no code spells as a value, returned by `getattr(kit, "levels")` and handed
        // on from there to `Snapshot`, which copies its names.
        edit(
            "module read by getattr of what a call returns: changed line",
            Local,
            |t| t.replace(LEVELS, "LEVEL = 1", "LEVEL = 2"),
        ),
        edit(
            "module read by getattr of what a call returns: inserted line",
            Local,
            |t| t.insert_after(LEVELS, "DEPTH = 3\n", "DEPTH = 4\n"),
        ),
        edit(
            "module read by getattr of what a call returns: deleted line",
            Local,
            |t| t.delete(LEVELS, "LEVEL = 1\n"),
        ),
        // A module an instance keeps in an attribute: `getattr(self.source, name)`.
        edit(
            "module read by getattr of an instance's attribute: changed line",
            Local,
            |t| t.replace(TIERS, "TOP = 5", "TOP = 6"),
        ),
        edit(
            "module read by getattr of an instance's attribute: inserted line",
            Local,
            |t| t.insert_after(TIERS, "LOW = 1\n", "LOW = 0\n"),
        ),
        edit(
            "module read by getattr of an instance's attribute: deleted line",
            Local,
            |t| t.delete(TIERS, "TOP = 5\n"),
        ),
        // The reader's own module is handed nowhere: its computed getattr cannot read a new
        // name of its own.
        harmless(
            "new constant beside a getattr of a computed object, in a module nothing hands on",
            // But the test that runs the package in child processes coverage does not see.
            &["tests/test_spawn.py"],
            |t| t.append(LOOKUP, "\nTIMEOUT = 30\n"),
        ),
        // --- pyproject.toml by section: a linter's table that one test reads back ---------
        edit(
            "linter section of pyproject.toml: changed line",
            Local,
            |t| t.replace("pyproject.toml", "line-length = 100", "line-length = 120"),
        ),
        edit(
            "linter section of pyproject.toml: inserted line",
            Local,
            |t| {
                t.insert_after(
                    "pyproject.toml",
                    "line-length = 100\n",
                    "extend-exclude = [\"build\"]\n",
                )
            },
        ),
        edit(
            "linter section of pyproject.toml: deleted line",
            Local,
            |t| t.delete("pyproject.toml", "line-length = 100\n"),
        ),
        edit(
            "pytest section of pyproject.toml: inserted line",
            Global,
            |t| {
                t.insert_after(
                    "pyproject.toml",
                    "testpaths = [\"tests\", \"docs\", \"src/kit/doctested/arith.py\"]\n",
                    "usefixtures = [\"no_such_fixture\"]\n",
                )
            },
        ),
        edit(
            "pytest section of pyproject.toml: changed line",
            Global,
            |t| {
                t.replace(
                    "pyproject.toml",
                    "pythonpath = [\"src\"]",
                    "pythonpath = [\"lib\"]",
                )
            },
        ),
        edit(
            "pytest section of pyproject.toml: deleted line",
            Global,
            |t| t.delete("pyproject.toml", "pythonpath = [\"src\"]\n"),
        ),
        // A module nothing hands on: reads of objects' namespaces elsewhere (`vars(obj)` in
        // `kit.runner`) cannot reach its new name, so only the new test runs.
        Edit {
            name: "new function in a module nothing hands on, with its test",
            reach: Local,
            effect: Harmless,
            apply: |t| {
                t.append(HELPERS, "\n\ndef tripled(x):\n    return 3 * x\n");
                t.write(
                    "tests/test_tripled.py",
                    "from kit.helpers import tripled\n\n\ndef test_tripled():\n    assert tripled(2) == 6\n",
                );
            },
            // And the test that runs the package in child processes coverage does not see.
            at_most: Some(&["tests/test_tripled.py", "tests/test_spawn.py"]),
        },
        // --- xunit-style setup: run once, in the first test's setup, for every test after --
        edit("function a setup_module calls: changed line", Module, |t| {
            t.replace(SEEDS, "out = [\"a\", \"b\"]", "out = [\"a\", \"c\"]")
        }),
        edit(
            "function a setup_module calls: inserted line",
            Module,
            |t| t.insert_after(SEEDS, "    out = [\"a\", \"b\"]\n", "    out = []\n"),
        ),
        edit("function a setup_module calls: deleted line", Module, |t| {
            t.delete(SEEDS, "    out = [\"a\", \"b\"]\n")
        }),
        edit(
            "function a unittest setUpClass calls: changed line",
            Module,
            |t| t.replace(SEEDS, "top = 3", "top = 4"),
        ),
        edit(
            "function a unittest setUpClass calls: inserted line",
            Module,
            |t| t.insert_after(SEEDS, "    top = 3\n", "    top = 0\n"),
        ),
        edit(
            "function a unittest setUpClass calls: deleted line",
            Module,
            |t| t.delete(SEEDS, "    top = 3\n"),
        ),
        edit(
            "function a setUpTestData hook calls (a base's setUpClass runs it): changed line",
            Module,
            |t| t.replace(SEEDS, "found = [7]", "found = [8]"),
        ),
        edit(
            "function a setUpTestData hook calls (a base's setUpClass runs it): inserted line",
            Module,
            |t| t.insert_after(SEEDS, "    found = [7]\n", "    found = []\n"),
        ),
        edit(
            "function a setUpTestData hook calls (a base's setUpClass runs it): deleted line",
            Module,
            |t| t.delete(SEEDS, "    found = [7]\n"),
        ),
        edit(
            "setUpClass of a measured base class: changed line",
            Module,
            |t| t.replace(TESTING, "cls.level = depth()", "cls.level = depth() + 1"),
        ),
        edit(
            "setUpClass of a measured base class: inserted line",
            Module,
            |t| {
                t.insert_after(
                    TESTING,
                    "        cls.level = depth()\n",
                    "        cls.level = 0\n",
                )
            },
        ),
        edit(
            "setUpClass of a measured base class: deleted line",
            Module,
            |t| t.delete(TESTING, "        cls.level = depth()\n"),
        ),
        edit(
            "function a measured base's setUpClass calls: changed line",
            Module,
            |t| t.replace(SEEDS, "level = 2", "level = 3"),
        ),
        edit(
            "function a measured base's setUpClass calls: inserted line",
            Module,
            |t| t.insert_after(SEEDS, "    level = 2\n", "    level = 0\n"),
        ),
        edit(
            "function a measured base's setUpClass calls: deleted line",
            Module,
            |t| t.delete(SEEDS, "    level = 2\n"),
        ),
        // --- Hand-written caches the first test fills: a class attribute, a mutable default --
        edit(
            "function a class attribute's cache keeps: changed line",
            Module,
            |t| t.replace(TABLES, "items = [1, 2]", "items = [1, 3]"),
        ),
        edit(
            "function a class attribute's cache keeps: inserted line",
            Module,
            |t| t.insert_after(TABLES, "    items = [1, 2]\n", "    items = []\n"),
        ),
        edit(
            "function a class attribute's cache keeps: deleted line",
            Module,
            |t| t.delete(TABLES, "    items = [1, 2]\n"),
        ),
        edit(
            "function a mutable default's cache keeps: changed line",
            Module,
            |t| t.replace(TABLES, "total = 10", "total = 11"),
        ),
        edit(
            "function a mutable default's cache keeps: inserted line",
            Module,
            |t| t.insert_after(TABLES, "    total = 10\n", "    total = 0\n"),
        ),
        edit(
            "function a mutable default's cache keeps: deleted line",
            Module,
            |t| t.delete(TABLES, "    total = 10\n"),
        ),
        edit(
            "function a base class's cache keeps (filled through a subclass): changed line",
            Module,
            |t| t.replace(TABLES, "names = [\"x\"]", "names = [\"y\"]"),
        ),
        edit(
            "function a base class's cache keeps (filled through a subclass): inserted line",
            Module,
            |t| t.insert_after(TABLES, "    names = [\"x\"]\n", "    names = []\n"),
        ),
        edit(
            "function a base class's cache keeps (filled through a subclass): deleted line",
            Module,
            |t| t.delete(TABLES, "    names = [\"x\"]\n"),
        ),
        edit(
            "function a class attribute's ChainMap keeps: changed line",
            Module,
            |t| t.replace(TABLES, "price = 5", "price = 6"),
        ),
        edit(
            "function a class attribute's ChainMap keeps: inserted line",
            Module,
            |t| t.insert_after(TABLES, "    price = 5\n", "    price = 0\n"),
        ),
        edit(
            "function a class attribute's ChainMap keeps: deleted line",
            Module,
            |t| t.delete(TABLES, "    price = 5\n"),
        ),
        edit(
            "function a getter's entry of module state keeps: changed line",
            Module,
            |t| t.replace(TABLES, "found = [\"e\"]", "found = [\"f\"]"),
        ),
        edit(
            "function a getter's entry of module state keeps: inserted line",
            Module,
            |t| t.insert_after(TABLES, "    found = [\"e\"]\n", "    found = []\n"),
        ),
        edit(
            "function a getter's entry of module state keeps: deleted line",
            Module,
            |t| t.delete(TABLES, "    found = [\"e\"]\n"),
        ),
        edit(
            "function a call at import time wraps in a cache (`lru_cache(...)(f)`): changed line",
            Module,
            |t| t.replace(TABLES, "rows = [6]", "rows = [8]"),
        ),
        edit(
            "function a call at import time wraps in a cache (`lru_cache(...)(f)`): inserted line",
            Module,
            |t| t.insert_after(TABLES, "    rows = [6]\n", "    rows = []\n"),
        ),
        edit(
            "function a call at import time wraps in a cache (`lru_cache(...)(f)`): deleted line",
            Module,
            |t| t.delete(TABLES, "    rows = [6]\n"),
        ),
        edit(
            "function whose result an object the module made keeps (`_SHELF.put`): changed line",
            Module,
            |t| t.replace(TABLES, "width = 7", "width = 8"),
        ),
        edit(
            "function whose result an object the module made keeps (`_SHELF.put`): inserted line",
            Module,
            |t| t.insert_after(TABLES, "    width = 7\n", "    width = 0\n"),
        ),
        edit(
            "function whose result an object the module made keeps (`_SHELF.put`): deleted line",
            Module,
            |t| t.delete(TABLES, "    width = 7\n"),
        ),
        edit(
            "enum's `_generate_next_value_` on a base: changed line",
            Module,
            |t| {
                t.replace(
                    SLUGS,
                    "value.replace(\"_\", \"-\")",
                    "value.replace(\"_\", \".\")",
                )
            },
        ),
        edit(
            "enum's `_generate_next_value_` on a base: inserted line",
            Module,
            |t| {
                t.insert_after(
                    SLUGS,
                    "        value = name.lower()\n",
                    "        value = value.upper()\n",
                )
            },
        ),
        edit(
            "enum's `_generate_next_value_` on a base: deleted line",
            Module,
            |t| t.delete(SLUGS, "        value = value.replace(\"_\", \"-\")\n"),
        ),
        // --- Docstrings read as data: `__doc__` of a module, a class, a function ------------
        edit(
            "docstring a decorator reads while the module imports: changed line",
            Module,
            |t| t.replace(CLI, "Greet the user.", "Greet someone."),
        ),
        edit(
            "docstring a decorator reads while the module imports: inserted line",
            Module,
            |t| t.insert_after(CLI, "    By name.\n", "    Twice.\n"),
        ),
        edit(
            "docstring a decorator reads while the module imports: deleted line",
            Module,
            |t| t.delete(CLI, "    By name.\n"),
        ),
        edit(
            "module docstring read at import: changed line",
            Module,
            |t| {
                t.replace(
                    CLI,
                    "\"\"\"Frobnicate kit's files.\"\"\"",
                    "\"\"\"Frobnicate files.\"\"\"",
                )
            },
        ),
        edit(
            "module docstring read at import: inserted line",
            Module,
            |t| {
                t.replace(
                    CLI,
                    "\"\"\"Frobnicate kit's files.\"\"\"\n",
                    "\"\"\"Frobnicate kit's files.\n\nAnd more.\n\"\"\"\n",
                )
            },
        ),
        edit(
            "module docstring read at import: deleted line",
            Module,
            |t| t.delete(CLI, "\"\"\"Frobnicate kit's files.\"\"\"\n"),
        ),
        edit(
            "a string inserted before `from __future__` (does not compile)",
            Module,
            |t| {
                t.insert_after(
                    CLI,
                    "\"\"\"Frobnicate kit's files.\"\"\"\n",
                    "\"\"\"Second.\"\"\"\n",
                )
            },
        ),
        edit(
            "class docstring read by a function: changed line",
            Module,
            |t| t.replace(CLI, "\"\"\"Run the command.\"\"\"", "\"\"\"Run it.\"\"\""),
        ),
        edit(
            "class docstring read by a function: inserted line (it is no docstring then)",
            Module,
            |t| t.insert_before(CLI, "    \"\"\"Run the command.\"\"\"\n", "    kind = 1\n"),
        ),
        edit(
            "class docstring read by a function: deleted line",
            Module,
            |t| t.delete(CLI, "    \"\"\"Run the command.\"\"\"\n"),
        ),
        edit(
            "function docstring read by another: changed line",
            Local,
            |t| t.replace(CLI, "\"\"\"Say hello.\"\"\"", "\"\"\"Say hi.\"\"\""),
        ),
        edit(
            "function docstring read by another: inserted line (it is no docstring then)",
            Local,
            |t| t.insert_before(CLI, "    \"\"\"Say hello.\"\"\"\n", "    greeting = 1\n"),
        ),
        edit(
            "function docstring read by another: deleted line",
            Local,
            |t| t.delete(CLI, "    \"\"\"Say hello.\"\"\"\n"),
        ),
        // --- Documentation patterns and data: a template in the package, a README a test reads
        edit(
            "package data named like documentation: changed line",
            Global,
            |t| t.replace(GREET, "Hello {name}", "Hi {name}"),
        ),
        edit(
            "package data named like documentation: inserted line",
            Global,
            |t| t.insert_before(GREET, "Hello {name}", "Dear reader,\n"),
        ),
        edit(
            "package data named like documentation: deleted line",
            Global,
            |t| t.delete(GREET, "Hello {name}\n"),
        ),
        edit("a README a test reads: changed line", Local, |t| {
            t.replace("README.md", "Version 2.0.0", "Version 2.1.0")
        }),
        edit("a README a test reads: inserted line", Local, |t| {
            t.insert_before("README.md", "# kit\n", "<!-- badges -->\n")
        }),
        edit("a README a test reads: deleted line", Local, |t| {
            t.delete("README.md", "Version 2.0.0\n")
        }),
        harmless("documentation nothing reads, reworded", &[], |t| {
            t.replace("NOTES.md", "Nothing reads", "Nobody reads")
        }),
        // --- Code tests run where coverage does not see: a child process, line numbers --------
        edit(
            "a program a test runs in a child process: changed line",
            Local,
            |t| t.replace(SHOUT, "print(word.upper())", "print(word.lower())"),
        ),
        edit(
            "a program a test runs in a child process: inserted line",
            Local,
            |t| t.insert_after(SHOUT, "    word = argv[0]\n", "    word = word[::-1]\n"),
        ),
        edit(
            "a program a test runs in a child process: deleted line",
            Local,
            |t| t.delete(SHOUT, "    word = argv[0]\n"),
        ),
        edit("a function a process pool runs: changed line", Local, |t| {
            t.replace(WORK, "result = x * x", "result = x + x")
        }),
        edit(
            "a function a process pool runs: inserted line",
            Local,
            |t| t.insert_after(WORK, "    result = x * x\n", "    result = 0\n"),
        ),
        edit("a function a process pool runs: deleted line", Local, |t| {
            t.delete(WORK, "    result = x * x\n")
        }),
        edit(
            "a warning's line number a test checks: comment inserted above",
            Local,
            |t| {
                t.insert_before(
                    LINES,
                    "import warnings\n",
                    "# Warnings, with their lines.\n",
                )
            },
        ),
        edit(
            "a warning's line number a test checks: blank line inserted",
            Local,
            |t| t.insert_before(LINES, "def warn_me():\n", "\n"),
        ),
        edit(
            "a warning's line number a test checks: blank line deleted",
            Local,
            |t| t.replace(LINES, "import warnings\n\n\n", "import warnings\n\n"),
        ),
        harmless(
            "a warning's line number a test checks: comment changed in place",
            &["tests/test_lines.py"],
            |t| {
                t.replace(
                    LINES,
                    "import warnings\n",
                    "import warnings  # the standard library\n",
                )
            },
        ),
        // --- Doctests of a module (`--doctest-modules`): one that runs no line of the package
        // has no context ---------------------------------------------------------------------
        edit(
            "module doctest no context names: changed line",
            Local,
            |t| t.replace(ARITH, ">>> 2 + 2\n4\n", ">>> 2 + 2\n5\n"),
        ),
        edit(
            "module doctest no context names: inserted line",
            Local,
            |t| t.insert_before(ARITH, ">>> 2 + 2\n", ">>> 1 + 1\n3\n"),
        ),
        edit(
            "module doctest no context names: deleted line",
            Local,
            |t| t.replace(ARITH, ">>> 2 + 2\n4\n", ">>> 2 + 2\n"),
        ),
        edit("function doctest: changed line", Local, |t| {
            t.replace(ARITH, "    6\n", "    7\n")
        }),
        // --- A file only a linter reads, and one test that reads it back ---------------------
        edit(
            "linter's own configuration file: changed line",
            Local,
            |t| {
                t.replace(
                    ".flake8",
                    "max-line-length = 100\n",
                    "max-line-length = 120\n",
                )
            },
        ),
        edit(
            "linter's own configuration file: inserted line",
            Local,
            |t| t.insert_after(".flake8", "[flake8]\n", "extend-ignore = W503\n"),
        ),
        edit(
            "linter's own configuration file: deleted line",
            Local,
            |t| t.delete(".flake8", "extend-ignore = E203\n"),
        ),
        harmless(
            "a file only a documentation host reads, added",
            // The guide too: a file that is not Python may be any plugin's item; and a test
            // that runs programs, which may run the tool.
            &[
                "tests/test_tool_files.py",
                "tests/test_tool_config.py",
                "docs/guide.rst",
                "tests/test_spawn.py",
            ],
            |t| t.write(".readthedocs.yaml", "version: 2\n"),
        ),
        // --- Tests that default patterns read as documentation -----------------------------
        // `docs/guide.rst` runs as a text doctest (`--doctest-glob=*.rst`) and
        // `docs/test_recipes.py` is a test module: `docs/**` and `*.rst` must not drop them.
        edit("text doctest under docs/: changed line", Local, |t| {
            t.replace(
                GUIDE,
                ">>> int(Color.GREEN)\n2\n",
                ">>> int(Color.GREEN)\n5\n",
            )
        }),
        edit("text doctest under docs/: inserted line", Local, |t| {
            t.insert_before(GUIDE, ">>> int(Color.GREEN)\n", ">>> int(Color.RED)\n7\n")
        }),
        edit("text doctest under docs/: deleted line", Local, |t| {
            t.delete(GUIDE, "3\n")
        }),
        edit("text doctest under docs/: new file", Local, |t| {
            t.write(
                "docs/colours.rst",
                "More colours\n============\n\n>>> from kit.colors import Color\n>>> int(Color.RED)\n9\n",
            )
        }),
        harmless(
            "text doctest under docs/: prose changed",
            &["docs/guide.rst"],
            |t| {
                t.replace(
                    GUIDE,
                    "Colours are numbered from one:",
                    "Colours count from one:",
                )
            },
        ),
        // `kit.colors` binds `Color`, which the guide reads: a name followed to a text test.
        edit("a name a text doctest reads: changed line", Module, |t| {
            t.replace(
                COLORS,
                "[\"RED\", \"GREEN\", \"BLUE\"]",
                "[\"GREEN\", \"RED\", \"BLUE\"]",
            )
        }),
        edit("a name a text doctest reads: inserted line", Module, |t| {
            t.append(
                COLORS,
                "Color = make_enum(\"Color\", [\"BLUE\", \"GREEN\"])\n",
            )
        }),
        edit("a name a text doctest reads: deleted line", Module, |t| {
            t.delete(
                COLORS,
                "Color = make_enum(\"Color\", [\"RED\", \"GREEN\", \"BLUE\"])\n",
            )
        }),
        edit("test module under docs/: changed line", Local, |t| {
            t.replace(RECIPES, "== 3\n", "== 4\n")
        }),
        edit("test module under docs/: inserted line", Local, |t| {
            t.insert_after(
                RECIPES,
                "def test_recipe_sum():\n",
                "    assert Color.RED == 0\n",
            )
        }),
        edit("test module under docs/: deleted line", Local, |t| {
            t.delete(RECIPES, "from kit.colors import Color\n")
        }),
    ]
}
