//! What each module- and class-level statement of a file binds and what else it may do, and
//! where the file mentions each name: the facts that let selection follow a changed name to the
//! code that reads it, instead of sending an import-time change to every test that imports the
//! module (DESIGN.md, "Precision: follow names, not modules").
//!
//! A statement that only binds names (`def`, `class`, an assignment, an import, with their
//! decorators, defaults and bases) can reach a test only through the names it binds. So each
//! statement records its [`Bound`] names and its [`Effect`]s: the callables it calls (a call
//! may keep state elsewhere: selection decides what the callee is), the objects it may change
//! (`app.route(...)`, `RULES.append(x)`, `CONFIG["a"] = 1`), the modules it imports (importing
//! one runs it), and the constructs no name can follow (`__all__`, a star import, `setattr`,
//! `exec`, a module-level `raise`), which send the change back to every dependent.
//!
//! A mention is a token of the parsed source, never a text match: an identifier, an attribute
//! name, a keyword argument's name, a parameter's name (pytest fixtures are asked for by
//! parameter name) or a name-like string (`getattr(obj, "size")`, `mock.patch("pkg.m.f")`). Each
//! mention says where it lies: in a function's body (then what runs it is the test that ran the
//! statement holding it, from that statement's first line to the mention's) or in a module- or
//! class-level statement (then that statement's bindings change in turn). Reads no name can
//! tell (`getattr(obj, name)`, `vars()`, `dir()`, `globals()`, `__dict__`, `inspect.getmembers`,
//! `importlib.import_module(name)`, `dataclasses.asdict`) are *dynamic* mentions: they may read
//! any name.
//!
//! Bodies of `if __name__ == "__main__":` and `if TYPE_CHECKING:` never run under pytest: their
//! statements are inert (they bind nothing and do nothing).
//!
//! Known limits: scopes are not resolved (a local variable that shadows a global is still a
//! mention of it, which only adds tests); a file that does not parse has no facts, and
//! selection treats it as unreadable.

use std::collections::{HashMap, HashSet};

use ruff_python_ast::visitor::{self, Visitor};
use ruff_python_ast::{Expr, PySourceType, Stmt};
use ruff_text_size::{Ranged, TextSize};

use super::imports::{self, Import};
use super::lines::LineIndex;
use super::syntax::{self, ModuleSyntax};

/// How a statement binds a name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BindKind {
    /// An assignment, `for` target, `with ... as`, `except ... as`, walrus or `del`.
    Assign,
    Def,
    Class,
    /// `import m`, `from m import n [as a]`: the value comes from another module.
    Import,
}

/// One name a statement binds (at module level, or as an attribute of its class).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bound {
    pub name: String,
    pub kind: BindKind,
    /// For an import: what it imports, `names` holding the one name as the module spells it
    /// (`x` of `from m import x as y`); empty `names` for `import m`.
    pub imported: Option<Import>,
}

/// A pytest fixture the file defines at its top level.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fixture {
    /// The function (an index into [`ModuleSyntax::functions`]).
    pub function: usize,
    /// The name tests ask for it by: `name=` if given, else the function's.
    pub name: String,
    /// `autouse=True`: every test in its scope uses it.
    pub autouse: bool,
}

/// What a statement may do besides binding names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// It calls (or applies as a decorator, or subclasses) the callable bound to this name.
    Calls { name: String, line: u32 },
    /// It calls a method: `root.a.b(...)`, `chain` being `root.a.b`; `root` is `None` when the
    /// receiver is no name (`"-".join(...)`, `f().g()`).
    CallsMethod {
        root: Option<String>,
        chain: String,
        line: u32,
    },
    /// It stores into an attribute or item of the object bound to `root`
    /// (`CONFIG["a"] = 1`, `rates.LIMIT = 2`), or deletes one.
    Mutates { root: String, line: u32 },
    /// It imports a module, which runs the module's own import-time code.
    Imports { import: Import },
    /// It passes the object bound to `root` to a call, which may change it (`next(_ids)`,
    /// `register_into(HANDLERS, ...)`).
    Passes { root: String, line: u32 },
    /// A construct whose reach names cannot follow.
    Construct { what: &'static str, line: u32 },
}

/// A module- or class-level statement (compound statements too: an `if`'s own lines are its
/// header, and it binds and does whatever its branches do).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    pub first: u32,
    pub last: u32,
    /// `None` at module level; the class's qualified name in a class body.
    pub class: Option<String>,
    pub binds: Vec<Bound>,
    pub effects: Vec<Effect>,
    /// Never runs under pytest (`if __name__ == "__main__":`, `if TYPE_CHECKING:` bodies).
    pub inert: bool,
    /// The compound statement it lies in, at the same level.
    pub parent: Option<usize>,
    /// It lies in the body of a `try`: raising there runs a handler instead.
    pub guarded: bool,
}

/// How a name is written where it is mentioned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MentionKind {
    /// A bare identifier, read or deleted (or read and stored: `NAME += 1`).
    Name,
    /// A bare identifier only stored into (`NAME = ...`, a `for` target): it reads nothing.
    Store,
    /// `x.NAME`, and a module named in an import (`import a.NAME`).
    Attribute,
    /// `f(NAME=...)`.
    Keyword,
    /// A parameter: `def f(NAME)`, `lambda NAME: ...`.
    Parameter,
    /// A name-like string: `"NAME"`, `"pkg.mod.NAME"`.
    String,
    /// A read no name tells (see the module docs): it may read any name.
    Dynamic,
    /// A name in the code of a doctest (`>>> LIMIT / 5` in a docstring): `--doctest-modules`
    /// runs it as a test of the file that holds it.
    Doctest,
}

/// Where a mention lies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Home {
    /// In the body of this function (an index into [`ModuleSyntax::functions`]); a nested
    /// function's decorators and defaults run in the body around it.
    Function(usize),
    /// In this module- or class-level statement (an index into [`FileNames::statements`]).
    Statement(usize),
}

/// One mention of a name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mention {
    pub line: u32,
    /// The first line of the innermost statement that holds it: coverage records a statement
    /// on its first line.
    pub stmt_first: u32,
    pub home: Home,
    pub kind: MentionKind,
    /// For a dynamic read: what it reads from, when a name tells (`consts` of
    /// `getattr(consts, name)`, `geo.Style` of `fields(geo.Style)`), `""` for the module's own
    /// globals (`globals()`, `vars()`, `dir()` without an argument), `None` when anything.
    pub target: Option<String>,
}

/// The facts of one version of one file.
#[derive(Debug, Clone, Default)]
pub struct FileNames {
    statements: Vec<Statement>,
    mentions: HashMap<String, Vec<Mention>>,
    dynamic: Vec<Mention>,
    /// Body line ranges of every function: lines there belong to no statement.
    bodies: Vec<(u32, u32)>,
    fixtures: Vec<Fixture>,
    /// `from m import *` statements at module level.
    star_imports: Vec<Import>,
    /// Names some function binds locally (a parameter, an assignment, an import): there a bare
    /// name may be the function's own rather than the module's.
    local_binds: HashSet<String>,
    parsed: bool,
}

impl FileNames {
    /// Every module- and class-level statement, in source order (a compound statement before
    /// the statements in it).
    pub fn statements(&self) -> &[Statement] {
        &self.statements
    }

    /// The innermost module- or class-level statement that `line` belongs to; `None` for a
    /// line of a function body or of no statement.
    pub fn statement_at(&self, line: u32) -> Option<usize> {
        if self
            .bodies
            .iter()
            .any(|(first, last)| (*first..=*last).contains(&line))
        {
            return None;
        }
        self.statements
            .iter()
            .enumerate()
            .filter(|(_, s)| s.first <= line && line <= s.last)
            .min_by_key(|(i, s)| (s.last - s.first, std::cmp::Reverse(*i)))
            .map(|(i, _)| i)
    }

    /// Every mention of `name`, in source order.
    pub fn mentions_of(&self, name: &str) -> &[Mention] {
        self.mentions.get(name).map_or(&[], Vec::as_slice)
    }

    /// Every dynamic read (a mention of any name).
    pub fn dynamic(&self) -> &[Mention] {
        &self.dynamic
    }

    /// The mentions whose home is statement `index`, with their names.
    pub fn mentions_in(&self, index: usize) -> Vec<(&str, &Mention)> {
        let mut out: Vec<(&str, &Mention)> = self
            .mentions
            .iter()
            .flat_map(|(name, ms)| ms.iter().map(move |m| (name.as_str(), m)))
            .filter(|(_, m)| m.home == Home::Statement(index))
            .collect();
        out.sort_by_key(|(name, m)| (m.line, *name));
        out
    }

    /// Whether the module binds `name` at its top level other than by importing it: then a
    /// bare `name` in it is its own, not another module's.
    pub fn binds_itself(&self, name: &str) -> bool {
        self.statements.iter().any(|s| {
            s.class.is_none()
                && !s.inert
                && s.binds
                    .iter()
                    .any(|b| b.name == name && b.kind != BindKind::Import)
        })
    }

    /// `false` when the file has a syntax error: it has no facts.
    pub fn parsed(&self) -> bool {
        self.parsed
    }

    /// The pytest fixtures defined at the file's top level.
    pub fn fixtures(&self) -> &[Fixture] {
        &self.fixtures
    }

    /// The module-level star imports (`from m import *`).
    pub fn star_imports(&self) -> &[Import] {
        &self.star_imports
    }

    /// Whether a bare `name` in this module can only be its own: it binds the name itself
    /// (not by importing it), imports it from nowhere, and star-imports nothing.
    pub fn owns(&self, name: &str) -> bool {
        self.star_imports.is_empty()
            && self.binds_itself(name)
            && !self
                .module_bindings(name)
                .any(|b| b.kind == BindKind::Import)
    }

    /// The outermost statement whose outcome a raise in `index` decides: the `try` around it
    /// (a raise there runs a handler), or the statement itself.
    pub fn guarding(&self, index: usize) -> usize {
        let mut at = index;
        let mut decided = index;
        while let Some(parent) = self.statements[at].parent {
            if self.statements[at].guarded {
                decided = parent;
            }
            at = parent;
        }
        decided
    }

    /// Whether some function binds `name` locally (see [`FileNames::local_binds`]).
    pub fn bound_in_a_function(&self, name: &str) -> bool {
        self.local_binds.contains(name)
    }

    /// Whether any module-level statement binds `name`, even one that never runs (`if
    /// TYPE_CHECKING:`).
    pub fn binds_anywhere(&self, name: &str) -> bool {
        self.statements
            .iter()
            .filter(|s| s.class.is_none())
            .any(|s| s.binds.iter().any(|b| b.name == name))
    }

    /// How the module binds `name` at its top level, in source order.
    pub fn module_bindings(&self, name: &str) -> impl Iterator<Item = &Bound> {
        self.statements
            .iter()
            .filter(|s| s.class.is_none() && !s.inert)
            .flat_map(|s| s.binds.iter())
            .filter(move |b| b.name == name)
    }

    /// The class-level statement of class `qualname`'s header: the one that binds its name.
    pub fn class_header(&self, qualname: &str) -> Option<&Statement> {
        let (outer, name) = match qualname.rsplit_once('.') {
            Some((outer, name)) => (Some(outer), name),
            None => (None, qualname),
        };
        self.statements.iter().find(|s| {
            s.class.as_deref() == outer
                && s.binds
                    .iter()
                    .any(|b| b.name == name && b.kind == BindKind::Class)
        })
    }
}

/// Whether a file's text may read names it does not spell: it has a word that makes a
/// dynamic read (`getattr`, `vars`, `__dict__`, ...) or a star import. Such a file may mention
/// any name; any other mentions only the names [`has_word`] finds in it.
pub fn may_read_any_name(text: &[u8]) -> bool {
    DYNAMIC_BY_ARGUMENT
        .iter()
        .chain(DYNAMIC_ALWAYS)
        .chain(DYNAMIC_ATTRIBUTES)
        .any(|word| has_word(text, word))
        || memchr::memmem::find_iter(text, b"import").any(|at| {
            text[at + b"import".len()..]
                .iter()
                .find(|b| !matches!(b, b' ' | b'\t' | b'\\' | b'\n' | b'\r' | b'('))
                == Some(&b'*')
        })
}

/// Whether `word` occurs in `text` as a whole identifier (not inside a longer one; bytes of
/// non-ASCII characters count as identifier characters).
pub fn has_word(text: &[u8], word: &str) -> bool {
    let inner = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80;
    memchr::memmem::find_iter(text, word.as_bytes()).any(|at| {
        let end = at + word.len();
        (at == 0 || !inner(text[at - 1])) && text.get(end).is_none_or(|&b| !inner(b))
    })
}

/// The facts and the syntax of one version of a file, from one parse.
pub fn read(source: &str) -> (ModuleSyntax, FileNames) {
    let parsed = ruff_python_parser::parse_unchecked_source(source, PySourceType::Python);
    let syntax = syntax::analyze_parsed(source, &parsed);
    if !parsed.has_valid_syntax() {
        return (syntax, FileNames::default());
    }
    let lines = LineIndex::new(source);
    let mut reader = Reader {
        lines: &lines,
        out: FileNames {
            parsed: true,
            ..FileNames::default()
        },
        next_function: 0,
        syntax: &syntax,
        in_try: false,
        parent: None,
    };
    reader.scope_suite(&parsed.syntax().body, None, "", None, false);
    let out = reader.out;
    (syntax, out)
}

/// Builtins and common constructors whose calls at import time change nothing but the value
/// they return. A call of anything else is left for selection to judge.
pub const PURE_CALLABLES: &[&str] = &[
    "abs",
    "all",
    "any",
    "ascii",
    "bin",
    "bool",
    "bytearray",
    "bytes",
    "callable",
    "chr",
    "classmethod",
    "complex",
    "dict",
    "dir",
    "divmod",
    "enumerate",
    "filter",
    "float",
    "format",
    "frozenset",
    "getattr",
    "hasattr",
    "hash",
    "hex",
    "id",
    "int",
    "isinstance",
    "issubclass",
    "iter",
    "len",
    "list",
    "map",
    "max",
    "memoryview",
    "min",
    "next",
    "object",
    "oct",
    "open",
    "ord",
    "pow",
    "print",
    "property",
    "range",
    "repr",
    "reversed",
    "round",
    "set",
    "slice",
    "sorted",
    "staticmethod",
    "str",
    "sum",
    "super",
    "tuple",
    "type",
    "zip",
    // typing, dataclasses, functools, collections, enum, and friends
    "namedtuple",
    "NamedTuple",
    "TypedDict",
    "TypeVar",
    "ParamSpec",
    "TypeVarTuple",
    "NewType",
    "Generic",
    "Protocol",
    "cast",
    "overload",
    "final",
    "override",
    "runtime_checkable",
    "dataclass",
    "field",
    "make_dataclass",
    "partial",
    "partialmethod",
    "wraps",
    "lru_cache",
    "cache",
    "cached_property",
    "total_ordering",
    "singledispatch",
    "singledispatchmethod",
    "contextmanager",
    "asynccontextmanager",
    "abstractmethod",
    "unique",
    "auto",
    "Enum",
    "IntEnum",
    "StrEnum",
    "Flag",
    "IntFlag",
    "deque",
    "defaultdict",
    "OrderedDict",
    "Counter",
    "ChainMap",
    "itemgetter",
    "attrgetter",
    "methodcaller",
    "Decimal",
    "Fraction",
    "Path",
    "PurePath",
    "PurePosixPath",
    "PureWindowsPath",
    "PosixPath",
    "WindowsPath",
    "datetime",
    "date",
    "time",
    "timedelta",
    "timezone",
    "UUID",
    "compile",
    "Lock",
    "RLock",
    "Event",
    "Condition",
    "Semaphore",
    "local",
    "ContextVar",
    "getLogger",
    "NullHandler",
    "Struct",
    "Template",
    "count",
    "chain",
    "cycle",
    "repeat",
    "islice",
    "groupby",
    "product",
    "combinations",
    "permutations",
    "accumulate",
    "reduce",
    "frozen",
    "define",
    "mutable",
    "attrib",
    "ib",
    "Factory",
    "fixture",
    "param",
    "escape",
    "getenv",
    "MappingProxyType",
    "SimpleNamespace",
    "WeakKeyDictionary",
    "WeakValueDictionary",
    "WeakSet",
    "ref",
    // Bases whose classes do nothing to the module when subclassed.
    "ABC",
    "ABCMeta",
    "Mapping",
    "MutableMapping",
    "Sequence",
    "MutableSequence",
    "Set",
    "MutableSet",
    "Iterable",
    "Iterator",
    "Container",
    "Hashable",
    "Sized",
    "Callable",
    "Collection",
    "Reversible",
    "Awaitable",
];

/// Standard and common modules whose module-level functions change nothing when called
/// directly (`re.compile`, `os.path.join`, `logging.getLogger`); a method of one of their
/// objects is judged by its name (`sys.path.insert` changes `sys`).
pub const PURE_MODULES: &[&str] = &[
    "abc",
    "array",
    "base64",
    "binascii",
    "bisect",
    "calendar",
    "click",
    "cmath",
    "collections",
    "contextlib",
    "contextvars",
    "copy",
    "csv",
    "dataclasses",
    "datetime",
    "decimal",
    "difflib",
    "enum",
    "fnmatch",
    "fractions",
    "functools",
    "glob",
    "hashlib",
    "heapq",
    "hmac",
    "html",
    "inspect",
    "io",
    "ipaddress",
    "itertools",
    "json",
    "keyword",
    "logging",
    "math",
    "numbers",
    "operator",
    "os",
    "pathlib",
    "pickle",
    "platform",
    "pprint",
    "pytest",
    "queue",
    "random",
    "re",
    "secrets",
    "shlex",
    "shutil",
    "stat",
    "string",
    "struct",
    "sys",
    "tempfile",
    "textwrap",
    "threading",
    "time",
    "types",
    "typing",
    "typing_extensions",
    "unicodedata",
    "urllib",
    "uuid",
    "warnings",
    "weakref",
    "zlib",
    "attr",
    "attrs",
];

/// Module-level functions of [`PURE_MODULES`] that do change shared state.
pub const STATE_CHANGING_CALLS: &[&str] = &[
    "atexit.register",
    "codecs.register",
    "copyreg.pickle",
    "faulthandler.enable",
    "importlib.import_module",
    "locale.setlocale",
    "logging.addLevelName",
    "logging.basicConfig",
    "logging.captureWarnings",
    "logging.disable",
    "logging.setLoggerClass",
    "mimetypes.add_type",
    "os.chdir",
    "os.putenv",
    "os.unsetenv",
    "random.seed",
    "signal.signal",
    "socket.setdefaulttimeout",
    "sys.setrecursionlimit",
    "threading.setprofile",
    "threading.settrace",
    "warnings.filterwarnings",
    "warnings.resetwarnings",
    "warnings.simplefilter",
];

/// Methods whose calls change nothing but return a value (`"-".join`, `re.compile(...).match`,
/// `os.path.join`, `logger.info`, `@v.setter`).
pub const PURE_METHODS: &[&str] = &[
    "join",
    "split",
    "rsplit",
    "strip",
    "lstrip",
    "rstrip",
    "lower",
    "upper",
    "title",
    "capitalize",
    "casefold",
    "replace",
    "format",
    "format_map",
    "startswith",
    "endswith",
    "encode",
    "decode",
    "count",
    "index",
    "find",
    "rfind",
    "partition",
    "rpartition",
    "splitlines",
    "zfill",
    "ljust",
    "rjust",
    "center",
    "get",
    "keys",
    "values",
    "items",
    "copy",
    "union",
    "intersection",
    "difference",
    "symmetric_difference",
    "issubset",
    "issuperset",
    "compile",
    "match",
    "search",
    "fullmatch",
    "findall",
    "finditer",
    "sub",
    "subn",
    "escape",
    "getLogger",
    "getChild",
    "debug",
    "info",
    "warning",
    "warn",
    "error",
    "exception",
    "critical",
    "log",
    "isEnabledFor",
    "resolve",
    "joinpath",
    "with_suffix",
    "with_name",
    "relative_to",
    "exists",
    "is_file",
    "is_dir",
    "read_text",
    "read_bytes",
    "expanduser",
    "absolute",
    "fspath",
    "dirname",
    "basename",
    "abspath",
    "realpath",
    "normpath",
    "splitext",
    "getenv",
    "isoformat",
    "strftime",
    "fromisoformat",
    "fromtimestamp",
    "total_seconds",
    "to_bytes",
    "from_bytes",
    "setter",
    "getter",
    "deleter",
    "fixture",
    "parametrize",
    "param",
    "skip",
    "skipif",
    "xfail",
    "usefixtures",
    "filterwarnings",
    "dataclass",
    "field",
    "partial",
    "cache",
    "lru_cache",
    "wraps",
    "cached_property",
    "total_ordering",
    "contextmanager",
    "asynccontextmanager",
    "abstractmethod",
    "define",
    "frozen",
    "mutable",
    "attrib",
    "ib",
    "s",
    "Factory",
    "command",
    "group",
    "option",
    "argument",
    "pass_context",
    "version_option",
    "TypeVar",
    "cast",
    "overload",
    "dumps",
    "loads",
    "dump",
    "load",
    "getcwd",
    "cpu_count",
    "iterdir",
    "glob",
    "rglob",
    "stat",
    "fromkeys",
    "maketrans",
];

struct Reader<'a> {
    lines: &'a LineIndex,
    out: FileNames,
    /// Walking the body of a `try` (at module or class level).
    in_try: bool,
    /// The compound statement being walked.
    parent: Option<usize>,
    /// The index the next function definition gets, in the order of `ModuleSyntax::functions`.
    next_function: usize,
    syntax: &'a ModuleSyntax,
}

impl Reader<'_> {
    fn line(&self, offset: TextSize) -> u32 {
        self.lines.line_of(offset)
    }

    /// Statements at module or class level. `class`: the class's qualified name, `prefix` the
    /// qualname prefix of definitions here, `parent` the compound statement around them.
    fn scope_suite(
        &mut self,
        body: &[Stmt],
        class: Option<&str>,
        prefix: &str,
        parent: Option<usize>,
        inert: bool,
    ) {
        let outer = self.parent;
        // A class body is a level of its own: its statements have no parent.
        self.parent = parent;
        for stmt in body {
            self.scope_stmt(stmt, class, prefix, parent, inert);
        }
        self.parent = outer;
    }

    /// The body of a `try`: statements in it are guarded.
    fn try_suite(
        &mut self,
        body: &[Stmt],
        class: Option<&str>,
        prefix: &str,
        parent: Option<usize>,
        inert: bool,
    ) {
        let outer = self.in_try;
        self.in_try = true;
        self.scope_suite(body, class, prefix, parent, inert);
        self.in_try = outer;
    }

    fn new_statement(&mut self, first: u32, last: u32, class: Option<&str>, inert: bool) -> usize {
        self.out.statements.push(Statement {
            first,
            last,
            class: class.map(str::to_string),
            binds: Vec::new(),
            effects: Vec::new(),
            inert,
            parent: self.parent,
            guarded: self.in_try,
        });
        self.out.statements.len() - 1
    }

    /// Mentions and effects of expressions of statement `index`.
    fn header_exprs<'e>(&mut self, index: usize, exprs: impl IntoIterator<Item = &'e Expr>) {
        let first = self.out.statements[index].first;
        let mut effects = Vec::new();
        let mut binds = Vec::new();
        for expr in exprs {
            self.mentions_in(expr, Home::Statement(index), first);
            let mut collector = EffectCollector {
                lines: self.lines,
                effects: &mut effects,
                binds: &mut binds,
            };
            collector.visit_expr(expr);
        }
        for effect in effects {
            self.effect(index, effect);
        }
        self.out.statements[index].binds.extend(binds);
    }

    fn mentions_in(&mut self, expr: &Expr, home: Home, stmt_first: u32) {
        let mut finder = MentionFinder {
            lines: self.lines,
            out: &mut self.out,
            home,
            stmt_first,
        };
        finder.visit_expr(expr);
    }

    fn bind(&mut self, index: usize, name: &str, kind: BindKind) {
        self.out.statements[index].binds.push(Bound {
            name: name.to_string(),
            kind,
            imported: None,
        });
    }

    fn bind_import(&mut self, index: usize, name: &str, import: Import) {
        self.out.statements[index].binds.push(Bound {
            name: name.to_string(),
            kind: BindKind::Import,
            imported: Some(import),
        });
    }

    fn effect(&mut self, index: usize, effect: Effect) {
        let effects = &mut self.out.statements[index].effects;
        if !effects.contains(&effect) {
            effects.push(effect);
        }
    }

    fn mention(&mut self, name: &str, mention: Mention) {
        self.out
            .mentions
            .entry(name.to_string())
            .or_default()
            .push(mention);
    }

    /// Bind the plain names of an assignment target; stores into attributes and items change
    /// the object they hang from.
    fn targets(&mut self, index: usize, target: &Expr, kind: BindKind) {
        match target {
            Expr::Name(n) => {
                if n.id.as_str() == "__all__" {
                    let line = self.line(n.range.start());
                    self.effect(
                        index,
                        Effect::Construct {
                            what: "`__all__`",
                            line,
                        },
                    );
                }
                self.bind(index, n.id.as_str(), kind);
            }
            Expr::Tuple(t) => t
                .elts
                .iter()
                .for_each(|e| self.targets(index, e, kind.clone())),
            Expr::List(l) => l
                .elts
                .iter()
                .for_each(|e| self.targets(index, e, kind.clone())),
            Expr::Starred(s) => self.targets(index, &s.value, kind),
            Expr::Attribute(_) | Expr::Subscript(_) => {
                let line = self.line(target.start());
                match root_name(target) {
                    Some(root) => self.effect(
                        index,
                        Effect::Mutates {
                            root: root.to_string(),
                            line,
                        },
                    ),
                    None => self.effect(
                        index,
                        Effect::Construct {
                            what: "a store into a computed object",
                            line,
                        },
                    ),
                }
            }
            _ => {}
        }
    }

    fn scope_stmt(
        &mut self,
        stmt: &Stmt,
        class: Option<&str>,
        prefix: &str,
        parent: Option<usize>,
        inert: bool,
    ) {
        let first = self.line(stmt.start());
        let last = self.lines.last_line(stmt.start(), stmt.end());
        match stmt {
            Stmt::FunctionDef(f) => {
                let index_fn = self.next_function;
                self.next_function += 1;
                // `syntax` numbers definitions in the same order; without it (it cannot
                // disagree on a file that parses) the statement is the whole definition.
                let (start, header_end, end) = match self.syntax.functions().get(index_fn) {
                    Some(span) => (span.start, span.header_end, span.end),
                    None => (first, last, last),
                };
                let index = self.new_statement(start, header_end.max(start), class, inert);
                self.bind(index, f.name.id.as_str(), BindKind::Def);
                if class.is_none()
                    && let Some(fixture) = fixture_of(f, index_fn)
                {
                    self.out.fixtures.push(fixture);
                }
                let mut exprs: Vec<&Expr> =
                    f.decorator_list.iter().map(|d| &d.expression).collect();
                // Applying a decorator calls it.
                for d in &f.decorator_list {
                    let line = self.line(d.start());
                    let call = decorator_call(&d.expression, line);
                    self.effect(index, call);
                }
                exprs.extend(parameter_exprs(&f.parameters));
                exprs.extend(f.returns.as_deref());
                self.header_exprs(index, exprs);
                self.parameter_mentions(&f.parameters, Home::Statement(index), start);
                self.out.bodies.push((header_end + 1, end));
                let qualname = format!("{prefix}{}", f.name.id);
                self.function_body(&f.body, index_fn, &format!("{qualname}.<locals>."));
            }
            Stmt::ClassDef(c) => {
                let start = c
                    .decorator_list
                    .iter()
                    .map(|d| self.line(d.start()))
                    .min()
                    .unwrap_or(first)
                    .min(first);
                let header_end = c
                    .arguments
                    .as_ref()
                    .map(|a| self.lines.last_line(a.start(), a.end()))
                    .unwrap_or_else(|| self.line(c.name.end()));
                let index = self.new_statement(start, header_end, class, inert);
                self.bind(index, c.name.id.as_str(), BindKind::Class);
                let mut exprs: Vec<&Expr> =
                    c.decorator_list.iter().map(|d| &d.expression).collect();
                for d in &c.decorator_list {
                    let line = self.line(d.start());
                    let call = decorator_call(&d.expression, line);
                    self.effect(index, call);
                }
                if let Some(arguments) = &c.arguments {
                    for base in arguments.args.iter() {
                        exprs.push(base);
                        let line = self.line(base.start());
                        // Creating a subclass runs its bases' `__init_subclass__` and metaclass.
                        let call = decorator_call(base, line);
                        self.effect(index, call);
                    }
                    for keyword in arguments.keywords.iter() {
                        exprs.push(&keyword.value);
                        if let Some(arg) = &keyword.arg {
                            let line = self.line(keyword.start());
                            self.mention(
                                arg.id.as_str(),
                                Mention {
                                    line,
                                    stmt_first: start,
                                    home: Home::Statement(index),
                                    kind: MentionKind::Keyword,
                                    target: None,
                                },
                            );
                            if arg.id.as_str() == "metaclass" {
                                let call = decorator_call(&keyword.value, line);
                                self.effect(index, call);
                            }
                        }
                    }
                }
                self.header_exprs(index, exprs);
                let qualname = format!("{prefix}{}", c.name.id);
                let outer = std::mem::replace(&mut self.in_try, false);
                self.scope_suite(
                    &c.body,
                    Some(&qualname),
                    &format!("{qualname}."),
                    None,
                    inert,
                );
                self.in_try = outer;
            }
            Stmt::If(s) => {
                let index = self.new_statement(first, last, class, inert);
                self.header_exprs(index, std::iter::once(&*s.test));
                let main = is_main_guard(&s.test);
                let checking = imports::is_type_checking(&s.test);
                self.scope_suite(
                    &s.body,
                    class,
                    prefix,
                    Some(index),
                    inert || main || checking,
                );
                for clause in &s.elif_else_clauses {
                    if let Some(test) = &clause.test {
                        self.header_exprs(index, std::iter::once(test));
                    }
                    self.scope_suite(&clause.body, class, prefix, Some(index), inert);
                }
            }
            Stmt::For(s) => {
                let index = self.new_statement(first, last, class, inert);
                self.header_exprs(index, [&*s.iter]);
                self.mentions_in(&s.target, Home::Statement(index), first);
                self.targets(index, &s.target, BindKind::Assign);
                self.scope_suite(&s.body, class, prefix, Some(index), inert);
                self.scope_suite(&s.orelse, class, prefix, Some(index), inert);
            }
            Stmt::While(s) => {
                let index = self.new_statement(first, last, class, inert);
                self.header_exprs(index, [&*s.test]);
                self.scope_suite(&s.body, class, prefix, Some(index), inert);
                self.scope_suite(&s.orelse, class, prefix, Some(index), inert);
            }
            Stmt::With(s) => {
                let index = self.new_statement(first, last, class, inert);
                for item in &s.items {
                    self.header_exprs(index, [&item.context_expr]);
                    if let Some(vars) = &item.optional_vars {
                        self.mentions_in(vars, Home::Statement(index), first);
                        self.targets(index, vars, BindKind::Assign);
                    }
                }
                self.scope_suite(&s.body, class, prefix, Some(index), inert);
            }
            Stmt::Try(s) => {
                let index = self.new_statement(first, last, class, inert);
                self.try_suite(&s.body, class, prefix, Some(index), inert);
                for ruff_python_ast::ExceptHandler::ExceptHandler(h) in &s.handlers {
                    if let Some(type_) = &h.type_ {
                        self.header_exprs(index, [&**type_]);
                    }
                    if let Some(name) = &h.name {
                        self.bind(index, name.id.as_str(), BindKind::Assign);
                    }
                    self.scope_suite(&h.body, class, prefix, Some(index), inert);
                }
                self.scope_suite(&s.orelse, class, prefix, Some(index), inert);
                self.scope_suite(&s.finalbody, class, prefix, Some(index), inert);
            }
            Stmt::Match(s) => {
                let index = self.new_statement(first, last, class, inert);
                self.header_exprs(index, [&*s.subject]);
                // Patterns bind names too; following them is not worth it at module level.
                self.effect(
                    index,
                    Effect::Construct {
                        what: "a `match` at import time",
                        line: first,
                    },
                );
                for case in &s.cases {
                    self.scope_suite(&case.body, class, prefix, Some(index), inert);
                }
            }
            _ => {
                let index = self.new_statement(first, last, class, inert);
                self.simple(index, stmt, first);
            }
        }
        // A compound statement binds and does what its inner statements do.
        if let Some(parent) = parent {
            self.fold_into(parent);
        }
    }

    /// Fold every statement after `parent` that lies inside it into its binds and effects.
    fn fold_into(&mut self, parent: usize) {
        let (first, last) = (
            self.out.statements[parent].first,
            self.out.statements[parent].last,
        );
        let mut binds = Vec::new();
        let mut effects = Vec::new();
        for s in &self.out.statements[parent + 1..] {
            if s.first >= first
                && s.last <= last
                && s.class == self.out.statements[parent].class
                && !s.inert
            {
                binds.extend(s.binds.iter().cloned());
                effects.extend(s.effects.iter().cloned());
            }
        }
        let p = &mut self.out.statements[parent];
        for b in binds {
            if !p.binds.contains(&b) {
                p.binds.push(b);
            }
        }
        for e in effects {
            if !p.effects.contains(&e) {
                p.effects.push(e);
            }
        }
    }

    /// A simple statement at module or class level.
    fn simple(&mut self, index: usize, stmt: &Stmt, first: u32) {
        let home = Home::Statement(index);
        match stmt {
            Stmt::Assign(s) => {
                self.header_exprs(index, [&*s.value]);
                for t in &s.targets {
                    self.mentions_in(t, home, first);
                    self.targets(index, t, BindKind::Assign);
                }
            }
            Stmt::AugAssign(s) => {
                self.header_exprs(index, [&*s.value]);
                self.mentions_in(&s.target, home, first);
                if let Some(root) = root_name(&s.target) {
                    self.mention(
                        root,
                        Mention {
                            line: first,
                            stmt_first: first,
                            home,
                            kind: MentionKind::Name,
                            target: None,
                        },
                    );
                }
                self.targets(index, &s.target, BindKind::Assign);
            }
            Stmt::AnnAssign(s) => {
                self.header_exprs(
                    index,
                    s.value.as_deref().into_iter().chain([&*s.annotation]),
                );
                self.mentions_in(&s.target, home, first);
                self.targets(index, &s.target, BindKind::Assign);
            }
            Stmt::TypeAlias(s) => {
                self.header_exprs(index, [&*s.value]);
                self.mentions_in(&s.name, home, first);
                self.targets(index, &s.name, BindKind::Assign);
            }
            Stmt::Delete(s) => {
                for t in &s.targets {
                    self.mentions_in(t, home, first);
                    self.targets(index, t, BindKind::Assign);
                }
            }
            Stmt::Import(s) => {
                for alias in &s.names {
                    let bound = alias.asname.as_ref().map_or_else(
                        || {
                            alias
                                .name
                                .id
                                .split('.')
                                .next()
                                .unwrap_or_default()
                                .to_string()
                        },
                        |a| a.id.to_string(),
                    );
                    let import = Import {
                        line: first,
                        level: 0,
                        module: alias.name.id.to_string(),
                        names: Vec::new(),
                        is_from: false,
                        in_function: false,
                        type_checking: false,
                    };
                    self.bind_import(index, &bound, import);
                    for part in alias.name.id.split('.') {
                        self.mention(
                            part,
                            Mention {
                                line: first,
                                stmt_first: first,
                                home,
                                kind: MentionKind::Attribute,
                                target: None,
                            },
                        );
                    }
                    self.effect(
                        index,
                        Effect::Imports {
                            import: Import {
                                line: first,
                                level: 0,
                                module: alias.name.id.to_string(),
                                names: Vec::new(),
                                is_from: false,
                                in_function: false,
                                type_checking: false,
                            },
                        },
                    );
                }
            }
            Stmt::ImportFrom(s) => {
                let module = s
                    .module
                    .as_ref()
                    .map(|m| m.id.to_string())
                    .unwrap_or_default();
                for part in module.split('.').filter(|p| !p.is_empty()) {
                    self.mention(
                        part,
                        Mention {
                            line: first,
                            stmt_first: first,
                            home,
                            kind: MentionKind::Attribute,
                            target: None,
                        },
                    );
                }
                for alias in &s.names {
                    if alias.name.id.as_str() == "*" {
                        self.effect(
                            index,
                            Effect::Construct {
                                what: "a star import",
                                line: first,
                            },
                        );
                        if self.out.statements[index].class.is_none() {
                            self.out.star_imports.push(Import {
                                line: first,
                                level: s.level,
                                module: module.clone(),
                                names: vec!["*".to_string()],
                                is_from: true,
                                in_function: false,
                                type_checking: false,
                            });
                        }
                        continue;
                    }
                    self.mention(
                        alias.name.id.as_str(),
                        Mention {
                            line: self.line(alias.start()),
                            stmt_first: first,
                            home,
                            kind: MentionKind::Name,
                            target: None,
                        },
                    );
                    let bound = alias.asname.as_ref().unwrap_or(&alias.name);
                    let import = Import {
                        line: first,
                        level: s.level,
                        module: module.clone(),
                        names: vec![alias.name.id.to_string()],
                        is_from: true,
                        in_function: false,
                        type_checking: false,
                    };
                    self.bind_import(index, bound.id.as_str(), import);
                }
                self.effect(
                    index,
                    Effect::Imports {
                        import: Import {
                            line: first,
                            level: s.level,
                            module,
                            names: s.names.iter().map(|a| a.name.id.to_string()).collect(),
                            is_from: true,
                            in_function: false,
                            type_checking: false,
                        },
                    },
                );
            }
            Stmt::Expr(s) => {
                // A docstring does nothing (but its doctests read names); anything else is
                // evaluated for its effects.
                match &*s.value {
                    Expr::StringLiteral(text) => {
                        for name in doctest_names(text.value.to_str()) {
                            self.mention(
                                &name,
                                Mention {
                                    line: first,
                                    stmt_first: first,
                                    home,
                                    kind: MentionKind::Doctest,
                                    target: None,
                                },
                            );
                        }
                    }
                    value => self.header_exprs(index, [value]),
                }
            }
            Stmt::Assert(s) => {
                self.header_exprs(index, std::iter::once(&*s.test).chain(s.msg.as_deref()));
            }
            Stmt::Raise(s) => {
                self.header_exprs(
                    index,
                    s.exc.as_deref().into_iter().chain(s.cause.as_deref()),
                );
                self.effect(
                    index,
                    Effect::Construct {
                        what: "a `raise` at import time",
                        line: first,
                    },
                );
            }
            Stmt::Global(s) => {
                for name in &s.names {
                    self.mention(
                        name.id.as_str(),
                        Mention {
                            line: first,
                            stmt_first: first,
                            home,
                            kind: MentionKind::Name,
                            target: None,
                        },
                    );
                }
            }
            Stmt::Pass(_) | Stmt::Break(_) | Stmt::Continue(_) | Stmt::Nonlocal(_) => {}
            Stmt::Return(_) => {}
            _ => self.effect(
                index,
                Effect::Construct {
                    what: "a statement covshard does not follow",
                    line: first,
                },
            ),
        }
    }

    fn parameter_mentions(
        &mut self,
        parameters: &ruff_python_ast::Parameters,
        home: Home,
        stmt_first: u32,
    ) {
        for p in parameters.iter() {
            let name = p.name();
            let line = self.line(name.start());
            self.mention(
                name.id.as_str(),
                Mention {
                    line,
                    stmt_first,
                    home,
                    kind: MentionKind::Parameter,
                    target: None,
                },
            );
        }
    }

    /// A function's body: every mention's home is that function (or a function nested in it).
    fn function_body(&mut self, body: &[Stmt], function: usize, prefix: &str) {
        for stmt in body {
            self.body_stmt(stmt, function, prefix);
        }
    }

    fn body_stmt(&mut self, stmt: &Stmt, function: usize, prefix: &str) {
        let first = self.line(stmt.start());
        let home = Home::Function(function);
        match stmt {
            Stmt::FunctionDef(f) => {
                let nested = self.next_function;
                self.next_function += 1;
                // Decorators, defaults and annotations run in the body around the definition.
                for d in &f.decorator_list {
                    self.mentions_in(&d.expression, home, first);
                }
                for e in parameter_exprs(&f.parameters) {
                    self.mentions_in(e, home, first);
                }
                if let Some(r) = &f.returns {
                    self.mentions_in(r, home, first);
                }
                self.parameter_mentions(&f.parameters, home, first);
                self.mention(
                    f.name.id.as_str(),
                    Mention {
                        line: self.line(f.name.start()),
                        stmt_first: first,
                        home,
                        kind: MentionKind::Name,
                        target: None,
                    },
                );
                let qualname = format!("{prefix}{}", f.name.id);
                self.function_body(&f.body, nested, &format!("{qualname}.<locals>."));
            }
            Stmt::ClassDef(c) => {
                for d in &c.decorator_list {
                    self.mentions_in(&d.expression, home, first);
                }
                if let Some(arguments) = &c.arguments {
                    for e in arguments.args.iter() {
                        self.mentions_in(e, home, first);
                    }
                    for k in arguments.keywords.iter() {
                        self.mentions_in(&k.value, home, first);
                    }
                }
                let qualname = format!("{prefix}{}", c.name.id);
                let inner = format!("{qualname}.");
                for s in &c.body {
                    self.body_stmt(s, function, &inner);
                }
            }
            _ => {
                // The statement's own expressions, then its inner statements (a definition in
                // an `if` is counted in the order `syntax` counts them).
                let mut finder = MentionFinder {
                    lines: self.lines,
                    out: &mut self.out,
                    home,
                    stmt_first: first,
                };
                finder.visit_stmt_own(stmt);
                for inner in inner_suites(stmt) {
                    for s in inner {
                        self.body_stmt(s, function, prefix);
                    }
                }
            }
        }
    }
}

/// The statement suites directly inside a compound statement, in the order `syntax` walks them.
fn inner_suites(stmt: &Stmt) -> Vec<&[Stmt]> {
    match stmt {
        Stmt::If(s) => std::iter::once(s.body.as_slice())
            .chain(s.elif_else_clauses.iter().map(|c| c.body.as_slice()))
            .collect(),
        Stmt::For(s) => vec![&s.body, &s.orelse],
        Stmt::While(s) => vec![&s.body, &s.orelse],
        Stmt::With(s) => vec![&s.body],
        Stmt::Try(s) => std::iter::once(s.body.as_slice())
            .chain(s.handlers.iter().map(|h| {
                let ruff_python_ast::ExceptHandler::ExceptHandler(h) = h;
                h.body.as_slice()
            }))
            .chain([s.orelse.as_slice(), s.finalbody.as_slice()])
            .collect(),
        Stmt::Match(s) => s.cases.iter().map(|c| c.body.as_slice()).collect(),
        _ => Vec::new(),
    }
}

/// The fixture a definition declares (`@pytest.fixture`, `@fixture(name=..., autouse=...)`).
fn fixture_of(f: &ruff_python_ast::StmtFunctionDef, function: usize) -> Option<Fixture> {
    for d in &f.decorator_list {
        let (callee, call) = match &d.expression {
            Expr::Call(call) => (&*call.func, Some(call)),
            other => (other, None),
        };
        let named = match callee {
            Expr::Name(n) => n.id.as_str() == "fixture",
            Expr::Attribute(a) => a.attr.id.as_str() == "fixture",
            _ => false,
        };
        if !named {
            continue;
        }
        let keyword = |key: &str| {
            call.and_then(|c| {
                c.arguments
                    .keywords
                    .iter()
                    .find(|k| k.arg.as_ref().is_some_and(|a| a.id.as_str() == key))
            })
        };
        let name = match keyword("name").map(|k| &k.value) {
            Some(Expr::StringLiteral(s)) => s.value.to_str().to_string(),
            _ => f.name.id.to_string(),
        };
        // Anything but a literal `False` may turn autouse on.
        let autouse = keyword("autouse")
            .is_some_and(|k| !matches!(&k.value, Expr::BooleanLiteral(b) if !b.value));
        return Some(Fixture {
            function,
            name,
            autouse,
        });
    }
    None
}

/// Defaults and annotations of a signature: evaluated when the `def` runs.
fn parameter_exprs(parameters: &ruff_python_ast::Parameters) -> Vec<&Expr> {
    let mut out = Vec::new();
    for p in parameters.iter() {
        if let Some(default) = p.default() {
            out.push(default);
        }
        if let Some(annotation) = p.annotation() {
            out.push(annotation);
        }
    }
    out
}

/// `if __name__ == "__main__":`.
fn is_main_guard(test: &Expr) -> bool {
    let Expr::Compare(c) = test else {
        return false;
    };
    let is_name = |e: &Expr| matches!(e, Expr::Name(n) if n.id.as_str() == "__name__");
    let is_main = |e: &Expr| matches!(e, Expr::StringLiteral(s) if s.value.to_str() == "__main__");
    c.comparators.len() == 1
        && ((is_name(&c.left) && is_main(&c.comparators[0]))
            || (is_main(&c.left) && is_name(&c.comparators[0])))
}

/// The name an attribute or item chain hangs from: `A` of `A.b[c].d`.
pub(crate) fn root_name(expr: &Expr) -> Option<&str> {
    match expr {
        Expr::Name(n) => Some(n.id.as_str()),
        Expr::Attribute(a) => root_name(&a.value),
        Expr::Subscript(s) => root_name(&s.value),
        Expr::Call(c) => match &*c.func {
            // `a.b()` in `a.b().c`: the chain still hangs from `a`.
            Expr::Attribute(_) | Expr::Name(_) => None,
            _ => None,
        },
        _ => None,
    }
}

/// `a.b.c` of an attribute chain of names; `None` when a link is not a name.
fn dotted(expr: &Expr) -> Option<String> {
    match expr {
        Expr::Name(n) => Some(n.id.to_string()),
        Expr::Attribute(a) => Some(format!("{}.{}", dotted(&a.value)?, a.attr.id)),
        _ => None,
    }
}

/// The call that applying a decorator (or subclassing a base) makes.
fn decorator_call(expr: &Expr, line: u32) -> Effect {
    match expr {
        Expr::Name(n) => Effect::Calls {
            name: n.id.to_string(),
            line,
        },
        Expr::Attribute(a) => Effect::CallsMethod {
            root: root_name(&a.value).map(str::to_string),
            chain: dotted(expr).unwrap_or_else(|| a.attr.id.to_string()),
            line,
        },
        // `@f(args)`: the factory's call; its result is applied, and what the factory returns
        // is its own business.
        Expr::Call(c) => decorator_call(&c.func, line),
        // `Generic[T]`, `Base[int]`.
        Expr::Subscript(s) => decorator_call(&s.value, line),
        _ => Effect::Construct {
            what: "a decorator or base covshard cannot name",
            line,
        },
    }
}

/// Collects the calls, stores and walrus bindings of an expression evaluated at import time;
/// lambda bodies run later, when called, and are left out.
struct EffectCollector<'e> {
    lines: &'e LineIndex,
    effects: &'e mut Vec<Effect>,
    binds: &'e mut Vec<Bound>,
}

/// Callables that read what they are handed without changing it.
const KEEPS_ITS_ARGUMENTS: &[&str] = &[
    "abs",
    "bool",
    "bytes",
    "callable",
    "chr",
    "classmethod",
    "complex",
    "dict",
    "float",
    "format",
    "frozenset",
    "getattr",
    "hasattr",
    "hash",
    "id",
    "int",
    "isinstance",
    "issubclass",
    "len",
    "list",
    "max",
    "min",
    "oct",
    "ord",
    "print",
    "property",
    "range",
    "repr",
    "round",
    "set",
    "sorted",
    "staticmethod",
    "str",
    "sum",
    "tuple",
    "type",
    "namedtuple",
    "NamedTuple",
    "TypeVar",
    "NewType",
    "cast",
    "dataclass",
    "field",
    "partial",
    "wraps",
    "lru_cache",
    "cache",
    "cached_property",
    "compile",
    "Path",
    "PurePath",
    "Decimal",
    "Fraction",
    "getLogger",
    "join",
    "format_map",
    "encode",
    "decode",
    "startswith",
    "endswith",
    "replace",
    "split",
    "get",
    "fixture",
    "parametrize",
    "param",
    "frozen",
    "define",
    "attrib",
    "ib",
    "Factory",
    "deepcopy",
    "copy",
    "datetime",
    "date",
    "timedelta",
    "UUID",
    "itemgetter",
    "attrgetter",
    "methodcaller",
    "Enum",
    "IntEnum",
];

/// Builtins whose calls no name can follow.
const OPAQUE_BUILTINS: &[&str] = &[
    "exec",
    "eval",
    "setattr",
    "delattr",
    "__import__",
    "globals",
    "vars",
    "locals",
];

impl<'a> Visitor<'a> for EffectCollector<'_> {
    fn visit_expr(&mut self, expr: &'a Expr) {
        match expr {
            Expr::Lambda(l) => {
                if let Some(parameters) = &l.parameters {
                    for e in parameter_exprs(parameters) {
                        self.visit_expr(e);
                    }
                }
                return;
            }
            Expr::Named(n) => {
                if let Expr::Name(name) = &*n.target {
                    self.binds.push(Bound {
                        name: name.id.to_string(),
                        kind: BindKind::Assign,
                        imported: None,
                    });
                }
            }
            Expr::Call(call) => {
                let line = self.lines.line_of(call.start());
                let effect = match &*call.func {
                    Expr::Name(n) if OPAQUE_BUILTINS.contains(&n.id.as_str()) => {
                        Effect::Construct {
                            what: "`exec`, `eval`, `setattr`, `globals()` or the like",
                            line,
                        }
                    }
                    Expr::Name(n) => Effect::Calls {
                        name: n.id.to_string(),
                        line,
                    },
                    Expr::Attribute(a) => Effect::CallsMethod {
                        root: root_name(&a.value).map(str::to_string),
                        chain: dotted(&call.func).unwrap_or_else(|| a.attr.id.to_string()),
                        line,
                    },
                    _ => Effect::Construct {
                        what: "a call of a computed callable",
                        line,
                    },
                };
                self.effects.push(effect);
                // The callee may change what it is handed (`next(_ids)`, `add_to(REGISTRY)`).
                let callee = match &*call.func {
                    Expr::Name(n) => n.id.as_str(),
                    Expr::Attribute(a) => a.attr.id.as_str(),
                    _ => "",
                };
                if !KEEPS_ITS_ARGUMENTS.contains(&callee) {
                    let handed = call
                        .arguments
                        .args
                        .iter()
                        .chain(call.arguments.keywords.iter().map(|k| &k.value));
                    for arg in handed {
                        if let Some(root) = root_name(arg) {
                            self.effects.push(Effect::Passes {
                                root: root.to_string(),
                                line,
                            });
                        }
                    }
                }
            }
            _ => {}
        }
        visitor::walk_expr(self, expr);
    }
}

/// Records the mentions of an expression (or a statement's own expressions).
struct MentionFinder<'f> {
    lines: &'f LineIndex,
    out: &'f mut FileNames,
    home: Home,
    stmt_first: u32,
}

impl MentionFinder<'_> {
    /// A dynamic read from `target` (see [`Mention::target`]).
    fn push_dynamic(&mut self, offset: TextSize, target: Option<String>) {
        self.out.dynamic.push(Mention {
            line: self.lines.line_of(offset),
            stmt_first: self.stmt_first,
            home: self.home,
            kind: MentionKind::Dynamic,
            target,
        });
    }

    fn push(&mut self, name: &str, offset: TextSize, kind: MentionKind) {
        if matches!(self.home, Home::Function(_))
            && matches!(kind, MentionKind::Store | MentionKind::Parameter)
        {
            self.out.local_binds.insert(name.to_string());
        }
        let mention = Mention {
            line: self.lines.line_of(offset),
            stmt_first: self.stmt_first,
            home: self.home,
            kind,
            target: None,
        };
        if kind == MentionKind::Dynamic {
            self.out.dynamic.push(mention);
        } else {
            self.out
                .mentions
                .entry(name.to_string())
                .or_default()
                .push(mention);
        }
    }

    /// A statement's own expressions, not those of the statements inside it.
    fn visit_stmt_own(&mut self, stmt: &Stmt) {
        match stmt {
            Stmt::If(s) => {
                self.visit_expr(&s.test);
                for clause in &s.elif_else_clauses {
                    if let Some(test) = &clause.test {
                        self.visit_expr(test);
                    }
                }
            }
            Stmt::For(s) => {
                self.visit_expr(&s.target);
                self.visit_expr(&s.iter);
            }
            Stmt::While(s) => self.visit_expr(&s.test),
            Stmt::With(s) => {
                for item in &s.items {
                    self.visit_with_item(item);
                }
            }
            Stmt::Try(s) => {
                for ruff_python_ast::ExceptHandler::ExceptHandler(h) in &s.handlers {
                    if let Some(t) = &h.type_ {
                        self.visit_expr(t);
                    }
                }
            }
            Stmt::Match(s) => self.visit_expr(&s.subject),
            Stmt::Global(s) => {
                for n in &s.names {
                    self.push(n.id.as_str(), n.start(), MentionKind::Name);
                }
            }
            Stmt::Nonlocal(s) => {
                for n in &s.names {
                    self.push(n.id.as_str(), n.start(), MentionKind::Name);
                }
            }
            Stmt::Import(s) => {
                for alias in &s.names {
                    for part in alias.name.id.split('.') {
                        self.push(part, alias.start(), MentionKind::Attribute);
                    }
                    if matches!(self.home, Home::Function(_)) {
                        let bound = alias.asname.as_ref().map_or_else(
                            || alias.name.id.split('.').next().unwrap_or_default(),
                            |a| a.id.as_str(),
                        );
                        self.out.local_binds.insert(bound.to_string());
                    }
                }
            }
            Stmt::ImportFrom(s) => {
                if let Some(module) = &s.module {
                    for part in module.id.split('.') {
                        self.push(part, module.start(), MentionKind::Attribute);
                    }
                }
                for alias in &s.names {
                    if matches!(self.home, Home::Function(_)) {
                        let bound = alias.asname.as_ref().unwrap_or(&alias.name);
                        self.out.local_binds.insert(bound.id.to_string());
                    }
                    if alias.name.id.as_str() != "*" {
                        self.push(alias.name.id.as_str(), alias.start(), MentionKind::Name);
                    } else {
                        self.push_dynamic(alias.start(), None);
                    }
                }
            }
            other => visitor::walk_stmt(self, other),
        }
    }
}

/// Calls that read attributes by a name no token tells, when their name argument is not a
/// string literal (`getattr(obj, name)`), or always (`vars(obj)`).
const DYNAMIC_BY_ARGUMENT: &[&str] = &[
    "getattr",
    "hasattr",
    "setattr",
    "delattr",
    "attrgetter",
    "methodcaller",
    "getattr_static",
];
/// Attributes that read an object's namespace (the first three), or every module's
/// (`sys.modules`).
const DYNAMIC_ATTRIBUTES: &[&str] = &["__dict__", "__getattribute__", "__getattr__", "modules"];
const DYNAMIC_ALWAYS: &[&str] = &[
    "vars",
    "dir",
    "globals",
    "locals",
    "getmembers",
    "asdict",
    "astuple",
    "fields",
    "eval",
    "exec",
];

impl<'a> Visitor<'a> for MentionFinder<'_> {
    fn visit_stmt(&mut self, stmt: &'a Stmt) {
        match stmt {
            // Nested bodies are walked by the reader, which knows their homes.
            Stmt::FunctionDef(_) | Stmt::ClassDef(_) => {}
            Stmt::AugAssign(a) => {
                // `N += 1` reads `N` as well as storing it.
                if let Some(root) = root_name(&a.target) {
                    self.push(root, a.target.start(), MentionKind::Name);
                }
                visitor::walk_stmt(self, stmt);
            }
            _ => visitor::walk_stmt(self, stmt),
        }
    }

    fn visit_expr(&mut self, expr: &'a Expr) {
        match expr {
            Expr::Name(n) => {
                let kind = if n.ctx.is_store() {
                    MentionKind::Store
                } else {
                    MentionKind::Name
                };
                self.push(n.id.as_str(), n.start(), kind);
            }
            Expr::Attribute(a) => {
                self.push(a.attr.id.as_str(), a.attr.start(), MentionKind::Attribute);
                match a.attr.id.as_str() {
                    attr if DYNAMIC_ATTRIBUTES[..3].contains(&attr) => {
                        self.push_dynamic(a.start(), dotted(&a.value));
                    }
                    "modules" if matches!(&*a.value, Expr::Name(n) if n.id.as_str() == "sys") => {
                        self.push_dynamic(a.start(), None);
                    }
                    _ => {}
                }
            }
            Expr::StringLiteral(s) => {
                let text = s.value.to_str();
                if name_like(text) {
                    for part in text.split('.') {
                        self.push(part, s.start(), MentionKind::String);
                    }
                }
                if text.contains(">>>") {
                    for name in doctest_names(text) {
                        self.push(&name, s.start(), MentionKind::Doctest);
                    }
                }
            }
            Expr::Lambda(l) => {
                if let Some(parameters) = &l.parameters {
                    for p in parameters.iter() {
                        self.push(
                            p.name().id.as_str(),
                            p.name().start(),
                            MentionKind::Parameter,
                        );
                    }
                }
            }
            Expr::Call(call) => {
                let callee = match &*call.func {
                    Expr::Name(n) => Some(n.id.as_str()),
                    Expr::Attribute(a) => Some(a.attr.id.as_str()),
                    _ => None,
                };
                if let Some(callee) = callee {
                    let args = &call.arguments.args;
                    let applied_later = matches!(callee, "attrgetter" | "methodcaller");
                    let name_arg = args.get(if applied_later { 0 } else { 1 });
                    let literal_name =
                        name_arg.is_some_and(|a| matches!(a, Expr::StringLiteral(_)));
                    // What it reads from: its first argument when a name tells, the module's
                    // own globals for `globals()` and an argument-less `vars()`/`dir()`.
                    let target = match (callee, args.first()) {
                        ("globals" | "locals", _) | ("vars" | "dir", None) => Some(String::new()),
                        ("eval" | "exec", _) => None,
                        _ if applied_later => None,
                        (_, Some(first)) => dotted(first),
                        (_, None) => None,
                    };
                    if DYNAMIC_ALWAYS.contains(&callee)
                        || (DYNAMIC_BY_ARGUMENT.contains(&callee) && !literal_name)
                    {
                        self.push_dynamic(call.start(), target);
                    }
                }
                for keyword in call.arguments.keywords.iter() {
                    if let Some(arg) = &keyword.arg {
                        self.push(arg.id.as_str(), keyword.start(), MentionKind::Keyword);
                    }
                }
            }
            _ => {}
        }
        visitor::walk_expr(self, expr);
    }
}

/// The names the doctests of a docstring mention: its `>>> ` and `... ` lines, parsed as
/// Python (a line that does not parse adds nothing).
fn doctest_names(text: &str) -> Vec<String> {
    let code: Vec<&str> = text
        .lines()
        .filter_map(|l| {
            let l = l.trim_start();
            l.strip_prefix(">>> ")
                .or_else(|| l.strip_prefix("... "))
                .or_else(|| (l == ">>>" || l == "...").then_some(""))
        })
        .collect();
    if code.is_empty() {
        return Vec::new();
    }
    struct Names(std::collections::BTreeSet<String>);
    impl<'a> Visitor<'a> for Names {
        fn visit_expr(&mut self, expr: &'a Expr) {
            match expr {
                Expr::Name(n) => {
                    self.0.insert(n.id.to_string());
                }
                Expr::Attribute(a) => {
                    self.0.insert(a.attr.id.to_string());
                }
                _ => {}
            }
            visitor::walk_expr(self, expr);
        }
    }
    let mut names = Names(Default::default());
    for line in code {
        let parsed = ruff_python_parser::parse_unchecked_source(line, PySourceType::Python);
        if parsed.has_valid_syntax() {
            names.visit_body(&parsed.syntax().body);
        }
    }
    names.0.into_iter().collect()
}

/// Whether a string could name an attribute, a function or a dotted path.
fn name_like(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 200
        && text.split('.').all(|p| {
            let mut chars = p.chars();
            chars.next().is_some_and(|c| c == '_' || c.is_alphabetic())
                && chars.all(|c| c == '_' || c.is_alphanumeric())
        })
}

/// All names `names` mentions (for tests and diagnostics).
#[cfg(test)]
fn mentioned(names: &FileNames) -> std::collections::BTreeSet<&str> {
    names.mentions.keys().map(String::as_str).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(src: &str) -> FileNames {
        read(src).1
    }

    fn bound(s: &Statement) -> Vec<&str> {
        s.binds.iter().map(|b| b.name.as_str()).collect()
    }

    #[test]
    fn text_searches_agree_with_the_parse() {
        // Every name the parse finds mentioned, `has_word` finds in the text; dynamic reads and
        // star imports make a file one that may read any name.
        let sources = [
            "from .consts import LIMIT as L\nX = L\n",
            "def f(a=LIMIT):\n    return g(LIMIT=1)\n",
            "p = 'geo.consts.LIMIT'\n",
            "'''\n>>> LIMIT\n'''\n",
            "class C:\n    LIMIT = 1\n    y = LIMIT + 1\n",
        ];
        for source in sources {
            let f = facts(source);
            for name in mentioned(&f) {
                assert!(has_word(source.as_bytes(), name), "{name} in {source:?}");
            }
        }
        assert!(!has_word(b"LIMITS = MAX_LIMIT", "LIMIT"));
        assert!(has_word(b"x=LIMIT", "LIMIT") && has_word(b"LIMIT", "LIMIT"));
        assert!(!has_word("éLIMIT".as_bytes(), "LIMIT"));
        for dynamic in [
            "x = getattr(m, n)\n",
            "v = vars()\n",
            "d = obj.__dict__\n",
            "from m import  *\n",
            "import sys\nsys.modules[n]\n",
        ] {
            assert!(may_read_any_name(dynamic.as_bytes()), "{dynamic:?}");
            let f = facts(dynamic);
            assert!(
                !f.dynamic().is_empty() || !f.star_imports().is_empty(),
                "{dynamic:?}"
            );
        }
        for plain in [
            "directory = 1\n",
            "from m import x  # important\n",
            "a * b\n",
        ] {
            assert!(!may_read_any_name(plain.as_bytes()), "{plain:?}");
        }
    }

    #[test]
    fn statements_bind_names() {
        let f = facts(
            "import os, a.b as c\nfrom .m import x, y as z\nLIMIT = 10\n@dec\ndef f(a=D):\n    return LIMIT\nclass C(Base):\n    size = 1\n    def m(self):\n        pass\n",
        );
        let at = |line| f.statement_at(line).map(|i| &f.statements()[i]);
        assert_eq!(bound(at(1).unwrap()), ["os", "c"]);
        assert_eq!(bound(at(2).unwrap()), ["x", "z"]);
        assert_eq!(bound(at(3).unwrap()), ["LIMIT"]);
        assert_eq!(bound(at(4).unwrap()), ["f"]);
        assert_eq!(bound(at(5).unwrap()), ["f"]);
        assert!(at(6).is_none(), "a function body belongs to no statement");
        assert_eq!(bound(at(7).unwrap()), ["C"]);
        let size = at(8).unwrap();
        assert_eq!(
            (bound(size), size.class.as_deref()),
            (vec!["size"], Some("C"))
        );
        assert_eq!(bound(at(9).unwrap()), ["m"]);
        assert!(at(10).is_none());
        assert!(f.binds_itself("LIMIT") && !f.binds_itself("x") && !f.binds_itself("size"));
    }

    #[test]
    fn effects_say_what_else_a_statement_may_do() {
        let effects = |src: &str| -> Vec<Effect> {
            let f = facts(src);
            f.statements()[0].effects.clone()
        };
        assert!(effects("X = 1\n").is_empty());
        assert_eq!(
            effects("X = make(1)\n"),
            [Effect::Calls {
                name: "make".into(),
                line: 1
            }]
        );
        assert_eq!(
            effects("@app.route('/x')\ndef v():\n    pass\n"),
            [Effect::CallsMethod {
                root: Some("app".into()),
                chain: "app.route".into(),
                line: 1
            }]
        );
        assert_eq!(
            effects("CONFIG['a'] = 1\n"),
            [Effect::Mutates {
                root: "CONFIG".into(),
                line: 1
            }]
        );
        for (src, what) in [
            ("__all__ = ['a']\n", "`__all__`"),
            ("from m import *\n", "a star import"),
            (
                "setattr(m, 'x', 1)\n",
                "`exec`, `eval`, `setattr`, `globals()` or the like",
            ),
            ("raise ImportError\n", "a `raise` at import time"),
        ] {
            assert!(
                effects(src)
                    .iter()
                    .any(|e| matches!(e, Effect::Construct { what: w, .. } if *w == what)),
                "{src}: {:?}",
                effects(src)
            );
        }
        // Lambda bodies run later.
        assert!(effects("F = lambda: boom()\n").is_empty());
        // A docstring does nothing.
        assert!(effects("\"\"\"Doc.\"\"\"\n").is_empty());
    }

    #[test]
    fn compound_statements_fold_their_branches() {
        let f = facts("try:\n    import ujson as json\nexcept ImportError:\n    json = None\n");
        let outer = &f.statements()[f.statement_at(3).unwrap()];
        // Bound twice: by the import, and by the assignment of the fallback.
        assert_eq!(bound(outer), ["json", "json"]);
        assert_eq!(outer.binds[0].kind, BindKind::Import);
        assert_eq!(outer.binds[1].kind, BindKind::Assign);
        assert_eq!(f.statement_at(2).map(|i| f.statements()[i].first), Some(2));
    }

    #[test]
    fn main_guards_and_type_checking_blocks_are_inert() {
        let f = facts(
            "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from m import T\nif __name__ == '__main__':\n    main()\n",
        );
        let inner = &f.statements()[f.statement_at(3).unwrap()];
        assert!(inner.inert);
        let call = &f.statements()[f.statement_at(5).unwrap()];
        assert!(call.inert);
        let guard = &f.statements()[f.statement_at(4).unwrap()];
        assert!(
            guard.binds.is_empty() && guard.effects.is_empty(),
            "{guard:?}"
        );
    }

    #[test]
    fn mentions_know_where_they_lie() {
        let src = "LIMIT = 3\nDEFAULT = LIMIT + 1\ndef f(x):\n    y = (\n        LIMIT)\n    return getattr(x, name)\nclass C:\n    z = LIMIT\n";
        let (syntax, f) = read(src);
        let m = f.mentions_of("LIMIT");
        assert_eq!(m.len(), 4, "{m:?}");
        assert_eq!(m[1].home, Home::Statement(f.statement_at(2).unwrap()));
        assert_eq!((m[2].line, m[2].stmt_first), (5, 4));
        assert_eq!(m[2].home, Home::Function(0));
        assert_eq!(syntax.functions()[0].qualname, "f");
        assert_eq!(m[3].home, Home::Statement(f.statement_at(8).unwrap()));
        assert_eq!(f.dynamic().len(), 1);
        assert_eq!(f.dynamic()[0].home, Home::Function(0));
        let all = mentioned(&f);
        assert!(all.contains("x") && all.contains("name") && all.contains("getattr"));
    }

    #[test]
    fn strings_keywords_and_parameters_are_mentions() {
        let f = facts("def test_x(cart):\n    patch('pkg.mod.helper')\n    C(retries=2)\n");
        assert_eq!(f.mentions_of("cart")[0].kind, MentionKind::Parameter);
        assert_eq!(f.mentions_of("helper")[0].kind, MentionKind::String);
        assert_eq!(f.mentions_of("retries")[0].kind, MentionKind::Keyword);
        assert!(f.mentions_of("table.csv").is_empty());
    }

    #[test]
    fn nested_definitions_run_in_the_body_around_them() {
        let src = "def make(n):\n    @register(n)\n    def handler(x):\n        return x + K\n    return handler\n";
        let f = facts(src);
        assert_eq!(f.mentions_of("register")[0].home, Home::Function(0));
        assert_eq!(f.mentions_of("K")[0].home, Home::Function(1));
    }

    #[test]
    fn a_file_that_does_not_parse_has_no_facts() {
        let f = facts("def f(:\n");
        assert!(!f.parsed());
        assert!(f.statements().is_empty());
    }

    proptest::proptest! {
        /// Whatever the text, reading never panics, and every mention's home exists.
        #[test]
        fn never_panics(src in "(def |class |if |    |@x\n|\\(|\\)|:|x|=|1|\n|import |from |lambda |#|\"|try:\n|except:\n){0,60}") {
            let (syntax, f) = read(&src);
            for mentions in f.mentions.values() {
                for m in mentions {
                    match m.home {
                        Home::Function(i) => proptest::prop_assert!(i < syntax.functions().len()),
                        Home::Statement(i) => proptest::prop_assert!(i < f.statements().len()),
                    }
                }
            }
        }
    }
}
