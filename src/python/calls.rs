//! What each function of a file can call, by name, and so what each memoised function of a
//! project can reach: the static half of finding the functions whose results a cache keeps
//! (`selection::memo` has the dynamic half, from coverage).
//!
//! Python resolves calls at run time, so a call graph drawn from source is a guess; this one is
//! a guess that errs towards more edges. A function can call what its body names: every
//! identifier, every attribute name and every name-like string it mentions
//! (`HeaderReader(...)`, `reader.magic()`, `sorted(xs, key=weight)`, `attrgetter("size")`), and
//! through a name, whatever that name can stand for:
//! - a function or method of that name, and what its decorators name (calling a decorated
//!   function runs the decorator's wrapper);
//! - a class of that name: every method, and what its bases, keywords and decorators name (an
//!   inherited `__init__` runs through the subclass's name);
//! - a module- or class-level binding of that name: what its value names (`h` of
//!   `from m import helper as h`, `DEFAULT = helper_v1`, `double = partial(helper, m=2)`,
//!   `fn = staticmethod(helper)`).
//!
//! A call whose target no name tells (a parameter or a variable of an enclosing function, an item
//! of a container, the result of another call: `callback()`, `fn(k)` in a decorator's wrapper,
//! `HANDLERS[kind]()`, `getattr(obj, name)()`) could reach anything, so such a function is
//! marked *opaque*.
//!
//! A bare name the function binds to a value in its own scope (a parameter, a variable) stands
//! for that value, not for a function of the same name, and leads nowhere; calling one is
//! opaque.
//!
//! Known limits: names are matched without types, and scopes only as above, which only adds
//! edges; code run through `exec`, `eval` or imported by a computed name is not seen, and
//! neither are calls an
//! external library makes into functions it was handed by name elsewhere (the name is then
//! mentioned where it is handed over, so the edge exists, but from that function instead).

use std::collections::{BTreeSet, HashMap};

use ruff_python_ast::visitor::{self, Visitor};
use ruff_python_ast::{Expr, PySourceType, Stmt};

use super::syntax::{self, ModuleSyntax};
use crate::coverage::numbits;

/// One function's call facts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionCalls {
    /// Python's `__qualname__`.
    pub qualname: String,
    /// Every identifier and attribute name its body mentions, but its own locals (see
    /// [`own_locals`]).
    pub names: BTreeSet<String>,
    /// It calls something no name tells (see the module docs).
    pub opaque: bool,
}

/// A module- or class-level name that stands for what its value names: an assignment, an
/// import under another name, a class (through its bases, keywords and decorators).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    /// The names it binds (a class's with its enclosing classes: `A`, `B` for `A.B`).
    pub bound: Vec<String>,
    /// What its value names.
    pub names: BTreeSet<String>,
    /// Its value calls something no name tells.
    pub opaque: bool,
}

/// The call facts of one file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileCalls {
    /// Every function, in the order of [`ModuleSyntax::functions`].
    pub functions: Vec<FunctionCalls>,
    pub bindings: Vec<Binding>,
}

/// The call facts of a file, and its syntax.
pub fn read(source: &str) -> (ModuleSyntax, FileCalls) {
    let parsed = ruff_python_parser::parse_unchecked_source(source, PySourceType::Python);
    let module = syntax::analyze_parsed(source, &parsed);
    let mut collector = Collector {
        prefix: Vec::new(),
        enclosing: Vec::new(),
        out: FileCalls::default(),
    };
    if parsed.has_valid_syntax() {
        collector.suite(&parsed.syntax().body);
    }
    (module, collector.out)
}

/// The names a qualified name can be reached by: each of its components but `<locals>`
/// (`C.m` by `C` and `m`; `f.<locals>.g` by `f` and `g`). A special method is reached by its
/// class's name only: every class has an `__init__`, and `super().__init__()` names them all.
pub fn reached_by(qualname: &str) -> impl Iterator<Item = &str> {
    qualname
        .split('.')
        .filter(|c| *c != "<locals>" && !is_dunder(c))
}

/// Whether Python calls this method without its name or its class's name being written: the
/// operator, container and protocol methods (`__eq__`, `__hash__`, `__iter__`, ...), but not the
/// constructors, which run through the class's name.
pub fn is_implicit(qualname: &str) -> bool {
    let last = qualname.rsplit('.').next().unwrap_or(qualname);
    is_dunder(last) && !matches!(last, "__init__" | "__new__" | "__post_init__")
}

/// The names whose *call* runs a function: its own name, and for a constructor (`__init__`,
/// `__new__`, `__post_init__`, `__init_subclass__`) its class's, since `C(...)` and
/// `class D(C)` run those; other methods run through their own names only, not their class's.
fn called_by(qualname: &str) -> impl Iterator<Item = &str> {
    let mut parts = qualname.rsplit('.');
    let last = parts.next().unwrap_or(qualname);
    let constructor = matches!(
        last,
        "__init__" | "__new__" | "__post_init__" | "__init_subclass__"
    );
    let class = parts.next().filter(|c| *c != "<locals>");
    let own = (!is_dunder(last)).then_some(last);
    own.into_iter().chain(class.filter(|_| constructor))
}

/// `__name__`-shaped: Python's special names.
fn is_dunder(name: &str) -> bool {
    name.len() > 4 && name.starts_with("__") && name.ends_with("__")
}

struct Collector {
    /// Qualified-name components of the enclosing classes and functions.
    prefix: Vec<String>,
    /// The locals of each enclosing function, innermost last: calling one from a nested
    /// function calls a value.
    enclosing: Vec<BTreeSet<String>>,
    out: FileCalls,
}

impl Collector {
    /// Whether the definitions walked now are in a function (so bindings are locals).
    fn in_function(&self) -> bool {
        !self.enclosing.is_empty()
    }

    /// The bound names of a class-level binding carry the class names, as a method's do.
    fn bound(&self, name: &str) -> Vec<String> {
        let mut out: Vec<String> = self
            .prefix
            .iter()
            .filter(|c| !c.ends_with("<locals>"))
            .cloned()
            .collect();
        out.push(name.to_string());
        out
    }

    fn binding(&mut self, bound: Vec<String>, exprs: &[&Expr]) {
        let values: BTreeSet<String> = BTreeSet::new();
        let mut names = Names {
            locals: &values,
            own: &values,
            in_other_scope: 0,
            enclosing: &[],
            names: BTreeSet::new(),
            opaque: false,
        };
        for expr in exprs {
            names.visit_expr(expr);
        }
        self.out.bindings.push(Binding {
            bound,
            names: names.names,
            opaque: names.opaque,
        });
    }

    /// Walks the same definitions, in the same order, as `syntax::analyze`.
    fn suite(&mut self, body: &[Stmt]) {
        for stmt in body {
            match stmt {
                Stmt::FunctionDef(f) => {
                    let mut qualname = self.prefix.join(".");
                    if !qualname.is_empty() {
                        qualname.push('.');
                    }
                    qualname.push_str(f.name.id.as_str());
                    let mut locals: BTreeSet<String> = f
                        .parameters
                        .iter()
                        .map(|p| p.name().id.to_string())
                        .collect();
                    let own = own_locals(f);
                    let mut assigned = Assigned(&mut locals);
                    assigned.visit_body(&f.body);
                    let mut names = Names {
                        locals: &locals,
                        own: &own,
                        in_other_scope: 0,
                        enclosing: &self.enclosing,
                        names: BTreeSet::new(),
                        opaque: false,
                    };
                    names.visit_body(&f.body);
                    // Calling a decorated function runs what its decorators returned, and its
                    // defaults are values it may call; both are read in the scope around it.
                    // A memoising decorator's wrapper runs on every call, outside what it keeps.
                    names.in_other_scope += 1;
                    for d in f
                        .decorator_list
                        .iter()
                        .filter(|d| !syntax::is_memo_decorator(&d.expression))
                    {
                        names.visit_expr(&d.expression);
                    }
                    names.header(f);
                    names.in_other_scope -= 1;
                    self.out.functions.push(FunctionCalls {
                        qualname,
                        names: names.names,
                        opaque: names.opaque,
                    });
                    self.prefix.push(format!("{}.<locals>", f.name.id));
                    self.enclosing.push(locals);
                    self.suite(&f.body);
                    self.enclosing.pop();
                    self.prefix.pop();
                }
                Stmt::ClassDef(c) => {
                    if !self.in_function() {
                        let mut exprs: Vec<&Expr> =
                            c.decorator_list.iter().map(|d| &d.expression).collect();
                        if let Some(arguments) = &c.arguments {
                            exprs.extend(arguments.args.iter());
                            exprs.extend(arguments.keywords.iter().map(|k| &k.value));
                        }
                        let bound = self.bound(c.name.id.as_str());
                        self.binding(bound, &exprs);
                    }
                    self.prefix.push(c.name.id.to_string());
                    self.suite(&c.body);
                    self.prefix.pop();
                }
                Stmt::Assign(a) if !self.in_function() => {
                    let mut targets = BTreeSet::new();
                    a.targets
                        .iter()
                        .for_each(|t| syntax::target_names(t, &mut targets));
                    for target in targets {
                        let bound = self.bound(&target);
                        self.binding(bound, &[&a.value]);
                    }
                }
                Stmt::AnnAssign(a) if !self.in_function() => {
                    let mut targets = BTreeSet::new();
                    syntax::target_names(&a.target, &mut targets);
                    if let Some(value) = &a.value {
                        for target in targets {
                            let bound = self.bound(&target);
                            self.binding(bound, &[value]);
                        }
                    }
                }
                Stmt::ImportFrom(i) if !self.in_function() => {
                    for alias in &i.names {
                        if let Some(asname) = &alias.asname {
                            self.out.bindings.push(Binding {
                                bound: self.bound(asname.id.as_str()),
                                names: BTreeSet::from([alias.name.id.to_string()]),
                                opaque: false,
                            });
                        }
                    }
                }
                Stmt::If(s) => {
                    self.suite(&s.body);
                    for clause in &s.elif_else_clauses {
                        self.suite(&clause.body);
                    }
                }
                Stmt::For(s) => {
                    self.suite(&s.body);
                    self.suite(&s.orelse);
                }
                Stmt::While(s) => {
                    self.suite(&s.body);
                    self.suite(&s.orelse);
                }
                Stmt::With(s) => self.suite(&s.body),
                Stmt::Try(s) => {
                    self.suite(&s.body);
                    for ruff_python_ast::ExceptHandler::ExceptHandler(h) in &s.handlers {
                        self.suite(&h.body);
                    }
                    self.suite(&s.orelse);
                    self.suite(&s.finalbody);
                }
                Stmt::Match(s) => {
                    for case in &s.cases {
                        self.suite(&case.body);
                    }
                }
                _ => {}
            }
        }
    }
}

/// The names a function binds as plain variables (so calling one is calling a value).
struct Assigned<'s>(&'s mut BTreeSet<String>);

impl<'a> Visitor<'a> for Assigned<'_> {
    fn visit_expr(&mut self, expr: &'a Expr) {
        if let Expr::Name(n) = expr
            && n.ctx.is_store()
        {
            self.0.insert(n.id.to_string());
        }
        visitor::walk_expr(self, expr);
    }
}

/// The names a function binds in its own scope to values, which its body's bare names then
/// stand for instead of anything of the module: its parameters, what it assigns or defines,
/// but not what it imports (a function it imports is the module's, lazily), what nested
/// functions, classes, lambdas or comprehensions bind, nor the names it declares `global` or
/// `nonlocal`.
fn own_locals(f: &ruff_python_ast::StmtFunctionDef) -> BTreeSet<String> {
    #[derive(Default)]
    struct Own {
        bound: BTreeSet<String>,
        declared: BTreeSet<String>,
    }
    impl<'a> Visitor<'a> for Own {
        fn visit_stmt(&mut self, stmt: &'a Stmt) {
            match stmt {
                Stmt::FunctionDef(f) => {
                    self.bound.insert(f.name.id.to_string());
                }
                Stmt::ClassDef(c) => {
                    self.bound.insert(c.name.id.to_string());
                }
                Stmt::Global(g) => self
                    .declared
                    .extend(g.names.iter().map(|n| n.id.to_string())),
                Stmt::Nonlocal(g) => {
                    self.declared
                        .extend(g.names.iter().map(|n| n.id.to_string()));
                }
                _ => visitor::walk_stmt(self, stmt),
            }
        }
        fn visit_expr(&mut self, expr: &'a Expr) {
            match expr {
                Expr::Name(n) if n.ctx.is_store() => {
                    self.bound.insert(n.id.to_string());
                }
                Expr::Lambda(_)
                | Expr::ListComp(_)
                | Expr::SetComp(_)
                | Expr::DictComp(_)
                | Expr::Generator(_) => {}
                _ => visitor::walk_expr(self, expr),
            }
        }
        fn visit_except_handler(&mut self, handler: &'a ruff_python_ast::ExceptHandler) {
            let ruff_python_ast::ExceptHandler::ExceptHandler(h) = handler;
            if let Some(name) = &h.name {
                self.bound.insert(name.id.to_string());
            }
            visitor::walk_except_handler(self, handler);
        }
    }
    let mut own = Own::default();
    own.bound
        .extend(f.parameters.iter().map(|p| p.name().id.to_string()));
    own.visit_body(&f.body);
    own.bound.retain(|n| !own.declared.contains(n));
    own.bound
}

/// Every name a body mentions, and whether it calls a value no name tells.
struct Names<'l> {
    locals: &'l BTreeSet<String>,
    /// See [`own_locals`]: bare names that stand for no function elsewhere, in the
    /// function's own scope (`in_other_scope` is 0: not in a decorator, a default or a class
    /// body, which read other scopes).
    own: &'l BTreeSet<String>,
    in_other_scope: usize,
    /// The locals of the enclosing functions.
    enclosing: &'l [BTreeSet<String>],
    names: BTreeSet<String>,
    opaque: bool,
}

/// Whether a string could name an attribute or a function (`"size"`, `"pkg.mod.f"`).
fn name_like(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 200
        && text
            .split('.')
            .all(|p| !p.is_empty() && p.chars().all(|c| c == '_' || c.is_alphanumeric()))
}

impl Names<'_> {
    /// What a function's header hands it: its default values, which it may call, and those of
    /// its annotations that run or hand over code (see [`annotation_leads`]).
    fn header(&mut self, f: &ruff_python_ast::StmtFunctionDef) {
        for default in f
            .parameters
            .iter_non_variadic_params()
            .filter_map(|p| p.default())
        {
            self.visit_expr(default);
        }
        let annotations = f
            .parameters
            .iter()
            .filter_map(|p| p.annotation())
            .chain(f.returns.as_deref());
        for annotation in annotations.filter(|a| annotation_leads(a)) {
            self.visit_expr(annotation);
        }
    }
}

/// Whether an annotation may lead to a call: it calls something while the `def` runs
/// (`x: make_kind()`), or hands code to a library that calls it
/// (`Annotated[int, AfterValidator(check)]`, `Annotated[str, check]`). A plain type
/// (`dict[str, Field]`) only describes: subscripting a class runs an implicit method, which
/// every function reaches anyway.
fn annotation_leads(annotation: &Expr) -> bool {
    struct Finder(bool);
    impl<'a> Visitor<'a> for Finder {
        fn visit_expr(&mut self, expr: &'a Expr) {
            match expr {
                Expr::Call(_) | Expr::Lambda(_) => self.0 = true,
                Expr::Name(n) if n.id.as_str() == "Annotated" => self.0 = true,
                Expr::Attribute(a) if a.attr.id.as_str() == "Annotated" => self.0 = true,
                _ => visitor::walk_expr(self, expr),
            }
        }
    }
    let mut finder = Finder(false);
    finder.visit_expr(annotation);
    finder.0
}

impl<'a> Visitor<'a> for Names<'_> {
    fn visit_stmt(&mut self, stmt: &'a Stmt) {
        match stmt {
            // A nested definition's name is mentioned; its body is its own function's.
            Stmt::FunctionDef(f) => {
                self.names.insert(f.name.id.to_string());
                for d in &f.decorator_list {
                    self.visit_decorator(d);
                }
                self.header(f);
            }
            // A class made in the body runs its methods through its name; its body looks names
            // up in itself and the module, not in the function.
            Stmt::ClassDef(c) => {
                self.names.insert(c.name.id.to_string());
                self.in_other_scope += 1;
                visitor::walk_stmt(self, stmt);
                self.in_other_scope -= 1;
            }
            // A function imported in the body leads to the module's function of that name.
            Stmt::Import(s) => {
                for alias in &s.names {
                    self.names
                        .extend(alias.name.id.split('.').map(str::to_string));
                }
            }
            Stmt::ImportFrom(s) => {
                for alias in &s.names {
                    self.names.insert(alias.name.id.to_string());
                }
            }
            _ => visitor::walk_stmt(self, stmt),
        }
    }

    fn visit_expr(&mut self, expr: &'a Expr) {
        match expr {
            // A local of the function (a parameter, a variable it assigns) names a value, not
            // a function of that name elsewhere; calling one makes the function opaque.
            Expr::Name(n) if self.in_other_scope > 0 || !self.own.contains(n.id.as_str()) => {
                self.names.insert(n.id.to_string());
            }
            Expr::Attribute(a) => {
                self.names.insert(a.attr.id.to_string());
            }
            Expr::StringLiteral(text) => {
                let text = text.value.to_str();
                // `"size"` of `attrgetter("size")`, `"f"` of `"pkg.mod.f"`; a file name like
                // `"table.csv"` gives only its last part, which seldom names a function.
                if name_like(text) {
                    self.names
                        .insert(text.rsplit('.').next().unwrap_or(text).to_string());
                }
            }
            Expr::Call(call) => {
                self.opaque |= match &*call.func {
                    Expr::Name(n) => {
                        let n = n.id.as_str();
                        self.locals.contains(n) || self.enclosing.iter().any(|l| l.contains(n))
                    }
                    // `super().__call__(...)` in a metaclass makes an instance of any class.
                    Expr::Attribute(a) => a.attr.id.as_str() == "__call__",
                    _ => true,
                };
            }
            _ => {}
        }
        visitor::walk_expr(self, expr);
    }
}

/// What a memoised function can call, by name (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reach {
    /// It calls something no name tells: it may reach any function.
    Opaque,
    /// Every name its body, and the bodies of the functions those names can reach, mention.
    Names(BTreeSet<String>),
}

impl Reach {
    /// Whether a function of this qualified name may run inside the memoised one.
    pub fn includes(&self, qualname: &str) -> bool {
        match self {
            Reach::Opaque => true,
            Reach::Names(names) => {
                is_implicit(qualname) || reached_by(qualname).any(|c| names.contains(c))
            }
        }
    }
}

/// One memoised function of the project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemoSite {
    /// The file's repository path.
    pub path: String,
    pub qualname: String,
    /// Its body's first and last lines.
    pub body: (u32, u32),
    pub reach: Reach,
    /// A pytest fixture shared beyond one test, rather than a cache.
    pub fixture: bool,
}

impl MemoSite {
    /// Its body lines, as numbits.
    pub fn body_mask(&self) -> Vec<u8> {
        numbits::encode(self.body.0..=self.body.1)
    }
}

/// The project's memoised functions, looked up by the functions they may reach.
#[derive(Debug, Clone, Default)]
pub struct MemoSites {
    sites: Vec<MemoSite>,
    /// Name -> the sites whose reach holds it.
    by_name: HashMap<String, Vec<usize>>,
    opaque: Vec<usize>,
}

impl MemoSites {
    /// Index the sites, in a fixed order (path, body, name), whatever order they came in.
    pub fn new(mut sites: Vec<MemoSite>) -> Self {
        sites.sort_by(|a, b| (&a.path, a.body, &a.qualname).cmp(&(&b.path, b.body, &b.qualname)));
        let mut by_name: HashMap<String, Vec<usize>> = HashMap::new();
        let mut opaque = Vec::new();
        for (i, site) in sites.iter().enumerate() {
            match &site.reach {
                Reach::Opaque => opaque.push(i),
                Reach::Names(names) => {
                    for name in names {
                        by_name.entry(name.clone()).or_default().push(i);
                    }
                }
            }
        }
        MemoSites {
            sites,
            by_name,
            opaque,
        }
    }

    pub fn sites(&self) -> &[MemoSite] {
        &self.sites
    }

    /// The sites (indices into [`Self::sites`], ascending) that may run a function of this
    /// qualified name (see [`Reach::includes`]).
    pub fn reaching(&self, qualname: &str) -> BTreeSet<usize> {
        if is_implicit(qualname) {
            return (0..self.sites.len()).collect();
        }
        self.naming(qualname)
    }

    /// The sites whose reach names a function of this qualified name, or may reach anything:
    /// [`Self::reaching`] without the methods Python calls implicitly, for sites that no
    /// coverage can confirm.
    pub fn naming(&self, qualname: &str) -> BTreeSet<usize> {
        let mut out: BTreeSet<usize> = self.opaque.iter().copied().collect();
        for name in reached_by(qualname) {
            out.extend(self.by_name.get(name).into_iter().flatten().copied());
        }
        out
    }
}

/// Past this many names, a reach counts as opaque: it holds most of the project anyway.
const MAX_REACH: usize = 50_000;

/// What selection needs to know about the whole project: its memoised functions and what
/// each can reach, and the names whose callables may keep state somewhere when called.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProjectFacts {
    pub memo: Vec<MemoSite>,
    /// Names of functions, classes and bindings that lead to a function that keeps state (a
    /// registry, a cache of its own) or makes a call no name tells, directly or through what
    /// they call: calling one at import time may change more than the value it returns.
    pub effectful: BTreeSet<String>,
}

/// Every memoised function of the given files (repository path and source, the base's), with
/// what it can reach through every function of those files.
pub fn project_sites<'s>(files: impl IntoIterator<Item = (&'s str, &'s str)>) -> Vec<MemoSite> {
    project_facts(files).memo
}

/// The [`ProjectFacts`] of the given files (repository path and source, the base's).
pub fn project_facts<'s>(files: impl IntoIterator<Item = (&'s str, &'s str)>) -> ProjectFacts {
    let files: Vec<(&str, &str)> = files.into_iter().collect();
    // Parsing is most of the cost: split it over the cores, keeping the input's order.
    let workers = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .clamp(1, 8);
    let chunk = files.len().div_ceil(workers).max(1);
    let parsed: Vec<(&str, ModuleSyntax, FileCalls)> = std::thread::scope(|scope| {
        let handles: Vec<_> = files
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || {
                    part.iter()
                        .map(|&(path, source)| {
                            let (syntax, calls) = read(source);
                            (path, syntax, calls)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("parsing does not panic"))
            .collect()
    });
    let graph = Graph::new(&parsed);
    // Built on the first memoised function: a project without one needs no walk.
    let mut walk: Option<Walk> = None;
    let mut memo = Vec::new();
    let mut node = 0;
    for (path, syntax, calls) in &parsed {
        for (index, span) in syntax.functions().iter().enumerate() {
            let this = node + index;
            if !span.memoised {
                continue;
            }
            debug_assert_eq!(calls.functions[index].qualname, span.qualname);
            // From the header's last line: a one-line body sits on it, and coverage records a
            // statement on its first line.
            memo.push(MemoSite {
                path: path.to_string(),
                qualname: span.qualname.clone(),
                body: (span.header_end, span.end),
                reach: walk.get_or_insert_with(|| Walk::new(&graph)).reach(this),
                fixture: span.shared_fixture,
            });
        }
        node += calls.functions.len() + calls.bindings.len();
    }
    ProjectFacts {
        memo,
        effectful: graph.effectful(&parsed),
    }
}

/// Every function and binding of the parsed files as a graph over interned names: a node
/// mentions names, and a name leads to the nodes it can stand for.
struct Graph {
    names: Vec<String>,
    /// Per node: the names it mentions, and whether it is opaque.
    mentions: Vec<(Vec<u32>, bool)>,
    /// Per node: the names whose call runs it (see [`called_by`]).
    led_by: Vec<Vec<u32>>,
    /// Per name: the nodes it leads to.
    leads_to: Vec<Vec<u32>>,
    /// Per name: whether a function can be reached by it (only those decide `Reach::includes`).
    definition: Vec<bool>,
}

impl Graph {
    /// Nodes are numbered file by file: each file's functions, then its bindings.
    fn new(parsed: &[(&str, ModuleSyntax, FileCalls)]) -> Self {
        let mut ids: HashMap<&str, u32> = HashMap::new();
        let mut graph = Graph {
            names: Vec::new(),
            mentions: Vec::new(),
            led_by: Vec::new(),
            leads_to: Vec::new(),
            definition: Vec::new(),
        };
        fn intern<'p>(ids: &mut HashMap<&'p str, u32>, graph: &mut Graph, name: &'p str) -> u32 {
            *ids.entry(name).or_insert_with(|| {
                graph.names.push(name.to_string());
                graph.leads_to.push(Vec::new());
                graph.definition.push(false);
                graph.names.len() as u32 - 1
            })
        }
        let mut node = 0u32;
        for (_, _, calls) in parsed {
            for function in &calls.functions {
                let mentions = function
                    .names
                    .iter()
                    .map(|n| intern(&mut ids, &mut graph, n))
                    .collect();
                graph.mentions.push((mentions, function.opaque));
                for name in reached_by(&function.qualname) {
                    let id = intern(&mut ids, &mut graph, name);
                    graph.leads_to[id as usize].push(node);
                    graph.definition[id as usize] = true;
                }
                let led_by = called_by(&function.qualname)
                    .map(|name| intern(&mut ids, &mut graph, name))
                    .collect();
                graph.led_by.push(led_by);
                node += 1;
            }
            for binding in &calls.bindings {
                let mentions = binding
                    .names
                    .iter()
                    .map(|n| intern(&mut ids, &mut graph, n))
                    .collect();
                graph.mentions.push((mentions, binding.opaque));
                let mut led_by = Vec::new();
                for name in &binding.bound {
                    let id = intern(&mut ids, &mut graph, name);
                    graph.leads_to[id as usize].push(node);
                    led_by.push(id);
                }
                graph.led_by.push(led_by);
                node += 1;
            }
        }
        graph
    }
}

impl Graph {
    /// The names that lead, directly or through what they call, to a function that keeps
    /// state or makes a call no name tells (see [`ProjectFacts::effectful`]).
    fn effectful(&self, parsed: &[(&str, ModuleSyntax, FileCalls)]) -> BTreeSet<String> {
        // Which nodes mention each name, to go from an effectful node back to its callers.
        let mut mentioned_by: Vec<Vec<u32>> = vec![Vec::new(); self.names.len()];
        for (node, (mentions, _)) in self.mentions.iter().enumerate() {
            for &name in mentions {
                mentioned_by[name as usize].push(node as u32);
            }
        }
        let mut effectful_node = vec![false; self.mentions.len()];
        let mut queue: Vec<u32> = Vec::new();
        let mut node = 0usize;
        for (_, syntax, calls) in parsed {
            for (index, span) in syntax.functions().iter().enumerate() {
                if span.keeps_state || calls.functions[index].opaque {
                    effectful_node[node + index] = true;
                    queue.push((node + index) as u32);
                }
            }
            let bindings = node + calls.functions.len();
            for (index, binding) in calls.bindings.iter().enumerate() {
                if binding.opaque {
                    effectful_node[bindings + index] = true;
                    queue.push((bindings + index) as u32);
                }
            }
            node += calls.functions.len() + calls.bindings.len();
        }
        let mut effectful_name = vec![false; self.names.len()];
        while let Some(node) = queue.pop() {
            for &name in &self.led_by[node as usize] {
                if std::mem::replace(&mut effectful_name[name as usize], true) {
                    continue;
                }
                for &caller in &mentioned_by[name as usize] {
                    if !std::mem::replace(&mut effectful_node[caller as usize], true) {
                        queue.push(caller);
                    }
                }
            }
        }
        effectful_name
            .iter()
            .enumerate()
            .filter(|(_, e)| **e)
            .map(|(i, _)| self.names[i].clone())
            .collect()
    }
}

/// A reusable walk over a [`Graph`], name by name: what a name leads to is worked out once
/// for all walks (the names its nodes mention, and whether one of them is opaque), so a walk
/// costs the names it reaches, not the nodes behind them. In a large project a few names
/// (`get`, `value`, a method every class defines) stand for tens of thousands of nodes, and
/// a walk over nodes visited them all from every memoised function. The marks of one walk
/// are told from the last one's by a generation number, so nothing is cleared between sites.
struct Walk<'g> {
    graph: &'g Graph,
    /// Per name: the names the nodes it leads to mention, each once.
    next: Vec<Vec<u32>>,
    /// Per name: some node it leads to is opaque.
    opaque: Vec<bool>,
    generation: u32,
    seen_name: Vec<u32>,
}

impl<'g> Walk<'g> {
    fn new(graph: &'g Graph) -> Self {
        let mut seen = vec![u32::MAX; graph.names.len()];
        let mut next = Vec::with_capacity(graph.names.len());
        let mut opaque = Vec::with_capacity(graph.names.len());
        for (name, targets) in graph.leads_to.iter().enumerate() {
            let mut names = Vec::new();
            let mut any_opaque = false;
            for &target in targets {
                let (mentions, target_opaque) = &graph.mentions[target as usize];
                any_opaque |= *target_opaque;
                for &m in mentions {
                    if std::mem::replace(&mut seen[m as usize], name as u32) != name as u32 {
                        names.push(m);
                    }
                }
            }
            next.push(names);
            opaque.push(any_opaque);
        }
        Walk {
            graph,
            next,
            opaque,
            generation: 0,
            seen_name: vec![0; graph.names.len()],
        }
    }

    /// The names one function can reach, following every name to what it can stand for:
    /// opaque when the function, or a function or binding a reached name stands for, makes a
    /// call no name tells, or when it reaches more than [`MAX_REACH`] names.
    fn reach(&mut self, start: usize) -> Reach {
        self.generation += 1;
        let generation = self.generation;
        let (mentions, opaque) = &self.graph.mentions[start];
        if *opaque {
            return Reach::Opaque;
        }
        let mut reached: Vec<u32> = Vec::new();
        let mut queue: Vec<u32> = mentions.clone();
        let mut count = 0usize;
        while let Some(name) = queue.pop() {
            if std::mem::replace(&mut self.seen_name[name as usize], generation) == generation {
                continue;
            }
            count += 1;
            if count > MAX_REACH || self.opaque[name as usize] {
                return Reach::Opaque;
            }
            if self.graph.definition[name as usize] {
                reached.push(name);
            }
            queue.extend(
                self.next[name as usize]
                    .iter()
                    .filter(|&&n| self.seen_name[n as usize] != generation),
            );
        }
        Reach::Names(
            reached
                .into_iter()
                .map(|n| self.graph.names[n as usize].clone())
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(src: &str) -> Vec<(String, Vec<String>, bool)> {
        read(src)
            .1
            .functions
            .into_iter()
            .map(|f| (f.qualname, f.names.into_iter().collect(), f.opaque))
            .collect()
    }

    #[test]
    fn bodies_mention_what_they_may_call() {
        let got = facts(
            "class R:\n    def m(self):\n        return self.blob[:4]\n\n@cache\ndef detect(k):\n    reader = R(SAMPLES[k])\n    return reader.m(), len(k)\n",
        );
        assert_eq!(got[0].0, "R.m");
        assert_eq!(got[0].1, vec!["blob"]);
        assert_eq!(got[1].0, "detect");
        // Its locals (`k`, `reader`) stand for values, not for functions of their names. A
        // memoising decorator's wrapper runs outside what it keeps, so it is no name of its.
        assert_eq!(got[1].1, vec!["R", "SAMPLES", "len", "m"]);
        assert!(!got[0].2 && !got[1].2);
    }

    #[test]
    fn only_the_function_s_own_locals_hide_names() {
        // `helper` is bound by the nested function, the comprehension and the lambda, and
        // declared global where assigned: each mention in `f`'s own scope is the module's.
        let src = "def f(xs):\n    def g():\n        helper = 1\n    ys = [helper for helper in xs]\n    h = lambda helper: helper\n    return helper(ys)\n\ndef k():\n    global helper\n    helper = make()\n    return helper\n";
        let got = facts(src);
        assert!(got[0].1.contains(&"helper".to_string()), "{got:?}");
        let k = got.iter().find(|f| f.0 == "k").unwrap();
        assert!(k.1.contains(&"helper".to_string()), "{k:?}");
        // What the function imports, makes or is decorated and defaulted with still leads on,
        // even where a parameter shares the name.
        let src = "@via(normalize)\ndef f(k, normalize=None, key=weight):\n    from .backends import load_backend\n    from .m import helper as h\n    class L:\n        parse = staticmethod(parse)\n    return load_backend(k), h(k), L(), sorted(k, key=key)\n";
        let got = &facts(src)[0].1;
        for leads in [
            "normalize",
            "weight",
            "load_backend",
            "helper",
            "L",
            "parse",
        ] {
            assert!(got.contains(&leads.to_string()), "{leads}: {got:?}");
        }
        assert!(!got.contains(&"k".to_string()), "{got:?}");
        // Plain annotations only describe; ones that call or hand code to a library lead on.
        let got = &facts("def f(k: Field, *, d: Schema = DEFAULT) -> Result:\n    return k\n")[0].1;
        assert_eq!(got, &["DEFAULT"]);
        let src = "def f(k: Annotated[int, AfterValidator(check)], v: Annotated[str, rule]) -> kind():\n    def g(x: make_kind()):\n        pass\n    return g\n";
        let got = &facts(src)[0].1;
        for leads in ["check", "rule", "kind", "make_kind"] {
            assert!(got.contains(&leads.to_string()), "{leads}: {got:?}");
        }
    }

    #[test]
    fn calls_no_name_tells_are_opaque() {
        for (src, opaque) in [
            ("def f(cb):\n    return cb()\n", true),
            ("def f(k):\n    return HANDLERS[k]()\n", true),
            ("def f(o, n):\n    return getattr(o, n)()\n", true),
            ("def f(xs):\n    g = len\n    return g(xs)\n", true),
            ("def f(xs):\n    return sorted(xs, key=weight)\n", false),
            ("def f(o):\n    return o.method()\n", false),
            // A decorator's wrapper calling the function it wraps.
            (
                "def memoize(fn):\n    def wrapper(k):\n        return fn(k)\n    return wrapper\n",
                false,
            ),
        ] {
            assert_eq!(read(src).1.functions[0].opaque, opaque, "{src}");
        }
        let wrapper =
            "def memoize(fn):\n    def wrapper(k):\n        return fn(k)\n    return wrapper\n";
        assert!(
            read(wrapper).1.functions[1].opaque,
            "fn is a variable of memoize"
        );
    }

    #[test]
    fn nested_functions_are_their_own() {
        let got =
            facts("def outer():\n    def inner(x=D):\n        return x.y\n    return inner\n");
        assert_eq!(got[0].0, "outer");
        assert_eq!(got[0].1, vec!["D", "inner"]);
        assert_eq!(got[1].0, "outer.<locals>.inner");
        // Its default is a value it may call, read where it is defined.
        assert_eq!(got[1].1, vec!["D", "y"]);
        assert_eq!(
            reached_by("outer.<locals>.inner").collect::<Vec<_>>(),
            vec!["outer", "inner"]
        );
    }

    #[test]
    fn implicit_methods() {
        assert!(is_implicit("C.__eq__"));
        assert!(is_implicit("C.__iter__"));
        assert!(!is_implicit("C.__init__"));
        assert!(!is_implicit("C.method"));
        assert!(!is_implicit("__"));
    }

    #[test]
    fn functions_line_up_with_the_syntax() {
        let src = "if X:\n    def a():\n        pass\nclass C:\n    def m(self):\n        def n():\n            pass\n";
        let (syntax, calls) = read(src);
        let names: Vec<&str> = syntax
            .functions()
            .iter()
            .map(|f| f.qualname.as_str())
            .collect();
        let same: Vec<&str> = calls
            .functions
            .iter()
            .map(|f| f.qualname.as_str())
            .collect();
        assert_eq!(names, same);
    }

    fn sites(files: &[(&str, &str)]) -> Vec<MemoSite> {
        project_sites(files.iter().copied())
    }

    #[test]
    fn a_memoised_function_reaches_what_its_body_names() {
        let found = sites(&[
            (
                "headers.py",
                "class Reader:\n    def magic(self):\n        return self.blob[:4]\n    def other(self):\n        return helper()\n\ndef helper():\n    return 1\n\ndef unrelated():\n    return 2\n",
            ),
            (
                "formats.py",
                "import functools\nfrom headers import Reader\n@functools.cache\ndef detect(k):\n    return Reader(k).magic()\n",
            ),
        ]);
        assert_eq!(found.len(), 1);
        let site = &found[0];
        assert_eq!(
            (site.path.as_str(), site.qualname.as_str(), site.body),
            ("formats.py", "detect", (4, 5))
        );
        // Through the class name, every method of the class and what they call.
        assert!(site.reach.includes("Reader.magic"));
        assert!(site.reach.includes("Reader.other"));
        assert!(site.reach.includes("helper"));
        assert!(
            site.reach.includes("Other.__eq__"),
            "implicit methods may run anywhere"
        );
        assert!(!site.reach.includes("unrelated"));
        let index = MemoSites::new(found.clone());
        assert_eq!(index.reaching("Reader.magic"), BTreeSet::from([0]));
        assert_eq!(index.reaching("Other.__eq__"), BTreeSet::from([0]));
        assert!(index.reaching("unrelated").is_empty());
        assert_eq!(numbits::decode(&site.body_mask()), vec![4, 5]);
    }

    /// Ways to reach a function without writing its name where it is called: a decorator's
    /// wrapper, an inherited constructor, an import alias, a partial, a module-level alias, a
    /// class attribute, a string.
    #[test]
    fn names_reach_through_decorators_classes_and_bindings() {
        let helpers = (
            "helpers.py",
            "def scaled(fn):\n    def wrapper(x):\n        return 2 * helper_v2(x)\n    return wrapper\n\n@scaled\ndef decorated(x):\n    return x\n\ndef helper(x, m=1):\n    return x * m\n\ndef helper_v1(x):\n    return x\n\ndef helper_v2(x):\n    return x\n\nclass Base:\n    def __init__(self, k):\n        self.k = k\n\nclass Sub(Base):\n    pass\n\ndef weight(o):\n    return 1\n",
        );
        let cases = [
            ("decorated(k)", "scaled.<locals>.wrapper"),
            ("decorated(k)", "helper_v2"),
            ("Sub(k)", "Base.__init__"),
            ("h(k)", "helper"),
            ("double(k)", "helper"),
            ("DEFAULT(k)", "helper_v1"),
            ("Holder().fn(k)", "helper"),
            ("getattr(o, 'weight')", "weight"),
        ];
        for (call, callee) in cases {
            let memo = format!(
                "import functools\nfrom helpers import helper as h\nfrom helpers import *\ndouble = functools.partial(helper, m=2)\nDEFAULT = helper_v1\nclass Holder:\n    fn = staticmethod(helper)\n@functools.cache\ndef detect(k, o=None):\n    return {call}\n"
            );
            let found = sites(&[helpers, ("formats.py", memo.as_str())]);
            assert_eq!(found.len(), 1, "{call}");
            assert!(found[0].reach.includes(callee), "{call} reaches {callee}");
        }
        let plain = sites(&[
            helpers,
            (
                "formats.py",
                "import functools\n@functools.cache\ndef detect(k):\n    return k\n",
            ),
        ]);
        assert!(!plain[0].reach.includes("helper"));
    }

    #[test]
    fn a_one_line_memoised_function_has_a_body() {
        let found = sites(&[(
            "m.py",
            "import functools\n@functools.cache\ndef f(k): return g(k)\n",
        )]);
        assert_eq!(found[0].body, (3, 3));
        assert_eq!(numbits::decode(&found[0].body_mask()), vec![3]);
    }

    #[test]
    fn an_opaque_call_reaches_everything() {
        let found = sites(&[(
            "m.py",
            "_C = {}\ndef fill(k, make):\n    _C[k] = make()\n    return _C[k]\n",
        )]);
        assert_eq!(found[0].reach, Reach::Opaque);
        assert!(found[0].reach.includes("anything"));
    }
}
