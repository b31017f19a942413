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
//! Known limits: a function called at import time (a class factory, a registry) has body lines that
//! run at import; this module cannot know that, coverage data does (the empty context `''`).
//! Memoisation applied by a call (`f = functools.cache(g)`) or by an unknown decorator is not seen.

use std::collections::BTreeSet;

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
];

/// How a line of the file runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LineKind {
    /// Runs when the module is imported (or lies between statements at module level).
    ImportTime,
    /// Inside a function body: runs only when the function is called.
    Body,
    /// Inside the body of a memoised function: coverage names only the first caller.
    MemoisedBody,
}

/// One function (or method, or nested function) of the file.
#[derive(Debug, Clone, PartialEq, Eq)]
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
    /// Decorated with a memoising decorator (see the module docs).
    pub memoised: bool,
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

    /// Qualified name of the innermost function whose definition (decorators to last line)
    /// contains `line`.
    pub fn enclosing_function(&self, line: u32) -> Option<&str> {
        self.enclosing(line).map(|f| f.qualname.as_str())
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

    /// `false` when the file has a syntax error and every line was classified import-time.
    pub fn parsed(&self) -> bool {
        self.parsed
    }
}

/// Classify every line of `source`. Never fails: a file with a syntax error is import-time
/// throughout (its imports are still read, error-tolerantly, so they stay dependencies).
pub fn analyze(source: &str) -> ModuleSyntax {
    let lines = LineIndex::new(source);
    let line_count = lines.line_count() as usize;
    let parsed = ruff_python_parser::parse_unchecked_source(source, PySourceType::Python);
    let module = parsed.syntax();
    let imports = imports::collect(&module.body, &lines);
    let mut kinds = vec![LineKind::ImportTime; line_count + 1];
    if !parsed.has_valid_syntax() {
        return ModuleSyntax {
            kinds,
            functions: Vec::new(),
            imports,
            parsed: false,
        };
    }
    let memo = MemoNames::new(&module.body);
    let mut walker = Walker {
        lines: &lines,
        tokens: parsed.tokens(),
        memo: &memo,
        functions: Vec::new(),
    };
    walker.suite(&module.body, "", false);
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
    }
}

/// Local names that stand for a memoising decorator or for `functools`.
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

struct Walker<'a> {
    lines: &'a LineIndex,
    tokens: &'a Tokens,
    memo: &'a MemoNames,
    functions: Vec<FunctionSpan>,
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
                let memoised =
                    in_memo || f.decorator_list.iter().any(|d| self.memo.is_memoising(d));
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
                self.functions.push(FunctionSpan {
                    qualname: qualname.clone(),
                    start: span.0,
                    def_line: span.1,
                    header_end: span.2,
                    end: span.3,
                    is_async: f.is_async,
                    memoised,
                });
                self.suite(&f.body, &format!("{qualname}.<locals>."), memoised);
            }
            Stmt::ClassDef(c) => {
                let qualname = format!("{prefix}{}", c.name.id.as_str());
                self.suite(&c.body, &format!("{qualname}."), in_memo);
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
