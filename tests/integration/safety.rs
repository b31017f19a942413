//! The safety test of `covshard select`: real edits to a real project, judged by real pytest.
//!
//! Why it exists: a test that covshard fails to select is a bug that reaches main, and unit
//! tests of the selection rules only check the cases their authors thought of. Here the oracle
//! is pytest itself. The fixture project (`tests/fixtures/project`) is copied into a temporary
//! git repository, its base coverage is recorded ONCE with the pinned pytest + pytest-cov
//! (`--cov=shop --cov-context=test`, as `generate.sh` does), and then, for each edit in the
//! table below, starting from a clean checkout of the base every time:
//!
//! 1. the edit is applied to the working tree (text replacements, new, deleted and renamed
//!    files; nothing is committed, so covshard diffs the base commit against the working tree);
//! 2. the whole suite runs for real (`pytest --report-log`), which says which tests FAIL or
//!    ERROR (in setup, call or teardown) and which test files no longer collect;
//! 3. `covshard select --db BASE --base COMMIT --format json` runs in the repository;
//! 4. every failing test must be selected: `run_all`, or its exact node id in `tests`
//!    (parametrized ids must match exactly), or a path in `tests` that is its file or a
//!    directory above it. A file that no longer collects must be selected by path (or all of
//!    its base tests by id).
//!
//! Each edit also declares its reach, which sets the precision asked of covshard:
//! - `Local` (function bodies, lines added inside functions, test files, a nested conftest,
//!   comments and docstrings inside functions): the selection must be a strict subset of the
//!   suite, and the mean selection ratio of these edits is bounded, so a regression to "select
//!   everything" fails.
//! - `Module`: import-time or memoised code (DESIGN.md rules 2 and 3 send it to every test that
//!   depends on the module). In this project the root `conftest.py` imports `shop.cart`, which
//!   imports every other module, so every test depends on every module and the whole suite is
//!   the correct answer. Comments and docstrings at module level are here too: covshard
//!   documents them as import-time (`src/python/syntax.rs`), a safe over-approximation.
//! - `Global`: the root conftest, data files no configuration maps, and test-side code that
//!   changes the package's state at import time (it runs during collection, before any test,
//!   so every test sees it): the whole suite is the correct answer.
//!
//! Three tests share one run of the table: the table is meaningful (each breaking edit breaks
//! at least one test, each harmless one none), safety (no failing test is missed) and
//! precision (local edits). The safety test prints a table, one line per edit, and the mean
//! selection ratios (`cargo test --test integration safety -- --nocapture` shows it when it
//! passes); every miss is reported with the failing tests, covshard's selection, its reasons
//! and its changed files.
//!
//! Needs `COVSHARD_PYTHON` (the venv with `tests/requirements.txt`); without it the tests
//! return early with a note, except in CI where that is a failure.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Instant;

use serde_json::Value;

use crate::util;

/// The mean selection ratio of the local edits must stay below this. Measured when the table
/// was written: 0.17 (24 local edits). A selector that answers "everything" for a few kinds
/// of local edit doubles it; one that falls back to the whole suite lands near 1.0.
const MAX_MEAN_LOCAL_RATIO: f64 = 0.35;

/// How far an edit may reach, which decides what precision is asked of the selection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Reach {
    /// Code that only some tests run: the selection must be a strict subset of the suite.
    Local,
    /// Import-time or memoised code of a module every test depends on (through the root
    /// conftest), or a module-level comment covshard counts as such: any selection that
    /// holds the failing tests is fine, the whole suite too.
    Module,
    /// The root conftest, unmapped data files, test-side code that changes shared state at
    /// import time: the whole suite is the correct answer.
    Global,
}

/// What an edit is expected to do to the suite.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Effect {
    /// At least one test fails or errors (or a test file stops collecting).
    Breaks,
    /// Nothing fails: comments, docstrings.
    Harmless,
}

struct Edit {
    name: &'static str,
    reach: Reach,
    effect: Effect,
    apply: fn(&Tree),
}

/// The working tree an edit is applied to.
struct Tree<'a> {
    root: &'a Path,
}

impl Tree<'_> {
    fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.path(rel)).unwrap_or_else(|e| panic!("read {rel}: {e}"))
    }

    fn write(&self, rel: &str, text: &str) {
        let path = self.path(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(&path, text).unwrap_or_else(|e| panic!("write {rel}: {e}"));
    }

    /// Replace the one occurrence of `from` in `rel` with `to`.
    fn replace(&self, rel: &str, from: &str, to: &str) {
        let text = self.read(rel);
        let count = text.matches(from).count();
        assert_eq!(
            count, 1,
            "edit table out of date: {from:?} occurs {count} times in {rel}"
        );
        self.write(rel, &text.replacen(from, to, 1));
    }

    /// Insert `text` just before the one occurrence of `anchor` in `rel`.
    fn insert_before(&self, rel: &str, anchor: &str, text: &str) {
        self.replace(rel, anchor, &format!("{text}{anchor}"));
    }

    /// Insert `text` just after the one occurrence of `anchor` in `rel`.
    fn insert_after(&self, rel: &str, anchor: &str, text: &str) {
        self.replace(rel, anchor, &format!("{anchor}{text}"));
    }

    fn append(&self, rel: &str, text: &str) {
        let mut old = self.read(rel);
        old.push_str(text);
        self.write(rel, &old);
    }

    /// `git mv`, as a developer renaming a module would.
    fn git_mv(&self, from: &str, to: &str) {
        util::git(self.root, &["mv", from, to]);
    }
}

const PRICING: &str = "src/shop/pricing.py";
const CART: &str = "src/shop/cart.py";
const RATES: &str = "src/shop/rates.py";
const MODELS: &str = "src/shop/models.py";
const CONSTANTS: &str = "src/shop/constants.py";
const REGISTRY: &str = "src/shop/registry.py";
const VALIDATION: &str = "src/shop/validation.py";

/// The table. Each entry is one small, realistic change; its name says what it does and is
/// what the report prints.
fn edits() -> Vec<Edit> {
    use Effect::{Breaks, Harmless};
    use Reach::{Global, Local, Module};
    vec![
        // --- Function bodies -------------------------------------------------------------
        Edit {
            name: "body: bulk discount rate 10% -> 20% (pricing.bulk_discount)",
            reach: Local,
            effect: Breaks,
            apply: |t| t.replace(PRICING, "item.total * 0.1", "item.total * 0.2"),
        },
        Edit {
            name: "body: bundle needs four products (pricing.bundle_discount)",
            reach: Local,
            effect: Breaks,
            apply: |t| t.replace(PRICING, ">= 3 else 0.0", ">= 4 else 0.0"),
        },
        Edit {
            name: "body: subtotal rounds to whole units (Cart.subtotal)",
            reach: Local,
            effect: Breaks,
            apply: |t| {
                t.replace(
                    CART,
                    "round(sum(item.total for item in self.items), 2)",
                    "round(sum(item.total for item in self.items), 0)",
                )
            },
        },
        Edit {
            name: "body: Cart.clear raises (run only in the cart fixture's teardown)",
            reach: Local,
            effect: Breaks,
            apply: |t| {
                t.replace(
                    CART,
                    "        self.items.clear()",
                    "        raise RuntimeError(\"cannot clear\")",
                )
            },
        },
        Edit {
            name: "body: Cart.total converts to the base currency only",
            reach: Local,
            effect: Breaks,
            apply: |t| {
                t.replace(
                    CART,
                    "return convert(amount, currency)",
                    "return convert(amount, \"EUR\")",
                )
            },
        },
        Edit {
            name: "body: quantity limit becomes exclusive (validation.validate_quantity)",
            reach: Local,
            effect: Breaks,
            apply: |t| {
                t.replace(
                    VALIDATION,
                    "if not 1 <= quantity <= limit:",
                    "if not 1 <= quantity < limit:",
                )
            },
        },
        Edit {
            name: "body: SKU check strips brackets (breaks one parametrized id)",
            reach: Local,
            effect: Breaks,
            apply: |t| {
                t.replace(
                    VALIDATION,
                    "if not SKU_PATTERN.match(sku):",
                    "if not SKU_PATTERN.match(sku.strip(\" []\")):",
                )
            },
        },
        Edit {
            name: "body: Product.__repr__ drops the name",
            reach: Local,
            effect: Breaks,
            apply: |t| {
                t.replace(
                    MODELS,
                    "return f\"Product({self.sku!r}, {self.name!r})\"",
                    "return f\"Product({self.sku!r})\"",
                )
            },
        },
        Edit {
            name: "body: registry.rule_names lists rules in reverse",
            reach: Local,
            effect: Breaks,
            apply: |t| {
                t.replace(
                    REGISTRY,
                    "for _, name, _ in RULES]",
                    "for _, name, _ in reversed(RULES)]",
                )
            },
        },
        // --- Deleted and added lines -----------------------------------------------------
        Edit {
            name: "deleted lines: free-shipping check removed (rates.shipping_cost)",
            reach: Local,
            effect: Breaks,
            apply: |t| {
                t.replace(
                    RATES,
                    "    if subtotal >= FREE_SHIPPING_THRESHOLD:\n        return 0.0\n",
                    "",
                )
            },
        },
        Edit {
            name: "deleted line: Cart.__init__ forgets the zone",
            reach: Local,
            effect: Breaks,
            apply: |t| t.replace(CART, "        self.zone = zone\n", ""),
        },
        Edit {
            name: "added line: new first statement of rates.convert",
            reach: Local,
            effect: Breaks,
            apply: |t| {
                t.insert_after(
                    RATES,
                    "def convert(amount, to=CURRENCY):\n",
                    "    amount = amount * 2\n",
                )
            },
        },
        Edit {
            name: "added lines: new else branch in Cart.add",
            reach: Local,
            effect: Breaks,
            apply: |t| {
                t.insert_after(
                    CART,
                    "            raise OverflowError(\"cart is full\")\n",
                    "        else:\n            quantity += 1\n",
                )
            },
        },
        Edit {
            name: "added line: per-kg cost doubled mid-function (rates.shipping_cost)",
            reach: Local,
            effect: Breaks,
            apply: |t| {
                t.insert_after(
                    RATES,
                    "    base, per_kg = shipping_table()[zone]\n",
                    "    per_kg = per_kg * 2\n",
                )
            },
        },
        Edit {
            name: "added line: new last statement of Cart.__init__",
            reach: Local,
            effect: Breaks,
            apply: |t| {
                t.insert_after(
                    CART,
                    "        self.items = []\n",
                    "        self.zone = self.zone.upper()\n",
                )
            },
        },
        // --- Import-time code: decorators, defaults, class attributes, constants ----------
        Edit {
            name: "body run at import time: registry.register upper-cases names",
            reach: Module,
            effect: Breaks,
            apply: |t| {
                t.replace(
                    REGISTRY,
                    "HANDLERS[func.__name__] = func",
                    "HANDLERS[func.__name__.upper()] = func",
                )
            },
        },
        Edit {
            name: "body run at import time: rule decorator sorts by ascending priority",
            reach: Module,
            effect: Breaks,
            apply: |t| t.replace(REGISTRY, "(-entry[0], entry[1])", "(entry[0], entry[1])"),
        },
        Edit {
            name: "decorator argument: bulk rule priority 10 -> 1",
            reach: Module,
            effect: Breaks,
            apply: |t| {
                t.replace(
                    PRICING,
                    "@rule(\"bulk\", priority=10)",
                    "@rule(\"bulk\", priority=1)",
                )
            },
        },
        Edit {
            name: "decorator removed: format_price no longer @register-ed",
            reach: Module,
            effect: Breaks,
            apply: |t| t.replace(PRICING, "@register\ndef format_price", "def format_price"),
        },
        Edit {
            name: "default argument: format_price currency EUR -> USD",
            reach: Module,
            effect: Breaks,
            apply: |t| {
                t.replace(
                    PRICING,
                    "def format_price(amount, currency=CURRENCY):",
                    "def format_price(amount, currency=\"USD\"):",
                )
            },
        },
        Edit {
            name: "default argument: Cart zone domestic -> europe",
            reach: Module,
            effect: Breaks,
            apply: |t| {
                t.replace(
                    CART,
                    "def __init__(self, zone=\"domestic\"):",
                    "def __init__(self, zone=\"europe\"):",
                )
            },
        },
        Edit {
            name: "class attribute: Product.category (read by a test with no context)",
            reach: Module,
            effect: Breaks,
            apply: |t| {
                t.replace(
                    MODELS,
                    "    category = DEFAULT_CATEGORY\n",
                    "    category = \"misc\"\n",
                )
            },
        },
        Edit {
            name: "class attribute: Cart.max_lines 99 -> 2 (fixture setup errors)",
            reach: Module,
            effect: Breaks,
            apply: |t| t.replace(CART, "max_lines = MAX_QUANTITY", "max_lines = 2"),
        },
        Edit {
            name: "dataclass field default: LineItem.quantity 1 -> 2",
            reach: Module,
            effect: Breaks,
            apply: |t| t.replace(MODELS, "quantity: int = 1", "quantity: int = 2"),
        },
        Edit {
            name: "constant: TAX_RATE 0.2 -> 0.25",
            reach: Module,
            effect: Breaks,
            apply: |t| t.replace(CONSTANTS, "TAX_RATE = 0.2", "TAX_RATE = 0.25"),
        },
        Edit {
            name: "constant read by a test with no context: MAX_QUANTITY 99 -> 98",
            reach: Module,
            effect: Breaks,
            apply: |t| t.replace(CONSTANTS, "MAX_QUANTITY = 99", "MAX_QUANTITY = 98"),
        },
        Edit {
            name: "compiled regex used by a test with no context: SKU_PATTERN",
            reach: Module,
            effect: Breaks,
            apply: |t| t.replace(CONSTANTS, r"-\d{4}$", r"-\d{3}$"),
        },
        Edit {
            name: "added line at module level: RATES patched after reading rates.json",
            reach: Module,
            effect: Breaks,
            apply: |t| {
                t.insert_after(
                    RATES,
                    "    RATES = json.load(handle)\n",
                    "    RATES[\"USD\"] = 1.1\n",
                )
            },
        },
        Edit {
            name: "package __init__: __version__ bumped (read by a test with no context)",
            reach: Module,
            effect: Breaks,
            apply: |t| {
                t.replace(
                    "src/shop/__init__.py",
                    "__version__ = \"1.4.0\"",
                    "__version__ = \"1.5.0\"",
                )
            },
        },
        // --- Memoised functions ------------------------------------------------------------
        Edit {
            name: "memoised (functools.cache): rates.rate doubles foreign rates",
            reach: Module,
            effect: Breaks,
            apply: |t| {
                t.replace(
                    RATES,
                    "    return RATES[currency]\n",
                    "    return RATES[currency] * 2\n",
                )
            },
        },
        Edit {
            name: "memoised (lru_cache): rates.shipping_table upper-cases zones",
            reach: Module,
            effect: Breaks,
            apply: |t| {
                t.replace(
                    RATES,
                    "table[row[\"zone\"]]",
                    "table[row[\"zone\"].upper()]",
                )
            },
        },
        Edit {
            name: "cached_property: Product.price_with_tax of untaxed products is 0",
            reach: Module,
            effect: Breaks,
            apply: |t| {
                t.replace(
                    MODELS,
                    "            return self.price\n",
                    "            return 0.0\n",
                )
            },
        },
        // --- New, deleted and renamed modules and functions -------------------------------
        Edit {
            name: "new module imported by pricing registers a top-priority rule",
            reach: Module,
            effect: Breaks,
            apply: |t| {
                t.write(
                    "src/shop/promo.py",
                    "\"\"\"A promotion, registered when pricing imports it.\"\"\"\n\n\
                     from .registry import rule\n\n\n\
                     @rule(\"promo\", priority=20)\n\
                     def promo_discount(items):\n    return 0.0\n",
                );
                t.insert_after(
                    PRICING,
                    "from .registry import RULES, register, rule\n",
                    "from . import promo  # noqa: F401\n",
                );
            },
        },
        Edit {
            name: "deleted function: pricing.bundle_discount",
            reach: Module,
            effect: Breaks,
            apply: |t| {
                t.replace(
                    PRICING,
                    "@rule(\"bundle\", priority=5)\n\
                     def bundle_discount(items):\n    \
                     \"\"\"5 off when three different products are bought together.\"\"\"\n    \
                     return 5.0 if len({item.product.sku for item in items}) >= 3 else 0.0\n\n\n",
                    "",
                )
            },
        },
        Edit {
            name: "deleted function imported by a test file: registry.rule_names",
            reach: Module,
            effect: Breaks,
            apply: |t| {
                t.replace(
                    REGISTRY,
                    "\n\ndef rule_names():\n    return [name for _, name, _ in RULES]\n",
                    "",
                )
            },
        },
        Edit {
            name: "renamed module: validation.py -> checks.py, imports updated, limit exclusive",
            reach: Module,
            effect: Breaks,
            apply: |t| {
                t.git_mv(VALIDATION, "src/shop/checks.py");
                t.replace(
                    "src/shop/checks.py",
                    "if not 1 <= quantity <= limit:",
                    "if not 1 <= quantity < limit:",
                );
                t.replace(CART, "from .validation import", "from .checks import");
                t.replace(
                    "tests/test_validation.py",
                    "from shop.validation import",
                    "from shop.checks import",
                );
            },
        },
        // --- Test files and conftests ------------------------------------------------------
        Edit {
            name: "test file: new failing test appended to tests/test_rates.py",
            reach: Local,
            effect: Breaks,
            apply: |t| {
                t.append(
                    "tests/test_rates.py",
                    "\n\ndef test_usd_rate_is_round():\n    assert rate(\"USD\") == 1.1\n",
                )
            },
        },
        Edit {
            name: "test file: new file tests/checkout/test_returns.py",
            reach: Local,
            effect: Breaks,
            apply: |t| {
                t.write(
                    "tests/checkout/test_returns.py",
                    "from shop.cart import Cart\n\n\n\
                     def test_returned_cart_is_free(catalog):\n    \
                     assert Cart().add(catalog[\"mug\"]).subtotal() == 0.0\n",
                )
            },
        },
        Edit {
            name: "test file: changed assertion of a parametrized test (test_valid_sku)",
            reach: Local,
            effect: Breaks,
            apply: |t| {
                t.replace(
                    "tests/test_validation.py",
                    "assert validate_sku(sku) == sku\n",
                    "assert validate_sku(sku) == sku.lower()\n",
                )
            },
        },
        Edit {
            name: "test file: changed method of a test class (TestLineItem::test_total)",
            reach: Local,
            effect: Breaks,
            apply: |t| t.replace("tests/test_models.py", "42.0 * quantity", "42.5 * quantity"),
        },
        Edit {
            name: "renamed test file with a changed assertion (test_constants -> test_settings)",
            reach: Local,
            effect: Breaks,
            apply: |t| {
                t.git_mv("tests/test_constants.py", "tests/test_settings.py");
                t.replace(
                    "tests/test_settings.py",
                    "assert MAX_QUANTITY == 99",
                    "assert MAX_QUANTITY == 100",
                );
            },
        },
        Edit {
            name: "deleted test file: tests/test_constants.py",
            reach: Local,
            effect: Harmless,
            apply: |t| std::fs::remove_file(t.path("tests/test_constants.py")).unwrap(),
        },
        Edit {
            name: "nested conftest: payment gateway no longer accepts GBP",
            reach: Local,
            effect: Breaks,
            apply: |t| {
                t.replace(
                    "tests/checkout/conftest.py",
                    "[\"EUR\", \"USD\", \"GBP\"]",
                    "[\"EUR\", \"USD\"]",
                )
            },
        },
        Edit {
            name: "root conftest: catalog mug costs 9.0",
            reach: Global,
            effect: Breaks,
            apply: |t| {
                t.replace(
                    "tests/conftest.py",
                    "\"Mug\", 8.0, weight=0.4",
                    "\"Mug\", 9.0, weight=0.4",
                )
            },
        },
        Edit {
            name: "test module patches shop state at import time (no monkeypatch)",
            reach: Global,
            effect: Breaks,
            apply: |t| {
                t.insert_after(
                    "tests/test_validation.py",
                    "from shop.validation import ValidationError, validate_quantity, validate_sku\n",
                    "from shop import rates\n\nrates.FREE_SHIPPING_THRESHOLD = 1000.0\n",
                )
            },
        },
        Edit {
            name: "test package __init__.py patches shop state for every later test",
            reach: Global,
            effect: Breaks,
            apply: |t| {
                t.write(
                    "tests/checkout/__init__.py",
                    "from shop import rates\n\nrates.FREE_SHIPPING_THRESHOLD = 1000.0\n",
                )
            },
        },
        // --- Data files ---------------------------------------------------------------------
        Edit {
            name: "data file read at import time: rates.json USD 1.08 -> 1.1",
            reach: Global,
            effect: Breaks,
            apply: |t| t.replace("src/shop/data/rates.json", "\"USD\": 1.08", "\"USD\": 1.1"),
        },
        Edit {
            name: "data file read at call time: shipping.csv domestic base 4.50 -> 5.00",
            reach: Global,
            effect: Breaks,
            apply: |t| {
                t.replace(
                    "src/shop/data/shipping.csv",
                    "domestic,4.50,0.50",
                    "domestic,5.00,0.50",
                )
            },
        },
        Edit {
            name: "packaging: version bump in pyproject.toml (run-all pattern)",
            reach: Global,
            effect: Harmless,
            apply: |t| {
                t.replace(
                    "pyproject.toml",
                    "version = \"1.4.0\"",
                    "version = \"1.5.0\"",
                )
            },
        },
        // --- Harmless edits: precision ------------------------------------------------------
        Edit {
            name: "harmless: comment inside a function body (validate_sku)",
            reach: Local,
            effect: Harmless,
            apply: |t| {
                t.insert_before(
                    VALIDATION,
                    "    if not SKU_PATTERN.match(sku):\n",
                    "    # SKUs look like AB-1234.\n",
                )
            },
        },
        Edit {
            name: "harmless: reworded function docstring (bulk_discount)",
            reach: Local,
            effect: Harmless,
            apply: |t| {
                t.replace(
                    PRICING,
                    "\"\"\"10% off lines of ten or more.\"\"\"",
                    "\"\"\"Ten percent off every line of ten or more items.\"\"\"",
                )
            },
        },
        Edit {
            name: "harmless: comment line between two module-level functions (rates.py)",
            reach: Module,
            effect: Harmless,
            apply: |t| {
                t.insert_before(
                    RATES,
                    "def convert(amount, to=CURRENCY):\n",
                    "# Conversions from the base currency.\n",
                )
            },
        },
        Edit {
            name: "harmless: reworded module docstring (pricing.py)",
            reach: Module,
            effect: Harmless,
            apply: |t| {
                t.replace(
                    PRICING,
                    "\"\"\"Discount rules registered by decorators at import time, and price formatting.\"\"\"",
                    "\"\"\"Discount rules (registered at import time) and price formatting.\"\"\"",
                )
            },
        },
    ]
}

/// What one pytest run said.
#[derive(Debug, Default)]
struct Outcome {
    /// Every test that reported (setup at least): the suite as this run collected it.
    tests: BTreeSet<String>,
    /// Tests that failed or errored in any phase.
    failed: BTreeSet<String>,
    /// Collectors (test files) that failed to collect.
    uncollected: BTreeSet<String>,
}

fn pytest(python: &Path, repo: &Path, log: &Path, coverage: Option<&Path>) -> Outcome {
    let mut cmd = Command::new(python);
    cmd.current_dir(repo)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("PYTHONHASHSEED", "0")
        .env_remove("PYTEST_ADDOPTS")
        .args(["-m", "pytest", "-q", "-p", "no:cacheprovider"])
        .arg("--continue-on-collection-errors")
        .arg(format!("--report-log={}", log.display()));
    match coverage {
        Some(data) => {
            cmd.env("COVERAGE_FILE", data).args([
                "--cov=shop",
                "--cov-report=",
                "--cov-context=test",
            ]);
        }
        None => {
            cmd.env_remove("COVERAGE_FILE");
        }
    }
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run pytest: {e}"));
    // 0: all passed, 1: some failed. Anything else (interrupted, usage error, no tests) means
    // the run says nothing reliable about which tests fail.
    let code = out.status.code();
    assert!(
        matches!(code, Some(0 | 1)),
        "pytest in {repo:?} exited with {code:?}\nstdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(log).expect("pytest wrote its report log");
    let mut outcome = Outcome::default();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let record: Value = serde_json::from_str(line).expect("report log is JSON lines");
        let nodeid = record["nodeid"].as_str().unwrap_or_default().to_string();
        let failed = record["outcome"] == "failed";
        match record["$report_type"].as_str() {
            Some("TestReport") => {
                if failed {
                    outcome.failed.insert(nodeid.clone());
                }
                outcome.tests.insert(nodeid);
            }
            Some("CollectReport") if failed => {
                outcome.uncollected.insert(nodeid);
            }
            _ => {}
        }
    }
    assert_eq!(
        code == Some(1),
        !outcome.failed.is_empty() || !outcome.uncollected.is_empty(),
        "pytest's exit code and its report log disagree in {repo:?}"
    );
    outcome
}

/// covshard's answer, as `select --format json` prints it.
struct Selected {
    run_all: bool,
    ids: Vec<String>,
    json: Value,
}

impl Selected {
    fn covers_file(&self, file: &str) -> bool {
        self.ids
            .iter()
            .any(|id| !id.contains("::") && path_holds(id, file))
    }

    fn holds(&self, node_id: &str) -> bool {
        self.run_all
            || self.ids.iter().any(|id| id == node_id)
            || self.covers_file(file_of(node_id))
    }
}

fn file_of(node_id: &str) -> &str {
    node_id.split("::").next().unwrap_or(node_id)
}

/// Whether a selected path (a file or a directory) holds `file`.
fn path_holds(path: &str, file: &str) -> bool {
    let dir = path.trim_end_matches('/');
    matches!(dir, "" | ".") || file == dir || file.starts_with(&format!("{dir}/"))
}

fn select(repo: &Path, db: &Path, base: &str) -> Selected {
    let stdout = util::run_ok(
        util::covshard()
            .current_dir(repo)
            .arg("select")
            .arg("--db")
            .arg(db)
            .args(["--base", base, "--format", "json"]),
    );
    let json: Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("select --format json printed no JSON ({e}):\n{stdout}"));
    let run_all = json["run_all"].as_bool().expect("`run_all` is a boolean");
    let ids = json["tests"]
        .as_array()
        .expect("`tests` is an array")
        .iter()
        .map(|v| v.as_str().expect("test ids are strings").to_string())
        .collect();
    Selected { run_all, ids, json }
}

/// The result of one edit.
struct Verdict {
    index: usize,
    failed: usize,
    suite: usize,
    selected: usize,
    run_all: bool,
    /// Failing tests covshard did not select, with its explanation: the safety property.
    missed: Option<String>,
    /// A local edit that selected the whole suite: the precision property.
    too_wide: Option<String>,
    /// The edit did not do what the table says (breaks nothing, or breaks a harmless edit).
    table_error: Option<String>,
    /// Selection with the import index differed from selection without it.
    index_differs: Option<String>,
}

/// Where one edit runs: a checkout of the base commit and the shared base data.
struct Setup {
    python: PathBuf,
    scratch: PathBuf,
    db: PathBuf,
    /// The same data, with history and the import index `covshard ingest` records.
    indexed_db: PathBuf,
    base: String,
    base_tests: BTreeSet<String>,
}

/// Apply one edit to a clean checkout of the base, run pytest and covshard, judge.
fn check_edit(index: usize, edit: &Edit, repo: &Path, setup: &Setup) -> Verdict {
    util::git(repo, &["reset", "-q", "--hard", &setup.base]);
    util::git(repo, &["clean", "-fdq"]);
    assert!(
        util::git(repo, &["status", "--porcelain"]).is_empty(),
        "the checkout is not clean before edit `{}`",
        edit.name
    );
    (edit.apply)(&Tree { root: repo });
    let log = setup.scratch.join(format!("edit-{index}.jsonl"));
    let outcome = pytest(&setup.python, repo, &log, None);
    let selected = select(repo, &setup.db, &setup.base);
    // The import index saves reading the tree; it must not change a single answer.
    let indexed = select(repo, &setup.indexed_db, &setup.base);
    let index_differs = (indexed.json != selected.json).then(|| {
        format!(
            "the import index changed the selection:\n    without: {}\n    with: {}",
            serde_json::to_string(&selected.json).unwrap(),
            serde_json::to_string(&indexed.json).unwrap()
        )
    });

    let mut missed: Vec<String> = outcome
        .failed
        .iter()
        .filter(|t| !selected.holds(t))
        .cloned()
        .collect();
    for file in &outcome.uncollected {
        let base_in_file: Vec<&String> = setup
            .base_tests
            .iter()
            .filter(|t| file_of(t) == file)
            .collect();
        let by_ids = !base_in_file.is_empty() && base_in_file.iter().all(|t| selected.holds(t));
        if !(selected.run_all || selected.covers_file(file) || by_ids) {
            missed.push(format!("{file} (no longer collects)"));
        }
    }
    let missed = (!missed.is_empty()).then(|| {
        format!(
            "MISSED {} failing test(s):\n      {}\n    run_all: {}\n    selected: {}\n    changed_files: {}\n    reasons: {}",
            missed.len(),
            missed.join("\n      "),
            selected.run_all,
            serde_json::to_string(&selected.ids).unwrap(),
            selected.json["changed_files"],
            serde_json::to_string_pretty(&selected.json["reasons"]).unwrap(),
        )
    });

    let broke = !outcome.failed.is_empty() || !outcome.uncollected.is_empty();
    let table_error = match edit.effect {
        Effect::Breaks if !broke => {
            Some("meant to break a test, but the suite passes: fix the table".to_string())
        }
        Effect::Harmless if broke => Some(format!(
            "meant to be harmless, but these fail: {:?} {:?}",
            outcome.failed, outcome.uncollected
        )),
        _ => None,
    };

    // The suite of this edit: what ran, plus the base tests of files that no longer collect.
    let mut suite = outcome.tests.clone();
    suite.extend(
        setup
            .base_tests
            .iter()
            .filter(|t| outcome.uncollected.contains(file_of(t)))
            .cloned(),
    );
    let count = suite.iter().filter(|t| selected.holds(t)).count();
    let too_wide = (edit.reach == Reach::Local && (selected.run_all || count >= suite.len()))
        .then(|| {
            format!(
                "a local edit selected the whole suite ({count} of {}, run_all: {})\n    changed_files: {}\n    run_all_reasons: {}",
                suite.len(),
                selected.run_all,
                selected.json["changed_files"],
                selected.json["run_all_reasons"],
            )
        });
    Verdict {
        index,
        failed: outcome.failed.len() + outcome.uncollected.len(),
        suite: suite.len(),
        selected: count,
        run_all: selected.run_all,
        missed,
        too_wide,
        table_error,
        index_differs,
    }
}

/// Everything the tests below assert on, computed once per test run.
struct Results {
    table: Vec<Edit>,
    verdicts: Vec<Verdict>,
    mean_local_ratio: f64,
    /// One line per edit and the mean ratios, for people.
    report: String,
}

impl Results {
    /// The problems of one kind, one paragraph per edit; empty when there are none.
    fn problems(&self, which: impl Fn(&Verdict) -> &Option<String>) -> String {
        let mut out = String::new();
        for v in &self.verdicts {
            if let Some(problem) = which(v) {
                let _ = writeln!(
                    out,
                    "edit {} `{}`:\n  - {problem}",
                    v.index + 1,
                    self.table[v.index].name
                );
            }
        }
        out
    }
}

/// Build the base once, run the whole table, print the report. `None` without Python.
fn results() -> Option<&'static Results> {
    static RESULTS: OnceLock<Option<Results>> = OnceLock::new();
    RESULTS
        .get_or_init(|| util::python().map(run_table))
        .as_ref()
}

fn run_table(python: PathBuf) -> Results {
    let started = Instant::now();
    // Kept for the whole test run: the tests share the results, not the directories.
    let tmp = tempfile::tempdir().unwrap();
    let scratch = tmp.path().join("scratch");
    std::fs::create_dir_all(&scratch).unwrap();

    // The base: the fixture project as its own repository, committed.
    let repo = tmp.path().join("project");
    util::copy_tree(&util::fixtures().join("project"), &repo);
    std::fs::write(repo.join(".gitignore"), "__pycache__/\n.coverage\n").unwrap();
    util::git(&repo, &["init", "-q", "-b", "main"]);
    util::git(&repo, &["add", "-A"]);
    util::git(&repo, &["commit", "-q", "-m", "base"]);
    let base = util::git(&repo, &["rev-parse", "HEAD"]).trim().to_string();

    // Base coverage, recorded once, outside the repository.
    let db = tmp.path().join("base.coverage");
    let base_run = pytest(&python, &repo, &scratch.join("base.jsonl"), Some(&db));
    assert!(
        base_run.failed.is_empty() && base_run.uncollected.is_empty(),
        "the fixture suite must pass at the base: {:?} {:?}",
        base_run.failed,
        base_run.uncollected
    );
    assert!(
        base_run.tests.len() >= 60,
        "too few tests at the base: {:?}",
        base_run.tests
    );
    assert!(
        util::git(&repo, &["status", "--porcelain"]).is_empty(),
        "the base run left files that git sees"
    );
    // Both data files get the base run's history, as `covshard ingest` stores it in CI; only
    // one gets the import index.
    let indexed_db = tmp.path().join("indexed.coverage");
    std::fs::copy(&db, &indexed_db).unwrap();
    for (file, flags) in [(&db, &["--no-import-index"][..]), (&indexed_db, &[][..])] {
        util::run_ok(
            util::covshard()
                .current_dir(&repo)
                .arg("ingest")
                .arg("--db")
                .arg(file)
                .arg("--reportlog")
                .arg(scratch.join("base.jsonl"))
                .args(flags),
        );
    }
    let indexed_files: i64 = rusqlite::Connection::open(&indexed_db)
        .unwrap()
        .query_row("SELECT count(*) FROM covshard_import", [], |r| r.get(0))
        .unwrap();
    let python_files = util::git(&repo, &["ls-files", "*.py"]).lines().count();
    assert_eq!(
        indexed_files as usize, python_files,
        "ingest recorded the imports of every Python file"
    );
    let setup = Setup {
        python,
        scratch,
        db,
        indexed_db,
        base,
        base_tests: base_run.tests,
    };

    // More checkouts of the same commit, so edits run side by side: a pytest run of this
    // project spends about half of its wall time asleep (the fixture's `time.sleep`s), so two
    // runs per core keep the table well under a minute.
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get().min(2)) * 2;
    let mut checkouts = vec![repo.clone()];
    for k in 1..workers {
        let clone = tmp.path().join(format!("project-{k}"));
        util::run_ok(
            Command::new("git")
                .args(["clone", "-q"])
                .arg(&repo)
                .arg(&clone),
        );
        checkouts.push(clone);
    }

    let table = edits();
    let next = AtomicUsize::new(0);
    let verdicts = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for checkout in &checkouts {
            let (table, next, verdicts, setup) = (&table, &next, &verdicts, &setup);
            scope.spawn(move || {
                loop {
                    let index = next.fetch_add(1, Ordering::SeqCst);
                    let Some(edit) = table.get(index) else { break };
                    let verdict = check_edit(index, edit, checkout, setup);
                    verdicts.lock().unwrap().push(verdict);
                }
            });
        }
    });
    let mut verdicts = verdicts.into_inner().unwrap();
    verdicts.sort_by_key(|v| v.index);
    assert_eq!(verdicts.len(), table.len(), "a worker stopped early");

    // The report: one line per edit, then the means.
    let mut report = String::from("covshard safety table (failing tests vs selection):\n");
    let mut local_ratios = Vec::new();
    let mut all_ratios = Vec::new();
    for v in &verdicts {
        let edit = &table[v.index];
        let ratio = v.selected as f64 / v.suite as f64;
        all_ratios.push(ratio);
        if edit.reach == Reach::Local {
            local_ratios.push(ratio);
        }
        let status = match (&v.missed, &v.too_wide, &v.table_error) {
            (Some(_), _, _) => "MISS",
            (_, Some(_), _) => "WIDE",
            (_, _, Some(_)) => "TABLE",
            _ => "ok",
        };
        let _ = writeln!(
            report,
            "{:>2} {status:<5} {:<6} failing {:>2}  selected {:>2}/{:<2} ({:>3.0}%){}  {}",
            v.index + 1,
            format!("{:?}", edit.reach),
            v.failed,
            v.selected,
            v.suite,
            ratio * 100.0,
            if v.run_all { " run_all" } else { "        " },
            edit.name
        );
    }
    let mean = |r: &[f64]| r.iter().sum::<f64>() / r.len() as f64;
    let mean_local_ratio = mean(&local_ratios);
    let _ = writeln!(
        report,
        "mean selection ratio: {mean_local_ratio:.3} over {} local edits, {:.3} over all {} edits; {} checkouts, {:.1} s",
        local_ratios.len(),
        mean(&all_ratios),
        all_ratios.len(),
        workers,
        started.elapsed().as_secs_f64()
    );
    Results {
        table,
        verdicts,
        mean_local_ratio,
        report,
    }
}

/// The table itself must be meaningful: at least 30 edits, each doing what it says.
#[test]
fn safety_edits_do_what_the_table_says() {
    assert!(
        edits().len() >= 30,
        "the safety table needs at least 30 edits"
    );
    let Some(results) = results() else { return };
    let problems = results.problems(|v| &v.table_error);
    assert!(
        problems.is_empty(),
        "the edit table is out of date:\n{problems}"
    );
}

/// The import index recorded by `ingest` gives the same selection, byte for byte, as reading
/// the whole tree: on every edit of the table (renames, deletions, new files, conftests).
#[test]
fn safety_the_import_index_changes_no_selection() {
    let Some(results) = results() else { return };
    let problems = results.problems(|v| &v.index_differs);
    assert!(problems.is_empty(), "{problems}");
}

/// Safety: every test that fails after an edit is selected by covshard.
#[test]
fn safety_every_failing_test_is_selected() {
    let Some(results) = results() else { return };
    // Shown when this test fails, or always with `-- --nocapture`.
    eprintln!("{}", results.report);
    let problems = results.problems(|v| &v.missed);
    assert!(
        problems.is_empty(),
        "covshard missed failing tests:\n{problems}"
    );
}

/// Precision: local edits select a strict subset of the suite, and few tests on average.
#[test]
fn safety_local_edits_select_a_strict_subset() {
    let Some(results) = results() else { return };
    let problems = results.problems(|v| &v.too_wide);
    assert!(
        problems.is_empty(),
        "local edits selected the whole suite:\n{problems}"
    );
    assert!(
        results.mean_local_ratio < MAX_MEAN_LOCAL_RATIO,
        "local edits select {:.0}% of the suite on average (bound {:.0}%): selection has become too coarse\n{}",
        results.mean_local_ratio * 100.0,
        MAX_MEAN_LOCAL_RATIO * 100.0,
        results.report
    );
}
