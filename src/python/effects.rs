//! Module-level statements that can change other modules' state when a file is imported.
//!
//! pytest imports every test module, `conftest.py` and test package during collection, before
//! any test runs, so a module-level side effect in one of them (`rates.THRESHOLD = 1000`,
//! `registry.add(...)`, `os.environ[...] = ...`) reaches tests in every other file. A change to
//! such a statement in test-side code cannot be traced through imports or coverage, so
//! selection runs the whole suite for it. Statements that only bind names of the module itself
//! (imports, `def`, `class`, docstrings, `NAME = value` built from literals, names and calls to
//! builtins or `pytest`) are local and do not count.
//!
//! Known limit: a call is judged by its callee's name only; a "safe" builtin given a callable
//! with side effects (`list(map(mutate, xs))`) is not seen.

use std::collections::BTreeSet;

use ruff_python_ast::visitor::{Visitor, walk_expr};
use ruff_python_ast::{Expr, PySourceType, Stmt};
use ruff_text_size::Ranged;

use super::lines::LineIndex;

/// Callees whose calls at module level cannot touch another module's state.
const PURE_CALLEES: &[&str] = &[
    "abs",
    "all",
    "any",
    "bool",
    "bytes",
    "dict",
    "enumerate",
    "filter",
    "float",
    "format",
    "frozenset",
    "int",
    "isinstance",
    "len",
    "list",
    "map",
    "max",
    "min",
    "object",
    "range",
    "repr",
    "reversed",
    "round",
    "set",
    "slice",
    "sorted",
    "str",
    "sum",
    "tuple",
    "type",
    "zip",
    "Path",
    "PurePath",
    "namedtuple",
    "NamedTuple",
    "TypeVar",
    "compile",
    "dataclass",
    "field",
    "partial",
    "Decimal",
    "Fraction",
    "datetime",
    "date",
    "time",
    "timedelta",
    "UUID",
    "property",
    "staticmethod",
    "classmethod",
    "cache",
    "lru_cache",
    "cached_property",
    "wraps",
    "abstractmethod",
    "overload",
    "final",
    "total_ordering",
    "contextmanager",
    "unique",
];

/// The 1-based lines of module-level statements (including class bodies, and blocks such as
/// `if`/`try`/`with` at module level) that may have effects outside the module.
pub fn side_effect_lines(source: &str) -> BTreeSet<u32> {
    let parsed = ruff_python_parser::parse_unchecked_source(source, PySourceType::Python);
    let lines = LineIndex::new(source);
    let mut out = BTreeSet::new();
    if !parsed.errors().is_empty() {
        // Unparseable test code: every line may do anything.
        out.extend(1..=lines.line_count());
        return out;
    }
    suite(&parsed.syntax().body, &lines, &mut out);
    out
}

fn mark(stmt_range: ruff_text_size::TextRange, lines: &LineIndex, out: &mut BTreeSet<u32>) {
    let first = lines.line_of(stmt_range.start());
    let last = lines.last_line(stmt_range.start(), stmt_range.end());
    out.extend(first..=last.max(first));
}

fn suite(body: &[Stmt], lines: &LineIndex, out: &mut BTreeSet<u32>) {
    for stmt in body {
        if statement_has_effects(stmt, lines, out) {
            mark(stmt.range(), lines, out);
        }
    }
}

/// Whether `stmt` itself may have outside effects; recurses into blocks (marking inner
/// statements) and returns false for them.
fn statement_has_effects(stmt: &Stmt, lines: &LineIndex, out: &mut BTreeSet<u32>) -> bool {
    match stmt {
        Stmt::Import(_) | Stmt::ImportFrom(_) | Stmt::Pass(_) | Stmt::Global(_) => false,
        Stmt::FunctionDef(f) => {
            f.decorator_list
                .iter()
                .any(|d| impure_decorator(&d.expression))
                || f.parameters
                    .iter()
                    .any(|p| p.default().is_some_and(has_impure_call))
        }
        Stmt::ClassDef(c) => {
            let header = c
                .decorator_list
                .iter()
                .any(|d| impure_decorator(&d.expression))
                || c.arguments
                    .as_ref()
                    .is_some_and(|a| a.args.iter().any(has_impure_call));
            suite(&c.body, lines, out);
            header
        }
        Stmt::Expr(e) => {
            !matches!(&*e.value, Expr::StringLiteral(_)) && {
                // A bare expression at module level is there for its effect, unless it is a name.
                !matches!(
                    &*e.value,
                    Expr::Name(_) | Expr::NumberLiteral(_) | Expr::EllipsisLiteral(_)
                )
            }
        }
        Stmt::Assign(a) => {
            a.targets.iter().any(|t| !binds_names_only(t)) || has_impure_call(&a.value)
        }
        Stmt::AnnAssign(a) => {
            !binds_names_only(&a.target) || a.value.as_deref().is_some_and(has_impure_call)
        }
        Stmt::AugAssign(a) => !binds_names_only(&a.target) || has_impure_call(&a.value),
        Stmt::TypeAlias(_) => false,
        Stmt::If(s) => {
            suite(&s.body, lines, out);
            for clause in &s.elif_else_clauses {
                suite(&clause.body, lines, out);
            }
            has_impure_call(&s.test)
        }
        Stmt::Try(s) => {
            suite(&s.body, lines, out);
            for ruff_python_ast::ExceptHandler::ExceptHandler(h) in &s.handlers {
                suite(&h.body, lines, out);
            }
            suite(&s.orelse, lines, out);
            suite(&s.finalbody, lines, out);
            false
        }
        // Loops, `with`, `match`, `del`, `raise`, `assert` at module level: assume effects.
        _ => true,
    }
}

/// `x = ...`, `x, y = ...`, `[a, *b] = ...`: only names of this module are bound.
fn binds_names_only(target: &Expr) -> bool {
    match target {
        Expr::Name(_) => true,
        Expr::Tuple(t) => t.elts.iter().all(binds_names_only),
        Expr::List(l) => l.elts.iter().all(binds_names_only),
        Expr::Starred(s) => binds_names_only(&s.value),
        _ => false,
    }
}

/// A decorator is a call applied to the definition: `@shop.register` calls `shop.register`.
fn impure_decorator(expr: &Expr) -> bool {
    match expr {
        Expr::Call(_) => has_impure_call(expr),
        other => !is_pure_callee(other),
    }
}

fn has_impure_call(expr: &Expr) -> bool {
    struct Finder(bool);
    impl<'a> Visitor<'a> for Finder {
        fn visit_expr(&mut self, expr: &'a Expr) {
            if let Expr::Call(call) = expr
                && !is_pure_callee(&call.func)
            {
                self.0 = true;
            }
            if !self.0 {
                walk_expr(self, expr);
            }
        }
    }
    let mut finder = Finder(false);
    finder.visit_expr(expr);
    finder.0
}

fn is_pure_callee(func: &Expr) -> bool {
    match func {
        Expr::Name(n) => PURE_CALLEES.contains(&n.id.as_str()),
        Expr::Attribute(a) => {
            // `pytest.mark.parametrize(...)`, `pytest.fixture(...)`, `re.compile(...)`.
            let mut root = &*a.value;
            while let Expr::Attribute(inner) = root {
                root = &inner.value;
            }
            matches!(root, Expr::Name(n) if matches!(n.id.as_str(), "pytest" | "re" | "functools" | "string" | "math" | "itertools" | "typing" | "dataclasses" | "datetime" | "decimal" | "pathlib" | "collections"))
                || PURE_CALLEES.contains(&a.attr.id.as_str())
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn effects(source: &str) -> Vec<u32> {
        side_effect_lines(source).into_iter().collect()
    }

    #[test]
    fn local_bindings_have_no_outside_effects() {
        let source = "\"\"\"Tests.\"\"\"\nimport pytest\nfrom shop import rates\n\nCASES = [1, 2, 3]\nIDS = list(range(3))\npytestmark = pytest.mark.slow\nPATTERN = re.compile('x')\n\n@pytest.mark.parametrize('x', CASES)\ndef test_a(x, y=1):\n    rates.X = 2\n\nclass TestK:\n    value = 3\n    def test_b(self):\n        pass\n";
        assert_eq!(effects(source), Vec::<u32>::new());
    }

    #[test]
    fn patches_registrations_and_calls_are_effects() {
        let cases = [
            ("from shop import rates\nrates.FREE = 1000.0\n", vec![2]),
            ("import os\nos.environ['X'] = '1'\n", vec![2]),
            ("from shop import registry\nregistry.add('k')\n", vec![2]),
            (
                "from shop import registry\nTOKEN = registry.make()\n",
                vec![2],
            ),
            (
                "import shop\n@shop.register\ndef f():\n    pass\n",
                vec![2, 3, 4],
            ),
            ("class T:\n    shop.rates.X = 1\n", vec![2]),
            ("for i in range(3):\n    pass\n", vec![1, 2]),
            ("x = (\n  1,\n)\nif setup():\n    y = 2\n", vec![4, 5]),
            ("def broken(:\n", vec![1]),
        ];
        for (source, want) in cases {
            assert_eq!(effects(source), want, "{source}");
        }
    }
}
