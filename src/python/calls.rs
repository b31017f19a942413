//! What each function of a file can call, by name, and so what each memoised function of a
//! project can reach: the static half of finding the functions whose results a cache keeps
//! (`selection::memo` has the dynamic half, from coverage).
//!
//! Python resolves calls at run time, so a call graph drawn from source is a guess; this one is
//! a guess that errs towards more edges. A function can call what its body names: every
//! identifier and every attribute name it mentions (`HeaderReader(...)`, `reader.magic()`,
//! `sorted(xs, key=weight)`), and through a class name, every method of that class. A call
//! whose target no name tells (a parameter, an item of a container, the result of another call:
//! `callback()`, `HANDLERS[kind]()`, `getattr(obj, name)()`) could reach anything, so such a
//! function is marked *opaque*.
//!
//! Known limits: names are matched without scopes or types, which only adds edges; code run
//! through `exec`, `eval` or imported by a computed name is not seen, and neither are calls an
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
    /// Every identifier and attribute name its body mentions.
    pub names: BTreeSet<String>,
    /// It calls something no name tells (see the module docs).
    pub opaque: bool,
}

/// The call facts of every function of a file, in source order (the order of
/// [`ModuleSyntax::functions`]), and its syntax.
pub fn read(source: &str) -> (ModuleSyntax, Vec<FunctionCalls>) {
    let parsed = ruff_python_parser::parse_unchecked_source(source, PySourceType::Python);
    let module = syntax::analyze_parsed(source, &parsed);
    let mut collector = Collector {
        prefix: Vec::new(),
        out: Vec::new(),
    };
    if parsed.has_valid_syntax() {
        collector.suite(&parsed.syntax().body);
    }
    (module, collector.out)
}

/// The names a qualified name can be reached by: each of its components but `<locals>`
/// (`C.m` by `C` and `m`; `f.<locals>.g` by `f` and `g`).
pub fn reached_by(qualname: &str) -> impl Iterator<Item = &str> {
    qualname.split('.').filter(|c| *c != "<locals>")
}

/// Whether Python calls this method without its name or its class's name being written: the
/// operator, container and protocol methods (`__eq__`, `__hash__`, `__iter__`, ...), but not the
/// constructors, which run through the class's name.
pub fn is_implicit(qualname: &str) -> bool {
    let last = qualname.rsplit('.').next().unwrap_or(qualname);
    last.len() > 4
        && last.starts_with("__")
        && last.ends_with("__")
        && !matches!(last, "__init__" | "__new__" | "__post_init__")
}

struct Collector {
    /// Qualified-name components of the enclosing classes and functions.
    prefix: Vec<String>,
    out: Vec<FunctionCalls>,
}

impl Collector {
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
                    let mut assigned = Assigned(&mut locals);
                    assigned.visit_body(&f.body);
                    let mut names = Names {
                        locals: &locals,
                        names: BTreeSet::new(),
                        opaque: false,
                    };
                    names.visit_body(&f.body);
                    self.out.push(FunctionCalls {
                        qualname,
                        names: names.names,
                        opaque: names.opaque,
                    });
                    self.prefix.push(format!("{}.<locals>", f.name.id));
                    self.suite(&f.body);
                    self.prefix.pop();
                }
                Stmt::ClassDef(c) => {
                    self.prefix.push(c.name.id.to_string());
                    self.suite(&c.body);
                    self.prefix.pop();
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

/// Every name a body mentions, and whether it calls a value no name tells.
struct Names<'l> {
    locals: &'l BTreeSet<String>,
    names: BTreeSet<String>,
    opaque: bool,
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
                self.visit_parameters(&f.parameters);
            }
            _ => visitor::walk_stmt(self, stmt),
        }
    }

    fn visit_expr(&mut self, expr: &'a Expr) {
        match expr {
            Expr::Name(n) => {
                self.names.insert(n.id.to_string());
            }
            Expr::Attribute(a) => {
                self.names.insert(a.attr.id.to_string());
            }
            Expr::Call(call) => {
                self.opaque |= match &*call.func {
                    Expr::Name(n) => self.locals.contains(n.id.as_str()),
                    Expr::Attribute(_) => false,
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
        let mut out: BTreeSet<usize> = self.opaque.iter().copied().collect();
        for name in reached_by(qualname) {
            out.extend(self.by_name.get(name).into_iter().flatten().copied());
        }
        out
    }
}

/// Past this many names, a reach counts as opaque: it holds most of the project anyway.
const MAX_REACH: usize = 50_000;

/// Every memoised function of the given files (repository path and source, the base's), with
/// what it can reach through every function of those files.
pub fn project_sites<'s>(files: impl IntoIterator<Item = (&'s str, &'s str)>) -> Vec<MemoSite> {
    let files: Vec<(&str, &str)> = files.into_iter().collect();
    // Parsing is most of the cost: split it over the cores, keeping the input's order.
    let workers = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .clamp(1, 8);
    let chunk = files.len().div_ceil(workers).max(1);
    let parsed: Vec<(&str, ModuleSyntax, Vec<FunctionCalls>)> = std::thread::scope(|scope| {
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
    let mut by_name: HashMap<&str, Vec<(usize, usize)>> = HashMap::new();
    for (file, (_, _, functions)) in parsed.iter().enumerate() {
        for (index, function) in functions.iter().enumerate() {
            for name in reached_by(&function.qualname) {
                by_name.entry(name).or_default().push((file, index));
            }
        }
    }
    let mut sites = Vec::new();
    for (file, (path, syntax, functions)) in parsed.iter().enumerate() {
        for (index, span) in syntax.functions().iter().enumerate() {
            if !span.memoised || span.header_end >= span.end {
                continue;
            }
            sites.push(MemoSite {
                path: path.to_string(),
                qualname: span.qualname.clone(),
                body: (span.header_end + 1, span.end),
                reach: reach(&parsed, &by_name, (file, index)),
            });
            debug_assert_eq!(functions[index].qualname, span.qualname);
        }
    }
    sites
}

/// The names one function can reach, following every name to the functions it can stand for.
fn reach(
    parsed: &[(&str, ModuleSyntax, Vec<FunctionCalls>)],
    by_name: &HashMap<&str, Vec<(usize, usize)>>,
    start: (usize, usize),
) -> Reach {
    let mut seen_functions: BTreeSet<(usize, usize)> = BTreeSet::from([start]);
    let mut names: BTreeSet<String> = BTreeSet::new();
    let mut queue = vec![start];
    while let Some((file, index)) = queue.pop() {
        let function = &parsed[file].2[index];
        if function.opaque {
            return Reach::Opaque;
        }
        for name in &function.names {
            if !names.insert(name.clone()) {
                continue;
            }
            if names.len() > MAX_REACH {
                return Reach::Opaque;
            }
            for &target in by_name.get(name.as_str()).into_iter().flatten() {
                if seen_functions.insert(target) {
                    queue.push(target);
                }
            }
        }
    }
    Reach::Names(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(src: &str) -> Vec<(String, Vec<String>, bool)> {
        read(src)
            .1
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
        assert_eq!(got[0].1, vec!["blob", "self"]);
        assert_eq!(got[1].0, "detect");
        assert_eq!(got[1].1, vec!["R", "SAMPLES", "k", "len", "m", "reader"]);
        assert!(!got[0].2 && !got[1].2);
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
        ] {
            assert_eq!(read(src).1[0].opaque, opaque, "{src}");
        }
    }

    #[test]
    fn nested_functions_are_their_own() {
        let got =
            facts("def outer():\n    def inner(x=D):\n        return x.y\n    return inner\n");
        assert_eq!(got[0].0, "outer");
        assert_eq!(got[0].1, vec!["D", "inner"]);
        assert_eq!(got[1].0, "outer.<locals>.inner");
        assert_eq!(got[1].1, vec!["x", "y"]);
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
        let same: Vec<&str> = calls.iter().map(|f| f.qualname.as_str()).collect();
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
            ("formats.py", "detect", (5, 5))
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
        assert_eq!(numbits::decode(&site.body_mask()), vec![5]);
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
