//! The safety table of the shop project (`tests/fixtures/project`): function bodies, added and
//! deleted lines, import-time code, memoised functions, new, deleted and renamed modules, test
//! files, conftests, data files and harmless edits.
//!
//! In this project the root `conftest.py` imports `shop.cart`, which imports every other
//! module, so every test depends on every module: import-time edits are `Module` and select
//! the whole suite, which is correct here.

use super::Edit;
use super::Effect::{Breaks, Harmless};
use super::Reach::{Global, Local, Module};

const PRICING: &str = "src/shop/pricing.py";
const CART: &str = "src/shop/cart.py";
const RATES: &str = "src/shop/rates.py";
const MODELS: &str = "src/shop/models.py";
const CONSTANTS: &str = "src/shop/constants.py";
const REGISTRY: &str = "src/shop/registry.py";
const VALIDATION: &str = "src/shop/validation.py";

/// The table. Each entry is one small, realistic change; its name says what it does and is
/// what the report prints.
pub(super) fn edits() -> Vec<Edit> {
    vec![
        // --- Function bodies -------------------------------------------------------------
        Edit {
            name: "body: bulk discount rate 10% -> 20% (pricing.bulk_discount)",
            reach: Local,
            effect: Breaks,
            at_most: None,
            apply: |t| t.replace(PRICING, "item.total * 0.1", "item.total * 0.2"),
        },
        Edit {
            name: "body: bundle needs four products (pricing.bundle_discount)",
            reach: Local,
            effect: Breaks,
            at_most: None,
            apply: |t| t.replace(PRICING, ">= 3 else 0.0", ">= 4 else 0.0"),
        },
        Edit {
            name: "body: subtotal rounds to whole units (Cart.subtotal)",
            reach: Local,
            effect: Breaks,
            at_most: None,
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
            at_most: None,
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
            at_most: None,
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
            at_most: None,
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
            at_most: None,
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
            at_most: None,
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
            at_most: None,
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
            at_most: None,
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
            at_most: None,
            apply: |t| t.replace(CART, "        self.zone = zone\n", ""),
        },
        Edit {
            name: "added line: new first statement of rates.convert",
            reach: Local,
            effect: Breaks,
            at_most: None,
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
            at_most: None,
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
            at_most: None,
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
            at_most: None,
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
            at_most: None,
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
            at_most: None,
            apply: |t| t.replace(REGISTRY, "(-entry[0], entry[1])", "(entry[0], entry[1])"),
        },
        Edit {
            name: "decorator argument: bulk rule priority 10 -> 1",
            reach: Module,
            effect: Breaks,
            at_most: None,
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
            at_most: None,
            apply: |t| t.replace(PRICING, "@register\ndef format_price", "def format_price"),
        },
        Edit {
            name: "default argument: format_price currency EUR -> USD",
            reach: Module,
            effect: Breaks,
            at_most: None,
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
            at_most: None,
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
            at_most: None,
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
            at_most: None,
            apply: |t| t.replace(CART, "max_lines = MAX_QUANTITY", "max_lines = 2"),
        },
        Edit {
            name: "dataclass field default: LineItem.quantity 1 -> 2",
            reach: Module,
            effect: Breaks,
            at_most: None,
            apply: |t| t.replace(MODELS, "quantity: int = 1", "quantity: int = 2"),
        },
        Edit {
            name: "constant: TAX_RATE 0.2 -> 0.25",
            reach: Module,
            effect: Breaks,
            at_most: None,
            apply: |t| t.replace(CONSTANTS, "TAX_RATE = 0.2", "TAX_RATE = 0.25"),
        },
        Edit {
            name: "constant read by a test with no context: MAX_QUANTITY 99 -> 98",
            reach: Module,
            effect: Breaks,
            at_most: None,
            apply: |t| t.replace(CONSTANTS, "MAX_QUANTITY = 99", "MAX_QUANTITY = 98"),
        },
        Edit {
            name: "compiled regex used by a test with no context: SKU_PATTERN",
            reach: Module,
            effect: Breaks,
            at_most: None,
            apply: |t| t.replace(CONSTANTS, r"-\d{4}$", r"-\d{3}$"),
        },
        Edit {
            name: "added line at module level: RATES patched after reading rates.json",
            reach: Module,
            effect: Breaks,
            at_most: None,
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
            at_most: None,
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
            at_most: None,
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
            at_most: None,
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
            at_most: None,
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
            at_most: None,
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
            at_most: None,
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
            at_most: None,
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
            at_most: None,
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
            at_most: None,
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
            at_most: None,
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
            at_most: None,
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
            at_most: None,
            apply: |t| t.replace("tests/test_models.py", "42.0 * quantity", "42.5 * quantity"),
        },
        Edit {
            name: "renamed test file with a changed assertion (test_constants -> test_settings)",
            reach: Local,
            effect: Breaks,
            at_most: None,
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
            at_most: None,
            apply: |t| std::fs::remove_file(t.path("tests/test_constants.py")).unwrap(),
        },
        Edit {
            name: "nested conftest: payment gateway no longer accepts GBP",
            reach: Local,
            effect: Breaks,
            at_most: None,
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
            at_most: None,
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
            at_most: None,
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
            at_most: None,
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
            at_most: None,
            apply: |t| t.replace("src/shop/data/rates.json", "\"USD\": 1.08", "\"USD\": 1.1"),
        },
        Edit {
            name: "data file read at call time: shipping.csv domestic base 4.50 -> 5.00",
            reach: Global,
            effect: Breaks,
            at_most: None,
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
            at_most: None,
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
            at_most: None,
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
            at_most: None,
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
            at_most: None,
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
            at_most: None,
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
