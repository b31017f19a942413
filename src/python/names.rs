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

use std::collections::{BTreeSet, HashMap, HashSet};

use ruff_python_ast::visitor::{self, Visitor};
use ruff_python_ast::{Expr, PySourceType, Stmt};
use ruff_text_size::{Ranged, TextRange, TextSize};

use super::imports::{self, Import};
use super::lines::LineIndex;
use super::syntax::{self, ModuleSyntax};

/// How a statement binds a name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BindKind {
    /// An assignment, `for` target, `with ... as`, `except ... as` or walrus.
    Assign,
    /// `del NAME`: the name is unbound from then on.
    Delete,
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
    /// It lies in the body of a `with`, whose context manager may swallow what it raises
    /// (`contextlib.suppress(ImportError)`).
    pub in_with: bool,
    /// What in its own expressions may raise whatever the names it reads hold, with its line:
    /// a call of a callable not known never to raise, a subscript, a division, an `assert`,
    /// applying a decorator. A new or changed statement that computes may break the import.
    pub computes: Option<(String, u32)>,
    /// It binds one name to a literal of this kind (`LIMIT = 10`, `unit: str = "cm"`, `-1`).
    pub literal: Option<LiteralKind>,
    /// For a `try`: the exceptions its handlers name, dotted (`""` for a bare `except:`).
    pub catches: Vec<String>,
    /// For a compound statement: the names it binds on some paths only (an `if` without an
    /// `else`, a name a `try` body binds and a handler does not, a loop's): after it they may
    /// be unbound.
    pub maybe_unbound: Vec<String>,
    /// `name.attr` reads in its own expressions, with their lines: an attribute the object
    /// lacks raises.
    pub attribute_reads: Vec<(String, String, u32)>,
    /// Operators on names bound elsewhere (an import), with their lines: they raise unless
    /// the types those names hold combine (see [`Shape`]).
    pub operators: Vec<(Shape, u32)>,
    /// For a `def` or `class`: the decorators that may read what they decorate, docstring
    /// included, while the module imports (a CLI framework's help text, a router's
    /// description), by dotted name (`cli.command`, `register`), top first. Any but those
    /// known to leave the docstring alone.
    pub doc_readers: Vec<String>,
}

/// What an operator combines, for types known only once the names are looked up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Shape {
    Kind(LiteralKind),
    Name(String),
    Op(ruff_python_ast::Operator, Box<Shape>, Box<Shape>),
}

impl Shape {
    /// The type it makes, given the type of each name (`None`: it may raise).
    pub fn kind(&self, name: &mut impl FnMut(&str) -> Option<LiteralKind>) -> Option<LiteralKind> {
        match self {
            Shape::Kind(k) => Some(*k),
            Shape::Name(n) => name(n),
            Shape::Op(op, a, b) => combine(*op, a.kind(name)?, b.kind(name)?),
        }
    }
}

/// What a statement may raise, for [`FileNames::caught`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Raise {
    /// An `ImportError` (a module or a name that is not there).
    Import,
    /// Any exception.
    Any,
}

/// The type of a literal a statement binds (see [`Statement::literal`]): a new value of the
/// same type combines as the old one did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LiteralKind {
    Int,
    Float,
    Complex,
    Str,
    Bytes,
    Bool,
    None,
}

/// The kind of a literal expression, a negated number too.
fn literal_kind(expr: &Expr) -> Option<LiteralKind> {
    use ruff_python_ast::Number;
    Some(match expr {
        Expr::NumberLiteral(n) => match n.value {
            Number::Int(_) => LiteralKind::Int,
            Number::Float(_) => LiteralKind::Float,
            Number::Complex { .. } => LiteralKind::Complex,
        },
        Expr::UnaryOp(u) if matches!(u.op, ruff_python_ast::UnaryOp::USub) => {
            match literal_kind(&u.operand)? {
                kind @ (LiteralKind::Int | LiteralKind::Float | LiteralKind::Complex) => kind,
                _ => return None,
            }
        }
        Expr::StringLiteral(_) => LiteralKind::Str,
        Expr::BytesLiteral(_) => LiteralKind::Bytes,
        Expr::BooleanLiteral(_) => LiteralKind::Bool,
        Expr::NoneLiteral(_) => LiteralKind::None,
        _ => return None,
    })
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
    /// For a dynamic read, what it reads from ([`ReadsFrom::Anything`] for other mentions).
    pub reads_from: ReadsFrom,
    /// What import-time code does with the value it reads: a new value may raise there unless
    /// it is only copied, or combined and of the old value's type.
    pub value_use: ValueUse,
    /// In the own scope of a comprehension or a lambda, which does not see a class body's
    /// names.
    pub nested: bool,
}

/// What a dynamic read reads names from (see [`Mention::target`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadsFrom {
    /// Any namespace, every module's included: `from m import *`, `sys.modules`, `eval`.
    Anything,
    /// The module's own globals: `globals()`, `vars()` or `dir()` without an argument.
    OwnGlobals,
    /// What a dotted name holds: `consts` of `getattr(consts, name)`, `geo.Style` of
    /// `fields(geo.Style)`.
    Named(String),
    /// An item or attribute no dotted name tells, with the name it hangs from:
    /// `getattr(self.fields[k], name)` (`self`), `type(x).__dict__` (none: a class). Like a
    /// parameter, it holds a module only where some code hands the module's object on, or
    /// where it hangs from a module (`pkg.__dict__["sub"]`).
    Computed(Option<String>),
}

impl ReadsFrom {
    /// What reading from `expr` reads from: the result of a call other than `type(x)` may be
    /// any module (`getattr(pkg, "sub")`, `import_string(path)`), so it reads anything.
    fn from_expr(expr: &Expr) -> Self {
        if let Some(chain) = dotted(expr) {
            return ReadsFrom::Named(chain);
        }
        let mut inner = expr;
        while let Expr::Subscript(ruff_python_ast::ExprSubscript { value, .. })
        | Expr::Attribute(ruff_python_ast::ExprAttribute { value, .. }) = inner
        {
            inner = value;
        }
        match inner {
            Expr::Name(n) => ReadsFrom::Computed(Some(n.id.to_string())),
            Expr::Call(c) if matches!(&*c.func, Expr::Name(f) if f.id.as_str() == "type") => {
                ReadsFrom::Computed(None)
            }
            _ => ReadsFrom::Anything,
        }
    }
}

/// What code does with a value it reads (see [`Mention::value_use`]), from the safest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ValueUse {
    /// Bound as it is: `Y = X`, `(X, 1)`, a dict's value, a default argument, an annotation.
    Copied,
    /// Combined by operators that cannot raise on a value of the type the old one had: `+`,
    /// `-`, `*`, `|`, `&`, `^`, comparisons, `not`, unary `-`, an f-string (its value's type is
    /// the same when the operands' are).
    Combined,
    /// Its truth decides (`if X`, `X or Y`, `A if X else B`): that cannot raise on a value of
    /// the old type, but what comes out may be of another type.
    Tested,
    /// An attribute of it is taken (`Color.RED`): that raises only when the attribute is gone,
    /// which is followed as a name of its own.
    Accessed,
    /// Anything else: called, passed to a call, indexed, divided, iterated, hashed.
    WorkedOn,
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
    /// The strings of the last module-level `__all__ = [...]` whose elements are all string
    /// literals (see [`FileNames::star_names`]).
    all_literal: Option<Vec<String>>,
    /// See [`FileNames::value_uses`].
    values: HashMap<String, Vec<Home>>,
    /// Each function's parameters (by [`Home::Function`] index).
    params: HashMap<usize, Vec<String>>,
    parsed: bool,
}

impl FileNames {
    /// The dotted names (`keys`, `pkg.sub`, `self.cache`) whose values the file hands on as they
    /// are: passed, returned, bound, stored, compared; not those only used to reach an
    /// attribute (`keys.hashkey`) or called. A module named here may reach code that reads its
    /// names dynamically (`vars(module)`, `getattr(module, name)`).
    /// Each with where it lies.
    pub fn value_uses(&self) -> &HashMap<String, Vec<Home>> {
        &self.values
    }

    /// Whether `name` is a variable of function `function`: one of its parameters, or
    /// assigned in its body (which makes it local there, as Python scopes it).
    pub fn local_to(&self, function: usize, name: &str) -> bool {
        self.params
            .get(&function)
            .is_some_and(|p| p.iter().any(|n| n == name))
            || self
                .mentions_of(name)
                .iter()
                .any(|m| m.home == Home::Function(function) && m.kind == MentionKind::Store)
    }

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
    /// Whether a `try` around statement `index` handles what it may raise.
    pub fn caught(&self, index: usize, raise: Raise) -> bool {
        let mut at = index;
        while let Some(parent) = self.statements[at].parent {
            if self.statements[at].guarded
                && self.statements[parent].catches.iter().any(|c| {
                    let last = c.rsplit('.').next().unwrap_or(c);
                    matches!(last, "" | "Exception" | "BaseException")
                        || raise == Raise::Import
                            && matches!(last, "ImportError" | "ModuleNotFoundError")
                })
            {
                return true;
            }
            at = parent;
        }
        false
    }

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

    /// The names `from this import *` brings when `__all__` says so exactly: one module-level
    /// binding of it, a literal list or tuple of strings, that no module-level code reads (to
    /// extend it). `None`: the module's public names, or unknown.
    pub fn star_names(&self) -> Option<&[String]> {
        let literal = self.all_literal.as_deref()?;
        let bindings = self.module_bindings("__all__").count();
        let changed = self.mentions_of("__all__").iter().any(|m| {
            matches!(m.home, Home::Statement(_)) && m.kind != MentionKind::Store
                || matches!(m.home, Home::Function(_))
        });
        (bindings == 1 && !changed).then_some(literal)
    }

    /// Whether some function binds `name` locally (see `FileNames::local_binds`).
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

    /// The first module-level statement that runs and binds `name` (a `del` does not).
    pub fn first_binding(&self, name: &str) -> Option<usize> {
        self.statements.iter().position(|s| {
            s.class.is_none()
                && !s.inert
                && s.binds
                    .iter()
                    .any(|b| b.name == name && b.kind != BindKind::Delete)
        })
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

/// Whether an f-string takes a format spec from a name (`f"{x:{spec}}"`).
fn dynamic_format_spec(f: &ruff_python_ast::ExprFString) -> bool {
    use ruff_python_ast::InterpolatedStringElement::Interpolation;
    f.value.elements().any(|e| match e {
        Interpolation(i) => i
            .format_spec
            .as_ref()
            .is_some_and(|spec| spec.elements.iter().any(|e| matches!(e, Interpolation(_)))),
        _ => false,
    })
}

/// Whether an operator cannot raise on operands of the types they had before (see
/// [`ValueUse::Combined`]): not a division, a power or a shift.
fn combines(op: ruff_python_ast::Operator) -> bool {
    use ruff_python_ast::Operator::{Add, BitAnd, BitOr, BitXor, Mult, Sub};
    matches!(op, Add | Sub | Mult | BitOr | BitAnd | BitXor)
}

/// Calls that read the `__doc__` of their argument: `inspect.getdoc(f)`, `pydoc.render_doc(f)`,
/// `help(f)`.
const DOC_READERS: &[&str] = &["getdoc", "render_doc", "help"];

fn reads_docstring(call: &ruff_python_ast::ExprCall) -> bool {
    let callee = match &*call.func {
        Expr::Name(n) => n.id.as_str(),
        // `parser.help(...)` is someone's method; `inspect.getdoc` is the reader.
        Expr::Attribute(a) if a.attr.id.as_str() != "help" => a.attr.id.as_str(),
        _ => return false,
    };
    DOC_READERS.contains(&callee) && !call.arguments.args.is_empty()
}

/// Whether a file's text may spell a read of `__doc__`: the attribute, or a call that reads
/// it (see [`DOC_READERS`]).
pub fn may_read_docstrings(text: &[u8]) -> bool {
    has_word(text, "__doc__") || DOC_READERS.iter().any(|w| has_word(text, w))
}

/// Whether a file's text may read names it does not spell: it has a word that makes a
/// dynamic read (`getattr`, `vars`, `__dict__`, ...) or a star import, or it may spell a name
/// in other bytes (non-ASCII identifiers are NFKC-normalised, `"\x4cIMIT"` is `"LIMIT"`).
/// Such a file may mention any name; any other mentions only the names [`has_word`] finds.
pub fn may_read_any_name(text: &[u8]) -> bool {
    !text.is_ascii()
        || memchr::memchr_iter(b'\\', text).any(|at| {
            matches!(
                text.get(at + 1),
                Some(b'x' | b'u' | b'U' | b'N' | b'0'..=b'7')
            )
        })
        || DYNAMIC_BY_ARGUMENT
            .iter()
            .chain(DYNAMIC_ALWAYS)
            .chain(NAMESPACE_ATTRIBUTES)
            .chain(&["modules"])
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

/// Whether a name or an attribute expression reads (rather than stores or deletes).
fn expr_loads(expr: &Expr) -> bool {
    match expr {
        Expr::Name(n) => n.ctx.is_load(),
        Expr::Attribute(a) => a.ctx.is_load(),
        _ => false,
    }
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
        docstring_slot: false,
        in_with: false,
        literals: HashMap::new(),
        properties: HashSet::new(),
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
];

/// Abstract bases (`abc`, `collections.abc`): subclassing one does nothing to the module, and
/// `ABCMeta` only collects the abstract methods of the class, whatever its values.
pub const ABSTRACT_BASES: &[&str] = &[
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

/// Whether calling (or subclassing) the callable of this name changes nothing of the project:
/// [`PURE_CALLABLES`] and [`ABSTRACT_BASES`].
pub fn is_pure_callable(name: &str) -> bool {
    PURE_CALLABLES.contains(&name) || ABSTRACT_BASES.contains(&name)
}

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

/// Bases whose classes do nothing with a subclass's namespace.
pub const PLAIN_BASES: &[&str] = &[
    "object",
    "Exception",
    "BaseException",
    "ValueError",
    "TypeError",
    "KeyError",
    "IndexError",
    "LookupError",
    "RuntimeError",
    "AttributeError",
    "NotImplementedError",
    "OSError",
    "IOError",
    "ArithmeticError",
    "AssertionError",
    "UserWarning",
    "DeprecationWarning",
    "Warning",
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
    /// Walking the body of a `with` (at module or class level).
    in_with: bool,
    /// The compound statement being walked.
    parent: Option<usize>,
    /// The index the next function definition gets, in the order of `ModuleSyntax::functions`.
    next_function: usize,
    syntax: &'a ModuleSyntax,
    /// Module-level names bound so far to a literal, once: the types operators combine.
    literals: HashMap<String, LiteralKind>,
    /// (class, name) of the properties defined so far: what `@name.setter` applies to.
    properties: HashSet<(Option<String>, String)>,
    /// The statement walked is the first of a module's or class's body: a string there is
    /// its docstring, which Python binds to `__doc__`.
    docstring_slot: bool,
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
        for (i, stmt) in body.iter().enumerate() {
            self.docstring_slot = i == 0 && parent.is_none();
            self.scope_stmt(stmt, class, prefix, parent, inert);
        }
        self.docstring_slot = false;
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
            in_with: self.in_with,
            computes: None,
            literal: None,
            catches: Vec::new(),
            maybe_unbound: Vec::new(),
            attribute_reads: Vec::new(),
            operators: Vec::new(),
            doc_readers: Vec::new(),
        });
        self.out.statements.len() - 1
    }

    /// Mentions and effects of expressions of statement `index` whose values are worked on
    /// (a decorator, a test, a call's value).
    fn header_exprs<'e>(&mut self, index: usize, exprs: impl IntoIterator<Item = &'e Expr>) {
        self.header_exprs_as(index, exprs, ValueUse::WorkedOn);
    }

    /// Mentions and effects of expressions of statement `index` whose values are bound as they
    /// are (an assignment's value, a default argument, an annotation): see [`Mention::value_use`].
    fn header_values<'e>(&mut self, index: usize, exprs: impl IntoIterator<Item = &'e Expr>) {
        self.header_exprs_as(index, exprs, ValueUse::Copied);
    }

    /// Annotations: values bound as they are, not judged for what they compute (`int | None`
    /// builds a type; under `from __future__ import annotations` nothing runs at all).
    fn header_annotations<'e>(&mut self, index: usize, exprs: impl IntoIterator<Item = &'e Expr>) {
        let before = self.out.statements[index].computes.clone();
        self.header_exprs_as(index, exprs, ValueUse::Copied);
        self.out.statements[index].computes = before;
    }

    fn header_exprs_as<'e>(
        &mut self,
        index: usize,
        exprs: impl IntoIterator<Item = &'e Expr>,
        value_use: ValueUse,
    ) {
        let first = self.out.statements[index].first;
        let mut effects = Vec::new();
        let mut binds = Vec::new();
        let mut computes = None;
        let mut attributes = Vec::new();
        let mut operators = Vec::new();
        for expr in exprs {
            let mut finder = MentionFinder {
                lines: self.lines,
                out: &mut self.out,
                home: Home::Statement(index),
                stmt_first: first,
                value_use,
                nested: false,
                not_values: HashSet::new(),
            };
            finder.visit_expr(expr);
            let mut collector = EffectCollector {
                lines: self.lines,
                effects: &mut effects,
                binds: &mut binds,
                computes: &mut computes,
                literals: &self.literals,
                attributes: &mut attributes,
                operators: &mut operators,
            };
            collector.visit_expr(expr);
        }
        for effect in effects {
            self.effect(index, effect);
        }
        self.out.statements[index].binds.extend(binds);
        self.out.statements[index]
            .attribute_reads
            .extend(attributes);
        self.out.statements[index].operators.extend(operators);
        if let Some(computes) = computes {
            self.computes(index, computes);
        }
    }

    /// The names the direct children of compound statement `index` from statement `start` on
    /// bind on every path through them.
    fn surely_bound(&self, index: usize, start: usize) -> BTreeSet<String> {
        self.out.statements[start..]
            .iter()
            .filter(|s| s.parent == Some(index) && !s.inert)
            .flat_map(|s| {
                s.binds
                    .iter()
                    .filter(|b| !s.maybe_unbound.contains(&b.name))
                    .map(|b| b.name.clone())
            })
            .collect()
    }

    /// A compound statement's names that some path leaves unbound: those its children bind
    /// that not every branch binds.
    fn settle_unbound(&mut self, index: usize, branches: Vec<BTreeSet<String>>) {
        let every: BTreeSet<String> = branches
            .iter()
            .skip(1)
            .fold(branches.first().cloned().unwrap_or_default(), |all, b| {
                all.intersection(b).cloned().collect()
            });
        let children: BTreeSet<String> = self.out.statements[index + 1..]
            .iter()
            .filter(|s| s.parent == Some(index) && !s.inert)
            .flat_map(|s| s.binds.iter().map(|b| b.name.clone()))
            .collect();
        self.out.statements[index].maybe_unbound = children.difference(&every).cloned().collect();
    }

    /// Record what in statement `index` may raise whatever its inputs (the first thing).
    fn computes(&mut self, index: usize, what: (String, u32)) {
        self.out.statements[index].computes.get_or_insert(what);
    }

    /// A module-level name bound to a literal of `kind` (or to something else, `None`) by
    /// statement `index`: what operators on it make (see [`Reader::literals`]).
    fn remember_literal(&mut self, index: usize, name: &str, kind: Option<LiteralKind>) {
        let statement = &self.out.statements[index];
        let once = statement.class.is_none() && statement.parent.is_none();
        match kind {
            Some(kind) if once && !self.literals.contains_key(name) => {
                self.literals.insert(name.to_string(), kind);
            }
            _ => {
                self.literals.remove(name);
            }
        }
    }

    /// Applying a decorator runs it on what it decorates: unless it is known never to raise
    /// (`@property`, `@functools.cache`, a property's `@x.setter`), that may raise.
    fn applied(&mut self, index: usize, decorator: &Expr, line: u32) {
        let class = self.out.statements[index].class.clone();
        let (callee, factory) = match decorator {
            Expr::Call(c) => (&*c.func, true),
            other => (other, false),
        };
        let name = dotted(callee).unwrap_or_default();
        let accessor = name.rsplit_once('.').and_then(|(property, last)| {
            matches!(last, "setter" | "getter" | "deleter").then_some(property)
        });
        let fine = match accessor {
            Some(property) => self
                .properties
                .contains(&(class.clone(), property.to_string())),
            None if factory => DECORATOR_FACTORIES.contains(&name.as_str()),
            None => NEVER_RAISING_DECORATORS.contains(&name.as_str()),
        };
        if !fine {
            self.computes(index, (format!("the decorator `@{name}`"), line));
        }
        if !fine && !leaves_docstrings(&name) {
            self.out.statements[index].doc_readers.push(name.clone());
        }
        let makes_property = accessor.is_some()
            || matches!(
                name.as_str(),
                "property" | "cached_property" | "functools.cached_property"
            );
        if makes_property && let Some(bound) = self.out.statements[index].binds.first() {
            let bound = bound.name.clone();
            self.properties.insert((class, bound));
        }
    }

    fn mentions_in(&mut self, expr: &Expr, home: Home, stmt_first: u32) {
        let mut finder = MentionFinder {
            lines: self.lines,
            out: &mut self.out,
            home,
            stmt_first,
            value_use: ValueUse::WorkedOn,
            nested: false,
            not_values: HashSet::new(),
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
                let decorators: Vec<&Expr> =
                    f.decorator_list.iter().map(|d| &d.expression).collect();
                // Applying a decorator calls it.
                for d in &f.decorator_list {
                    let line = self.line(d.start());
                    let call = decorator_call(&d.expression, line);
                    self.effect(index, call);
                    self.applied(index, &d.expression, line);
                }
                self.header_exprs(index, decorators);
                let defaults: Vec<&Expr> =
                    f.parameters.iter().filter_map(|p| p.default()).collect();
                self.header_values(index, defaults);
                let annotations: Vec<&Expr> = f
                    .parameters
                    .iter()
                    .filter_map(|p| p.annotation())
                    .chain(f.returns.as_deref())
                    .collect();
                self.header_annotations(index, annotations);
                self.parameter_mentions(&f.parameters, Home::Statement(index), start);
                self.out.params.insert(
                    index_fn,
                    f.parameters
                        .iter()
                        .map(|p| p.name().id.to_string())
                        .collect(),
                );
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
                    self.applied(index, &d.expression, line);
                }
                // A base is subclassed, not worked on: that raises only when the class has
                // hooks (judged as the class's effects) or is gone (followed as removed).
                let mut bases: Vec<&Expr> = Vec::new();
                if let Some(arguments) = &c.arguments {
                    for base in arguments.args.iter() {
                        bases.push(base);
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
                                    reads_from: ReadsFrom::Anything,
                                    value_use: ValueUse::Copied,
                                    nested: false,
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
                self.header_exprs_as(index, bases, ValueUse::Accessed);
                let qualname = format!("{prefix}{}", c.name.id);
                let outer = std::mem::replace(&mut self.in_try, false);
                let outer_with = std::mem::replace(&mut self.in_with, false);
                self.scope_suite(
                    &c.body,
                    Some(&qualname),
                    &format!("{qualname}."),
                    None,
                    inert,
                );
                self.in_try = outer;
                self.in_with = outer_with;
            }
            Stmt::If(s) => {
                let index = self.new_statement(first, last, class, inert);
                self.header_exprs(index, std::iter::once(&*s.test));
                let main = is_main_guard(&s.test);
                let checking = imports::is_type_checking(&s.test);
                let start = self.out.statements.len();
                self.scope_suite(
                    &s.body,
                    class,
                    prefix,
                    Some(index),
                    inert || main || checking,
                );
                let mut branches = vec![self.surely_bound(index, start)];
                for clause in &s.elif_else_clauses {
                    if let Some(test) = &clause.test {
                        self.header_exprs(index, std::iter::once(test));
                    }
                    let start = self.out.statements.len();
                    self.scope_suite(&clause.body, class, prefix, Some(index), inert);
                    branches.push(self.surely_bound(index, start));
                }
                let has_else = s.elif_else_clauses.last().is_some_and(|c| c.test.is_none());
                if !has_else {
                    branches.push(BTreeSet::new());
                }
                self.settle_unbound(index, branches);
            }
            Stmt::For(s) => {
                let index = self.new_statement(first, last, class, inert);
                self.header_exprs(index, [&*s.iter]);
                self.mentions_in(&s.target, Home::Statement(index), first);
                self.targets(index, &s.target, BindKind::Assign);
                self.scope_suite(&s.body, class, prefix, Some(index), inert);
                self.scope_suite(&s.orelse, class, prefix, Some(index), inert);
                // A loop may run its body no time.
                self.settle_unbound(index, vec![BTreeSet::new()]);
            }
            Stmt::While(s) => {
                let index = self.new_statement(first, last, class, inert);
                self.header_exprs(index, [&*s.test]);
                self.scope_suite(&s.body, class, prefix, Some(index), inert);
                self.scope_suite(&s.orelse, class, prefix, Some(index), inert);
                self.settle_unbound(index, vec![BTreeSet::new()]);
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
                let outer = std::mem::replace(&mut self.in_with, true);
                let start = self.out.statements.len();
                self.scope_suite(&s.body, class, prefix, Some(index), inert);
                self.in_with = outer;
                // `contextlib.suppress` may swallow a raise half-way through the body.
                let suppresses = s.items.iter().any(|item| {
                    let callee = match &item.context_expr {
                        Expr::Call(c) => dotted(&c.func),
                        other => dotted(other),
                    };
                    callee.is_none_or(|c| c.rsplit('.').next() == Some("suppress"))
                });
                let body = if suppresses {
                    BTreeSet::new()
                } else {
                    self.surely_bound(index, start)
                };
                self.settle_unbound(index, vec![body]);
            }
            Stmt::Try(s) => {
                let index = self.new_statement(first, last, class, inert);
                let start = self.out.statements.len();
                self.try_suite(&s.body, class, prefix, Some(index), inert);
                let mut branches = vec![self.surely_bound(index, start)];
                for ruff_python_ast::ExceptHandler::ExceptHandler(h) in &s.handlers {
                    let types: Vec<&Expr> = match h.type_.as_deref() {
                        Some(Expr::Tuple(t)) => t.elts.iter().collect(),
                        Some(one) => vec![one],
                        None => Vec::new(),
                    };
                    let caught: Vec<String> = if h.type_.is_none() {
                        vec![String::new()]
                    } else {
                        types.iter().filter_map(|t| dotted(t)).collect()
                    };
                    self.out.statements[index].catches.extend(caught);
                    if let Some(type_) = &h.type_ {
                        self.header_exprs(index, [&**type_]);
                    }
                    if let Some(name) = &h.name {
                        self.bind(index, name.id.as_str(), BindKind::Assign);
                    }
                    let start = self.out.statements.len();
                    self.scope_suite(&h.body, class, prefix, Some(index), inert);
                    branches.push(self.surely_bound(index, start));
                }
                self.scope_suite(&s.orelse, class, prefix, Some(index), inert);
                let start = self.out.statements.len();
                self.scope_suite(&s.finalbody, class, prefix, Some(index), inert);
                let last_word = self.surely_bound(index, start);
                for branch in &mut branches {
                    branch.extend(last_word.iter().cloned());
                }
                self.settle_unbound(index, branches);
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
        let mut computes = None;
        for s in &self.out.statements[parent + 1..] {
            if s.first >= first
                && s.last <= last
                && s.class == self.out.statements[parent].class
                && !s.inert
            {
                binds.extend(s.binds.iter().cloned());
                effects.extend(s.effects.iter().cloned());
                computes = computes.or_else(|| s.computes.clone());
            }
        }
        let p = &mut self.out.statements[parent];
        if p.computes.is_none() {
            p.computes = computes;
        }
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
                // Unpacking (`LO, HI = PAIR`) iterates the value; a store into an attribute or
                // an item works on the object.
                if s.targets.iter().all(|t| matches!(t, Expr::Name(_))) {
                    self.header_values(index, [&*s.value]);
                } else {
                    self.header_exprs(index, [&*s.value]);
                }
                if let [Expr::Name(n)] = &s.targets[..] {
                    let kind = literal_kind(&s.value);
                    self.out.statements[index].literal = kind;
                    self.remember_literal(index, n.id.as_str(), kind);
                }
                for t in &s.targets {
                    self.mentions_in(t, home, first);
                    self.targets(index, t, BindKind::Assign);
                }
                let all = matches!(&s.targets[..], [Expr::Name(n)] if n.id.as_str() == "__all__");
                if all && self.out.statements[index].class.is_none() {
                    let elements = match &*s.value {
                        Expr::List(l) => Some(&l.elts),
                        Expr::Tuple(t) => Some(&t.elts),
                        _ => None,
                    };
                    self.out.all_literal = elements.and_then(|elements| {
                        elements
                            .iter()
                            .map(|e| match e {
                                Expr::StringLiteral(s) => Some(s.value.to_str().to_string()),
                                _ => None,
                            })
                            .collect()
                    });
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
                            reads_from: ReadsFrom::Anything,
                            value_use: if combines(s.op) {
                                ValueUse::Combined
                            } else {
                                ValueUse::WorkedOn
                            },
                            nested: false,
                        },
                    );
                }
                self.targets(index, &s.target, BindKind::Assign);
            }
            Stmt::AnnAssign(s) => {
                self.header_values(index, s.value.as_deref());
                self.header_annotations(index, [&*s.annotation]);
                if let (Expr::Name(n), Some(value)) = (&*s.target, &s.value) {
                    let kind = literal_kind(value);
                    self.out.statements[index].literal = kind;
                    self.remember_literal(index, n.id.as_str(), kind);
                }
                self.mentions_in(&s.target, home, first);
                self.targets(index, &s.target, BindKind::Assign);
            }
            Stmt::TypeAlias(s) => {
                self.header_values(index, [&*s.value]);
                self.mentions_in(&s.name, home, first);
                self.targets(index, &s.name, BindKind::Assign);
            }
            Stmt::Delete(s) => {
                for t in &s.targets {
                    self.mentions_in(t, home, first);
                    self.targets(index, t, BindKind::Delete);
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
                                reads_from: ReadsFrom::Anything,
                                value_use: ValueUse::Copied,
                                nested: false,
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
                            reads_from: ReadsFrom::Anything,
                            value_use: ValueUse::Copied,
                            nested: false,
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
                            reads_from: ReadsFrom::Anything,
                            value_use: ValueUse::Copied,
                            nested: false,
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
                        // Read back as data: `argparse.ArgumentParser(description=__doc__)`,
                        // `Cls.__doc__`, help texts.
                        if std::mem::take(&mut self.docstring_slot) {
                            self.bind(index, "__doc__", BindKind::Assign);
                        }
                        for name in doctest_names(text.value.to_str()) {
                            self.mention(
                                &name,
                                Mention {
                                    line: first,
                                    stmt_first: first,
                                    home,
                                    kind: MentionKind::Doctest,
                                    reads_from: ReadsFrom::Anything,
                                    value_use: ValueUse::Copied,
                                    nested: false,
                                },
                            );
                        }
                    }
                    value => self.header_exprs(index, [value]),
                }
            }
            Stmt::Assert(s) => {
                self.header_exprs(index, std::iter::once(&*s.test).chain(s.msg.as_deref()));
                self.computes(index, ("an `assert`".to_string(), first));
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
                            reads_from: ReadsFrom::Anything,
                            value_use: ValueUse::Copied,
                            nested: false,
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
                    reads_from: ReadsFrom::Anything,
                    value_use: ValueUse::Copied,
                    nested: false,
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
                self.out.params.insert(
                    nested,
                    f.parameters
                        .iter()
                        .map(|p| p.name().id.to_string())
                        .collect(),
                );
                self.mention(
                    f.name.id.as_str(),
                    Mention {
                        line: self.line(f.name.start()),
                        stmt_first: first,
                        home,
                        kind: MentionKind::Name,
                        reads_from: ReadsFrom::Anything,
                        value_use: ValueUse::Copied,
                        nested: false,
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
                    value_use: ValueUse::WorkedOn,
                    nested: false,
                    not_values: HashSet::new(),
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
    /// The first thing that may raise whatever its inputs (see [`Statement::computes`]).
    computes: &'e mut Option<(String, u32)>,
    /// Module-level names bound to literals (see [`Reader::literals`]).
    literals: &'e HashMap<String, LiteralKind>,
    /// `name.attr` reads (see [`Statement::attribute_reads`]).
    attributes: &'e mut Vec<(String, String, u32)>,
    /// Operators on names bound elsewhere (see [`Statement::operators`]).
    operators: &'e mut Vec<(Shape, u32)>,
}

/// Decorators that take any function or class and never raise.
const NEVER_RAISING_DECORATORS: &[&str] = &[
    "property",
    "staticmethod",
    "classmethod",
    "abstractmethod",
    "abc.abstractmethod",
    "overload",
    "typing.overload",
    "typing_extensions.overload",
    "final",
    "typing.final",
    "override",
    "typing.override",
    "typing_extensions.override",
    "cache",
    "functools.cache",
    "cached_property",
    "functools.cached_property",
    "no_type_check",
    "typing.no_type_check",
    "contextmanager",
    "contextlib.contextmanager",
    "asynccontextmanager",
    "contextlib.asynccontextmanager",
];

/// Whether a decorator, beyond [`NEVER_RAISING_DECORATORS`], is known not to read the
/// docstring of what it decorates: pytest's fixtures and marks, dataclasses and attrs, the
/// other wrappers of `functools` and `typing` (`wraps` copies it, which `__doc__` reads see).
fn leaves_docstrings(name: &str) -> bool {
    const KNOWN: &[&str] = &[
        "fixture",
        "dataclass",
        "total_ordering",
        "wraps",
        "singledispatch",
        "singledispatchmethod",
        "unique",
        "runtime_checkable",
        "deprecated",
        "define",
        "frozen",
        "mutable",
        "lru_cache",
        "cache",
        "cached_property",
    ];
    let last = name.rsplit('.').next().unwrap_or(name);
    let module_ok = match name.split_once('.') {
        None => true,
        Some((root, _)) => matches!(
            root,
            "pytest"
                | "dataclasses"
                | "functools"
                | "typing"
                | "typing_extensions"
                | "enum"
                | "warnings"
                | "attr"
                | "attrs"
        ),
    };
    name.starts_with("pytest.mark.")
        || matches!(name, "attr.s" | "attr.attrs")
        || (module_ok && KNOWN.contains(&last))
}

/// Decorator factories whose decorator takes any function (their call is judged apart, see
/// [`call_never_raises`]).
const DECORATOR_FACTORIES: &[&str] = &[
    "lru_cache",
    "functools.lru_cache",
    "wraps",
    "functools.wraps",
];

/// Whether a call, by its callee's dotted name and the shape of its arguments, never raises
/// by itself: the few callables import-time code calls most, with the arguments that cannot
/// upset them (`logging.getLogger(__name__)`, `TypeVar("T")`, `Path(__file__)`,
/// `lru_cache(maxsize=None)`). Anything else may raise.
fn call_never_raises(name: &str, call: &ruff_python_ast::ExprCall) -> bool {
    let args = &call.arguments.args;
    let keywords = &call.arguments.keywords;
    let string = |e: &Expr| matches!(e, Expr::StringLiteral(_));
    let path_like = |e: &Expr| {
        string(e)
            || matches!(e, Expr::Name(n) if n.id.as_str() == "__file__")
            || matches!(e, Expr::Call(c)
                if dotted(&c.func).is_some_and(|d| PATH_CALLS.contains(&d.as_str())))
    };
    let container = |e: &Expr| matches!(e, Expr::List(_) | Expr::Tuple(_) | Expr::Set(_));
    let int_none_or_bool = |e: &Expr| {
        matches!(e, Expr::NoneLiteral(_) | Expr::BooleanLiteral(_))
            || matches!(e, Expr::NumberLiteral(n) if matches!(n.value, ruff_python_ast::Number::Int(_)))
    };
    match name {
        "object"
        | "Lock"
        | "RLock"
        | "threading.Lock"
        | "threading.RLock"
        | "threading.local"
        | "threading.Event"
        | "OrderedDict"
        | "collections.OrderedDict"
        | "auto"
        | "enum.auto" => args.is_empty() && keywords.is_empty(),
        "dict" => args.is_empty(),
        "list" | "tuple" | "set" | "frozenset" => {
            keywords.is_empty() && (args.is_empty() || args.len() == 1 && container(&args[0]))
        }
        "str" | "repr" | "bool" => keywords.is_empty() && args.len() <= 1,
        "defaultdict" | "collections.defaultdict" => {
            keywords.is_empty()
                && match &args[..] {
                    [] | [Expr::Lambda(_)] => true,
                    [Expr::Name(n)] => {
                        matches!(
                            n.id.as_str(),
                            "list" | "dict" | "set" | "int" | "float" | "str"
                        )
                    }
                    _ => false,
                }
        }
        "getLogger" | "logging.getLogger" => {
            keywords.is_empty()
                && match &args[..] {
                    [] => true,
                    [Expr::Name(n)] => n.id.as_str() == "__name__",
                    [one] => string(one),
                    _ => false,
                }
        }
        // One constraint alone is an error: `TypeVar("T", int)`.
        "TypeVar" | "typing.TypeVar" | "ParamSpec" | "typing.ParamSpec" => {
            args.first().is_some_and(string) && args.len() != 2
        }
        "NewType" | "typing.NewType" => args.len() == 2 && string(&args[0]),
        "cast" | "typing.cast" => args.len() == 2,
        "lru_cache" | "functools.lru_cache" => args
            .iter()
            .chain(keywords.iter().map(|k| &k.value))
            .all(int_none_or_bool),
        "wraps" | "functools.wraps" => args.len() == 1,
        "os.getenv" | "os.environ.get" => keywords.is_empty() && args.iter().all(string),
        _ if PATH_CALLS.contains(&name) => {
            keywords.is_empty() && !args.is_empty() && args.iter().all(path_like)
        }
        _ => false,
    }
}

/// Path functions that take strings and `__file__` without raising.
const PATH_CALLS: &[&str] = &[
    "Path",
    "pathlib.Path",
    "os.path.join",
    "os.path.dirname",
    "os.path.abspath",
    "os.path.realpath",
    "os.path.basename",
];

/// How many arguments a generic of [`GENERIC_TYPES`] takes, when typing checks it.
fn generic_arity(name: &str) -> Option<usize> {
    match name {
        "Optional" | "List" | "Set" | "FrozenSet" | "Type" | "ClassVar" | "Final" | "Iterable"
        | "Iterator" | "Sequence" | "MutableSequence" | "Awaitable" | "AsyncIterator" | "list"
        | "set" | "frozenset" | "type" => Some(1),
        "Dict" | "dict" | "Mapping" | "MutableMapping" | "Callable" => Some(2),
        "Generator" | "Coroutine" => Some(3),
        _ => None,
    }
}

/// Subscripted names that build a type (`Optional[int]`, `dict[str, int]`): no lookup that
/// may fail.
const GENERIC_TYPES: &[&str] = &[
    "Optional",
    "Union",
    "List",
    "Dict",
    "Set",
    "FrozenSet",
    "Tuple",
    "Type",
    "Callable",
    "ClassVar",
    "Final",
    "Literal",
    "Annotated",
    "Iterable",
    "Iterator",
    "Sequence",
    "Mapping",
    "MutableMapping",
    "MutableSequence",
    "Generator",
    "Awaitable",
    "Coroutine",
    "AsyncIterator",
    "Generic",
    "Protocol",
    "list",
    "dict",
    "set",
    "frozenset",
    "tuple",
    "type",
];

impl EffectCollector<'_> {
    fn computes(&mut self, what: String, at: TextSize) {
        if self.computes.is_none() {
            *self.computes = Some((what, self.lines.line_of(at)));
        }
    }

    /// What an operator combines, when it combines literals and names only.
    fn shape_of(&self, expr: &Expr) -> Option<Shape> {
        Some(match expr {
            Expr::Name(n) => match self.literals.get(n.id.as_str()) {
                Some(kind) => Shape::Kind(*kind),
                None => Shape::Name(n.id.to_string()),
            },
            Expr::FString(_) => Shape::Kind(LiteralKind::Str),
            Expr::BinOp(b) if combines(b.op) => Shape::Op(
                b.op,
                Box::new(self.shape_of(&b.left)?),
                Box::new(self.shape_of(&b.right)?),
            ),
            other => Shape::Kind(literal_kind(other)?),
        })
    }

    /// The type of what an expression makes, when literals tell (see [`Reader::literals`]).
    fn kind_of(&self, expr: &Expr) -> Option<LiteralKind> {
        match expr {
            Expr::Name(n) => self.literals.get(n.id.as_str()).copied(),
            Expr::FString(_) => Some(LiteralKind::Str),
            Expr::BinOp(b) => combine(b.op, self.kind_of(&b.left)?, self.kind_of(&b.right)?),
            other => literal_kind(other),
        }
    }
}

/// The type `op` makes of operands of these types, `None` where it raises.
pub fn combine(
    op: ruff_python_ast::Operator,
    a: LiteralKind,
    b: LiteralKind,
) -> Option<LiteralKind> {
    use LiteralKind::{Bool, Bytes, Complex, Float, Int, Str};
    use ruff_python_ast::Operator::{Add, BitAnd, BitOr, BitXor, Mult, Sub};
    let rank = |k: LiteralKind| match k {
        Bool | Int => Some(0),
        Float => Some(1),
        Complex => Some(2),
        _ => None,
    };
    match (op, a, b) {
        (Add | Sub | Mult, _, _) if rank(a).is_some() && rank(b).is_some() => {
            Some([Int, Float, Complex][rank(a)?.max(rank(b)?)])
        }
        (Add, Str, Str) => Some(Str),
        (Add, Bytes, Bytes) => Some(Bytes),
        (Mult, Str, Int | Bool) | (Mult, Int | Bool, Str) => Some(Str),
        (Mult, Bytes, Int | Bool) | (Mult, Int | Bool, Bytes) => Some(Bytes),
        (BitOr | BitAnd | BitXor, Int | Bool, Int | Bool) => Some(Int),
        _ => None,
    }
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
            Expr::Attribute(a) if a.ctx.is_load() => {
                if let Expr::Name(root) = &*a.value {
                    let line = self.lines.line_of(a.start());
                    self.attributes
                        .push((root.id.to_string(), a.attr.id.to_string(), line));
                }
            }
            Expr::Subscript(s) if s.ctx.is_load() => {
                let generic = dotted(&s.value).and_then(|d| {
                    let last = d.rsplit('.').next().unwrap_or(&d).to_string();
                    GENERIC_TYPES.contains(&last.as_str()).then_some(last)
                });
                let arguments = match &*s.slice {
                    Expr::Tuple(t) => t.elts.len(),
                    _ => 1,
                };
                match generic {
                    None => self.computes("a subscript".to_string(), s.start()),
                    // `Dict[str]`: typing checks how many arguments a generic takes.
                    Some(g) if generic_arity(&g).is_some_and(|n| n != arguments) => {
                        self.computes(
                            format!("`{g}[...]` with {arguments} argument(s)"),
                            s.start(),
                        );
                    }
                    Some(_) => {}
                }
            }
            Expr::BinOp(b) if combines(b.op) && self.kind_of(expr).is_none() => {
                let line = self.lines.line_of(b.start());
                match self.shape_of(expr) {
                    // Names of other modules: judged where their bindings can be read.
                    Some(shape) => self.operators.push((shape, line)),
                    None => self.computes(
                        "an operator on values whose types covshard cannot tell".to_string(),
                        b.start(),
                    ),
                }
            }
            Expr::UnaryOp(u)
                if u.op != ruff_python_ast::UnaryOp::Not
                    && !matches!(
                        self.kind_of(&u.operand),
                        Some(LiteralKind::Int | LiteralKind::Float | LiteralKind::Bool)
                    ) =>
            {
                self.computes(
                    "an operator on a value whose type covshard cannot tell".to_string(),
                    u.start(),
                );
            }
            Expr::Compare(c) => {
                use ruff_python_ast::CmpOp;
                // Equality and identity never raise; ordering and `in` do across types.
                let operands: Vec<&Expr> = std::iter::once(&*c.left)
                    .chain(c.comparators.iter())
                    .collect();
                let raises = c.ops.iter().enumerate().any(|(i, op)| {
                    if matches!(op, CmpOp::Eq | CmpOp::NotEq | CmpOp::Is | CmpOp::IsNot) {
                        return false;
                    }
                    let numeric = |k: Option<LiteralKind>| {
                        matches!(
                            k,
                            Some(LiteralKind::Int | LiteralKind::Float | LiteralKind::Bool)
                        )
                    };
                    let (a, b) = (self.kind_of(operands[i]), self.kind_of(operands[i + 1]));
                    !(numeric(a) && numeric(b)
                        || a == Some(LiteralKind::Str) && b == Some(LiteralKind::Str))
                });
                if raises {
                    self.computes(
                        "a comparison of values whose types covshard cannot tell".to_string(),
                        c.start(),
                    );
                }
            }
            Expr::BinOp(b)
                if matches!(
                    b.op,
                    ruff_python_ast::Operator::Div
                        | ruff_python_ast::Operator::FloorDiv
                        | ruff_python_ast::Operator::Mod
                ) =>
            {
                // By a literal that is no zero, or a path joined with a string: no raise.
                let safe = match &*b.right {
                    Expr::NumberLiteral(n) => {
                        !matches!(
                            &n.value,
                            ruff_python_ast::Number::Int(i) if i.as_u8() == Some(0)
                        ) && !matches!(&n.value, ruff_python_ast::Number::Float(f) if *f == 0.0)
                    }
                    Expr::StringLiteral(_) | Expr::FString(_) => {
                        b.op == ruff_python_ast::Operator::Div
                    }
                    _ => false,
                };
                if !safe {
                    self.computes("a division".to_string(), b.start());
                }
            }
            Expr::Call(call) => {
                let line = self.lines.line_of(call.start());
                let name = dotted(&call.func).unwrap_or_default();
                if !call_never_raises(&name, call) {
                    let what = if name.is_empty() {
                        "a call of a computed callable".to_string()
                    } else {
                        format!("a call of `{name}`")
                    };
                    self.computes(what, call.start());
                }
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
    /// What is done with the value of the expression being walked (see
    /// [`Mention::value_use`]).
    value_use: ValueUse,
    /// Walking a comprehension's or a lambda's own scope (see [`Mention::nested`]).
    nested: bool,
    /// Expressions met as the object of an attribute access or as the callee of a call: what
    /// they name is not handed on as a value (see [`FileNames::value_uses`]).
    not_values: HashSet<TextRange>,
}

impl MentionFinder<'_> {
    /// A dynamic read (see [`Mention::reads_from`]).
    fn push_dynamic(&mut self, offset: TextSize, reads_from: ReadsFrom) {
        self.out.dynamic.push(Mention {
            line: self.lines.line_of(offset),
            stmt_first: self.stmt_first,
            home: self.home,
            kind: MentionKind::Dynamic,
            reads_from,
            value_use: ValueUse::WorkedOn,
            nested: self.nested,
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
            reads_from: ReadsFrom::Anything,
            value_use: self.value_use,
            nested: self.nested,
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
                        let bound = super::syntax::import_binding(alias);
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
                        self.push_dynamic(alias.start(), ReadsFrom::Anything);
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
/// Attributes that read an object's whole namespace: `obj.__dict__`, a function's
/// `__globals__` (its module's) and a frame's `f_globals`.
const NAMESPACE_ATTRIBUTES: &[&str] = &[
    "__dict__",
    "__getattribute__",
    "__getattr__",
    "__globals__",
    "f_globals",
];
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
            Expr::Name(_) | Expr::Attribute(_)
                if expr_loads(expr) && !self.not_values.contains(&expr.range()) =>
            {
                if let Some(spelling) = dotted(expr) {
                    self.out.values.entry(spelling).or_default().push(self.home);
                }
            }
            _ => {}
        }
        match expr {
            Expr::Attribute(a) => {
                self.not_values.insert(a.value.range());
            }
            Expr::Call(call) => {
                self.not_values.insert(call.func.range());
                // `hasattr(mod, "name")` reads one named attribute, which static mentions
                // follow; it does not hand `mod` on.
                let named = matches!(&*call.func, Expr::Name(n)
                    if matches!(n.id.as_str(), "getattr" | "hasattr" | "setattr" | "delattr"));
                if let [object, Expr::StringLiteral(attr), ..] = &call.arguments.args[..]
                    && named
                {
                    self.not_values.insert(object.range());
                    // What `getattr(pkg, "sub")` returns is handed on: `pkg.sub` may be a module.
                    let attr = attr.value.to_str();
                    if matches!(&*call.func, Expr::Name(n) if n.id.as_str() == "getattr")
                        && name_like(attr)
                        && let Some(object) = dotted(object)
                    {
                        let spelling = format!("{object}.{attr}");
                        self.out.values.entry(spelling).or_default().push(self.home);
                    }
                }
            }
            _ => {}
        }
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
                    attr if NAMESPACE_ATTRIBUTES.contains(&attr) => {
                        self.push_dynamic(a.start(), ReadsFrom::from_expr(&a.value));
                    }
                    "modules" if matches!(&*a.value, Expr::Name(n) if n.id.as_str() == "sys") => {
                        self.push_dynamic(a.start(), ReadsFrom::Anything);
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
                    let reads_from = match (callee, args.first()) {
                        ("globals" | "locals", _) | ("vars" | "dir", None) => ReadsFrom::OwnGlobals,
                        ("eval" | "exec", _) => ReadsFrom::Anything,
                        // Applied later to any object, whatever handed it over.
                        _ if applied_later => ReadsFrom::Anything,
                        (_, Some(first)) => ReadsFrom::from_expr(first),
                        (_, None) => ReadsFrom::Anything,
                    };
                    if DYNAMIC_ALWAYS.contains(&callee)
                        || (DYNAMIC_BY_ARGUMENT.contains(&callee) && !literal_name)
                    {
                        self.push_dynamic(call.start(), reads_from);
                    }
                    // `inspect.getdoc(f)`, `help(f)`: what they read is `f.__doc__`.
                    if reads_docstring(call) {
                        self.push("__doc__", call.start(), MentionKind::Attribute);
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
        // A tuple's or a list's elements, a dict's values and a conditional's branches are
        // used as the whole is; operators combine; anything else works on what it holds (a
        // dict hashes its keys).
        let outer = self.value_use;
        let inner = |use_: ValueUse| outer.max(use_);
        match expr {
            Expr::Tuple(_) | Expr::List(_) => visitor::walk_expr(self, expr),
            Expr::Dict(d) => {
                for item in &d.items {
                    if let Some(key) = &item.key {
                        self.value_use = ValueUse::WorkedOn;
                        self.visit_expr(key);
                        self.value_use = outer;
                    } else {
                        // `**other` iterates a mapping.
                        self.value_use = ValueUse::WorkedOn;
                    }
                    self.visit_expr(&item.value);
                    self.value_use = outer;
                }
            }
            Expr::If(e) => {
                self.value_use = inner(ValueUse::Tested);
                self.visit_expr(&e.test);
                self.value_use = outer;
                self.visit_expr(&e.body);
                self.visit_expr(&e.orelse);
            }
            Expr::BinOp(b) if combines(b.op) => {
                self.value_use = inner(ValueUse::Combined);
                visitor::walk_expr(self, expr);
            }
            Expr::BoolOp(_) => {
                self.value_use = inner(ValueUse::Tested);
                visitor::walk_expr(self, expr);
            }
            // A format spec a name gives may not suit the value: `f"{x:{spec}}"`.
            Expr::FString(f) if !dynamic_format_spec(f) => {
                self.value_use = inner(ValueUse::Combined);
                visitor::walk_expr(self, expr);
            }
            Expr::Compare(_) => {
                self.value_use = inner(ValueUse::Combined);
                visitor::walk_expr(self, expr);
            }
            // A comprehension's own scope cannot see a class body's names; its first iterable
            // is evaluated in the scope around it.
            Expr::ListComp(_) | Expr::SetComp(_) | Expr::DictComp(_) | Expr::Generator(_) => {
                self.value_use = ValueUse::WorkedOn;
                let (elements, generators): (Vec<&Expr>, _) = match expr {
                    Expr::ListComp(c) => (vec![&*c.elt], &c.generators),
                    Expr::SetComp(c) => (vec![&*c.elt], &c.generators),
                    Expr::DictComp(c) => (
                        c.key.as_deref().into_iter().chain([&*c.value]).collect(),
                        &c.generators,
                    ),
                    Expr::Generator(c) => (vec![&*c.elt], &c.generators),
                    _ => unreachable!("matched above"),
                };
                let outer_nested = self.nested;
                for (i, generator) in generators.iter().enumerate() {
                    self.nested = outer_nested || i > 0;
                    self.visit_expr(&generator.iter);
                    self.nested = true;
                    self.visit_expr(&generator.target);
                    for condition in &generator.ifs {
                        self.visit_expr(condition);
                    }
                }
                self.nested = true;
                for element in elements {
                    self.visit_expr(element);
                }
                self.nested = outer_nested;
            }
            Expr::Lambda(l) => {
                self.value_use = ValueUse::WorkedOn;
                if let Some(parameters) = &l.parameters {
                    for e in parameter_exprs(parameters) {
                        self.visit_expr(e);
                    }
                }
                let outer_nested = std::mem::replace(&mut self.nested, true);
                self.visit_expr(&l.body);
                self.nested = outer_nested;
            }
            Expr::Attribute(_) => {
                self.value_use = inner(ValueUse::Accessed);
                visitor::walk_expr(self, expr);
            }
            Expr::UnaryOp(u) if u.op != ruff_python_ast::UnaryOp::Invert => {
                self.value_use = inner(ValueUse::Combined);
                visitor::walk_expr(self, expr);
            }
            _ => {
                self.value_use = ValueUse::WorkedOn;
                visitor::walk_expr(self, expr);
            }
        }
        self.value_use = outer;
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

    #[test]
    fn value_uses_are_names_handed_on_not_reached_through_or_called() {
        let names = facts(
            "import pkg.keys\nfrom pkg import keys as k\n\nrun(k)\nx = pkg.keys\ny = pkg.keys.hashkey(1)\nd.keys()\nhasattr(pkg, \"x\")\ngetattr(e, name)\nz = getattr(pkg, \"sub\")\n\n\ndef f(m):\n    return m.sub\n\n\ndef g():\n    return [vars(k2) for k2 in (k,)]\n",
        );
        let uses = names.value_uses();
        for handed_on in ["k", "pkg.keys", "m.sub", "e", "name", "pkg.sub"] {
            assert!(uses.contains_key(handed_on), "{handed_on}: {uses:?}");
        }
        for reached_or_called in ["pkg", "run", "pkg.keys.hashkey", "d.keys", "d", "m", "vars"] {
            assert!(
                !uses.contains_key(reached_or_called),
                "{reached_or_called}: {uses:?}"
            );
        }
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
    fn dynamic_reads_know_what_they_read_from() {
        let named = |s: &str| ReadsFrom::Named(s.to_string());
        let computed = |s: Option<&str>| ReadsFrom::Computed(s.map(str::to_string));
        for (source, from) in [
            ("getattr(consts, n)\n", named("consts")),
            ("fields(geo.Style)\n", named("geo.Style")),
            ("getattr(self.fields[k], n)\n", computed(Some("self"))),
            ("pkg.__dict__[\"sub\"].__dict__\n", computed(Some("pkg"))),
            ("type(x).__dict__\n", computed(None)),
            ("getattr(getattr(pkg, \"sub\"), n)\n", ReadsFrom::Anything),
            ("import_string(path).__dict__\n", ReadsFrom::Anything),
            ("attrgetter(n)\n", ReadsFrom::Anything),
            ("globals()\n", ReadsFrom::OwnGlobals),
            ("vars()\n", ReadsFrom::OwnGlobals),
            ("eval(text)\n", ReadsFrom::Anything),
            ("import sys\nsys.modules[n]\n", ReadsFrom::Anything),
        ] {
            let f = facts(source);
            let reads: Vec<&ReadsFrom> = f.dynamic().iter().map(|m| &m.reads_from).collect();
            assert_eq!(reads.first(), Some(&&from), "{source:?}");
        }
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
    fn docstring_readers_read_doc() {
        let f = facts("def f(x):\n    a = inspect.getdoc(x)\n    help(x)\n    parser.help()\n");
        let lines: Vec<u32> = f.mentions_of("__doc__").iter().map(|m| m.line).collect();
        assert_eq!(lines, [2, 3]);
        assert!(may_read_docstrings(b"from inspect import getdoc"));
        assert!(!may_read_docstrings(b"x = doc"));
    }

    #[test]
    fn decorators_that_may_read_the_docstring_are_known() {
        let f = facts(
            "@cli.command('x')\ndef a():\n    pass\n@pytest.fixture\ndef b():\n    pass\n@dataclass\nclass C:\n    pass\n@register\nclass D:\n    pass\n",
        );
        let readers: Vec<String> = f
            .statements()
            .iter()
            .filter(|s| s.class.is_none())
            .map(|s| s.doc_readers.join(" "))
            .collect();
        assert_eq!(readers, ["cli.command", "", "", "register"]);
    }

    #[test]
    fn nested_definitions_run_in_the_body_around_them() {
        let src = "def make(n):\n    @register(n)\n    def handler(x):\n        return x + K\n    return handler\n";
        let f = facts(src);
        assert_eq!(f.mentions_of("register")[0].home, Home::Function(0));
        assert_eq!(f.mentions_of("K")[0].home, Home::Function(1));
    }

    #[test]
    fn mentions_say_what_import_time_code_does_with_a_value() {
        let src = "A = X\nB = (X, 1)\nC = X + 1\nD = X.real\nE = f(X)\nF = T[X]\nG = {X: 1}\nH = {1: X}\ndef g(a=X): pass\nI = -(X * 2) < 3\nJ = X.y + 1\n";
        let f = facts(src);
        let uses: Vec<(u32, ValueUse)> = f
            .mentions_of("X")
            .iter()
            .map(|m| (m.line, m.value_use))
            .collect();
        use ValueUse::{Accessed, Combined, Copied, WorkedOn};
        assert_eq!(
            uses,
            [
                (1, Copied),
                (2, Copied),
                (3, Combined),
                (4, Accessed),
                (5, WorkedOn),
                (6, WorkedOn),
                (7, WorkedOn),
                (8, Copied),
                (9, Copied),
                (10, Combined),
                (11, Accessed),
            ]
        );
        // The attribute itself is used as the whole is: `D = X.real` copies `real`.
        assert_eq!(f.mentions_of("real")[0].value_use, Copied);
    }

    #[test]
    fn statements_say_what_may_raise_whatever_their_inputs() {
        let computes = |src: &str| -> Option<String> {
            let f = facts(src);
            let last = f.statements().len() - 1;
            f.statements()[last].computes.clone().map(|(what, _)| what)
        };
        assert_eq!(computes("X = 1 + 2 * 3\n"), None);
        assert_eq!(computes("X: Optional[int] = None\n"), None);
        assert_eq!(computes("HERE = Path(__file__).parent / 'data'\n"), None);
        assert_eq!(computes("@property\ndef f(self): pass\n"), None);
        assert_eq!(
            computes("@functools.lru_cache(maxsize=None)\ndef f(): pass\n"),
            None
        );
        assert_eq!(computes("X = 1 / 0\n").as_deref(), Some("a division"));
        assert_eq!(computes("X = T['k']\n").as_deref(), Some("a subscript"));
        assert_eq!(
            computes("X = re.compile('(')\n").as_deref(),
            Some("a call of `re.compile`")
        );
        assert_eq!(
            computes("@app.route('/')\ndef f(): pass\n").as_deref(),
            Some("the decorator `@app.route`")
        );
        assert_eq!(computes("assert X\n").as_deref(), Some("an `assert`"));
        // A compound statement computes what its branches do.
        let f = facts("if X:\n    Y = f()\n");
        assert!(f.statements()[0].computes.is_some());
    }

    #[test]
    fn literals_and_handlers_are_known() {
        let f = facts("A = 10\nB: str = 'x'\nC = -1.5\nD = [1]\nE = F = 1\n");
        let kinds: Vec<Option<LiteralKind>> = f.statements().iter().map(|s| s.literal).collect();
        assert_eq!(
            kinds,
            [
                Some(LiteralKind::Int),
                Some(LiteralKind::Str),
                Some(LiteralKind::Float),
                None,
                None
            ]
        );
        let f = facts(
            "try:\n    import a\nexcept (ImportError, OSError):\n    a = None\ntry:\n    X = T[1]\nexcept KeyError:\n    X = 0\nwith suppress(ImportError):\n    import b\n",
        );
        let import_a = f.statement_at(2).unwrap();
        assert!(f.caught(import_a, Raise::Import));
        assert!(!f.caught(import_a, Raise::Any));
        assert!(!f.caught(f.statement_at(6).unwrap(), Raise::Any));
        let import_b = f.statement_at(10).unwrap();
        assert!(f.statements()[import_b].in_with && !f.statements()[import_b].guarded);
    }

    #[test]
    fn files_that_may_spell_a_name_in_other_bytes_are_parsed() {
        assert!(may_read_any_name("X = 'caf\u{e9}'\n".as_bytes()));
        assert!(may_read_any_name(b"patch('\\x4cIMIT')\n"));
        assert!(!may_read_any_name(b"X = LIMIT\n"));
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
