//! The import statements of one Python file, and their resolution to files of the repository.
//!
//! Selection needs to know which repository files a module executes when it is imported, so that a
//! change to import-time code reaches every test that depends on the module, including tests that
//! never executed the changed line under their own coverage context (DESIGN.md, rule 2).
//!
//! Every `import`/`from ... import` statement counts, wherever it is: at module level, under
//! `if TYPE_CHECKING:`, in `try`/`except`, and inside function bodies. A function-level import runs
//! when the function is called, which a test may well do; counting it costs a few extra tests at
//! worst, while ignoring it could miss one. `TYPE_CHECKING` imports do not run, but they name a
//! real coupling (and `typing.get_type_hints` evaluates them), so they count too; both facts are
//! recorded on [`Import`] so a caller can narrow later.
//!
//! `pytest_plugins = ["pkg.fixtures", ...]` at module level (a `conftest.py` or test module loading
//! fixture modules by name) is read as an import of each listed module, because pytest imports them.
//!
//! Known limits: imports made at run time (`importlib.import_module(name)`, `__import__`,
//! entry points, plugins found through `pkg_resources`, `exec`) are invisible. Resolution is
//! static: a module found under several source roots resolves to all of them (Python would take
//! the first on `sys.path`), which may add dependencies but never drops one. Modules outside the
//! repository (the standard library, installed packages) resolve to nothing.

use std::collections::{BTreeSet, HashMap, HashSet};

use ruff_python_ast::{Expr, PySourceType, Stmt};

use super::lines::LineIndex;

/// One imported module as written in the source; `import a, b` gives two.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub struct Import {
    /// 1-based line of the statement.
    pub line: u32,
    /// Number of leading dots: 0 for an absolute import, 1 for `from . import x`.
    pub level: u32,
    /// The dotted module (`a.b` in `import a.b as c` and in `from a.b import c`); empty for
    /// `from . import x`.
    pub module: String,
    /// For `from` imports, the names imported (`*` for a star import); they may be submodules.
    /// Empty for a plain `import`.
    pub names: Vec<String>,
    /// `true` for `from ... import ...`.
    pub is_from: bool,
    /// `true` when the statement lies in a function body (it runs only when the function runs).
    pub in_function: bool,
    /// `true` when the statement lies under `if TYPE_CHECKING:` (it never runs).
    pub type_checking: bool,
}

/// The imports of a parsed module, in source order.
pub(crate) fn collect(body: &[Stmt], lines: &LineIndex) -> Vec<Import> {
    let mut out = Vec::new();
    walk(body, lines, Scope::default(), &mut out);
    out
}

#[derive(Clone, Copy, Default)]
struct Scope {
    in_function: bool,
    type_checking: bool,
    module_level: bool,
}

fn walk(body: &[Stmt], lines: &LineIndex, scope: Scope, out: &mut Vec<Import>) {
    let scope = Scope {
        module_level: !scope.in_function,
        ..scope
    };
    for stmt in body {
        match stmt {
            Stmt::Import(s) => {
                let line = lines.line_of(s.range.start());
                for alias in &s.names {
                    out.push(Import {
                        line,
                        level: 0,
                        module: alias.name.id.as_str().to_owned(),
                        names: Vec::new(),
                        is_from: false,
                        in_function: scope.in_function,
                        type_checking: scope.type_checking,
                    });
                }
            }
            Stmt::ImportFrom(s) => out.push(Import {
                line: lines.line_of(s.range.start()),
                level: s.level,
                module: s
                    .module
                    .as_ref()
                    .map(|m| m.id.as_str().to_owned())
                    .unwrap_or_default(),
                names: s
                    .names
                    .iter()
                    .map(|a| a.name.id.as_str().to_owned())
                    .collect(),
                is_from: true,
                in_function: scope.in_function,
                type_checking: scope.type_checking,
            }),
            Stmt::Assign(s) if scope.module_level => {
                let is_plugins = s
                    .targets
                    .iter()
                    .any(|t| matches!(t, Expr::Name(n) if n.id.as_str() == "pytest_plugins"));
                if is_plugins {
                    plugin_imports(&s.value, lines.line_of(s.range.start()), out);
                }
            }
            Stmt::FunctionDef(f) => walk(
                &f.body,
                lines,
                Scope {
                    in_function: true,
                    ..scope
                },
                out,
            ),
            Stmt::ClassDef(c) => walk(&c.body, lines, scope, out),
            Stmt::If(s) => {
                let tc = scope.type_checking || is_type_checking(&s.test);
                walk(
                    &s.body,
                    lines,
                    Scope {
                        type_checking: tc,
                        ..scope
                    },
                    out,
                );
                for clause in &s.elif_else_clauses {
                    walk(&clause.body, lines, scope, out);
                }
            }
            Stmt::For(s) => {
                walk(&s.body, lines, scope, out);
                walk(&s.orelse, lines, scope, out);
            }
            Stmt::While(s) => {
                walk(&s.body, lines, scope, out);
                walk(&s.orelse, lines, scope, out);
            }
            Stmt::With(s) => walk(&s.body, lines, scope, out),
            Stmt::Try(s) => {
                walk(&s.body, lines, scope, out);
                for ruff_python_ast::ExceptHandler::ExceptHandler(h) in &s.handlers {
                    walk(&h.body, lines, scope, out);
                }
                walk(&s.orelse, lines, scope, out);
                walk(&s.finalbody, lines, scope, out);
            }
            Stmt::Match(s) => {
                for case in &s.cases {
                    walk(&case.body, lines, scope, out);
                }
            }
            _ => {}
        }
    }
}

/// `pytest_plugins = "a.b"` or a list/tuple of string literals.
fn plugin_imports(value: &Expr, line: u32, out: &mut Vec<Import>) {
    let mut push = |module: &str| {
        out.push(Import {
            line,
            level: 0,
            module: module.to_owned(),
            names: Vec::new(),
            is_from: false,
            in_function: false,
            type_checking: false,
        })
    };
    match value {
        Expr::StringLiteral(s) => push(s.value.to_str()),
        Expr::List(l) => l.elts.iter().for_each(|e| {
            if let Expr::StringLiteral(s) = e {
                push(s.value.to_str());
            }
        }),
        Expr::Tuple(t) => t.elts.iter().for_each(|e| {
            if let Expr::StringLiteral(s) = e {
                push(s.value.to_str());
            }
        }),
        _ => {}
    }
}

pub(crate) fn is_type_checking(test: &Expr) -> bool {
    match test {
        Expr::Name(n) => n.id.as_str() == "TYPE_CHECKING",
        Expr::Attribute(a) => a.attr.id.as_str() == "TYPE_CHECKING",
        _ => false,
    }
}

/// Maps imports to repository files, given the tracked Python files and the source roots.
///
/// Roots are repo-relative directories (`""` is the repository root) that Python would have on
/// `sys.path` when the tests run. [`ModuleResolver::new`] takes the caller's roots (configuration)
/// and adds the defaults and the inferred ones, see [`infer_roots`].
#[derive(Debug, Clone)]
pub struct ModuleResolver {
    files: HashSet<String>,
    /// Dotted module name (under some root) -> files that define it (`m.py` or `m/__init__.py`).
    by_module: HashMap<String, Vec<String>>,
    roots: Vec<String>,
}

impl ModuleResolver {
    /// `files`: every tracked file, repo-relative with `/` (non-Python files are ignored).
    /// `roots`: extra source roots from configuration; defaults and inferred roots are added.
    pub fn new<I, S>(files: I, roots: &[String]) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let files: HashSet<String> = files
            .into_iter()
            .map(|f| f.as_ref().to_owned())
            .filter(|f| f.ends_with(".py"))
            .collect();
        let mut sorted: Vec<&String> = files.iter().collect();
        sorted.sort();
        let roots: Vec<String> = infer_roots(sorted.iter().map(|s| s.as_str()), roots)
            .into_iter()
            .collect();
        let mut by_module: HashMap<String, Vec<String>> = HashMap::new();
        for file in &sorted {
            for root in &roots {
                if let Some(name) = module_name_under(file, root) {
                    by_module.entry(name).or_default().push((*file).clone());
                }
            }
        }
        Self {
            files,
            by_module,
            roots,
        }
    }

    /// The source roots in use, sorted.
    pub fn roots(&self) -> &[String] {
        &self.roots
    }

    /// Whether `path` is one of the Python files this resolver knows.
    pub fn contains(&self, path: &str) -> bool {
        self.files.contains(path)
    }

    /// Repository files that executing `import` in `importer` runs: the module, every package
    /// `__init__.py` on the way to it, and, for `from m import name`, the submodule `m.name` when
    /// it is a file.
    pub fn resolve(&self, importer: &str, import: &Import) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        if import.level == 0 {
            self.resolve_absolute(&import.module, &mut out);
            if import.is_from {
                for name in import.names.iter().filter(|n| n.as_str() != "*") {
                    self.lookup(&format!("{}.{name}", import.module), &mut out);
                }
            }
        } else if let Some(base) = relative_base(importer, import.level) {
            let parts: Vec<&str> = import.module.split('.').filter(|p| !p.is_empty()).collect();
            let mut dir = base.to_owned();
            self.push_file(&join(&dir, "__init__.py"), &mut out);
            for (i, part) in parts.iter().enumerate() {
                if i + 1 == parts.len() {
                    self.push_file(&format!("{}.py", join(&dir, part)), &mut out);
                }
                dir = join(&dir, part);
                self.push_file(&join(&dir, "__init__.py"), &mut out);
            }
            if import.is_from {
                for name in import.names.iter().filter(|n| n.as_str() != "*") {
                    self.push_file(&format!("{}.py", join(&dir, name)), &mut out);
                    self.push_file(&join(&join(&dir, name), "__init__.py"), &mut out);
                }
            }
        }
        out.remove(importer);
        out
    }

    /// The files of the module `import` names itself (`m` of `from m import x`): the module
    /// whose namespace the imported names come from, without the packages on the way.
    pub fn module_files(&self, importer: &str, import: &Import) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        if import.level == 0 {
            self.lookup(&import.module, &mut out);
        } else if let Some(base) = relative_base(importer, import.level) {
            let dir = import
                .module
                .split('.')
                .filter(|p| !p.is_empty())
                .fold(base.to_owned(), |dir, part| join(&dir, part));
            if !import.module.is_empty() {
                self.push_file(&format!("{dir}.py"), &mut out);
            }
            self.push_file(&join(&dir, "__init__.py"), &mut out);
        }
        out.remove(importer);
        out
    }

    /// The `__init__.py` of every directory above `path` that has one: Python runs them all
    /// before the module itself whichever way it is imported.
    pub fn package_inits(&self, path: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut dir = parent(path);
        if path.ends_with("/__init__.py") || path == "__init__.py" {
            dir = dir.and_then(parent);
        }
        while let Some(d) = dir {
            let init = join(d, "__init__.py");
            if self.files.contains(&init) {
                out.push(init);
            }
            dir = parent(d);
        }
        out
    }

    fn resolve_absolute(&self, module: &str, out: &mut BTreeSet<String>) {
        let mut end = 0;
        while end < module.len() {
            end = module[end..]
                .find('.')
                .map(|i| end + i)
                .unwrap_or(module.len());
            self.lookup(&module[..end], out);
            end += 1;
        }
    }

    fn lookup(&self, module: &str, out: &mut BTreeSet<String>) {
        if let Some(files) = self.by_module.get(module) {
            out.extend(files.iter().cloned());
        }
    }

    fn push_file(&self, path: &str, out: &mut BTreeSet<String>) {
        if self.files.contains(path) {
            out.insert(path.to_owned());
        }
    }
}

/// Source roots: the caller's, the defaults (the repository root and `src`), the parent directory
/// of every top-level package (a directory with `__init__.py` whose parent has none), and the
/// directory pytest puts on `sys.path` for each test file and `conftest.py` in its default
/// `prepend` import mode: the first directory upwards that has no `__init__.py`.
pub fn infer_roots<'a>(
    py_files: impl IntoIterator<Item = &'a str>,
    configured: &[String],
) -> BTreeSet<String> {
    let files: Vec<&str> = py_files.into_iter().collect();
    let packages: HashSet<&str> = files
        .iter()
        .filter(|f| f.ends_with("__init__.py") && (f.len() == 11 || f.ends_with("/__init__.py")))
        .map(|f| parent(f).unwrap_or(""))
        .collect();
    let mut roots: BTreeSet<String> = configured
        .iter()
        .map(|r| r.trim_matches('/').to_owned())
        .collect();
    roots.insert(String::new());
    roots.insert("src".to_owned());
    for pkg in &packages {
        if pkg.is_empty() {
            continue;
        }
        let up = parent(pkg).unwrap_or("");
        if !packages.contains(up) {
            roots.insert(up.to_owned());
        }
    }
    for file in files.iter().filter(|f| is_test_file(f)) {
        let mut dir = parent(file).unwrap_or("");
        while packages.contains(dir) && !dir.is_empty() {
            dir = parent(dir).unwrap_or("");
        }
        roots.insert(dir.to_owned());
    }
    roots
}

/// pytest's default test file patterns (`test_*.py`, `*_test.py`) and `conftest.py`.
pub fn is_test_file(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    name == "conftest.py"
        || (name.ends_with(".py") && (name.starts_with("test_") || name.ends_with("_test.py")))
}

/// The dotted name `file` has when `root` is on `sys.path`, if it lies under `root`.
fn module_name_under(file: &str, root: &str) -> Option<String> {
    let rel = if root.is_empty() {
        file
    } else {
        file.strip_prefix(root)?.strip_prefix('/')?
    };
    let stem = rel.strip_suffix(".py")?;
    let stem = match stem.strip_suffix("/__init__") {
        Some(pkg) => pkg,
        None if stem == "__init__" => return None,
        None => stem,
    };
    if stem.is_empty() || stem.contains('.') {
        return None;
    }
    Some(stem.replace('/', "."))
}

/// The package directory a relative import of `level` dots starts from.
fn relative_base(importer: &str, level: u32) -> Option<&str> {
    let mut dir = parent(importer).unwrap_or("");
    for _ in 1..level {
        if dir.is_empty() {
            return None;
        }
        dir = parent(dir).unwrap_or("");
    }
    Some(dir)
}

/// The directory of a repo-relative path; `""` for the root, `None` above it.
fn parent(path: &str) -> Option<&str> {
    if path.is_empty() {
        return None;
    }
    Some(path.rfind('/').map(|i| &path[..i]).unwrap_or(""))
}

fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_owned()
    } else {
        format!("{dir}/{name}")
    }
}

/// The imports of one file; error-tolerant, so a file with a syntax error keeps the imports the
/// parser recovered.
///
/// Only the prefix of the file that can hold import statements is parsed: every import statement
/// contains the word `import`, so nothing after the statement holding the last occurrence of
/// `import` can add one. The cut is extended past that statement's parenthesised name list or
/// backslash continuations; a file naming `pytest_plugins` is parsed whole. Parsing dominates
/// the graph's build time and most files import at the top only.
pub fn read_imports(source: &str) -> Vec<Import> {
    let prefix = import_prefix(source);
    let parsed = ruff_python_parser::parse_unchecked_source(prefix, PySourceType::Python);
    collect(&parsed.syntax().body, &LineIndex::new(prefix))
}

/// A prefix of `source` that holds every import statement whole (see [`read_imports`]).
fn import_prefix(source: &str) -> &str {
    if source.contains("pytest_plugins") {
        return source;
    }
    let Some(last) = source.rfind("import") else {
        return "";
    };
    let bytes = source.as_bytes();
    let line_end = |from: usize| {
        bytes[from..]
            .iter()
            .position(|&b| b == b'\n' || b == b'\r')
            .map_or(bytes.len(), |i| from + i)
    };
    // What may follow on later lines of an import statement is only names, `as`, commas,
    // parentheses, backslashes, whitespace and comments; the statement has ended at its `)` or
    // before the first other character. Stopping later than needed only parses a little more.
    let mut i = line_end(last);
    while i < bytes.len() {
        match bytes[i] {
            b'#' => i = line_end(i),
            b')' => return &source[..=i],
            b if b.is_ascii_alphanumeric()
                || b.is_ascii_whitespace()
                || b >= 0x80
                || matches!(b, b'_' | b',' | b'(' | b'\\') =>
            {
                i += 1
            }
            _ => break,
        }
    }
    // `i` is on a char boundary: it is at the end or at an ASCII byte.
    &source[..i]
}

/// Every import of the whole file, parsed in full: the reference [`read_imports`] must agree with.
#[cfg(test)]
pub(super) fn read_imports_full(source: &str) -> Vec<Import> {
    let parsed = ruff_python_parser::parse_unchecked_source(source, PySourceType::Python);
    collect(&parsed.syntax().body, &LineIndex::new(source))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::python::analyze;

    fn summary(src: &str) -> Vec<String> {
        analyze(src)
            .imports()
            .iter()
            .map(|i| {
                format!(
                    "{}:{}{}{}{}{}",
                    i.line,
                    ".".repeat(i.level as usize),
                    i.module,
                    if i.is_from {
                        format!(" [{}]", i.names.join(","))
                    } else {
                        String::new()
                    },
                    if i.in_function { " fn" } else { "" },
                    if i.type_checking { " tc" } else { "" },
                )
            })
            .collect()
    }

    #[test]
    fn reads_every_spelling() {
        let src = "\
import a.b.c, d as e
from a.b import c, d as dd
from . import x
from ..pkg import y
from .mod import *
from typing import TYPE_CHECKING
if TYPE_CHECKING:
    from heavy import Model
try:
    import fast
except ImportError:
    import slow
def f():
    import lazy.mod
class C:
    from inner import thing
match V:
    case 1:
        import m1
pytest_plugins = ['fix.a', \"fix.b\"]
";
        assert_eq!(
            summary(src),
            vec![
                "1:a.b.c",
                "1:d",
                "2:a.b [c,d]",
                "3:. [x]",
                "4:..pkg [y]",
                "5:.mod [*]",
                "6:typing [TYPE_CHECKING]",
                "8:heavy [Model] tc",
                "10:fast",
                "12:slow",
                "14:lazy.mod fn",
                "16:inner [thing]",
                "19:m1",
                "20:fix.a",
                "20:fix.b",
            ]
        );
    }

    const TREE: &[&str] = &[
        "pkg/__init__.py",
        "pkg/core.py",
        "pkg/sub/__init__.py",
        "pkg/sub/mod.py",
        "pkg/sub/deep/__init__.py",
        "pkg/sub/deep/leaf.py",
        "src/lib2/__init__.py",
        "src/lib2/util.py",
        "tests/conftest.py",
        "tests/helpers.py",
        "tests/test_core.py",
        "tests/unit/__init__.py",
        "tests/unit/test_mod.py",
        "tests/unit/support.py",
        "README.md",
    ];

    fn imp(level: u32, module: &str, names: &[&str]) -> Import {
        Import {
            line: 1,
            level,
            module: module.to_owned(),
            names: names.iter().map(|s| (*s).to_owned()).collect(),
            is_from: level > 0 || !names.is_empty(),
            in_function: false,
            type_checking: false,
        }
    }

    #[test]
    fn infers_roots() {
        let r = ModuleResolver::new(TREE, &["custom/".to_owned()]);
        assert_eq!(r.roots(), ["", "custom", "src", "tests"]);
    }

    #[test]
    fn resolves_imports() {
        let r = ModuleResolver::new(TREE, &[]);
        let cases: &[(&str, &str, Import, &[&str])] = &[
            (
                "dotted import runs every package on the way",
                "tests/test_core.py",
                imp(0, "pkg.sub.mod", &[]),
                &["pkg/__init__.py", "pkg/sub/__init__.py", "pkg/sub/mod.py"],
            ),
            (
                "from package import submodule and a plain name",
                "tests/test_core.py",
                imp(0, "pkg.sub", &["mod", "CONST"]),
                &["pkg/__init__.py", "pkg/sub/__init__.py", "pkg/sub/mod.py"],
            ),
            (
                "from package import subpackage",
                "x.py",
                imp(0, "pkg.sub", &["deep"]),
                &[
                    "pkg/__init__.py",
                    "pkg/sub/__init__.py",
                    "pkg/sub/deep/__init__.py",
                ],
            ),
            (
                "src layout",
                "tests/test_core.py",
                imp(0, "lib2.util", &[]),
                &["src/lib2/__init__.py", "src/lib2/util.py"],
            ),
            (
                "test directory on sys.path (rootless test modules)",
                "tests/test_core.py",
                imp(0, "helpers", &[]),
                &["tests/helpers.py"],
            ),
            (
                "package-style tests import through their top package",
                "tests/unit/test_mod.py",
                imp(0, "unit.support", &[]),
                &["tests/unit/__init__.py", "tests/unit/support.py"],
            ),
            (
                "relative sibling",
                "pkg/sub/mod.py",
                imp(1, "", &["deep"]),
                &["pkg/sub/__init__.py", "pkg/sub/deep/__init__.py"],
            ),
            (
                "relative module",
                "pkg/sub/mod.py",
                imp(1, "deep.leaf", &["f"]),
                &[
                    "pkg/sub/__init__.py",
                    "pkg/sub/deep/__init__.py",
                    "pkg/sub/deep/leaf.py",
                ],
            ),
            (
                "two levels up",
                "pkg/sub/deep/leaf.py",
                imp(3, "core", &["X"]),
                &["pkg/__init__.py", "pkg/core.py"],
            ),
            (
                "from __init__, one dot is the package itself",
                "pkg/__init__.py",
                imp(1, "core", &["*"]),
                &["pkg/core.py"],
            ),
            (
                "star import",
                "x.py",
                imp(0, "pkg.core", &["*"]),
                &["pkg/__init__.py", "pkg/core.py"],
            ),
            (
                "above the repository root",
                "pkg/core.py",
                imp(3, "x", &["y"]),
                &[],
            ),
            (
                "third-party module",
                "pkg/core.py",
                imp(0, "numpy.linalg", &[]),
                &[],
            ),
        ];
        for (name, importer, import, want) in cases {
            let got = r.resolve(importer, import);
            let got: Vec<&str> = got.iter().map(|s| s.as_str()).collect();
            assert_eq!(got, *want, "{name}");
        }
    }

    #[test]
    fn module_files_are_the_named_module_only() {
        let r = ModuleResolver::new(TREE, &[]);
        let cases: &[(&str, Import, &[&str])] = &[
            (
                "pkg/sub/mod.py",
                imp(0, "pkg.sub", &["mod"]),
                &["pkg/sub/__init__.py"],
            ),
            ("x.py", imp(0, "pkg.core", &["X"]), &["pkg/core.py"]),
            (
                "pkg/sub/mod.py",
                imp(1, "", &["deep"]),
                &["pkg/sub/__init__.py"],
            ),
            (
                "pkg/sub/mod.py",
                imp(1, "deep.leaf", &["f"]),
                &["pkg/sub/deep/leaf.py"],
            ),
            ("pkg/sub/mod.py", imp(2, "core", &["X"]), &["pkg/core.py"]),
            ("pkg/sub/mod.py", imp(1, "missing", &["X"]), &[]),
            ("x.py", imp(0, "numpy", &["array"]), &[]),
        ];
        for (importer, import, want) in cases {
            let got = r.module_files(importer, import);
            let got: Vec<&str> = got.iter().map(|s| s.as_str()).collect();
            assert_eq!(got, *want, "{importer}: {import:?}");
        }
    }

    #[test]
    fn package_inits_walk_up() {
        let r = ModuleResolver::new(TREE, &[]);
        assert_eq!(
            r.package_inits("pkg/sub/deep/leaf.py"),
            [
                "pkg/sub/deep/__init__.py",
                "pkg/sub/__init__.py",
                "pkg/__init__.py"
            ]
        );
        assert_eq!(r.package_inits("pkg/sub/__init__.py"), ["pkg/__init__.py"]);
        assert!(r.package_inits("tests/test_core.py").is_empty());
    }

    #[test]
    fn test_file_patterns() {
        for (path, want) in [
            ("tests/test_a.py", true),
            ("a_test.py", true),
            ("x/conftest.py", true),
            ("testing.py", false),
            ("tests/helpers.py", false),
            ("test_a.pyc", false),
        ] {
            assert_eq!(is_test_file(path), want, "{path}");
        }
    }
}
