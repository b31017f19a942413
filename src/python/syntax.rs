//! Which lines of a Python file run at import time, which only run when a function is called,
//! and which lie under a memoising decorator.
//!
//! Selection needs this because coverage contexts are blind to import-time code: it runs during
//! collection, before any test context starts, so a change to a constant, a class attribute, a
//! decorator or a default argument must reach every test that depends on the module
//! (DESIGN.md, rule 2), while a change inside a function body only reaches the tests whose
//! contexts cover it. Bodies of memoised functions (`functools.cache`, `lru_cache`,
//! `cached_property`) are credited to whichever test ran them first, so they are reported
//! separately and selection treats them like import-time code (rule 3).
//!
//! Choices, safety first:
//! - A function's *body* is every line after the line holding its header's `:` through its last
//!   statement, comments and blank lines included. Decorators, the `def` line, a multi-line
//!   signature with its defaults and annotations are import-time. A one-line `def f(): return 1`
//!   is import-time as a whole.
//! - Everything else is import-time: module statements, class bodies not inside a function, and
//!   lines in no statement (comments and blank lines between top-level statements, comments after
//!   a function's last statement). Changing those is harmless to Python but rare in a diff that
//!   matters, and calling them import-time can only add tests.
//! - Lambdas and comprehensions at module level are import-time (their line runs at import).
//! - A file that does not parse is import-time throughout, with no functions.
//! - Lines past the end of the file (a diff against another version) and line 0 (coverage's line
//!   for an empty module) are import-time.
//!
//! - A function that keeps state beyond its call is memoised too: a hand-written cache or a
//!   registry (`_CACHE[key] = value`, `RULES.append(rule)`, `STATE.ready = True`, `global` names,
//!   `cls._seen.add(x)`, a store into a variable of an enclosing function as in a hand-written
//!   `memoize` decorator, or into `self` in a class the module makes an instance of, a class
//!   attribute of the class or of a base, a method other than a reader of an object the module
//!   made, a Borg's shared `__dict__`, `globals()`; a generator the module starts): only the
//!   test that first filled the state covers it, later tests read what it left (`keeps_state`).
//!   So is a pytest fixture shared beyond one test (`scope="session"`, `"package"`, `"module"`,
//!   `"class"`): pytest runs it once and hands later tests the kept value; and so are xunit-style
//!   `setup_module`, `setUpClass` and their kin, which run once for a module's or class's tests.
//!
//! Known limits: a function called at import time (a class factory, a registry) has body lines that
//! run at import; this module cannot know that, coverage data does (the empty context `''`).
//! Memoisation applied by a call (`f = functools.cache(g)`, followed by `selection::handed_on`
//! instead) or by an unknown decorator is not seen, nor state kept through a call into another
//! module (`registry.add(x)` in a function), nor a class attribute a base of another module
//! holds unless it is filled by item (`self._registry[k] = v`, `.setdefault`); the plain
//! functions a memoised function calls are found from coverage by selection
//! (`selection::memo`).

use std::collections::{BTreeMap, BTreeSet};

use ruff_python_ast::token::{TokenKind, Tokens};
use ruff_python_ast::{Decorator, Expr, PySourceType, Stmt};
use ruff_text_size::{Ranged, TextSize};

use super::imports::{self, Import};
use super::lines::LineIndex;

/// Decorator names (last dotted segment) that memoise: `functools`' own, and the same spelling
/// in `cachetools`, `methodtools`, Django and `async_lru`, which behave the same way for selection.
const MEMO_DECORATORS: &[&str] = &[
    "cache",
    "lru_cache",
    "cached_property",
    "cached",
    "ttl_cache",
    "alru_cache",
    // Caching descriptors of Pyramid, SQLAlchemy, pandas, astropy and others.
    "reify",
    "memoized_property",
    "memoize",
    "memoized",
    "lazy_property",
    "lazyproperty",
    "cache_readonly",
    "cached_method",
];

/// Whether a decorator is one of [`MEMO_DECORATORS`], by its last dotted segment
/// (`functools.lru_cache(maxsize=None)`, `memoize`).
pub fn is_memo_decorator(expr: &Expr) -> bool {
    let callee = match expr {
        Expr::Call(call) => &*call.func,
        other => other,
    };
    match callee {
        Expr::Name(n) => MEMO_DECORATORS.contains(&n.id.as_str()),
        Expr::Attribute(a) => MEMO_DECORATORS.contains(&a.attr.id.as_str()),
        _ => false,
    }
}

/// How a line of the file runs. `MemoisedBody > Body`, so `max` keeps the memoised side.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LineKind {
    /// Runs when the module is imported (or lies between statements at module level).
    ImportTime,
    /// Inside a function body: runs only when the function is called.
    Body,
    /// Inside the body of a memoised function, or of one that keeps state beyond its call:
    /// coverage names only the first caller.
    MemoisedBody,
}

/// One function (or method, or nested function) of the file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FunctionSpan {
    /// Python's `__qualname__`: `f`, `C.method`, `outer.<locals>.inner`.
    pub qualname: String,
    /// First line of the definition: its first decorator, else the `def` line.
    pub start: u32,
    /// The `def` line.
    pub def_line: u32,
    /// Last header line (the one holding the `:`); the body starts after it.
    pub header_end: u32,
    /// Last line of the body.
    pub end: u32,
    pub is_async: bool,
    /// Decorated with a memoising decorator, or keeps state beyond its call (see the module
    /// docs).
    pub memoised: bool,
    /// A pytest fixture shared beyond one test (`scope="session"`, ...): memoised by pytest.
    pub shared_fixture: bool,
    /// It keeps state beyond its call itself (a cache, a registry: see `keeps_state`), as
    /// opposed to being memoised by a decorator.
    pub keeps_state: bool,
    /// Where it keeps that state: module-level names, and `.attr` for an attribute of its class
    /// or of a module-level instance.
    pub state: Vec<String>,
    /// The lines of its docstring, which Python hands out as its `__doc__`.
    pub docstring: Option<(u32, u32)>,
    /// Used as a decorator, it may read the docstring of what it decorates (see
    /// [`may_read_docs`]).
    pub may_read_docs: bool,
}

impl FunctionSpan {
    /// Body lines, possibly empty (a one-line definition).
    pub fn body_lines(&self) -> std::ops::RangeInclusive<u32> {
        (self.header_end + 1)..=self.end
    }
}

/// The syntax facts selection needs about one version of one Python file.
#[derive(Debug, Clone)]
pub struct ModuleSyntax {
    /// `kinds[line]`, index 0 unused.
    kinds: Vec<LineKind>,
    functions: Vec<FunctionSpan>,
    imports: Vec<Import>,
    parsed: bool,
    /// Import-time lines that a call of a function records too (see
    /// [`ModuleSyntax::import_evidence`]).
    recorded_by_calls: BTreeSet<u32>,
    /// No top-level statement is sure to record a line of its own when the module is
    /// imported: each defines a function or may compile to nothing (see [`records_a_line`]).
    only_functions: bool,
}

impl ModuleSyntax {
    /// How `line` (1-based) runs; lines outside the file are import-time.
    pub fn line_kind(&self, line: u32) -> LineKind {
        self.kinds
            .get(line as usize)
            .copied()
            .filter(|_| line > 0)
            .unwrap_or(LineKind::ImportTime)
    }

    /// `true` when `line` runs at import time.
    pub fn is_import_time(&self, line: u32) -> bool {
        self.line_kind(line) == LineKind::ImportTime
    }

    /// `true` when `line` lies in the body of a memoised function.
    pub fn is_memoised(&self, line: u32) -> bool {
        self.line_kind(line) == LineKind::MemoisedBody
    }

    /// `true` when a change to `line` must reach every test that depends on the module:
    /// import-time or memoised (DESIGN.md rules 2 and 3).
    pub fn affects_dependents(&self, line: u32) -> bool {
        self.line_kind(line) != LineKind::Body
    }

    /// The lines among `lines` that affect every dependent (see [`Self::affects_dependents`]).
    pub fn dependents_lines(&self, lines: impl IntoIterator<Item = u32>) -> BTreeSet<u32> {
        lines
            .into_iter()
            .filter(|&l| self.affects_dependents(l))
            .collect()
    }

    /// How code inserted between old lines `after` and `after + 1` would run (a pure insertion in
    /// a diff has no old-side line of its own). Two consecutive body lines always belong to the
    /// body of the same top-level function, so code between them is body code too (memoised if
    /// either side is); code right after the header of the function whose body holds
    /// `after + 1` is body code; anything else (module level, a body's edge) is import-time.
    pub fn insertion_kind(&self, after: u32) -> LineKind {
        let (prev, next) = (self.line_kind(after), self.line_kind(after + 1));
        if next == LineKind::ImportTime {
            LineKind::ImportTime
        } else if prev != LineKind::ImportTime {
            prev.max(next)
        } else if self
            .functions
            .iter()
            .any(|f| f.header_end == after && f.body_lines().contains(&(after + 1)))
        {
            next
        } else {
            LineKind::ImportTime
        }
    }

    /// Qualified name of the innermost function whose definition (decorators to last line)
    /// contains `line`.
    pub fn enclosing_function(&self, line: u32) -> Option<&str> {
        self.enclosing(line).map(|f| f.qualname.as_str())
    }

    /// The functions whose *body* holds `line`, innermost first. A nested function's decorators
    /// and header run when the function around it runs, so they belong to that one's body.
    pub fn enclosing_bodies(&self, line: u32) -> impl Iterator<Item = &FunctionSpan> {
        self.functions
            .iter()
            .rev()
            .filter(move |f| f.body_lines().contains(&line))
    }

    /// The innermost function whose definition contains `line`.
    pub fn enclosing(&self, line: u32) -> Option<&FunctionSpan> {
        // Functions are in source pre-order, so the last match is the innermost.
        self.functions
            .iter()
            .rev()
            .find(|f| f.start <= line && line <= f.end)
    }

    /// Every function, method and nested function, in source order.
    pub fn functions(&self) -> &[FunctionSpan] {
        &self.functions
    }

    /// Every import statement, in source order (see [`Import`]).
    pub fn imports(&self) -> &[Import] {
        &self.imports
    }

    /// Number of lines in the file.
    pub fn line_count(&self) -> u32 {
        self.kinds.len().saturating_sub(1) as u32
    }

    /// The import-time lines whose coverage in a test's context shows that the test imported
    /// the module: all of them, but for the lines a call of a function records too, where
    /// other lines can show it. Python credits the implicit `return None` of a function whose
    /// body is only a docstring to its header (the first decorator on 3.11), and a body
    /// written on the header's line runs there; an import runs every top-level statement, so
    /// a module that has one other than a function definition records that one.
    pub fn import_evidence(&self) -> impl Iterator<Item = u32> + '_ {
        (1..=self.line_count()).filter(|&l| {
            self.is_import_time(l) && (self.only_functions || !self.recorded_by_calls.contains(&l))
        })
    }

    /// `false` when the file has a syntax error and every line was classified import-time.
    pub fn parsed(&self) -> bool {
        self.parsed
    }
}

/// Classify every line of `source`. Never fails: a file with a syntax error is import-time
/// throughout (its imports are still read, error-tolerantly, so they stay dependencies).
pub fn analyze(source: &str) -> ModuleSyntax {
    let parsed = ruff_python_parser::parse_unchecked_source(source, PySourceType::Python);
    analyze_parsed(source, &parsed)
}

/// [`analyze`] on a parse the caller already made of `source`.
pub(crate) fn analyze_parsed(
    source: &str,
    parsed: &ruff_python_parser::Parsed<ruff_python_ast::ModModule>,
) -> ModuleSyntax {
    let lines = LineIndex::new(source);
    let line_count = lines.line_count() as usize;
    let module = parsed.syntax();
    let imports = imports::collect(&module.body, &lines);
    let mut kinds = vec![LineKind::ImportTime; line_count + 1];
    if !parsed.has_valid_syntax() || misplaced_future_import(&module.body) {
        return ModuleSyntax {
            kinds,
            functions: Vec::new(),
            imports,
            parsed: false,
            recorded_by_calls: BTreeSet::new(),
            only_functions: true,
        };
    }
    let memo = MemoNames::new(&module.body);
    let mut state = BTreeSet::new();
    module_names(&module.body, &mut state);
    let mut instances = BTreeSet::new();
    module_instances(&module.body, &mut instances);
    let plain_methods = plain_methods(&module.body);
    let inherited = inherited_class_attributes(&module.body);
    let objects = module_objects(&module.body);
    let mut walker = Walker {
        module_instances: &instances,
        plain_methods: &plain_methods,
        enclosing: Vec::new(),
        class: None,
        class_attributes: BTreeSet::new(),
        module_names: &state,
        lines: &lines,
        tokens: parsed.tokens(),
        memo: &memo,
        inherited: &inherited,
        objects: &objects,
        foreign_base: None,
        functions: Vec::new(),
        recorded_by_calls: BTreeSet::new(),
    };
    walker.suite(&module.body, "", false);
    let only_functions = !module.body.iter().any(records_a_line);
    for f in &walker.functions {
        let kind = if f.memoised {
            LineKind::MemoisedBody
        } else {
            LineKind::Body
        };
        for line in f.body_lines() {
            if let Some(k) = kinds.get_mut(line as usize) {
                // A plain function nested in a memoised one stays memoised.
                if *k != LineKind::MemoisedBody {
                    *k = kind;
                }
            }
        }
    }
    ModuleSyntax {
        kinds,
        functions: walker.functions,
        imports,
        parsed: true,
        recorded_by_calls: walker.recorded_by_calls,
        only_functions,
    }
}

/// The name `import a.b` (`a`) or `import a.b as c` (`c`) binds.
pub(crate) fn import_binding(alias: &ruff_python_ast::Alias) -> &str {
    alias.asname.as_ref().map_or_else(
        || alias.name.id.split('.').next().unwrap_or_default(),
        |a| a.id.as_str(),
    )
}

/// A string literal standing alone: a docstring where it comes first.
/// A `from __future__ import` after anything but the docstring and other future imports: the
/// compiler rejects the file (a `SyntaxError` at import) though it parses.
fn misplaced_future_import(body: &[Stmt]) -> bool {
    let future = |stmt: &Stmt| matches!(stmt, Stmt::ImportFrom(i) if i.module.as_ref().is_some_and(|m| m.id.as_str() == "__future__") && i.level == 0);
    let skip = usize::from(body.first().is_some_and(is_docstring));
    let prefix = body[skip..].iter().take_while(|s| future(s)).count();
    body[skip + prefix..].iter().any(future)
}

fn is_docstring(stmt: &Stmt) -> bool {
    matches!(stmt, Stmt::Expr(e) if matches!(&*e.value, Expr::StringLiteral(_)))
}

/// Whether a top-level statement records a line of its own when the module runs, on every
/// Python version: not a function definition (a call records its header too), and not one
/// the compiler may drop (a constant alone, `pass`, `global`, an `if` on a constant).
fn records_a_line(stmt: &Stmt) -> bool {
    let constant = |e: &Expr| {
        e.is_literal_expr() || matches!(e, Expr::Name(n) if n.id.as_str() == "__debug__")
    };
    match stmt {
        Stmt::FunctionDef(_) | Stmt::Pass(_) | Stmt::Global(_) | Stmt::Nonlocal(_) => false,
        Stmt::Expr(e) => !constant(&e.value),
        Stmt::If(s) => !constant(&s.test),
        _ => true,
    }
}

/// Local names that stand for a memoising decorator (attribute spellings are matched by name).
struct MemoNames {
    decorators: BTreeSet<String>,
}

impl MemoNames {
    /// The known names plus every `from ... import cache as alias` anywhere in the module.
    fn new(body: &[Stmt]) -> Self {
        let mut names = Self {
            decorators: MEMO_DECORATORS.iter().map(|s| (*s).to_owned()).collect(),
        };
        names.add_aliases(body);
        names
    }

    fn add_aliases(&mut self, body: &[Stmt]) {
        for stmt in body {
            match stmt {
                Stmt::ImportFrom(s) => {
                    for alias in &s.names {
                        if let Some(asname) = &alias.asname
                            && MEMO_DECORATORS.contains(&alias.name.id.as_str())
                        {
                            self.decorators.insert(asname.id.as_str().to_owned());
                        }
                    }
                }
                Stmt::If(s) => {
                    self.add_aliases(&s.body);
                    for clause in &s.elif_else_clauses {
                        self.add_aliases(&clause.body);
                    }
                }
                Stmt::Try(s) => {
                    self.add_aliases(&s.body);
                    for ruff_python_ast::ExceptHandler::ExceptHandler(h) in &s.handlers {
                        self.add_aliases(&h.body);
                    }
                    self.add_aliases(&s.orelse);
                }
                Stmt::ClassDef(c) => self.add_aliases(&c.body),
                Stmt::FunctionDef(f) => self.add_aliases(&f.body),
                _ => {}
            }
        }
    }

    fn is_memoising(&self, decorator: &Decorator) -> bool {
        let mut expr = &decorator.expression;
        if let Expr::Call(call) = expr {
            expr = &call.func;
        }
        match expr {
            Expr::Name(n) => self.decorators.contains(n.id.as_str()),
            // `functools.cache`, `ft.lru_cache`, `django.utils.functional.cached_property`:
            // the module alias does not matter, the attribute does.
            Expr::Attribute(a) => MEMO_DECORATORS.contains(&a.attr.id.as_str()),
            _ => false,
        }
    }
}

/// The names a module binds at its top level (in blocks too, not in functions or classes).
fn module_names(body: &[Stmt], out: &mut BTreeSet<String>) {
    for stmt in body {
        match stmt {
            Stmt::Assign(s) => s.targets.iter().for_each(|t| target_names(t, out)),
            Stmt::AnnAssign(s) => target_names(&s.target, out),
            Stmt::AugAssign(s) => target_names(&s.target, out),
            Stmt::FunctionDef(f) => {
                out.insert(f.name.id.to_string());
            }
            Stmt::ClassDef(c) => {
                out.insert(c.name.id.to_string());
            }
            Stmt::Import(s) => {
                for alias in &s.names {
                    out.insert(import_binding(alias).to_string());
                }
            }
            Stmt::ImportFrom(s) => {
                for alias in &s.names {
                    out.insert(alias.asname.as_ref().unwrap_or(&alias.name).id.to_string());
                }
            }
            Stmt::If(s) => {
                module_names(&s.body, out);
                for clause in &s.elif_else_clauses {
                    module_names(&clause.body, out);
                }
            }
            Stmt::Try(s) => {
                module_names(&s.body, out);
                for ruff_python_ast::ExceptHandler::ExceptHandler(h) in &s.handlers {
                    module_names(&h.body, out);
                }
                module_names(&s.orelse, out);
                module_names(&s.finalbody, out);
            }
            Stmt::With(s) => module_names(&s.body, out),
            Stmt::For(s) => {
                target_names(&s.target, out);
                module_names(&s.body, out);
            }
            _ => {}
        }
    }
}

/// The plain names an assignment target binds (`a`, `a, (b, *c)`); attributes and items bind
/// none.
pub(crate) fn target_names(target: &Expr, out: &mut BTreeSet<String>) {
    match target {
        Expr::Name(n) => {
            out.insert(n.id.to_string());
        }
        Expr::Tuple(t) => t.elts.iter().for_each(|e| target_names(e, out)),
        Expr::List(l) => l.elts.iter().for_each(|e| target_names(e, out)),
        Expr::Starred(s) => target_names(&s.value, out),
        _ => {}
    }
}

/// Methods that change the container they are called on.
const MUTATORS: &[&str] = &[
    "append",
    "appendleft",
    "add",
    "clear",
    "discard",
    "extend",
    "extendleft",
    "insert",
    "pop",
    "popitem",
    "remove",
    "reverse",
    "setdefault",
    "sort",
    "update",
];

/// Whether a function keeps state beyond its call: it declares `global` names, or stores into
/// (an item or attribute of) a module-level name or `cls`, or calls a mutating method on one.
/// Such a function behaves like a memoised one for selection: only the test that first ran it
/// covers what later tests read. Nested functions are judged on their own. Beside module-level
/// names, `scope` says what else outlives a call: the variables of enclosing functions (a
/// closure's cache, as in a hand-written `memoize` decorator) and, in a class with an instance
/// made at module level, `self`.
fn keeps_state(f: &ruff_python_ast::StmtFunctionDef, scope: &StateScope<'_>) -> BTreeSet<String> {
    let module = &scope.shared;
    use ruff_python_ast::visitor::{self, Visitor};

    struct Locals(BTreeSet<String>);
    impl<'a> Visitor<'a> for Locals {
        fn visit_stmt(&mut self, stmt: &'a Stmt) {
            match stmt {
                Stmt::FunctionDef(f) => {
                    self.0.insert(f.name.id.to_string());
                }
                Stmt::ClassDef(c) => {
                    self.0.insert(c.name.id.to_string());
                }
                Stmt::Assign(s) => s.targets.iter().for_each(|t| target_names(t, &mut self.0)),
                Stmt::AnnAssign(s) => target_names(&s.target, &mut self.0),
                Stmt::AugAssign(s) => target_names(&s.target, &mut self.0),
                Stmt::For(s) => {
                    target_names(&s.target, &mut self.0);
                    visitor::walk_stmt(self, stmt);
                }
                _ => visitor::walk_stmt(self, stmt),
            }
        }
    }

    struct Finder<'m> {
        module: &'m BTreeSet<&'m str>,
        locals: BTreeSet<String>,
        shared_self: bool,
        plain_methods: &'m PlainMethods,
        /// The function judged, and whether it is nested in another: a class name it (or a
        /// function around it) may bind is not the class. What it binds is read on the
        /// first call through a class's plain method, the only place it matters.
        function: &'m ruff_python_ast::StmtFunctionDef,
        nested: bool,
        bound_here: Option<Bindings>,
        /// What it keeps state in: module-level names, `.attr` for `cls.attr` and `self.attr`.
        roots: BTreeSet<String>,
        class_attributes: &'m BTreeSet<String>,
        /// Parameters with a mutable default (see [`mutable_defaults`]).
        defaults: BTreeSet<String>,
        /// Locals that name shared state (`c = _CACHE`, `c = self._cache`): where it is.
        aliases: BTreeMap<String, String>,
        /// Module-level names of objects the module made (see [`module_objects`]).
        objects: &'m BTreeMap<String, bool>,
        /// For a method of a class with a base from another module: the attributes the class
        /// sets on `self` (see [`Finder::foreign_store`]).
        foreign_base: Option<&'m BTreeSet<String>>,
    }
    impl Finder<'_> {
        /// Whether the function may bind `name` in its own body (or is nested, where a
        /// function around it may).
        fn may_bind(&mut self, name: &str) -> bool {
            let f = self.function;
            let here = self.bound_here.get_or_insert_with(|| {
                let mut here = Bindings::of(&f.body);
                for param in f.parameters.iter() {
                    here.bind(param.name().id.as_str());
                }
                here
            });
            self.nested || here.any_name || here.count.contains_key(name)
        }

        /// The name an item or attribute chain hangs from: `A` of `A.b[c].d`; `type(self)`
        /// and `self.__class__` hang from the class, `cls`.
        fn root(expr: &Expr) -> Option<&str> {
            match expr {
                Expr::Name(n) => Some(n.id.as_str()),
                Expr::Attribute(a) if a.attr.id.as_str() == "__class__" => Some("cls"),
                Expr::Attribute(a) => Self::root(&a.value),
                Expr::Subscript(s) => Self::root(&s.value),
                Expr::Call(call)
                    if matches!(&*call.func, Expr::Name(n) if n.id.as_str() == "type")
                        && call.arguments.args.len() == 1 =>
                {
                    Some("cls")
                }
                _ => None,
            }
        }
        /// The first attribute of a chain that hangs from a name (or from the class, see
        /// [`Self::root`]): `b` of `a.b[c].d`.
        fn first_attribute(expr: &Expr) -> Option<&str> {
            let is_class = |e: &Expr| match e {
                Expr::Attribute(a) => a.attr.id.as_str() == "__class__",
                Expr::Call(call) => matches!(&*call.func, Expr::Name(n) if n.id.as_str() == "type"),
                _ => false,
            };
            match expr {
                Expr::Attribute(a) if a.attr.id.as_str() == "__class__" => None,
                Expr::Attribute(a) if matches!(&*a.value, Expr::Name(_)) || is_class(&a.value) => {
                    Some(a.attr.id.as_str())
                }
                Expr::Attribute(a) => Self::first_attribute(&a.value),
                Expr::Subscript(s) => Self::first_attribute(&s.value),
                _ => None,
            }
        }
        /// Where `expr` (an object stored into or changed) keeps state, if it is shared.
        fn state_of(&self, expr: &Expr) -> Option<String> {
            let name = Self::root(expr)?;
            let attribute = Self::first_attribute(expr);
            if name == "cls" || (name == "self" && self.shared_self) {
                // `cls.seen.add(x)`: the class's attribute; `cls[...]` alone is the class.
                Some(format!(".{}", attribute.unwrap_or("")))
            } else if name == "self"
                && let Some(attribute) = attribute
                && self.class_attributes.contains(attribute)
                && !matches!(expr, Expr::Name(_))
            {
                // `self._cache[k] = v` fills the class's `_cache`.
                Some(format!(".{attribute}"))
            } else if let Some(state) = self.aliases.get(name) {
                Some(state.clone())
            } else if self.defaults.contains(name) {
                // The default is the function's own: only its callers see it.
                Some(".".to_string())
            } else if self.module.contains(name) && !self.locals.contains(name) {
                Some(name.to_string())
            } else {
                None
            }
        }
        /// The shared state `value` is or holds, when it is one of its objects: the state
        /// itself, an item of it, or what its getters hand out (`.get(k)`, `.setdefault(k, d)`,
        /// `.values()`, `.items()`). The result of any other call is new.
        fn held_in(&self, value: &Expr) -> Option<String> {
            match value {
                // The module's own namespace.
                Expr::Call(call) if matches!(&*call.func, Expr::Name(n) if n.id.as_str() == "globals") => {
                    Some(".".to_string())
                }
                Expr::Call(call) => match &*call.func {
                    Expr::Attribute(a)
                        if matches!(
                            a.attr.id.as_str(),
                            "get" | "setdefault" | "values" | "items" | "pop"
                        ) =>
                    {
                        self.held_in(&a.value)
                    }
                    _ => None,
                },
                other => self.state_of(other),
            }
        }
        /// Names in `target` now hold `state` (or nothing shared).
        fn alias(&mut self, target: &Expr, state: Option<String>) {
            let mut names = BTreeSet::new();
            target_names(target, &mut names);
            for name in names {
                match &state {
                    Some(state) => {
                        self.aliases.insert(name, state.clone());
                    }
                    None => {
                        self.aliases.remove(&name);
                    }
                }
            }
        }
        /// `self._registry[k] = v` in a class with a base from another module, where the class
        /// never sets `self._registry`: the dict may be the base's class attribute. Only for
        /// names that say so (`_cache`, `registry`, `_instances`): a framework's base sets most
        /// such attributes per instance (`self.fields[name] = field` in a form).
        fn foreign_store(&mut self, expr: &Expr) {
            if let Some(own) = self.foreign_base
                && let Expr::Attribute(a) = expr
                && matches!(&*a.value, Expr::Name(n) if n.id.as_str() == "self")
                && !own.contains(a.attr.id.as_str())
                && names_a_cache(a.attr.id.as_str())
            {
                self.roots.insert(format!(".{}", a.attr.id));
            }
        }
        /// Record where `expr` (the object stored into or changed) keeps state, if it is shared.
        fn shared(&mut self, expr: &Expr) {
            if let Some(state) = self.state_of(expr) {
                self.roots.insert(state);
            }
        }
        fn store(&mut self, target: &Expr) {
            match target {
                Expr::Subscript(s) if self.held_in(&s.value).as_deref() == Some(".") => {
                    self.roots.insert(".".to_string());
                }
                Expr::Subscript(s) => {
                    self.shared(&s.value);
                    self.foreign_store(&s.value);
                }
                Expr::Attribute(a) => self.shared(&a.value),
                Expr::Tuple(t) => t.elts.iter().for_each(|e| self.store(e)),
                Expr::List(l) => l.elts.iter().for_each(|e| self.store(e)),
                _ => {}
            }
        }
    }
    impl<'a> Visitor<'a> for Finder<'_> {
        fn visit_stmt(&mut self, stmt: &'a Stmt) {
            match stmt {
                // Judged on their own.
                Stmt::FunctionDef(_) | Stmt::ClassDef(_) => {}
                // `self.__dict__ = self._shared_state` (a Borg): what is stored on `self`
                // after it is stored into the shared dict.
                Stmt::Assign(s)
                    if let [Expr::Attribute(target)] = s.targets.as_slice()
                        && target.attr.id.as_str() == "__dict__"
                        && let Expr::Name(object) = &*target.value
                        && let Some(state) = self.held_in(&s.value) =>
                {
                    self.roots.insert(state.clone());
                    self.aliases.insert(object.id.to_string(), state);
                }
                Stmt::Global(g) => {
                    self.roots.extend(g.names.iter().map(|n| n.id.to_string()));
                }
                Stmt::Assign(s) => {
                    s.targets.iter().for_each(|t| self.store(t));
                    // `c = _CACHE` (or `c = self._cache`, `c = _CACHE.get(k)`): `c[k] = v` then
                    // fills the shared one.
                    if let [target] = s.targets.as_slice() {
                        let state = self.held_in(&s.value);
                        self.alias(target, state);
                    }
                    visitor::walk_stmt(self, stmt);
                }
                // `for entry in _REGISTRY.values(): entry.append(x)`.
                Stmt::For(s) => {
                    let state = self.held_in(&s.iter);
                    self.alias(&s.target, state);
                    visitor::walk_stmt(self, stmt);
                }
                Stmt::AugAssign(s) => {
                    self.store(&s.target);
                    visitor::walk_stmt(self, stmt);
                }
                Stmt::AnnAssign(s) => {
                    self.store(&s.target);
                    visitor::walk_stmt(self, stmt);
                }
                Stmt::Delete(s) => {
                    s.targets.iter().for_each(|t| self.store(t));
                    visitor::walk_stmt(self, stmt);
                }
                _ => visitor::walk_stmt(self, stmt),
            }
        }
        fn visit_expr(&mut self, expr: &'a Expr) {
            // `setattr(self, name, value)`, `object.__setattr__(self, ...)`: a store.
            if let Expr::Call(call) = expr
                && let Some(first) = call.arguments.args.first()
                && match &*call.func {
                    Expr::Name(n) => matches!(n.id.as_str(), "setattr" | "delattr"),
                    Expr::Attribute(a) => {
                        matches!(a.attr.id.as_str(), "__setattr__" | "__delattr__")
                    }
                    _ => false,
                }
            {
                self.shared(first);
            }
            // A method of an object the module made that stores (`_SHELF.put(k, v)`), or any
            // but a reader of a cache (`_LRU = LRUCache(128)`), changes it.
            if let Expr::Call(call) = expr
                && let Expr::Attribute(method) = &*call.func
                && let Expr::Name(object) = &*method.value
                && let Some(&cache) = self.objects.get(object.id.as_str())
                && !self.locals.contains(object.id.as_str())
            {
                let method = method.attr.id.as_str();
                if stores(method) || (cache && !reads_only(method)) {
                    self.roots.insert(object.id.to_string());
                }
            }
            if let Expr::Call(call) = expr
                && let Expr::Attribute(method) = &*call.func
                && MUTATORS.contains(&method.attr.id.as_str())
            {
                let name = method.attr.id.as_str();
                if name == "setdefault" {
                    self.foreign_store(&method.value);
                }
                let receiver = match (&*method.value, call.arguments.args.first()) {
                    (Expr::Name(class), Some(first))
                        if !matches!(first, Expr::Starred(_))
                            && self
                                .plain_methods
                                .get(class.id.as_str())
                                .is_some_and(|m| m.contains(name))
                            && !self.may_bind(class.id.as_str()) =>
                    {
                        first
                    }
                    _ => &method.value,
                };
                self.shared(receiver);
            }
            visitor::walk_expr(self, expr);
        }
    }

    let mut locals = Locals(BTreeSet::new());
    for param in f.parameters.iter() {
        locals.0.insert(param.name().id.to_string());
    }
    locals.0.remove("cls");
    if scope.shared_self {
        locals.0.remove("self");
    }
    locals.visit_body(&f.body);
    let mut finder = Finder {
        module,
        locals: locals.0,
        shared_self: scope.shared_self,
        plain_methods: scope.plain_methods,
        function: f,
        nested: scope.nested,
        bound_here: None,
        roots: BTreeSet::new(),
        class_attributes: scope.class_attributes,
        defaults: mutable_defaults(f),
        aliases: BTreeMap::new(),
        objects: scope.objects,
        foreign_base: scope.foreign_base,
    };
    finder.visit_body(&f.body);
    finder.roots
}

/// What outlives a call of the function being judged (see [`keeps_state`]).
struct StateScope<'a> {
    /// Module-level names and the variables of every enclosing function.
    shared: BTreeSet<&'a str>,
    /// `self` is an instance made at module level.
    shared_self: bool,
    plain_methods: &'a PlainMethods,
    /// The function is nested in another, whose locals it sees.
    nested: bool,
    /// For a method: its class's attributes that every instance shares (`self._cache[k] = v`
    /// fills the class's dict).
    class_attributes: &'a BTreeSet<String>,
    /// Module-level names of objects the module made (see [`module_objects`]).
    objects: &'a BTreeMap<String, bool>,
    /// For a method of a class with a base from another module: what the class sets on `self`.
    foreign_base: Option<&'a BTreeSet<String>>,
}

static NO_NAMES: BTreeSet<String> = BTreeSet::new();

/// The attributes of a class that its instances share when they change them in place: those its
/// body binds (`_cache = {}`), and those a method sets from a parameter's mutable default
/// (`def __init__(self, store={}): self.store = store`, one dict for every instance).
fn shared_class_attributes(c: &ruff_python_ast::StmtClassDef) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for stmt in &c.body {
        match stmt {
            Stmt::Assign(a) if may_be_mutable(&a.value) => {
                a.targets.iter().for_each(|t| target_names(t, &mut out));
            }
            Stmt::AnnAssign(a) if a.value.as_deref().is_some_and(may_be_mutable) => {
                target_names(&a.target, &mut out);
            }
            Stmt::FunctionDef(f) => {
                let defaults = mutable_defaults(f);
                if defaults.is_empty() {
                    continue;
                }
                let mut stores = SelfStores(&defaults, &mut out);
                ruff_python_ast::visitor::Visitor::visit_body(&mut stores, &f.body);
            }
            _ => {}
        }
    }
    out
}

/// The shared attributes (see [`shared_class_attributes`]) of each class the module defines at
/// its top level, with those it inherits from the module's other classes: a subclass's method
/// that fills `self._registry` fills its base's dict.
fn inherited_class_attributes(body: &[Stmt]) -> BTreeMap<String, BTreeSet<String>> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    // A base is defined before the classes that name it, so one pass in order sees it.
    for stmt in body {
        if let Stmt::ClassDef(c) = stmt {
            let mut attributes = shared_class_attributes(c);
            attributes.extend(base_attributes(c, &out));
            out.insert(c.name.id.to_string(), attributes);
        }
    }
    out
}

/// Methods that read an object without changing it, on the objects a module makes (see
/// [`module_objects`]): those [`super::names::PURE_METHODS`] knows (a mapping's getters, a
/// logger's, a pattern's), and a lock's or an event's.
fn reads_only(method: &str) -> bool {
    super::names::PURE_METHODS.contains(&method)
        || matches!(
            method,
            "getEffectiveLevel"
                | "acquire"
                | "release"
                | "locked"
                | "is_set"
                | "wait"
                | "__enter__"
                | "__exit__"
                | "__contains__"
                | "__getitem__"
                | "__len__"
                | "__iter__"
        )
}

/// Whether a method stores into the object it is called on, whatever its type: by name
/// (`put`, `add`, `connect`), or by a prefix that says so (`add_handler`, `register_type`).
fn stores(method: &str) -> bool {
    const NAMES: &[&str] = &[
        "put",
        "set",
        "add",
        "register",
        "append",
        "extend",
        "update",
        "insert",
        "push",
        "store",
        "save",
        "pop",
        "remove",
        "discard",
        "setdefault",
        "clear",
        "record",
        "incr",
        "increment",
        "memoize",
        "connect",
        "subscribe",
        "on",
        "bind",
        "schedule",
        "put_nowait",
        "__setitem__",
        "__delitem__",
    ];
    const PREFIXES: &[&str] = &[
        "add_",
        "register",
        "set_",
        "put_",
        "append_",
        "update_",
        "insert_",
        "push_",
        "store_",
        "save_",
        "record_",
        "subscribe",
        "connect_",
        "bind_",
        "on_",
        "attach",
        "install",
    ];
    NAMES.contains(&method) || PREFIXES.iter().any(|p| method.starts_with(p))
}

/// The names a module binds at its top level (in blocks too) to an object it makes by calling a
/// class (`_SHELF = Shelf()`, `_LRU = LRUCache(128)`), and whether its type says it is a cache
/// or a registry (see [`may_be_mutable`]): a method that stores ([`stores`]) changes it, and
/// on a cache any method but a reader ([`reads_only`]). Loggers, patterns, locks and other values
/// made by functions are not such objects.
fn module_objects(body: &[Stmt]) -> BTreeMap<String, bool> {
    let mut out = BTreeMap::new();
    module_objects_into(body, &mut out);
    out
}

fn module_objects_into(body: &[Stmt], out: &mut BTreeMap<String, bool>) {
    const VALUES: &[&str] = &[
        "Lock",
        "RLock",
        "Semaphore",
        "BoundedSemaphore",
        "Path",
        "PurePath",
        "PurePosixPath",
        "Struct",
        "Decimal",
        "Fraction",
        "TypeVar",
        "NewType",
        "ParamSpec",
        "TypeVarTuple",
        "NamedTuple",
        "UUID",
        "Enum",
        "IntEnum",
    ];
    for stmt in body {
        let (targets, value): (Vec<&Expr>, Option<&Expr>) = match stmt {
            Stmt::Assign(s) => (s.targets.iter().collect(), Some(&*s.value)),
            Stmt::AnnAssign(s) => (vec![&*s.target], s.value.as_deref()),
            Stmt::If(s) => {
                module_objects_into(&s.body, out);
                for clause in &s.elif_else_clauses {
                    module_objects_into(&clause.body, out);
                }
                continue;
            }
            Stmt::Try(s) => {
                module_objects_into(&s.body, out);
                for ruff_python_ast::ExceptHandler::ExceptHandler(h) in &s.handlers {
                    module_objects_into(&h.body, out);
                }
                module_objects_into(&s.orelse, out);
                continue;
            }
            _ => continue,
        };
        let Some(Expr::Call(call)) = value else {
            continue;
        };
        // `LRUCache[str, int](128)` is a call of the class too.
        let func = match &*call.func {
            Expr::Subscript(s) => &*s.value,
            other => other,
        };
        let callee = match func {
            Expr::Name(n) => n.id.as_str(),
            Expr::Attribute(a) => a.attr.id.as_str(),
            _ => continue,
        };
        let class_like = callee.chars().next().is_some_and(char::is_uppercase);
        if class_like && !VALUES.contains(&callee) {
            let cache = may_be_mutable(value.expect("matched above"));
            for target in targets {
                let mut names = BTreeSet::new();
                target_names(target, &mut names);
                for name in names {
                    out.insert(name, cache);
                }
            }
        }
    }
}

/// Whether an attribute's name says it holds a cache or a registry.
fn names_a_cache(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    [
        "cache",
        "registry",
        "memo",
        "instances",
        "seen",
        "pool",
        "lookup",
        "handler",
        "plugin",
        "hook",
        "command",
        "route",
        "listener",
        "callback",
        "subscriber",
        "factories",
        "store",
    ]
    .iter()
    .any(|w| name.contains(w))
}

/// Builtin and typing bases beside [`super::names::PLAIN_BASES`], whose class attributes are
/// known to hold no cache.
const BUILTIN_BASES: &[&str] = &[
    "dict",
    "list",
    "set",
    "tuple",
    "str",
    "int",
    "type",
    "Protocol",
    "NamedTuple",
    "TypedDict",
    "Generic",
    "ABC",
];

/// Whether a class names a base that is not one of the module's classes nor a builtin: its
/// class attributes are not known here.
fn has_foreign_base(
    c: &ruff_python_ast::StmtClassDef,
    classes: &BTreeMap<String, BTreeSet<String>>,
) -> bool {
    c.arguments.iter().flat_map(|a| a.args.iter()).any(|base| {
        // `BaseRepo[User]` is `BaseRepo`.
        let base = match base {
            Expr::Subscript(s) => &*s.value,
            other => other,
        };
        match base {
            Expr::Name(n) => {
                !classes.contains_key(n.id.as_str())
                    && !super::names::PLAIN_BASES.contains(&n.id.as_str())
                    && !BUILTIN_BASES.contains(&n.id.as_str())
            }
            _ => true,
        }
    })
}

/// The attributes a class's methods set on `self` (`self.items = []`).
fn self_attributes(c: &ruff_python_ast::StmtClassDef) -> BTreeSet<String> {
    use ruff_python_ast::visitor::{self, Visitor};
    struct Sets(BTreeSet<String>);
    impl<'a> Visitor<'a> for Sets {
        fn visit_expr(&mut self, expr: &'a Expr) {
            if let Expr::Attribute(a) = expr
                && !a.ctx.is_load()
                && matches!(&*a.value, Expr::Name(n) if n.id.as_str() == "self")
            {
                self.0.insert(a.attr.id.to_string());
            }
            visitor::walk_expr(self, expr);
        }
    }
    let mut sets = Sets(BTreeSet::new());
    sets.visit_body(&c.body);
    sets.0
}

/// What a class inherits of the shared attributes of the module's classes it names as bases.
fn base_attributes(
    c: &ruff_python_ast::StmtClassDef,
    classes: &BTreeMap<String, BTreeSet<String>>,
) -> BTreeSet<String> {
    c.arguments
        .iter()
        .flat_map(|a| a.args.iter())
        .filter_map(|base| match base {
            Expr::Name(n) => classes.get(n.id.as_str()),
            _ => None,
        })
        .flatten()
        .cloned()
        .collect()
}

/// Collects `self.attr = param` for the parameters given (see [`shared_class_attributes`]).
struct SelfStores<'s>(&'s BTreeSet<String>, &'s mut BTreeSet<String>);

impl<'a> ruff_python_ast::visitor::Visitor<'a> for SelfStores<'_> {
    fn visit_stmt(&mut self, stmt: &'a Stmt) {
        if let Stmt::Assign(a) = stmt
            && let Expr::Name(value) = &*a.value
            && self.0.contains(value.id.as_str())
        {
            for target in &a.targets {
                if let Expr::Attribute(attr) = target
                    && matches!(&*attr.value, Expr::Name(n) if n.id.as_str() == "self")
                {
                    self.1.insert(attr.attr.id.to_string());
                }
            }
        }
        ruff_python_ast::visitor::walk_stmt(self, stmt);
    }
}

/// The parameters whose default is a mutable container (`_cache={}`, `seen=set()`): made once,
/// when the `def` runs, and shared by every call that leaves them out.
fn mutable_defaults(f: &ruff_python_ast::StmtFunctionDef) -> BTreeSet<String> {
    f.parameters
        .iter_non_variadic_params()
        .filter(|p| p.default.as_deref().is_some_and(may_be_mutable))
        .map(|p| p.parameter.name.id.to_string())
        .collect()
}

/// A value that is a mutable container, made once and shared by whoever reads it: a display,
/// a comprehension, a call of a container or cache type (`dict()`, `defaultdict(list)`,
/// `WeakValueDictionary()`, `LRUCache(128)`, a type whose name says it is one: `...Cache`,
/// `...Dict`, `...Registry`), or another name (`registry = _REGISTRY`). Not a literal, and not
/// `field(default_factory=list)`: each instance gets its own. An object of another type
/// (`_DefaultSize()`) may keep nothing; what a module makes and calls is judged apart
/// ([`module_objects`]).
fn may_be_mutable(e: &Expr) -> bool {
    const CONTAINERS: &[&str] = &[
        "dict",
        "list",
        "set",
        "bytearray",
        "defaultdict",
        "OrderedDict",
        "Counter",
        "deque",
        "ChainMap",
        "SimpleNamespace",
        "WeakValueDictionary",
        "WeakKeyDictionary",
        "WeakSet",
        "local",
    ];
    const KINDS: &[&str] = &["Cache", "Dict", "Registry", "Map", "Store"];
    match e {
        Expr::Dict(_) | Expr::List(_) | Expr::Set(_) => true,
        Expr::DictComp(_) | Expr::ListComp(_) | Expr::SetComp(_) => true,
        Expr::Name(n) => !matches!(n.id.as_str(), "None" | "True" | "False"),
        // `base.REGISTRY`, `A if c else B`, `({}, {})`: what they hold.
        Expr::Attribute(_) | Expr::Subscript(_) => true,
        Expr::If(x) => may_be_mutable(&x.body) || may_be_mutable(&x.orelse),
        Expr::Tuple(t) => t.elts.iter().any(may_be_mutable),
        Expr::Call(call) => {
            let callee = match &*call.func {
                Expr::Name(n) => n.id.as_str(),
                Expr::Attribute(a) => a.attr.id.as_str(),
                _ => "",
            };
            CONTAINERS.contains(&callee)
                || KINDS.iter().any(|k| callee.ends_with(k))
                || names_a_cache(callee)
        }
        _ => false,
    }
}

/// Whether a function, used as a decorator, may read the docstring of what it is given: its
/// code (nested functions included) reads one (`__doc__`, `inspect.getdoc`, `help`) or may read
/// any attribute (`getattr`, `vars`, `__dict__`), or it hands a parameter to a call other than
/// a container's mutating method or `functools.wraps` (`click.command()(f)` reads it in code
/// covshard cannot see). A registering decorator that stores what it is given and returns it
/// reads nothing of it.
fn may_read_docs(f: &ruff_python_ast::StmtFunctionDef) -> bool {
    use ruff_python_ast::visitor::{self, Visitor};
    struct Params(BTreeSet<String>);
    impl<'a> Visitor<'a> for Params {
        fn visit_stmt(&mut self, stmt: &'a Stmt) {
            if let Stmt::FunctionDef(f) = stmt {
                self.0
                    .extend(f.parameters.iter().map(|p| p.name().id.to_string()));
            }
            visitor::walk_stmt(self, stmt);
        }
    }
    struct Reads<'p> {
        params: &'p BTreeSet<String>,
        found: bool,
    }
    impl Reads<'_> {
        /// Whether an argument is, or displays, one of the parameters.
        fn hands_on(&self, e: &Expr) -> bool {
            match e {
                Expr::Name(n) => self.params.contains(n.id.as_str()),
                Expr::Starred(s) => self.hands_on(&s.value),
                Expr::Tuple(t) => t.elts.iter().any(|e| self.hands_on(e)),
                Expr::List(l) => l.elts.iter().any(|e| self.hands_on(e)),
                Expr::Dict(d) => d.items.iter().any(|i| self.hands_on(&i.value)),
                _ => false,
            }
        }
    }
    impl<'a> Visitor<'a> for Reads<'_> {
        fn visit_expr(&mut self, expr: &'a Expr) {
            match expr {
                Expr::Attribute(a) if matches!(a.attr.id.as_str(), "__doc__" | "__dict__") => {
                    self.found = true;
                }
                Expr::Call(call) => {
                    let callee = match &*call.func {
                        Expr::Name(n) => Some(n.id.as_str()),
                        Expr::Attribute(a) => Some(a.attr.id.as_str()),
                        _ => None,
                    };
                    let reads = callee.is_some_and(|c| {
                        matches!(c, "getdoc" | "render_doc" | "help" | "getattr" | "vars")
                    });
                    let harmless = callee.is_some_and(|c| {
                        MUTATORS.contains(&c)
                            || matches!(c, "wraps" | "update_wrapper" | "isinstance" | "callable")
                    });
                    let handed = call.arguments.args.iter().any(|a| self.hands_on(a))
                        || call
                            .arguments
                            .keywords
                            .iter()
                            .any(|k| self.hands_on(&k.value));
                    // A wrapper calling what it wraps hands it arguments, not itself.
                    let calls_param = matches!(&*call.func,
                        Expr::Name(n) if self.params.contains(n.id.as_str()));
                    if reads || (handed && !harmless && !calls_param) {
                        self.found = true;
                    }
                }
                _ => {}
            }
            visitor::walk_expr(self, expr);
        }
    }
    let mut params = Params(
        f.parameters
            .iter()
            .map(|p| p.name().id.to_string())
            .collect(),
    );
    params.visit_body(&f.body);
    let mut reads = Reads {
        params: &params.0,
        found: false,
    };
    reads.visit_body(&f.body);
    reads.found
}

/// The plain methods (no decorator) of each class the module defines once at its top level,
/// by class name. `Cache.pop(self, key)` calls one on its first argument, as `self.pop(key)`
/// would: it changes that argument, not the class.
type PlainMethods = BTreeMap<String, BTreeSet<String>>;

fn plain_methods(body: &[Stmt]) -> PlainMethods {
    let bound = Bindings::of(body);
    if bound.any_name {
        return PlainMethods::new();
    }
    body.iter()
        .filter_map(|stmt| match stmt {
            // Bound once, by itself, not replaced by a decorator or built by a metaclass, and
            // none of its attributes set from outside (`Cache.pop = other`).
            Stmt::ClassDef(c)
                if bound.count.get(c.name.id.as_str()) == Some(&1)
                    && c.decorator_list.is_empty()
                    && c.arguments.as_ref().is_none_or(|a| a.keywords.is_empty())
                    && !bound.patched.contains(c.name.id.as_str()) =>
            {
                Some(c)
            }
            _ => None,
        })
        .map(|c| {
            let mut bound_otherwise = BTreeSet::new();
            let mut plain = BTreeSet::new();
            for stmt in &c.body {
                match stmt {
                    Stmt::FunctionDef(f) if f.decorator_list.is_empty() => {
                        plain.insert(f.name.id.to_string());
                    }
                    other => module_names(std::slice::from_ref(other), &mut bound_otherwise),
                }
            }
            plain.retain(|m| !bound_otherwise.contains(m));
            (c.name.id.to_string(), plain)
        })
        .collect()
}

/// Every name some code binds, anywhere in the statements it is given (nested bodies too, which
/// only makes it err towards more).
#[derive(Default)]
struct Bindings {
    /// How many times each name is bound.
    count: BTreeMap<String, usize>,
    /// Names whose attributes are set or deleted (`C.x = 1`, `del C.x`, `setattr(C, ...)`).
    patched: BTreeSet<String>,
    /// Some statement may bind any name (`from m import *`, a `match` capture).
    any_name: bool,
}

impl<'a> ruff_python_ast::visitor::Visitor<'a> for Bindings {
    fn visit_stmt(&mut self, stmt: &'a Stmt) {
        match stmt {
            Stmt::FunctionDef(f) => self.bind(f.name.id.as_str()),
            Stmt::ClassDef(c) => self.bind(c.name.id.as_str()),
            Stmt::Import(s) => {
                for alias in &s.names {
                    self.bind(import_binding(alias));
                }
            }
            Stmt::ImportFrom(s) => {
                for alias in &s.names {
                    match alias.asname.as_ref().unwrap_or(&alias.name).id.as_str() {
                        "*" => self.any_name = true,
                        name => self.bind(name),
                    }
                }
            }
            Stmt::Global(g) => g.names.iter().for_each(|n| self.bind(n.id.as_str())),
            Stmt::Nonlocal(g) => g.names.iter().for_each(|n| self.bind(n.id.as_str())),
            Stmt::Match(_) => self.any_name = true,
            _ => {}
        }
        ruff_python_ast::visitor::walk_stmt(self, stmt);
    }
    fn visit_expr(&mut self, expr: &'a Expr) {
        match expr {
            Expr::Name(n) if !n.ctx.is_load() => self.bind(n.id.as_str()),
            Expr::Attribute(a) if !a.ctx.is_load() => {
                if let Expr::Name(n) = &*a.value {
                    self.patched.insert(n.id.to_string());
                }
            }
            Expr::Call(call) => {
                if let (Expr::Name(f), Some(Expr::Name(n))) =
                    (&*call.func, call.arguments.args.first())
                    && matches!(f.id.as_str(), "setattr" | "delattr")
                {
                    self.patched.insert(n.id.to_string());
                }
            }
            _ => {}
        }
        ruff_python_ast::visitor::walk_expr(self, expr);
    }
    fn visit_except_handler(&mut self, handler: &'a ruff_python_ast::ExceptHandler) {
        let ruff_python_ast::ExceptHandler::ExceptHandler(h) = handler;
        if let Some(name) = &h.name {
            self.bind(name.id.as_str());
        }
        ruff_python_ast::visitor::walk_except_handler(self, handler);
    }
}

impl Bindings {
    fn of(body: &[Stmt]) -> Self {
        use ruff_python_ast::visitor::Visitor;
        let mut bindings = Bindings::default();
        bindings.visit_body(body);
        bindings
    }

    fn bind(&mut self, name: &str) {
        *self.count.entry(name.to_string()).or_default() += 1;
    }
}

/// The classes a module makes an instance of at its top level (`LOADER = Loader()`): their
/// instances live as long as the module, so what a method stores on `self` outlives the test.
fn module_instances(body: &[Stmt], out: &mut BTreeSet<String>) {
    for stmt in body {
        let value = match stmt {
            Stmt::Assign(s) => Some(&*s.value),
            Stmt::AnnAssign(s) => s.value.as_deref(),
            Stmt::If(s) => {
                module_instances(&s.body, out);
                for clause in &s.elif_else_clauses {
                    module_instances(&clause.body, out);
                }
                None
            }
            Stmt::Try(s) => {
                module_instances(&s.body, out);
                for ruff_python_ast::ExceptHandler::ExceptHandler(h) in &s.handlers {
                    module_instances(&h.body, out);
                }
                None
            }
            _ => None,
        };
        if let Some(Expr::Call(call)) = value
            && let Expr::Name(class) = &*call.func
        {
            out.insert(class.id.to_string());
        }
    }
}

/// Whether a function body yields (nested functions aside): it is a generator.
fn yields(body: &[Stmt]) -> bool {
    use ruff_python_ast::visitor::{self, Visitor};
    struct Yields(bool);
    impl<'a> Visitor<'a> for Yields {
        fn visit_stmt(&mut self, stmt: &'a Stmt) {
            if !matches!(stmt, Stmt::FunctionDef(_) | Stmt::ClassDef(_)) {
                visitor::walk_stmt(self, stmt);
            }
        }
        fn visit_expr(&mut self, expr: &'a Expr) {
            match expr {
                Expr::Yield(_) | Expr::YieldFrom(_) => self.0 = true,
                Expr::Lambda(_) => {}
                _ => visitor::walk_expr(self, expr),
            }
        }
    }
    let mut found = Yields(false);
    found.visit_body(body);
    found.0
}

/// The names a function binds: its parameters and every plain name it assigns.
fn function_locals(f: &ruff_python_ast::StmtFunctionDef) -> BTreeSet<String> {
    use ruff_python_ast::visitor::{self, Visitor};
    struct Stores(BTreeSet<String>);
    impl<'a> Visitor<'a> for Stores {
        fn visit_expr(&mut self, expr: &'a Expr) {
            if let Expr::Name(n) = expr
                && n.ctx.is_store()
            {
                self.0.insert(n.id.to_string());
            }
            visitor::walk_expr(self, expr);
        }
        fn visit_stmt(&mut self, stmt: &'a Stmt) {
            match stmt {
                Stmt::FunctionDef(f) => {
                    self.0.insert(f.name.id.to_string());
                }
                Stmt::ClassDef(c) => {
                    self.0.insert(c.name.id.to_string());
                }
                _ => visitor::walk_stmt(self, stmt),
            }
        }
    }
    let mut stores = Stores(
        f.parameters
            .iter()
            .map(|p| p.name().id.to_string())
            .collect(),
    );
    stores.visit_body(&f.body);
    stores.0
}

/// xunit-style setup and teardown of a whole module (pytest's and unittest's spellings): run once,
/// in the first (or last) test's setup (or teardown), for every test of the module, like a
/// module-scoped fixture.
const XUNIT_MODULE_SETUP: &[&str] = &[
    "setup_module",
    "teardown_module",
    "setUpModule",
    "tearDownModule",
    "setup_package",
    "teardown_package",
];

/// The same for a class's tests (a method of the class).
/// Django's `setUpTestData` is one too: its `TestCase.setUpClass` calls it once per class.
const XUNIT_CLASS_SETUP: &[&str] = &[
    "setup_class",
    "teardown_class",
    "setUpClass",
    "tearDownClass",
    "setUpTestData",
];

/// `@pytest.fixture(scope=...)` with a scope wider than one test (`"session"`, `"package"`,
/// `"module"`, `"class"`, or one computed at run time): pytest runs its body once, for the first
/// test that asks, and hands later tests the kept value, which is memoising.
fn is_shared_fixture(call: &ruff_python_ast::ExprCall) -> bool {
    let named_fixture = match &*call.func {
        Expr::Name(n) => n.id.as_str() == "fixture",
        Expr::Attribute(a) => a.attr.id.as_str() == "fixture",
        _ => false,
    };
    named_fixture
        && call.arguments.keywords.iter().any(|k| {
            k.arg.as_ref().is_some_and(|a| a.id.as_str() == "scope")
                && !matches!(&k.value, Expr::StringLiteral(s) if s.value.to_str() == "function")
        })
}

struct Walker<'a> {
    /// Classes with an instance made at module level.
    module_instances: &'a BTreeSet<String>,
    /// See [`plain_methods`].
    plain_methods: &'a PlainMethods,
    /// The locals of each enclosing function, innermost last.
    enclosing: Vec<BTreeSet<String>>,
    /// The class whose body is being walked directly (methods see `self` as its instance).
    class: Option<String>,
    /// That class's attributes shared by its instances (see [`shared_class_attributes`]).
    class_attributes: BTreeSet<String>,
    /// Names bound at module level: state a function can keep between calls.
    module_names: &'a BTreeSet<String>,
    lines: &'a LineIndex,
    tokens: &'a Tokens,
    memo: &'a MemoNames,
    /// See [`inherited_class_attributes`].
    inherited: &'a BTreeMap<String, BTreeSet<String>>,
    /// See [`module_objects`].
    objects: &'a BTreeMap<String, bool>,
    /// For the class walked directly, when a base of it comes from another module: the
    /// attributes it sets on `self`.
    foreign_base: Option<BTreeSet<String>>,
    functions: Vec<FunctionSpan>,
    /// See [`ModuleSyntax::import_evidence`].
    recorded_by_calls: BTreeSet<u32>,
}

impl Walker<'_> {
    /// `prefix` is the qualname prefix for definitions in this suite (`""`, `"C."`,
    /// `"f.<locals>."`).
    fn suite(&mut self, body: &[Stmt], prefix: &str, in_memo: bool) {
        for stmt in body {
            self.stmt(stmt, prefix, in_memo);
        }
    }

    fn stmt(&mut self, stmt: &Stmt, prefix: &str, in_memo: bool) {
        match stmt {
            Stmt::FunctionDef(f) => {
                let qualname = format!("{prefix}{}", f.name.id.as_str());
                let mut header_end = f.parameters.range.end();
                if let Some(r) = &f.returns {
                    header_end = header_end.max(r.range().end());
                }
                let scope = StateScope {
                    shared: self
                        .module_names
                        .iter()
                        .map(String::as_str)
                        .chain(self.enclosing.iter().flatten().map(String::as_str))
                        .collect(),
                    shared_self: self
                        .class
                        .as_ref()
                        .is_some_and(|c| self.module_instances.contains(c)),
                    plain_methods: self.plain_methods,
                    nested: !self.enclosing.is_empty(),
                    class_attributes: if self.class.is_some() {
                        &self.class_attributes
                    } else {
                        &NO_NAMES
                    },
                    objects: self.objects,
                    foreign_base: self
                        .class
                        .is_some()
                        .then_some(self.foreign_base.as_ref())
                        .flatten(),
                };
                let xunit = if prefix.is_empty() {
                    XUNIT_MODULE_SETUP
                } else if self.class.is_some() {
                    XUNIT_CLASS_SETUP
                } else {
                    &[]
                };
                let shared_fixture = xunit.contains(&f.name.id.as_str())
                    || f.decorator_list.iter().any(
                        |d| matches!(&d.expression, Expr::Call(call) if is_shared_fixture(call)),
                    );
                let mut state = keeps_state(f, &scope);
                // A generator the module starts (`_IT = _gen()`) keeps its frame between the
                // tests that resume it.
                if prefix.is_empty()
                    && self.module_instances.contains(f.name.id.as_str())
                    && yields(&f.body)
                {
                    state.insert(".".to_string());
                }
                let keeps = !state.is_empty();
                let memoised = in_memo
                    || shared_fixture
                    || keeps
                    || f.decorator_list.iter().any(|d| self.memo.is_memoising(d));
                let start = f
                    .decorator_list
                    .iter()
                    .map(|d| d.range.start())
                    .chain([stmt.range().start()])
                    .min()
                    .unwrap_or_default();
                let span = self.span(
                    start,
                    f.name.range.start(),
                    header_end,
                    f.body.first().map(|s| s.range().start()),
                    stmt.range().end(),
                );
                let (first, header) = (span.0, span.2);
                if f.body.len() == 1 && is_docstring(&f.body[0]) {
                    self.recorded_by_calls.extend(first..=header);
                } else if let Some(body) = f.body.first() {
                    self.recorded_by_calls
                        .extend(self.lines.line_of(body.range().start())..=header);
                }
                self.functions.push(FunctionSpan {
                    qualname: qualname.clone(),
                    start: span.0,
                    def_line: span.1,
                    header_end: span.2,
                    end: span.3,
                    is_async: f.is_async,
                    memoised,
                    shared_fixture,
                    keeps_state: keeps,
                    state: state.into_iter().collect(),
                    docstring: f.body.first().filter(|b| is_docstring(b)).map(|b| {
                        (
                            self.lines.line_of(b.range().start()),
                            self.lines.line_of(b.range().end()),
                        )
                    }),
                    may_read_docs: may_read_docs(f),
                });
                self.enclosing.push(function_locals(f));
                let class = self.class.take();
                self.suite(&f.body, &format!("{qualname}.<locals>."), memoised);
                self.class = class;
                self.enclosing.pop();
            }
            Stmt::ClassDef(c) => {
                let qualname = format!("{prefix}{}", c.name.id.as_str());
                let outer = self.class.replace(c.name.id.to_string());
                let mut attributes = shared_class_attributes(c);
                attributes.extend(base_attributes(c, self.inherited));
                let outer_attributes = std::mem::replace(&mut self.class_attributes, attributes);
                let foreign = has_foreign_base(c, self.inherited).then(|| self_attributes(c));
                let outer_foreign = std::mem::replace(&mut self.foreign_base, foreign);
                self.suite(&c.body, &format!("{qualname}."), in_memo);
                self.class = outer;
                self.class_attributes = outer_attributes;
                self.foreign_base = outer_foreign;
            }
            Stmt::If(s) => {
                self.suite(&s.body, prefix, in_memo);
                for clause in &s.elif_else_clauses {
                    self.suite(&clause.body, prefix, in_memo);
                }
            }
            Stmt::For(s) => {
                self.suite(&s.body, prefix, in_memo);
                self.suite(&s.orelse, prefix, in_memo);
            }
            Stmt::While(s) => {
                self.suite(&s.body, prefix, in_memo);
                self.suite(&s.orelse, prefix, in_memo);
            }
            Stmt::With(s) => self.suite(&s.body, prefix, in_memo),
            Stmt::Try(s) => {
                self.suite(&s.body, prefix, in_memo);
                for ruff_python_ast::ExceptHandler::ExceptHandler(h) in &s.handlers {
                    self.suite(&h.body, prefix, in_memo);
                }
                self.suite(&s.orelse, prefix, in_memo);
                self.suite(&s.finalbody, prefix, in_memo);
            }
            Stmt::Match(s) => {
                for case in &s.cases {
                    self.suite(&case.body, prefix, in_memo);
                }
            }
            _ => {}
        }
    }

    /// (start line, def line, header end line, last line) of a definition.
    fn span(
        &self,
        start: TextSize,
        name: TextSize,
        header_end: TextSize,
        first_body: Option<TextSize>,
        end: TextSize,
    ) -> (u32, u32, u32, u32) {
        let body_start = first_body.unwrap_or(end);
        // The header ends at its `:`, which may sit on a later line than the signature
        // (a backslash continuation); find the token rather than assume.
        let from = self.tokens.partition_point(|t| t.start() < header_end);
        let colon = self.tokens[from..]
            .iter()
            .take_while(|t| t.start() < body_start)
            .find(|t| t.kind() == TokenKind::Colon)
            .map(|t| t.start())
            .unwrap_or(header_end);
        let end_line = self.lines.last_line(start, end);
        let header_line = self.lines.line_of(colon).min(end_line);
        (
            self.lines.line_of(start),
            self.lines.line_of(name),
            header_line,
            end_line,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One letter per line: `I` import-time, `B` body, `M` memoised body.
    fn kinds(src: &str) -> String {
        let m = analyze(src);
        (1..=m.line_count())
            .map(|l| match m.line_kind(l) {
                LineKind::ImportTime => 'I',
                LineKind::Body => 'B',
                LineKind::MemoisedBody => 'M',
            })
            .collect()
    }

    #[test]
    fn classifies_lines() {
        let cases: &[(&str, &str, &str)] = &[
            ("module constants", "A = 1\nB = [\n    2,\n]\n", "IIII"),
            (
                "function body, comments and blank lines inside",
                "def f(x):\n    # why\n\n    return x\n# after\n",
                "IBBBI",
            ),
            (
                "class attributes and methods",
                "class C(Base, metaclass=M):\n    x = 1\n\n    def m(self):\n        return self.x\n    y = 2\n",
                "IIIIBI",
            ),
            (
                "nested classes stay import-time",
                "class A:\n    class B:\n        z = 3\n        def m(self):\n            pass\n",
                "IIIIB",
            ),
            (
                "decorators with arguments over several lines",
                "@app.route(\n    '/x',\n    methods=['GET'],\n)\ndef view():\n    return 1\n",
                "IIIIIB",
            ),
            (
                "multi-line signature with defaults and annotations",
                "def f(\n    a: int = DEFAULT,\n    *,\n    b: list[str] | None = None,\n) -> dict[\n    str, int\n]:\n    return {}\n",
                "IIIIIIIB",
            ),
            (
                "async defs and async bodies",
                "async def f():\n    async with x:\n        await y\n",
                "IBB",
            ),
            (
                "nested functions are body of the outer one",
                "def outer():\n    def inner(a=1):\n        return a\n    return inner\n",
                "IBBB",
            ),
            (
                "class inside a function is body",
                "def factory():\n    class K:\n        x = 1\n    return K\n",
                "IBBB",
            ),
            (
                "lambdas and comprehensions at module level",
                "f = lambda x: (\n    x + 1\n)\nS = {k: v for k, v in\n     ITEMS}\n",
                "IIIII",
            ),
            (
                "main block",
                "def main():\n    run()\n\nif __name__ == '__main__':\n    main()\n",
                "IBIII",
            ),
            (
                "try/except at module level, functions inside",
                "try:\n    import ujson as json\nexcept ImportError:\n    def dumps(x):\n        return str(x)\nfinally:\n    pass\n",
                "IIIIBII",
            ),
            (
                "match statement at module level and in a function",
                "match X:\n    case 1:\n        Y = 2\ndef f(v):\n    match v:\n        case [a, *_]:\n            return a\n",
                "IIIIBBB",
            ),
            (
                "walrus, type alias, f-string",
                "if (n := len(A)) > 1:\n    pass\ntype Vec = list[float]\nMSG = f\"{n!r:>{W}}\"\ndef g():\n    return f\"\"\"\n{n}\n\"\"\"\n",
                "IIIIIBBB",
            ),
            (
                "generic function with type params",
                "def first[T](xs: list[T]) -> T:\n    return xs[0]\n",
                "IB",
            ),
            (
                "one-line def is import-time",
                "def f(): return 1\nx = f()\n",
                "II",
            ),
            (
                "colon after a backslash continuation",
                "def f(a) \\\n    :\n    return a\n",
                "IIB",
            ),
            (
                "syntax error: everything import-time",
                "def f(:\n    return 1\n",
                "II",
            ),
            (
                "syntax error later in the file",
                "def ok():\n    return 1\nx = (\n",
                "III",
            ),
            (
                "windows line endings",
                "def f():\r\n    return 1\r\nX = 2\r\n",
                "IBI",
            ),
            ("empty file", "", ""),
            ("byte order mark", "\u{feff}def f():\n    return 1\n", "IB"),
            (
                "tabs and form feeds",
                "\x0cdef f():\n\tif x:\n\t\treturn 1\n",
                "IBB",
            ),
            ("no final newline", "def f():\n    return 1", "IB"),
            (
                "decorated class and conditional def",
                "@dataclass\nclass P:\n    x: int = 0\nif PY3:\n    def g():\n        pass\nelse:\n    g = None\n",
                "IIIIIBII",
            ),
        ];
        for (name, src, want) in cases {
            assert_eq!(kinds(src), *want, "{name}:\n{src}");
        }
    }

    #[test]
    fn memoised_functions_in_all_spellings() {
        let cases: &[(&str, &str, &str)] = &[
            (
                "functools.cache",
                "import functools\n@functools.cache\ndef f():\n    return 1\n",
                "IIIM",
            ),
            (
                "lru_cache with call",
                "import functools\n@functools.lru_cache()\ndef f():\n    return 1\n",
                "IIIM",
            ),
            (
                "lru_cache with args over lines",
                "from functools import lru_cache\n@lru_cache(\n    maxsize=None,\n)\ndef f():\n    return 1\n",
                "IIIIIM",
            ),
            (
                "bare cache",
                "from functools import cache\n@cache\ndef f():\n    return 1\n",
                "IIIM",
            ),
            (
                "module alias",
                "import functools as ft\n@ft.cache\ndef f():\n    return 1\n",
                "IIIM",
            ),
            (
                "name alias",
                "from functools import lru_cache as memo\n@memo(maxsize=8)\ndef f():\n    return 1\n",
                "IIIM",
            ),
            (
                "cached_property on a method, with other decorators",
                "from functools import cached_property\nclass C:\n    @other\n    @cached_property\n    def p(self):\n        return 1\n    def q(self):\n        return 2\n",
                "IIIIIMIB",
            ),
            (
                "functools.cached_property",
                "import functools\nclass C:\n    @functools.cached_property\n    def p(self):\n        return 1\n",
                "IIIIM",
            ),
            (
                "nested function inside memoised is memoised",
                "@cache\ndef f():\n    def g():\n        return 1\n    return g()\n",
                "IIMMM",
            ),
            (
                "plain decorator is not memoising",
                "@property\ndef f():\n    return 1\n@decorators.cached_thing\ndef g():\n    return 2\n",
                "IIBIIB",
            ),
        ];
        for (name, src, want) in cases {
            assert_eq!(kinds(src), *want, "{name}:\n{src}");
            let m = analyze(src);
            let last = m.line_count();
            assert_eq!(
                m.affects_dependents(last),
                want.ends_with(['I', 'M']),
                "{name}"
            );
        }
    }

    #[test]
    fn a_future_import_after_other_code_does_not_compile() {
        for (src, ok) in [
            (
                "\"\"\"Doc.\"\"\"\nfrom __future__ import annotations\nimport os\n",
                true,
            ),
            (
                "from __future__ import annotations\nfrom __future__ import division\n",
                true,
            ),
            (
                "\"\"\"Doc.\"\"\"\n\"\"\"More.\"\"\"\nfrom __future__ import annotations\n",
                false,
            ),
            ("import os\nfrom __future__ import annotations\n", false),
        ] {
            assert_eq!(analyze(src).parsed(), ok, "{src}");
        }
    }

    #[test]
    fn functions_that_keep_state_count_as_memoised() {
        let cases: &[(&str, &str, &str)] = &[
            (
                "item store into a module-level dict",
                "_CACHE = {}\ndef get(k):\n    _CACHE[k] = 1\n    return _CACHE[k]\n",
                "IIMM",
            ),
            (
                "mutating method on a module-level list",
                "RULES = []\ndef add(r):\n    RULES.append(r)\n",
                "IIM",
            ),
            (
                "attribute of an imported module",
                "import state\ndef ready():\n    state.READY = True\n",
                "IIM",
            ),
            (
                "global statement",
                "N = 0\ndef bump():\n    global N\n    N += 1\n",
                "IIMM",
            ),
            (
                "class state through cls",
                "class P:\n    seen = set()\n    @classmethod\n    def mark(cls, x):\n        cls.seen.add(x)\n",
                "IIIIM",
            ),
            (
                "class state by its name",
                "class P:\n    registry = {}\n    def __init_subclass__(cls, **kw):\n        P.registry[cls.__name__] = cls\n",
                "IIIM",
            ),
            (
                "a local that shadows a module-level name is not state",
                "table = {}\ndef build():\n    table = {}\n    table['a'] = 1\n    return table\n",
                "IIBBB",
            ),
            (
                "parameters and self are not state",
                "items = []\nclass C:\n    def add(self, items):\n        items.append(1)\n        self.items.append(2)\n",
                "IIIBB",
            ),
            (
                "a class attribute's dict filled through self",
                "class L:\n    _cache = {}\n    def get(self):\n        self._cache['v'] = 1\n",
                "IIIM",
            ),
            (
                "a class attribute's dict filled through type(self) and __class__",
                "class L:\n    _cache = {}\n    def get(self):\n        type(self)._cache['v'] = 1\n        self.__class__.n = 2\n",
                "IIIMM",
            ),
            (
                "a local alias of a module-level dict",
                "_G = {}\ndef f(k):\n    c = _G\n    c[k] = 1\n",
                "IIMM",
            ),
            (
                "a mutable default argument, positional or keyword-only",
                "def f(k, _memo={}):\n    _memo[k] = 1\ndef g(*, seen=[]):\n    seen.append(1)\n",
                "IMIM",
            ),
            (
                "a mutable default kept on self",
                "class S:\n    def __init__(self, store={}):\n        self.store = store\n    def put(self, k):\n        self.store[k] = 1\n",
                "IIBIM",
            ),
            (
                "a dataclass field's factory gives each instance its own",
                "class D:\n    items: list = field(default_factory=list)\n    def add(self, x):\n        self.items.append(x)\n",
                "IIIB",
            ),
            (
                "a base class's dict filled through a subclass's self",
                "class Base:\n    _reg = {}\nclass Sub(Base):\n    def add(self, k):\n        self._reg[k] = 1\n",
                "IIIIM",
            ),
            (
                "a class attribute holding a cache type, not a literal or another object",
                "class P:\n    _box = LRUCache(8)\n    _name = 'x'\n    _size = _DefaultSize()\n    def a(self):\n        self._box['v'] = 1\n    def b(self):\n        self._name.strip()\n    def c(self):\n        self._size['v'] = 1\n",
                "IIIIIMIBIB",
            ),
            (
                "an entry a getter or a loop hands out of module state",
                "_G = {}\ndef f(k):\n    b = _G.get(k)\n    b.append(1)\ndef g():\n    for b in _G.values():\n        b.clear()\ndef h():\n    b = make()\n    b.append(1)\n",
                "IIMMIMMIBB",
            ),
            (
                "a method of an object the module made, not of a logger or a reader",
                "_LRU = LRUCache(8)\ndef f(k):\n    _LRU.put(k, 1)\ndef g(k):\n    return _LRU.get(k)\nLOG = getLogger()\ndef h():\n    LOG.info(1)\n",
                "IIMIBIIB",
            ),
            (
                "a Borg's instances share one dict",
                "class B:\n    _s = {}\n    def __init__(self):\n        self.__dict__ = self._s\n        self.v = 1\n",
                "IIIMM",
            ),
            (
                "setattr on a module-level instance, globals() as the store",
                "class L:\n    def __getattr__(self, n):\n        setattr(self, n, 1)\nLAZY = L()\ndef g():\n    d = globals()\n    d['x'] = 1\n",
                "IIMIIMM",
            ),
            (
                "a generator the module starts keeps its frame",
                "def _gen():\n    yield 1\n_IT = _gen()\ndef other():\n    yield 2\n",
                "IMIIB",
            ),
            (
                "a dict a base from another module may hold, not what the class sets on self",
                "from base import Base\nclass S(Base):\n    def get(self):\n        self._registry['v'] = 1\n    def add(self, x):\n        self.items = []\n        self.items.append(x)\n    def put(self, x):\n        self.fields['x'] = x\n",
                "IIIMIBBIB",
            ),
            (
                "a caching descriptor by another name",
                "@reify\ndef f(self):\n    return 1\n",
                "IIM",
            ),
            (
                "reading module state is not keeping it",
                "LIMIT = 3\ndef over(x):\n    return x > LIMIT\n",
                "IIB",
            ),
            (
                "a closure's cache in a hand-written memoize decorator",
                "def memoize(fn):\n    cache = {}\n    def wrapper(k):\n        cache[k] = fn(k)\n        return cache[k]\n    return wrapper\n",
                "IBBMMB",
            ),
            (
                "self of a class with an instance made at module level",
                "class Loader:\n    def get(self, k):\n        self._cache[k] = 1\n        return self._cache[k]\nLOADER = Loader()\nclass Other:\n    def get(self, k):\n        self._cache[k] = 1\n",
                "IIMMIIIB",
            ),
            (
                "a fixture shared beyond one test",
                "import pytest\n@pytest.fixture(scope=\"session\")\ndef db():\n    return connect()\n@pytest.fixture(scope=\"function\")\ndef tmp():\n    return 1\n@pytest.fixture\ndef plain():\n    return 2\n",
                "IIIMIIBIIB",
            ),
            (
                "xunit setup of a module and of a class, not of each test",
                "def setup_module(module):\n    fill()\nclass TestA:\n    @classmethod\n    def setUpClass(cls):\n        fill()\n    def setup_method(self, m):\n        fill()\n",
                "IMIIIMIB",
            ),
            (
                "Django's setUpTestData runs once for a class",
                "class TestA:\n    @classmethod\n    def setUpTestData(cls):\n        fill()\n",
                "IIIM",
            ),
            (
                "a nested function is judged on its own",
                "RULES = []\ndef rule(name):\n    def decorate(f):\n        RULES.append(f)\n        return f\n    return decorate\n",
                "IIBMMB",
            ),
            (
                "a plain method called through its class changes its first argument",
                "class Cache:\n    def pop(self, k):\n        return k\nclass Timed(Cache):\n    def pop(self, k):\n        return Cache.pop(self, k)\n",
                "IIBIIB",
            ),
            (
                "a classmethod, a starred call or a module-level object called so keeps state",
                "class Reg:\n    @classmethod\n    def add(cls, x):\n        pass\n    def update(self, x):\n        pass\n_live = {}\nclass P:\n    def a(self):\n        Reg.add(self)\n    def b(self, *args):\n        Reg.update(*args)\n    def c(self):\n        _live.pop(self, None)\n",
                "IIIBIBIIIMIMIM",
            ),
            (
                "a class bound twice at module level is not known",
                "class Cache:\n    def pop(self, k):\n        return k\nCache = wrap(Cache)\ndef drop(c, k):\n    Cache.pop(c, k)\n",
                "IIBIIM",
            ),
            (
                "a method set on the class from outside is not known",
                "class Cache:\n    def pop(self, k):\n        return k\nCache.pop = STORE.pop\ndef drop(c, k):\n    Cache.pop(c, k)\n",
                "IIBIIM",
            ),
            (
                "a decorated class or one with a metaclass is not known",
                "@singleton\nclass Reg:\n    def update(self, x):\n        pass\nclass Meta(metaclass=M):\n    def update(self, x):\n        pass\ndef f(x):\n    Reg.update(x)\n    Meta.update(x)\n",
                "IIIBIIBIMM",
            ),
            (
                "a name the function binds, or a function around it, is not the class",
                "class Cache:\n    def pop(self, k):\n        return k\ndef f(c):\n    from .store import REG as Cache\n    Cache.pop(c, 1)\ndef g():\n    Cache = {}\n    def get(k):\n        return Cache.pop(k, 1)\n    return get\n",
                "IIBIMMIBBMB",
            ),
        ];
        for (name, src, want) in cases {
            assert_eq!(kinds(src), *want, "{name}:\n{src}");
        }
    }

    #[test]
    fn decorators_that_may_read_a_docstring() {
        let cases: &[(&str, bool)] = &[
            // Stores what it is given and returns it.
            (
                "def rule(name):\n    def decorate(f):\n        RULES.append((name, f))\n        REG[name] = f\n        return f\n    return decorate\n",
                false,
            ),
            // Wraps and calls it.
            (
                "def logged(f):\n    @functools.wraps(f)\n    def inner(*a, **k):\n        return f(*a, **k)\n    return inner\n",
                false,
            ),
            (
                "def doc(f):\n    HELP.append(f.__doc__)\n    return f\n",
                true,
            ),
            (
                "def doc(f):\n    HELP.append(inspect.getdoc(f))\n    return f\n",
                true,
            ),
            ("def cmd(f):\n    return click.command()(f)\n", true),
            ("def cmd(f):\n    register(f)\n    return f\n", true),
            ("def cmd(f):\n    return getattr(f, NAME)\n", true),
        ];
        for (src, want) in cases {
            let m = analyze(src);
            assert_eq!(m.functions()[0].may_read_docs, *want, "{src}");
        }
    }

    #[test]
    fn functions_and_qualnames() {
        let src = "\
class C:
    @staticmethod
    def m(
        x=1,
    ):
        def inner():
            class K:
                def km(self):
                    return 0
            return K
        return inner
async def top():
    await x
";
        let m = analyze(src);
        let got: Vec<(&str, u32, u32, u32, u32, bool)> = m
            .functions()
            .iter()
            .map(|f| {
                (
                    f.qualname.as_str(),
                    f.start,
                    f.def_line,
                    f.header_end,
                    f.end,
                    f.is_async,
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                ("C.m", 2, 3, 5, 11, false),
                ("C.m.<locals>.inner", 6, 6, 6, 10, false),
                ("C.m.<locals>.inner.<locals>.K.km", 8, 8, 8, 9, false),
                ("top", 12, 12, 12, 13, true),
            ]
        );
        for (line, want) in [
            (1, None),
            (2, Some("C.m")),
            (7, Some("C.m.<locals>.inner")),
            (9, Some("C.m.<locals>.inner.<locals>.K.km")),
            (11, Some("C.m")),
            (13, Some("top")),
            (99, None),
        ] {
            assert_eq!(m.enclosing_function(line), want, "line {line}");
        }
    }

    #[test]
    fn a_nested_header_belongs_to_the_body_around_it() {
        let src = "def make(n):\n    @register(n)\n    def handler(x):\n        return x\n    return handler\n";
        let m = analyze(src);
        let bodies = |line| -> Vec<&str> {
            m.enclosing_bodies(line)
                .map(|f| f.qualname.as_str())
                .collect()
        };
        assert_eq!(bodies(2), ["make"]);
        assert_eq!(bodies(3), ["make"]);
        assert_eq!(bodies(4), ["make.<locals>.handler", "make"]);
        assert!(bodies(1).is_empty());
    }

    #[test]
    fn insertions() {
        let src = "X = 1\ndef f():\n    a = 1\n    b = 2\n\ndef g():\n    def h():\n        return 1\n    return h\n@cache\ndef m():\n    return 1\n";
        let m = analyze(src);
        for (after, want) in [
            (0, LineKind::ImportTime),
            (1, LineKind::ImportTime),
            (2, LineKind::Body),
            (3, LineKind::Body),
            (4, LineKind::ImportTime),
            (6, LineKind::Body),
            (7, LineKind::Body),
            (8, LineKind::Body),
            (11, LineKind::MemoisedBody),
            (12, LineKind::ImportTime),
        ] {
            assert_eq!(m.insertion_kind(after), want, "after line {after}");
        }
    }

    #[test]
    fn import_evidence_leaves_out_what_a_call_records_too() {
        let evidence = |src: &str| analyze(src).import_evidence().collect::<Vec<_>>();
        // Lines 3-4 (a decorated docstring-only method's header) and 7 (a one-line method)
        // are recorded by calls; the class line and the other method's header only by import.
        let src = "class C:\n    \"\"\"Doc.\"\"\"\n    @staticmethod\n    def hook():\n        \"\"\"Doc.\"\"\"\n\n    def one(self): return 1\n\n    def two(self):\n        return 2\n";
        assert_eq!(evidence(src), [1, 2, 6, 8, 9]);
        // A module of functions alone records nothing else when imported: every header counts,
        // also beside statements the compiler may drop.
        let src = "\"\"\"Doc.\"\"\"\ndef hook():\n    \"\"\"Doc.\"\"\"\ndef one(): return 1\n";
        assert_eq!(evidence(src), [1, 2, 4]);
        let src = "def one(): return 1\npass\n\"\"\"Note.\"\"\"\nif __debug__:\n    def two(): return 2\n";
        assert_eq!(evidence(src), [1, 2, 3, 4, 5]);
        let src = "def one(): return 1\nimport os\n";
        assert_eq!(evidence(src), [2]);
    }

    #[test]
    fn out_of_range_lines_are_import_time() {
        let m = analyze("def f():\n    return 1\n");
        assert!(m.is_import_time(0));
        assert!(m.is_import_time(3));
        assert!(m.is_import_time(u32::MAX));
        assert!(!m.is_import_time(2));
        assert_eq!(m.dependents_lines([0, 1, 2, 3]), BTreeSet::from([0, 1, 3]));
        assert!(m.parsed());
        assert!(!analyze("x = (").parsed());
    }

    #[test]
    fn syntax_error_keeps_imports() {
        let m = analyze("import a.b\nfrom c import d\ndef f(:\n");
        let mods: Vec<&str> = m.imports().iter().map(|i| i.module.as_str()).collect();
        assert!(mods.contains(&"a.b") && mods.contains(&"c"), "{mods:?}");
    }

    proptest::proptest! {
        /// Whatever the text, analysis never panics, classifies exactly the file's lines, and a
        /// line is a body line only inside some function's body.
        #[test]
        fn never_panics_and_bodies_lie_in_functions(src in "(def |class |    |@cache\n|\\(|\\)|:|x|=|1|\n|\r|#|\"|lambda|async ){0,60}") {
            let m = analyze(&src);
            for line in 0..=m.line_count() + 1 {
                if !m.is_import_time(line) {
                    proptest::prop_assert!(m.functions().iter().any(|f| f.body_lines().contains(&line)));
                }
            }
        }
    }
}
