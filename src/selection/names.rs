//! The names rule: a change to import-time code selects the tests that can observe it, by
//! following the names it binds to the code that reads them (DESIGN.md, "Precision: follow
//! names, not modules"; `selection.import_time = "names"`).
//!
//! A module-level or class-level statement that only binds names reaches a test only through
//! those names. For a changed name the rule selects:
//! - the tests that ran a statement mentioning it (coverage of that statement's lines), in the
//!   module itself and in every module that imports it, directly or not ([`Target::Global`]);
//!   for a class attribute or method, in any file ([`Target::Attribute`]: duck typing);
//! - the test files that mention it (a test with no coverage is found only this way), and the
//!   tests that use a fixture that mentions it ([`Target::Fixture`]);
//! - in turn, what import-time code computes from it: a mention in another module- or
//!   class-level statement changes what that statement binds, which is followed the same way,
//!   to a fixed point; a mention in a memoised function, or in a function run while modules
//!   are imported, changes what that function hands its callers, which are followed too.
//!
//! Where names cannot be followed the rule falls back to every dependent of the module that
//! holds the construct, and says which construct decided ([`Verdict::Dependents`]): a statement
//! run for its effect (a call of something that may keep state, a store into another module,
//! a registry), an `__all__` other than one literal list (a literal one is followed as the
//! names star imports gain or lose, see [`super::star_list`]), a star import,
//! `setattr`/`exec`/`globals()`, a module-level `raise`, a call covshard cannot name, an import
//! of a module whose own import-time code has effects.
//! Reads no name tells (`getattr(obj, name)`, `vars()`, `__dict__`, ...) count as mentions of
//! every name.
//!
//! A module whose import raises fails every test that imports it, whatever names they read, so
//! the rule also falls back to every dependent where the import may now raise: a new or
//! changed statement that computes something that may raise ([`Engine::may_raise`]: a call of
//! a callable not known never to raise, a subscript, a division, an `assert`, a decorator, a
//! class whose creation runs hooks, an import or a name nothing shows to exist), and import-time
//! code that reads a followed name in a way a new value may break ([`raises_at_import`]: worked
//! on, or combined when the value's type may have changed, see [`ValueUse`] and
//! [`Follow::kept_type`]; a removed name read at all; a function run at import that reads it).
//! A `try` whose handler catches the raise runs the handler instead, whose names are followed.
//!
//! A module whose object may travel (some file hands on, as a value, a name spelled like it or
//! a package above it, or the project finds modules by other means: `sys.modules`,
//! `import_module`, a function's `__globals__`) has its names searched in every file, since the
//! code it reaches need not import it ([`Engine::module_escapes`]); one that cannot travel is
//! never what `vars(obj)` or `getattr(obj, name)` of an arbitrary object reads.
//!
//! Known limits: names are matched without resolving scopes or types, which only selects more;
//! code that reaches a module without importing it by name (a plugin loaded by entry point) is
//! seen only through the dynamic reads it uses.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::rc::Rc;

use super::{Engine, Reason, Rule, is_conftest};
use crate::coverage::{FileRows, numbits};
use crate::error::Result;
use crate::python::hand_on::{self, WordSet};
use crate::python::names::{
    self, BindKind, Effect, FileNames, Home, Mention, MentionKind, PURE_METHODS, PURE_MODULES,
    Raise, ReadsFrom, STATE_CHANGING_CALLS, Statement, ValueUse,
};
use crate::python::{FunctionSpan, Import, ModuleSyntax};

/// What to follow.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(super) enum Target {
    /// A module-level name of `file`: read there and wherever the module is imported.
    Global { file: String, name: String },
    /// An attribute or method name: read through any object, anywhere.
    Attribute { name: String },
    /// A pytest fixture of the conftest (or test module) in `dir`: used by the tests below.
    Fixture { dir: String, name: String },
}

impl Target {
    pub(super) fn name(&self) -> &str {
        match self {
            Target::Global { name, .. }
            | Target::Attribute { name }
            | Target::Fixture { name, .. } => name,
        }
    }
}

/// One name to follow, with how the change reached it (for `explain`).
#[derive(Debug, Clone)]
pub(super) struct Follow {
    pub target: Target,
    pub chain: String,
    /// The change unbinds the name: code that reads it at import time now raises, which breaks
    /// every importer of that code's module.
    pub removed: bool,
    /// The new value is of the old value's type (a literal changed for one of its kind, or
    /// what operators make of one): code that combined the old value combines it too (see
    /// [`ValueUse::Combined`]).
    pub kept_type: bool,
    /// Only the object's docstring changed: code that calls it or works on it behaves as
    /// before and cannot raise anew, though what it makes of `__doc__` changes.
    pub docs_only: bool,
}

impl Follow {
    pub(super) fn new(target: Target, chain: String) -> Self {
        Follow {
            target,
            chain,
            removed: false,
            kept_type: false,
            docs_only: false,
        }
    }
}

/// The changed file and lines every reason of one change names.
#[derive(Debug, Clone)]
pub(super) struct Origin {
    pub file: String,
    pub lines: Vec<u32>,
}

/// What a statement's change means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Verdict {
    /// It never runs under pytest.
    Inert,
    /// It only binds these names (and changes these objects): follow them.
    Follow(Vec<Target>),
    /// Names cannot be followed: every dependent of its module, because of this construct.
    Dependents { what: String, line: u32 },
}

/// One version of one file, read for following names.
pub(super) struct Facts {
    pub syntax: ModuleSyntax,
    pub names: FileNames,
}

/// The names rule's caches for one request.
#[derive(Default)]
pub(super) struct NamesState {
    /// Repository path -> the base version's facts (`None`: not at the base, or unreadable).
    facts: HashMap<String, Option<Rc<Facts>>>,
    /// Repository path -> the base version's text, for files searched before they are parsed.
    texts: HashMap<String, Option<Rc<[u8]>>>,
    /// Repository path -> whether its base version may read any name (a dynamic read).
    reads_any: HashMap<String, bool>,
    /// Targets already followed, whether as removed and whether of a kept type (a name is
    /// searched again when it comes with less to rely on: reading a removed name raises where
    /// reading a changed one need not).
    followed: BTreeSet<(Target, bool, bool, bool)>,
    /// (name, kind of search, the home file of a module-level name) -> files already searched.
    searched: HashMap<(String, u8, String), BTreeSet<String>>,
    /// Measured files' rows, read once.
    rows: HashMap<i64, Rc<FileRows>>,
    /// Files whose import-time code was judged for effects (an import of them runs it).
    import_effects: HashMap<String, Option<(String, u32)>>,
    /// Repository path -> the working tree's version's facts.
    new_facts: HashMap<String, Option<Rc<Facts>>>,
    /// Repository path -> what may raise while the working tree's version is imported.
    module_raises: HashMap<String, Option<(String, u32)>>,
    /// Repository path of a module -> whether its object may reach code that reads names from
    /// objects dynamically ([`Engine::module_escapes`]).
    escapes: HashMap<String, bool>,
    /// See [`Engine::hand_on_index`].
    hand_on: Option<Rc<HandOnIndex>>,
}

/// See [`Engine::hand_on_index`].
#[derive(Debug, Default)]
struct HandOnIndex {
    /// Some file finds modules by other means than naming them (`sys.modules`,
    /// `importlib.import_module`, a function's `__globals__`, a frame's `f_globals`).
    finds_modules: bool,
    /// (file, whether its new side) -> the module and package names it mentions bare: of
    /// every file, or, when `stored`, of the changed files' new sides only.
    bare: Vec<((String, bool), Vec<String>)>,
    /// The base side of every file is in the import index of this commit, looked up by word.
    stored: Option<String>,
}

impl Engine<'_> {
    /// Follow every name of `follows` to a fixed point, selecting the tests that can read one.
    pub(super) fn follow_names(&mut self, origin: &Origin, follows: Vec<Follow>) -> Result<()> {
        let mut queue: VecDeque<Follow> = follows.into();
        while let Some(follow) = queue.pop_front() {
            if !self.names.followed.insert((
                follow.target.clone(),
                follow.removed,
                follow.kept_type,
                follow.docs_only,
            )) {
                continue;
            }
            // `usefixtures` in pytest's configuration applies a fixture to every test.
            if let Target::Fixture { name, .. } = &follow.target
                && self.configured_fixture(name)
            {
                self.run_all(
                    Reason::new(Rule::ReadsName)
                        .file(origin.file.clone())
                        .lines(origin.lines.iter().copied())
                        .via(format!(
                            "{}, a fixture pytest's configuration names",
                            follow.chain
                        )),
                );
            }
            // Text tests (`README.rst` doctests) read names the Python files do not show.
            let text_reason = Reason::new(Rule::ReadsName)
                .file(origin.file.clone())
                .lines(origin.lines.iter().copied());
            self.select_text_tests_reading(follow.target.name(), &follow.chain, &text_reason);
            let (files, kind) = self.search_set(&follow.target)?;
            let home = match &follow.target {
                Target::Global { file, .. } => file.clone(),
                _ => String::new(),
            };
            let key = (
                follow.target.name().to_string(),
                kind | u8::from(follow.removed) << 4
                    | u8::from(!follow.kept_type) << 5
                    | u8::from(follow.docs_only) << 6,
                home,
            );
            let already = self.names.searched.entry(key.clone()).or_default().clone();
            for file in files {
                if already.contains(&file) {
                    continue;
                }
                self.names
                    .searched
                    .entry(key.clone())
                    .or_default()
                    .insert(file.clone());
                // Parse only what may mention the name (the home module and conftests always:
                // they answer for names they do not mention).
                if file != key.2
                    && !is_conftest(&file)
                    && !self.may_mention(&file, follow.target.name())
                {
                    continue;
                }
                let Some(facts) = self.facts(&file) else {
                    continue;
                };
                if let Target::Global { file: home, name } = &follow.target {
                    // A star import of the home module re-exports the name under its own.
                    if self.star_imports_from(&file, &facts.names, home)?
                        && self.star_exports(home, name)
                    {
                        queue.push_back(Follow {
                            target: Target::Global {
                                file: file.clone(),
                                name: name.clone(),
                            },
                            chain: format!(
                                "{}, re-exported by a star import in {file}",
                                follow.chain
                            ),
                            removed: follow.removed,
                            kept_type: follow.kept_type,
                            docs_only: follow.docs_only,
                        });
                    }
                    // A module `__getattr__` (PEP 562) answers for names it does not bind:
                    // one the change removes (a name it binds never reaches it).
                    if &file == home && follow.removed && facts.names.owns("__getattr__") {
                        self.every_dependent_of(
                            &file,
                            origin,
                            &format!("{}, in a module with `__getattr__`", follow.chain),
                        )?;
                    }
                }
                for mention in self.relevant_mentions(&file, &facts, &follow.target)? {
                    self.read_at(&file, &facts, &mention, &follow, origin, &mut queue)?;
                }
            }
        }
        Ok(())
    }

    /// Whether pytest's configuration files name a fixture (`usefixtures`): a whole-word
    /// search of `pytest.ini`, `pyproject.toml`, `tox.ini` and `setup.cfg` at the root.
    fn configured_fixture(&self, name: &str) -> bool {
        ["pytest.ini", "pyproject.toml", "tox.ini", "setup.cfg"]
            .iter()
            .filter_map(|f| std::fs::read_to_string(self.req.repo_root.join(f)).ok())
            .any(|text| {
                text.contains("usefixtures")
                    && text
                        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
                        .any(|word| word == name)
            })
    }

    /// Whether `from home import *` can bring `name`: the names `__all__` lists when it says
    /// exactly, else the names without a leading underscore (any, when `__all__` is unclear).
    fn star_exports(&mut self, home: &str, name: &str) -> bool {
        let Some(facts) = self.facts(home) else {
            return true;
        };
        if !facts.names.parsed() {
            return true;
        }
        match facts.names.star_names() {
            Some(listed) => listed.iter().any(|n| n == name),
            None => !name.starts_with('_') || facts.names.binds_anywhere("__all__"),
        }
    }

    /// Whether `file` star-imports `home` at module level.
    pub(super) fn star_imports_from(
        &mut self,
        file: &str,
        names: &FileNames,
        home: &str,
    ) -> Result<bool> {
        if names.star_imports().is_empty() || file == home {
            return Ok(false);
        }
        self.ensure_graph()?;
        let graph = self.graph.as_ref().expect("built above");
        Ok(names
            .star_imports()
            .iter()
            // The module whose names it brings, not the packages imported on the way.
            .any(|import| graph.module_files(file, import).contains(home)))
    }

    /// The files to search for a target, and which kind of search it is (for deduplication).
    fn search_set(&mut self, target: &Target) -> Result<(Vec<String>, u8)> {
        Ok(match target {
            // A module whose object is handed on may be read wherever it goes, importers or
            // not (`hook_names(module)` lists the names of whatever it is given).
            Target::Global { file, .. } if self.module_escapes(file)? => {
                (self.base_python_files(), 0)
            }
            Target::Global { file, .. } => {
                self.ensure_graph()?;
                let graph = self.graph.as_mut().expect("built above");
                let mut files: BTreeSet<String> =
                    graph.closure(&[file.as_str()])?.into_keys().collect();
                // A fixture may hand tests the module object itself (`return pkg.config`).
                files.extend(
                    self.base_python_files()
                        .into_iter()
                        .filter(|f| is_conftest(f)),
                );
                files.retain(|f| f.ends_with(".py"));
                (files.into_iter().collect(), 0)
            }
            Target::Attribute { .. } => (self.base_python_files(), 1),
            Target::Fixture { dir, .. } => {
                let prefix = if dir.is_empty() {
                    String::new()
                } else {
                    format!("{dir}/")
                };
                let files = self
                    .base_python_files()
                    .into_iter()
                    .filter(|f| f.starts_with(&prefix))
                    .filter(|f| is_conftest(f) || self.is_test_module(f))
                    .collect();
                (files, 2)
            }
        })
    }

    /// Every Python file of the base: the working tree's, without files the change added (or
    /// the new side of a rename), with the ones it deleted.
    pub(super) fn base_python_files(&self) -> Vec<String> {
        let added: BTreeSet<&str> = self
            .req
            .changes
            .iter()
            .filter(|c| c.old_path != c.new_path)
            .filter_map(|c| c.new_path.as_deref())
            .collect();
        let mut files: BTreeSet<String> = self
            .tracked
            .iter()
            .filter(|p| p.ends_with(".py") && !added.contains(p.as_str()))
            .cloned()
            .collect();
        files.extend(self.old_sources.keys().cloned());
        files.into_iter().collect()
    }

    /// The base version of a file, read once: the changed files' from git, the others' from
    /// the working tree.
    pub(super) fn facts(&mut self, path: &str) -> Option<Rc<Facts>> {
        if let Some(known) = self.names.facts.get(path) {
            return known.clone();
        }
        let facts = self.base_text(path).map(|text| {
            let (syntax, names) = names::read(&String::from_utf8_lossy(&text));
            Rc::new(Facts { syntax, names })
        });
        self.names.texts.remove(path);
        self.names.facts.insert(path.to_string(), facts.clone());
        facts
    }

    /// The base version of a file's text, read once: the changed files' from git, the others'
    /// from the working tree.
    pub(super) fn base_text(&mut self, path: &str) -> Option<Rc<[u8]>> {
        if let Some(known) = self.names.texts.get(path) {
            return known.clone();
        }
        let added =
            self.req.changes.iter().any(|c| {
                c.new_path.as_deref() == Some(path) && c.old_path.as_deref() != Some(path)
            });
        let text: Option<Rc<[u8]>> = match self.old_sources.get(path) {
            Some(bytes) => Some(bytes.as_slice().into()),
            None if added => None,
            None => std::fs::read(self.req.repo_root.join(path))
                .ok()
                .map(Into::into),
        };
        self.names.texts.insert(path.to_string(), text.clone());
        text
    }

    /// Whether a file's base version may mention `name`: it spells the name, or may read any
    /// (see [`names::may_read_any_name`]). A file already parsed is asked its facts.
    fn may_mention(&mut self, path: &str, name: &str) -> bool {
        if self.names.facts.contains_key(path) {
            return true;
        }
        let Some(text) = self.base_text(path) else {
            return false;
        };
        if names::has_word(&text, name) || (name == "__doc__" && names::may_read_docstrings(&text))
        {
            return true;
        }
        *self
            .names
            .reads_any
            .entry(path.to_string())
            .or_insert_with(|| names::may_read_any_name(&text))
    }

    /// The mentions of the target's name in `file` that can read it.
    fn relevant_mentions(
        &mut self,
        file: &str,
        facts: &Facts,
        target: &Target,
    ) -> Result<Vec<Mention>> {
        let test_side = is_conftest(file) || self.is_test_side(file);
        let name = target.name();
        let imported_elsewhere = match target {
            Target::Global { file: home, .. } if home != file => {
                self.imported_elsewhere(file, &facts.names, name, home)?
            }
            _ => false,
        };
        // `import pytest` names a module, not the home module's `pytest`.
        let module_path_mention = facts
            .names
            .mentions_of(name)
            .iter()
            .any(|m| m.kind == MentionKind::Attribute && matches!(m.home, Home::Statement(_)));
        let foreign_imports: BTreeSet<usize> = match target {
            Target::Global { file: home, .. } if home != file && module_path_mention => {
                self.foreign_import_statements(file, &facts.names, home)?
            }
            _ => BTreeSet::new(),
        };
        let mut out: Vec<Mention> = facts
            .names
            .mentions_of(name)
            .iter()
            .filter(|m| match target {
                Target::Global { file: home, .. } => match m.kind {
                    // A bare name in another module is its own, unless it may import it; in
                    // module-level code it is the one its imports bring.
                    MentionKind::Name => {
                        home == file
                            || !(facts.names.owns(name)
                                || imported_elsewhere
                                    && (matches!(m.home, Home::Statement(_))
                                        || !facts.names.bound_in_a_function(name)))
                    }
                    MentionKind::Parameter => test_side,
                    MentionKind::Store => false,
                    // Another module's `__all__` lists its own names; a star import of home
                    // that they may come from is followed as a name of that module.
                    MentionKind::String
                        if home != file
                            && matches!(m.home, Home::Statement(i)
                                if super::star_list::is_star_list(&facts.names, i)) =>
                    {
                        false
                    }
                    MentionKind::Attribute => {
                        !matches!(m.home, Home::Statement(i) if foreign_imports.contains(&i))
                    }
                    _ => true,
                },
                Target::Attribute { .. } => match m.kind {
                    // A bare name reads an attribute only in its class's body.
                    MentionKind::Name => matches!(
                        m.home,
                        Home::Statement(i) if facts.names.statements()[i].class.is_some()
                    ),
                    MentionKind::Parameter => test_side,
                    MentionKind::Store => false,
                    _ => true,
                },
                Target::Fixture { .. } => matches!(
                    m.kind,
                    MentionKind::Parameter | MentionKind::String | MentionKind::Name
                ),
            })
            .cloned()
            .collect();
        // `__doc__` is read by name (`f.__doc__`, `inspect.getdoc(f)`, which follow the
        // function), or copied by `getattr` in `update_wrapper` and its kin: a dynamic read
        // does not make a docstring more than data.
        let doc = matches!(target, Target::Attribute { name } if name == "__doc__");
        for mention in facts.names.dynamic().iter().filter(|_| !doc) {
            if self.dynamic_reads(file, &facts.names, mention, target)? {
                out.push(mention.clone());
            }
        }
        // In a conftest, the module object itself may be handed to tests by a fixture.
        if let Target::Global { file: home, .. } = target
            && is_conftest(file)
            && file != home
        {
            out.extend(
                facts
                    .names
                    .mentions_of(module_stem(home))
                    .iter()
                    .filter(|m| {
                        matches!(m.kind, MentionKind::Name | MentionKind::Attribute)
                            && matches!(m.home, Home::Function(_))
                    })
                    .cloned(),
            );
        }
        Ok(out)
    }

    /// Whether a dynamic read in `file` can read the target's name (see [`ReadsFrom`]):
    /// - one from a module reads that module's names only (`getattr(consts, name)`), and
    ///   `globals()` its own module's;
    /// - one from anything else (a parameter, an object, an item) reads any attribute, and a
    ///   module's global only if the module's object can get there
    ///   ([`Engine::module_escapes`]) or it hangs from a module;
    /// - one from the result of a call, `sys.modules` or `eval` reads anything.
    fn dynamic_reads(
        &mut self,
        file: &str,
        names: &FileNames,
        mention: &Mention,
        target: &Target,
    ) -> Result<bool> {
        let chain = match (target, &mention.reads_from) {
            (Target::Fixture { .. }, _) => return Ok(false),
            (_, ReadsFrom::Anything) => return Ok(true),
            (Target::Global { file: home, .. }, ReadsFrom::OwnGlobals) => return Ok(home == file),
            (Target::Attribute { .. }, ReadsFrom::OwnGlobals) => return Ok(false),
            (Target::Global { file: home, .. }, ReadsFrom::Computed(root)) => {
                let from_module = match root {
                    Some(root) => matches!(
                        self.binding_of(file, names, root)?,
                        Binding::ProjectModule(_) | Binding::ExternalModule(_)
                    ),
                    None => false,
                };
                return Ok(from_module || self.module_escapes(home)?);
            }
            (Target::Attribute { .. }, ReadsFrom::Computed(_)) => return Ok(true),
            (_, ReadsFrom::Named(chain)) => chain.as_str(),
        };
        let root = chain.split('.').next().unwrap_or(chain);
        // An instance or a class is no module: its attributes are not module-level names
        // (what hangs from it may be a module: `self.source = consts`).
        if matches!(target, Target::Global { .. }) && matches!(chain, "self" | "cls") {
            return Ok(false);
        }
        let module = matches!(
            self.binding_of(file, names, root)?,
            Binding::ProjectModule(_) | Binding::ExternalModule(_)
        );
        Ok(match target {
            // From an object that no module binding names: it is the home module only if the
            // module's object can get there.
            Target::Global { file: home, .. } if !module => self.module_escapes(home)?,
            Target::Global { file: home, .. } => {
                chain.split('.').any(|part| part == module_stem(home))
            }
            // A module's own names are not attributes of objects; what hangs from one is.
            _ => !module || chain.contains('.'),
        })
    }

    /// Whether the object of module `home` may reach code that reads names from an object
    /// it was handed (`vars(obj)`, `obj.__dict__`, `getattr(obj, name)`): some file hands on,
    /// as a value, a name spelled like the module or a package above it (`run(keys)`,
    /// `x = pkg.sub`), which passes its object on, or finds modules by other means
    /// ([`FINDS_MODULES`]). A module nothing hands on is reached only through its attributes
    /// (`keys.hashkey`), which static mentions follow. A file that does not parse may do
    /// anything with any name it spells.
    fn module_escapes(&mut self, home: &str) -> Result<bool> {
        if let Some(&known) = self.names.escapes.get(home) {
            return Ok(known);
        }
        // The module's name and its packages' (`keys`, `sub`, `pkg` of `src/pkg/sub/keys.py`).
        let path = home.strip_suffix(".py").unwrap_or(home);
        let path = path.strip_suffix("/__init__").unwrap_or(path);
        let spellings: Vec<String> = path.split('/').map(str::to_string).collect();
        let index = self.hand_on_index()?;
        let mut escapes = index.finds_modules;
        let mut candidates: Vec<(String, bool)> = Vec::new();
        if let Some(base) = index.stored.as_deref().filter(|_| !escapes) {
            match crate::python::index::IndexReader::open_for(self.req.db.connection(), base)? {
                Some(reader) => {
                    let files = reader.bare_mentions(&spellings)?;
                    candidates.extend(files.into_iter().map(|file| (file, false)));
                }
                // The index was replaced while selection ran: nothing proves the module stays.
                None => escapes = true,
            }
        }
        candidates.extend(
            index
                .bare
                .iter()
                .filter(|(_, words)| words.iter().any(|w| spellings.contains(w)))
                .map(|(file, _)| file.clone()),
        );
        'files: for (file, new_side) in candidates.iter().filter(|_| !escapes) {
            let facts = if *new_side {
                self.new_facts(file)
            } else {
                self.facts(file)
            };
            let Some(facts) = facts.filter(|f| f.names.parsed()) else {
                escapes = true;
                break 'files;
            };
            for (spelling, homes) in facts.names.value_uses() {
                let last = spelling.rsplit('.').next().unwrap_or(spelling);
                if !spellings.iter().any(|s| s == last) {
                    continue;
                }
                let root = spelling.split('.').next().unwrap_or(spelling);
                for &at in homes {
                    if self.may_be_a_module(file, &facts.names, root, at)? {
                        escapes = true;
                        break 'files;
                    }
                }
            }
        }
        self.names.escapes.insert(home.to_string(), escapes);
        Ok(escapes)
    }

    /// What [`Engine::module_escapes`] asks of every file, found in one pass over the project
    /// (both sides of changed files): whether any finds modules without naming them, and, per
    /// file, the module and package names it mentions bare ([`bare_mention`]), where it may
    /// hand a module on.
    fn hand_on_index(&mut self) -> Result<Rc<HandOnIndex>> {
        if let Some(index) = &self.names.hand_on {
            return Ok(index.clone());
        }
        let files = self.base_python_files();
        let module_words = hand_on::module_words(files.iter().map(String::as_str));
        // The import index answers for the base side of every file when it was recorded for
        // the same files; only the changed files' new sides are read then.
        let stored = match (self.req.import_index, &self.req.base) {
            (true, Some(base)) => {
                match crate::python::index::IndexReader::open_for(self.req.db.connection(), base)? {
                    Some(reader) => {
                        let fingerprint =
                            hand_on::files_fingerprint(files.iter().map(String::as_str));
                        reader.hand_on_finds_modules(fingerprint)?
                    }
                    None => None,
                }
            }
            _ => None,
        };
        let module_words = WordSet::new(module_words);
        let changed: BTreeSet<String> = self
            .req
            .changes
            .iter()
            .filter_map(|c| c.new_path.clone())
            .filter(|p| p.ends_with(".py"))
            .collect();
        let base_sides = match stored {
            Some(_) => Vec::new(),
            None => files,
        };
        let sides: Vec<(String, bool)> = base_sides
            .into_iter()
            .map(|f| (f, false))
            .chain(changed.into_iter().map(|f| (f, true)))
            .collect();
        // Reading and scanning every file dominates: split over the cores.
        let (root, old_sources) = (self.req.repo_root, &self.old_sources);
        let scan = |part: &[(String, bool)]| {
            let mut out = HandOnIndex::default();
            for (file, new_side) in part {
                let text = match old_sources.get(file) {
                    Some(bytes) if !new_side => Some(bytes.clone()),
                    _ => std::fs::read(root.join(file)).ok(),
                };
                let Some(text) = text else {
                    continue;
                };
                let facts = hand_on::scan(&text, &module_words);
                out.finds_modules |= facts.finds_modules;
                if !facts.bare.is_empty() {
                    out.bare.push(((file.clone(), *new_side), facts.bare));
                }
            }
            out
        };
        let workers = match sides.len() {
            0..64 => 1,
            _ => std::thread::available_parallelism().map_or(1, |n| n.get().min(8)),
        };
        let chunk = sides.len().div_ceil(workers).max(1);
        let parts: Vec<HandOnIndex> = std::thread::scope(|scope| {
            let handles: Vec<_> = sides
                .chunks(chunk)
                .map(|part| scope.spawn(move || scan(part)))
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join().unwrap_or_else(|_| HandOnIndex {
                        // A scan that failed proves nothing: every module may travel.
                        finds_modules: true,
                        ..HandOnIndex::default()
                    })
                })
                .collect()
        });
        let mut index = HandOnIndex {
            finds_modules: stored.unwrap_or(false),
            stored: stored.and(self.req.base.clone()),
            ..HandOnIndex::default()
        };
        for part in parts {
            index.finds_modules |= part.finds_modules;
            index.bare.extend(part.bare);
        }
        let index = Rc::new(index);
        self.names.hand_on = Some(index.clone());
        Ok(index)
    }

    /// Whether `root`, read at `at` in `file`, may hold a module's object: not a variable of
    /// the function it is read in (a parameter or an assignment there: what it holds was
    /// handed on elsewhere, and that hand-on is a value use of its own), nor a module-level
    /// name bound only by `def`, `class` or assignments, nor one imported from outside the
    /// project.
    fn may_be_a_module(
        &mut self,
        file: &str,
        names: &FileNames,
        root: &str,
        at: Home,
    ) -> Result<bool> {
        if let Home::Function(function) = at
            && names.local_to(function, root)
        {
            return Ok(false);
        }
        let bindings: Vec<&BindKind> = names.module_bindings(root).map(|b| &b.kind).collect();
        if !bindings.is_empty() && !bindings.contains(&&BindKind::Import) {
            return Ok(false);
        }
        Ok(!matches!(
            self.binding_of(file, names, root)?,
            Binding::External(_) | Binding::ExternalModule(_)
        ))
    }

    /// What reading the name at `mention` of `file` selects, and what it makes follow.
    fn read_at(
        &mut self,
        file: &str,
        facts: &Facts,
        mention: &Mention,
        follow: &Follow,
        origin: &Origin,
        queue: &mut VecDeque<Follow>,
    ) -> Result<()> {
        let how = if mention.kind == MentionKind::Dynamic {
            "may be read dynamically"
        } else {
            "read"
        };
        let at = format!("{} {how} at {file}:{}", follow.chain, mention.line);
        let reason = |via: &str| {
            Reason::new(Rule::ReadsName)
                .file(origin.file.clone())
                .lines(origin.lines.iter().copied())
                .via(via.to_string())
        };
        if self.is_test_module(file) && !is_conftest(file) {
            let id = self.to_pytest_path(file);
            self.add(id, reason(&at));
            // A measured module that holds tests (doctests) is source code too: the tests that
            // ran the mention are found below.
            if !self.measured.contains_key(file) {
                return Ok(());
            }
        }
        if mention.kind == MentionKind::Doctest {
            // Run as tests of the file, when the suite has them (`--doctest-modules`).
            if self.test_files.contains(file) {
                let id = self.to_pytest_path(file);
                self.add(id, reason(&format!("{at}, in a doctest")));
            }
            return Ok(());
        }
        if is_conftest(file) {
            // A conftest that fails to import fails every test below it.
            if let Home::Statement(index) = mention.home
                && raises_at_import(&facts.names, index, mention, follow).is_some()
            {
                self.select_test_side_users(file, reason(&at));
                return Ok(());
            }
            return self.read_in_conftest(file, facts, mention, &at, origin, queue);
        }
        let Some(&file_id) = self.measured.get(file) else {
            // Test helpers and scripts coverage did not measure: whatever imports them.
            self.select_test_side_users(file, reason(&at));
            self.select_importers(&[file], Rule::ReadsName, &origin.file, &origin.lines)?;
            return Ok(());
        };
        match mention.home {
            Home::Function(index) => {
                let span = facts.syntax.functions()[index].clone();
                // A module `__getattr__` or `__dir__` answers for names it does not bind.
                if matches!(span.qualname.as_str(), "__getattr__" | "__dir__") {
                    return self.every_dependent_of(
                        file,
                        origin,
                        &format!("{at}, in the module's `{}`", span.qualname),
                    );
                }
                // A fixture of a plugin module: the tests that ask for it, anywhere.
                let top = top_level(&facts.syntax, index);
                if let Some(fixture) = facts.names.fixtures().iter().find(|f| f.function == top) {
                    if fixture.autouse {
                        self.run_all(
                            Reason::new(Rule::ReadsName)
                                .file(origin.file.clone())
                                .lines(origin.lines.iter().copied())
                                .via(format!("{at} in autouse fixture `{}`", fixture.name)),
                        );
                    } else {
                        queue.push_back(Follow::new(
                            Target::Fixture {
                                dir: String::new(),
                                name: fixture.name.clone(),
                            },
                            format!("{at} in fixture `{}`", fixture.name),
                        ));
                    }
                }
                let rows = self.rows_of(file_id)?;
                let mask =
                    numbits::encode(mention.stmt_first..=mention.line.max(mention.stmt_first));
                let via = format!("{at} in {}", span.qualname);
                self.select_rows(&rows, Some(&mask), &reason(&via));
                // Run at import: by the empty context, or in a test that imported the module
                // lazily (later tests rely on that run without covering it).
                let body = numbits::encode(span.body_lines());
                let global = self
                    .tests
                    .global_context
                    .and_then(|g| rows.get(g))
                    .is_some_and(|g| numbits::any_intersection(g, &body))
                    || super::module_change::lazy_importers(&facts.syntax, &rows, |c| {
                        self.context_test(c).is_some()
                    })
                    .iter()
                    .any(|blob| numbits::any_intersection(blob, &body));
                // What runs at import may raise on a new value, or on a removed name, there.
                if global
                    && (follow.removed
                        || !follow.docs_only
                            && matches!(
                                mention.kind,
                                MentionKind::Name | MentionKind::Attribute | MentionKind::Dynamic
                            ))
                {
                    return self.every_dependent_of(
                        file,
                        origin,
                        &format!(
                            "{via}, which runs while modules are imported: the new value may raise there"
                        ),
                    );
                }
                if span.memoised || global {
                    let why = if span.memoised {
                        "keeps its result"
                    } else {
                        "runs while modules are imported"
                    };
                    // What it keeps holds no more than another docstring, when that is all
                    // that changed: its state's readers are followed below.
                    if global && span.keeps_state && !follow.docs_only {
                        return self.every_dependent_of(
                            file,
                            origin,
                            &format!(
                                "{via}, which runs while modules are imported and keeps state"
                            ),
                        );
                    }
                    let chain = format!("{via}, which {why}");
                    for target in callers_of(file, &span) {
                        queue.push_back(Follow {
                            target,
                            chain: chain.clone(),
                            removed: false,
                            kept_type: false,
                            docs_only: follow.docs_only,
                        });
                    }
                }
            }
            Home::Statement(index) => {
                // In a `try`, reading a changed name may raise and run the handler instead.
                let guarding = facts.names.guarding(index);
                let statement = facts.names.statements()[guarding].clone();
                // An `__all__` built from a followed name (`__all__ = core.__all__`, `_a + [...]`;
                // not one that lists it as a string): what star imports of this module bring
                // changes, in ways no name tells.
                if (follow.target.name() == "__all__" || mention.kind != MentionKind::String)
                    && statement.binds.iter().any(|b| b.name == "__all__")
                {
                    return self.every_dependent_of(
                        file,
                        origin,
                        &format!("{at}, which builds `__all__` from it"),
                    );
                }
                if let Some(why) = raises_at_import(&facts.names, index, mention, follow)
                    && (!follow.removed || self.still_reads(file, follow.target.name()))
                {
                    return self.every_dependent_of(file, origin, &format!("{at}, {why}"));
                }
                match self.judge(file, &facts.names, &statement, false)? {
                    Verdict::Inert => {}
                    Verdict::Follow(targets) => {
                        let chain = format!("{at}, which binds at import time");
                        // `from m import A, B` hands on B unchanged when A is the name read.
                        let others: BTreeSet<&str> = statement
                            .binds
                            .iter()
                            .filter(|_| guarding == index)
                            .filter(|b| {
                                b.imported
                                    .as_ref()
                                    .and_then(|i| i.names.first())
                                    .is_some_and(|original| original != follow.target.name())
                            })
                            .map(|b| b.name.as_str())
                            .collect();
                        // Copied or combined from a value of the old type: of its old type too.
                        let kept_type = follow.kept_type && mention.value_use <= ValueUse::Combined;
                        for target in targets.into_iter().filter(|t| {
                            !(mention.kind == MentionKind::Name && others.contains(t.name()))
                        }) {
                            // A `try` whose handler ran instead may leave a name unbound.
                            let unbound = guarding != index
                                && statement.maybe_unbound.iter().any(|n| n == target.name());
                            let chain = format!("{chain} `{}`", target.name());
                            let mut next = Follow::new(target, chain);
                            next.kept_type = kept_type && !unbound;
                            next.removed = unbound;
                            next.docs_only = follow.docs_only && !unbound;
                            queue.push_back(next);
                        }
                    }
                    // Only a docstring changed: the statement does what it did, with another
                    // docstring in what it binds and fills.
                    Verdict::Dependents { .. } if follow.docs_only => {
                        let chain = format!("{at}, which hands it on at import time");
                        let targets = statement.binds.iter().map(|b| b.name.clone()).chain(
                            statement.effects.iter().filter_map(|e| match e {
                                Effect::Mutates { root, .. } | Effect::Passes { root, .. } => {
                                    Some(root.clone())
                                }
                                _ => None,
                            }),
                        );
                        for name in targets.collect::<BTreeSet<String>>() {
                            let target = match &statement.class {
                                None => Target::Global {
                                    file: file.to_string(),
                                    name,
                                },
                                Some(_) => Target::Attribute { name },
                            };
                            let chain = format!("{chain} `{}`", target.name());
                            let mut next = Follow::new(target, chain);
                            next.docs_only = true;
                            queue.push_back(next);
                        }
                    }
                    Verdict::Dependents { what, line } => {
                        return self.every_dependent_of(
                            file,
                            origin,
                            &format!(
                                "{at}, in a statement names cannot follow ({what} at {file}:{line})"
                            ),
                        );
                    }
                }
            }
        }
        Ok(())
    }

    /// Whether every module-level binding of `name` in `file` imports it from modules other
    /// than `home` (a re-export through them is followed as a name of theirs).
    fn imported_elsewhere(
        &mut self,
        file: &str,
        names: &FileNames,
        name: &str,
        home: &str,
    ) -> Result<bool> {
        let bindings: Vec<names::Bound> = names.module_bindings(name).cloned().collect();
        // A class body may import it from the home module under the same name.
        let in_a_class = names
            .statements()
            .iter()
            .any(|s| s.class.is_some() && s.binds.iter().any(|b| b.name == name));
        if bindings.is_empty() || in_a_class {
            return Ok(false);
        }
        self.ensure_graph()?;
        let graph = self.graph.as_ref().expect("built above");
        // A star import may bring home's name back over the binding: one that names home, or
        // a module covshard cannot find. One of another module brings that module's names,
        // followed as its own when they are re-exports of home's.
        if names.star_imports().iter().any(|import| {
            let named = graph.module_files(file, import);
            named.is_empty() || named.contains(home)
        }) {
            return Ok(false);
        }
        Ok(bindings.iter().all(|b| {
            b.imported.as_ref().is_some_and(|import| {
                let files = graph.resolve(file, import);
                if files.is_empty() {
                    return is_external(import, home);
                }
                // The name comes from the module the import names (or is its submodule), not
                // from the packages on the way.
                let modules = graph.module_files(file, import);
                let submodule = import.names.first().is_some_and(|n| {
                    let stem = home.strip_suffix(".py").unwrap_or(home);
                    let stem = stem.strip_suffix("/__init__").unwrap_or(stem);
                    files.contains(home) && stem.rsplit('/').next() == Some(n.as_str())
                });
                // `from . import sub` in a package's `__init__.py` names the package itself.
                let from_itself =
                    import.level == 1 && import.module.is_empty() && file.ends_with("__init__.py");
                (!modules.is_empty() || from_itself) && !modules.contains(home) && !submodule
            })
        }))
    }

    /// Whether the base run imported what an external `import` asks for without raising: a
    /// module-level import of the same module and names, outside any `try`, in a file whose
    /// import-time code coverage saw run past it (an import that raised would have stopped it).
    fn imported_in_base_run(&mut self, import: &Import) -> Result<bool> {
        self.ensure_graph()?;
        // The working tree's files, but the base version of those the change modified.
        let changed: Vec<String> = self.old_sources.keys().cloned().collect();
        let mut found: Vec<(String, Vec<Import>)> = self
            .graph
            .as_mut()
            .expect("built above")
            .files_importing(&import.module)?
            .into_iter()
            .filter(|(path, _)| !self.old_sources.contains_key(path))
            .collect();
        for path in changed {
            let base = crate::python::imports::read_imports(&String::from_utf8_lossy(
                &self.old_sources[&path],
            ));
            let same: Vec<Import> = base
                .into_iter()
                .filter(|i| {
                    i.level == 0 && i.module == import.module && !i.in_function && !i.type_checking
                })
                .collect();
            if !same.is_empty() {
                found.push((path, same));
            }
        }
        let wanted: BTreeSet<&str> = import.names.iter().map(String::as_str).collect();
        // The names the base run imported from the module, unguarded, and ran past.
        let mut imported: BTreeSet<String> = BTreeSet::new();
        for (path, imports) in found {
            let Some(&file_id) = self.measured.get(&path) else {
                continue;
            };
            let Some(facts) = self.facts(&path) else {
                continue;
            };
            let rows = self.rows_of(file_id)?;
            // What ran while modules were imported, before any test could patch `sys.modules`.
            let ran: BTreeSet<u32> = self
                .tests
                .global_context
                .and_then(|g| rows.get(g))
                .map(|blob| numbits::decode(blob).into_iter().collect())
                .unwrap_or_default();
            for known in imports {
                if known.names.iter().any(|n| n == "*")
                    || known.names.is_empty() != wanted.is_empty()
                {
                    continue;
                }
                let Some(index) = facts.names.statement_at(known.line) else {
                    continue;
                };
                let statement = &facts.names.statements()[index];
                let unguarded = facts.names.guarding(index) == index
                    && !statement.guarded
                    && !statement.in_with;
                let last = facts.names.statements()[index].last;
                let ran_past = ran
                    .range(last + 1..)
                    .any(|&line| facts.names.statement_at(line).is_some());
                if unguarded && ran.contains(&known.line) && ran_past {
                    imported.extend(known.names.iter().cloned());
                    if wanted.iter().all(|n| imported.contains(*n)) {
                        return Ok(true);
                    }
                }
            }
        }
        Ok(false)
    }

    /// The module-level statements of `file` that only import from modules other than `home`:
    /// the module paths they name are not home's names.
    fn foreign_import_statements(
        &mut self,
        file: &str,
        names: &FileNames,
        home: &str,
    ) -> Result<BTreeSet<usize>> {
        self.ensure_graph()?;
        let graph = self.graph.as_ref().expect("built above");
        // A compound statement (`if`, `try`) holds more than its imports.
        let compound: BTreeSet<usize> =
            names.statements().iter().filter_map(|s| s.parent).collect();
        Ok(names
            .statements()
            .iter()
            .enumerate()
            .filter(|(i, s)| {
                !compound.contains(i)
                    && !s.effects.is_empty()
                    && s.effects.iter().all(|e| match e {
                        Effect::Imports { import } => {
                            // `from m import x` reads `x` of `m` only, not of the packages
                            // on the way (an import finds those in `sys.modules`); a
                            // re-export of home's name is followed as a name of `m`.
                            // `import a.b as x` reads `b` of package `a` (Python 3.7+):
                            // a plain import counts what it runs, packages included.
                            let runs = graph.resolve(file, import);
                            let named = if import.names.is_empty() {
                                runs.clone()
                            } else {
                                graph.module_files(file, import)
                            };
                            if named.is_empty() {
                                runs.is_empty() && is_external(import, home)
                            } else {
                                !named.contains(home)
                            }
                        }
                        _ => false,
                    })
            })
            .map(|(i, _)| i)
            .collect())
    }

    /// Whether the working-tree version of a file the change modified may still read a name
    /// the change removes: it still imports it, or mentions it anywhere (a function, a string)
    /// without binding it itself at module level. A file the change did not touch reads it as
    /// before.
    fn still_reads(&mut self, file: &str, name: &str) -> bool {
        if !self.old_sources.contains_key(file) {
            return true;
        }
        let Some(new) = self.new_facts(file) else {
            return true;
        };
        let names = &new.names;
        if !names.star_imports().is_empty() || !names.parsed() {
            return true;
        }
        let imports_it = names.module_bindings(name).any(|b| {
            b.imported
                .as_ref()
                .is_some_and(|i| i.names.first().is_none_or(|n| n == name))
        });
        let binds_it = names.module_bindings(name).next().is_some();
        let target = Target::Global {
            file: file.to_string(),
            name: name.to_string(),
        };
        super::module_change::read_before_bound(names, &target)
            || !names.dynamic().is_empty()
            || names.mentions_of(name).iter().any(|m| {
                if let Home::Statement(index) = m.home
                    && names.statements()[index].inert
                {
                    return false;
                }
                match m.kind {
                    MentionKind::Store | MentionKind::Parameter => false,
                    MentionKind::Name => imports_it || !binds_it,
                    _ => true,
                }
            })
    }

    /// A mention in a conftest: the tests that use the fixture it lies in; in module-level code
    /// that only binds names, those names within the conftest; anywhere else (a hook, an
    /// autouse fixture, a statement run for its effect), every test below the conftest.
    fn read_in_conftest(
        &mut self,
        file: &str,
        facts: &Facts,
        mention: &Mention,
        at: &str,
        origin: &Origin,
        queue: &mut VecDeque<Follow>,
    ) -> Result<()> {
        let dir = file.rsplit_once('/').map_or("", |(d, _)| d).to_string();
        let function = match mention.home {
            Home::Function(index) => Some(top_level(&facts.syntax, index)),
            Home::Statement(index) => facts
                .syntax
                .functions()
                .iter()
                .position(|f| f.start == facts.names.statements()[index].first),
        };
        let every_test_below = |engine: &mut Self| {
            let reason = Reason::new(Rule::ReadsName)
                .file(origin.file.clone())
                .lines(origin.lines.iter().copied())
                .via(at.to_string());
            engine.select_test_side_users(file, reason);
        };
        match function {
            Some(f) => {
                let span = &facts.syntax.functions()[f];
                match facts.names.fixtures().iter().find(|x| x.function == f) {
                    Some(fixture) if !fixture.autouse => queue.push_back(Follow {
                        target: Target::Fixture {
                            dir,
                            name: fixture.name.clone(),
                        },
                        chain: format!("{at} in fixture `{}`", fixture.name),
                        removed: false,
                        kept_type: false,
                        docs_only: false,
                    }),
                    // A helper of the fixtures: they call it by name.
                    None if !span.qualname.starts_with("pytest_") => queue.push_back(Follow {
                        target: Target::Global {
                            file: file.to_string(),
                            name: span.qualname.clone(),
                        },
                        chain: format!("{at} in `{}`", span.qualname),
                        removed: false,
                        kept_type: false,
                        docs_only: false,
                    }),
                    _ => every_test_below(self),
                }
            }
            None => {
                let Home::Statement(index) = mention.home else {
                    every_test_below(self);
                    return Ok(());
                };
                let statement = facts.names.statements()[index].clone();
                match self.judge(file, &facts.names, &statement, false)? {
                    Verdict::Inert => {}
                    Verdict::Follow(targets) => {
                        for target in targets {
                            let chain = format!("{at}, which binds `{}`", target.name());
                            queue.push_back(Follow::new(target, chain));
                        }
                    }
                    Verdict::Dependents { .. } => every_test_below(self),
                }
            }
        }
        Ok(())
    }

    /// Every dependent of `file`, because names cannot be followed there.
    fn every_dependent_of(&mut self, file: &str, origin: &Origin, via: &str) -> Result<()> {
        let reason = Reason::new(Rule::ImportTime)
            .file(origin.file.clone())
            .lines(origin.lines.iter().copied())
            .via(format!("every dependent of {file}: {via}"));
        let rows = match self.measured.get(file) {
            Some(&file_id) => Some(self.rows_of(file_id)?),
            None => None,
        };
        if let Some(rows) = &rows {
            self.select_rows(rows, None, &reason);
        }
        self.select_test_side_users(file, reason.clone());
        let importers =
            self.select_importers(&[file], Rule::ImportTime, &origin.file, &origin.lines)?;
        // A test module coverage measured has no importers of its own.
        if let Some(rows) = &rows
            && !self.is_test_side(file)
        {
            self.loaded_unseen(rows, importers, &reason);
        }
        Ok(())
    }

    /// A measured file's rows, read once.
    pub(super) fn rows_of(&mut self, file_id: i64) -> Result<Rc<FileRows>> {
        if let Some(rows) = self.names.rows.get(&file_id) {
            return Ok(rows.clone());
        }
        let rows = Rc::new(match self.rows.remove(&file_id) {
            Some(rows) => rows,
            None => self.req.db.line_blobs(file_id)?,
        });
        self.names.rows.insert(file_id, rows.clone());
        Ok(rows)
    }

    /// What a module- or class-level statement of `file` does when it runs again (it read a
    /// changed name) or when it changed itself (`changed`: then what it imports counts too).
    pub(super) fn judge(
        &mut self,
        file: &str,
        names: &FileNames,
        statement: &Statement,
        changed: bool,
    ) -> Result<Verdict> {
        if statement.inert {
            return Ok(Verdict::Inert);
        }
        let mut targets: Vec<Target> = Vec::new();
        for effect in &statement.effects {
            match self.effect_of(file, names, effect, changed)? {
                Judged::Pure => {}
                Judged::Changes(more) => targets.extend(more),
                Judged::Unfollowable(what, line) => {
                    return Ok(Verdict::Dependents { what, line });
                }
            }
        }
        for bound in &statement.binds {
            match &statement.class {
                None => targets.push(Target::Global {
                    file: file.to_string(),
                    name: bound.name.clone(),
                }),
                Some(class) => {
                    targets.push(Target::Attribute {
                        name: bound.name.clone(),
                    });
                    // Generated methods, metaclasses, `__init_subclass__` and special methods
                    // read a class's namespace without naming the attribute: follow the class.
                    if is_special(&bound.name) || !is_plain_class(names, class) {
                        let top = class.split('.').next().unwrap_or(class);
                        targets.push(Target::Global {
                            file: file.to_string(),
                            name: top.to_string(),
                        });
                    }
                }
            }
        }
        targets.sort();
        targets.dedup();
        Ok(Verdict::Follow(targets))
    }

    /// One effect of a statement of `file`.
    fn effect_of(
        &mut self,
        file: &str,
        names: &FileNames,
        effect: &Effect,
        changed: bool,
    ) -> Result<Judged> {
        Ok(match effect {
            // `__all__` lists names as strings: a changed value of one does not change it.
            Effect::Construct { what, .. } if !changed && *what == "`__all__`" => Judged::Pure,
            Effect::Construct { what, line } => Judged::Unfollowable(what.to_string(), *line),
            Effect::Calls { name, line } => match self.binding_of(file, names, name)? {
                Binding::Defined | Binding::Project(_) => {
                    let original = self.original_name(names, name);
                    if self.is_effectful(&original)? {
                        Judged::Unfollowable(
                            format!("a call of `{name}`, which may keep state"),
                            *line,
                        )
                    } else {
                        Judged::Pure
                    }
                }
                Binding::External(original) | Binding::Builtin(original)
                    if names::is_pure_callable(&original) =>
                {
                    Judged::Pure
                }
                _ => Judged::Unfollowable(
                    format!("a call of `{name}`, which covshard cannot see"),
                    *line,
                ),
            },
            Effect::CallsMethod { root, chain, line } => {
                let last = chain.rsplit('.').next().unwrap_or(chain);
                let pure_method = PURE_METHODS.contains(&last);
                let Some(root) = root else {
                    return Ok(if pure_method {
                        Judged::Pure
                    } else {
                        Judged::Unfollowable(
                            format!("a call of `.{last}` on a computed object"),
                            *line,
                        )
                    });
                };
                match self.binding_of(file, names, root)? {
                    Binding::ProjectModule(module_file) => {
                        let parts: Vec<&str> = chain.split('.').collect();
                        if parts.len() == 2 {
                            if self.is_effectful(parts[1])? {
                                Judged::Unfollowable(
                                    format!("a call of `{chain}`, which may keep state"),
                                    *line,
                                )
                            } else {
                                Judged::Pure
                            }
                        } else {
                            // `mod.obj.method(...)`: the object lives in that module.
                            Judged::Changes(vec![Target::Global {
                                file: module_file,
                                name: parts[1].to_string(),
                            }])
                        }
                    }
                    Binding::ExternalModule(module) => {
                        let top = module.split('.').next().unwrap_or(&module);
                        let dotted = chain.replacen(root.as_str(), &module, 1);
                        let direct = chain.matches('.').count() == 1;
                        if PURE_MODULES.contains(&top)
                            && !STATE_CHANGING_CALLS.contains(&dotted.as_str())
                            && (direct || pure_method || names::is_pure_callable(last))
                        {
                            Judged::Pure
                        } else {
                            Judged::Unfollowable(
                                format!("`{chain}`, which may change shared state"),
                                *line,
                            )
                        }
                    }
                    // A project object's method may do anything to it (`app.get("/x")`
                    // registers a route): follow the object.
                    Binding::Defined | Binding::Value => Judged::Changes(vec![Target::Global {
                        file: file.to_string(),
                        name: root.clone(),
                    }]),
                    Binding::Project(origin) => Judged::Changes(self.aliases(file, root, &origin)?),
                    Binding::External(_) | Binding::Builtin(_) if pure_method => Judged::Pure,
                    Binding::External(_) | Binding::Builtin(_) => Judged::Unfollowable(
                        format!("`{chain}`, which may change an object covshard cannot see"),
                        *line,
                    ),
                }
            }
            Effect::Passes { root, line } => match self.binding_of(file, names, root)? {
                // A module handed over is changed by nothing but stores into it, judged apart.
                Binding::ProjectModule(_) | Binding::ExternalModule(_) => Judged::Pure,
                Binding::Project(origin) => Judged::Changes(self.aliases(file, root, &origin)?),
                Binding::Defined | Binding::Value => Judged::Changes(vec![Target::Global {
                    file: file.to_string(),
                    name: root.clone(),
                }]),
                // A builtin or an external object handed over: nothing of the project changes.
                Binding::External(_) | Binding::Builtin(_) => {
                    let _ = line;
                    Judged::Pure
                }
            },
            Effect::Mutates { root, line } => match self.binding_of(file, names, root)? {
                Binding::ProjectModule(_) | Binding::ExternalModule(_) => {
                    Judged::Unfollowable(format!("a store into module `{root}`"), *line)
                }
                Binding::Project(origin) => Judged::Changes(self.aliases(file, root, &origin)?),
                Binding::External(_) | Binding::Builtin(_) => {
                    Judged::Unfollowable(format!("a store into `{root}`"), *line)
                }
                Binding::Defined | Binding::Value => Judged::Changes(vec![Target::Global {
                    file: file.to_string(),
                    name: root.clone(),
                }]),
            },
            Effect::Imports { import } => {
                if !changed {
                    return Ok(Judged::Pure);
                }
                // `from __future__ import annotations` decides whether every annotation of
                // the module runs.
                if import.module == "__future__" {
                    return Ok(Judged::Unfollowable(
                        "a `from __future__` import, which changes how the whole module runs"
                            .to_string(),
                        import.line,
                    ));
                }
                self.ensure_graph()?;
                let files = self
                    .graph
                    .as_ref()
                    .expect("built above")
                    .resolve(file, import);
                // The packages around the importing file ran before it: importing through
                // them runs nothing new.
                for imported in files.into_iter().filter(|f| !is_ancestor_init(f, file)) {
                    if let Some((what, line)) = self.import_effects(&imported)? {
                        return Ok(Judged::Unfollowable(
                            format!(
                                "an import of {imported}, whose import-time code has {what} at line {line}"
                            ),
                            import.line,
                        ));
                    }
                }
                Judged::Pure
            }
        })
    }

    /// What in statement `index` of the new version of `file` may raise at import time: an
    /// import of a module neither the project nor the standard library has, or of a name its
    /// module does not bind; a name read before anything that runs binds it; a computation
    /// that may raise whatever its inputs ([`Statement::computes`]); a statement of a class
    /// whose creation runs code over its namespace (a dataclass, an enum, a metaclass). A
    /// raise there breaks every importer of the module. (An attribute a module lacks,
    /// `os.nope`, is not judged; a collected list, `--collected`, catches every test file that
    /// no longer imports.)
    pub(super) fn may_raise(
        &mut self,
        file: &str,
        names: &FileNames,
        index: usize,
        kept_type: bool,
    ) -> Result<Option<(String, u32)>> {
        let statement = &names.statements()[index];
        if statement.inert {
            return Ok(None);
        }
        // Where a `try` handles it, a raise runs the handler, whose bindings are followed.
        let caught = |line: u32, raise: Raise| {
            names
                .statement_at(line)
                .is_some_and(|at| names.caught(at, raise))
        };
        if let Some((what, line)) = &statement.computes
            && !caught(*line, Raise::Any)
        {
            return Ok(Some((format!("{what}, which may raise,"), *line)));
        }
        let class = match &statement.class {
            Some(outer) => Some(outer.clone()),
            None => statement
                .binds
                .iter()
                .find(|b| b.kind == BindKind::Class)
                .map(|b| b.name.clone()),
        };
        // A field or member whose literal keeps its type, or a method that no hook processes:
        // a dataclass or an enum takes it.
        let method = !statement.binds.is_empty()
            && statement
                .binds
                .iter()
                .all(|b| b.kind == BindKind::Def && !CREATION_HOOKS.contains(&b.name.as_str()));
        let tolerated = |class: &str| {
            tolerates_kept_types(names, class)
                && (method
                    || !checks_values(names, class, 4)
                    || kept_type && statement.literal.is_some())
        };
        // A class attribute that `__slots__` also names: `ValueError` at class creation.
        if let Some(class) = &statement.class {
            let slots = names.statements().iter().enumerate().filter(|(_, s)| {
                s.class.as_deref() == Some(class.as_str())
                    && s.binds.iter().any(|b| b.name == "__slots__")
            });
            for (at, _) in slots {
                let listed = |name: &str| {
                    names
                        .mentions_of(name)
                        .iter()
                        .any(|m| m.kind == MentionKind::String && m.home == Home::Statement(at))
                };
                if let Some(b) = statement.binds.iter().find(|b| listed(&b.name)) {
                    return Ok(Some((
                        format!("`{}`, which `__slots__` of `{class}` names too,", b.name),
                        statement.first,
                    )));
                }
            }
        }
        if let Some(class) = class
            && !is_plain_class(names, &class)
            && !tolerated(&class)
            && !caught(statement.first, Raise::Any)
        {
            return Ok(Some((
                format!("class `{class}`, whose creation runs code over its body,"),
                statement.first,
            )));
        }
        // `LIMIT * SCALE` where both come from another module: their literals' types.
        for (shape, line) in &statement.operators {
            if caught(*line, Raise::Any) {
                continue;
            }
            let mut kinds: HashMap<String, Option<names::LiteralKind>> = HashMap::new();
            let mut unknown = None;
            for name in shape_names(shape) {
                let kind = self.literal_of(file, names, &name, 3)?;
                if kind.is_none() {
                    unknown = Some(name.clone());
                }
                kinds.insert(name, kind);
            }
            if shape
                .kind(&mut |n| kinds.get(n).copied().flatten())
                .is_none()
            {
                let what = match unknown {
                    Some(name) => {
                        format!("an operator on `{name}`, whose type covshard cannot tell,")
                    }
                    None => "an operator on values whose types do not combine,".to_string(),
                };
                return Ok(Some((what, *line)));
            }
        }
        // `Color.PURPLE` where the enum has no such member, `consts.LIMTI`.
        for (root, attribute, line) in &statement.attribute_reads {
            if attribute.starts_with('_') || caught(*line, Raise::Any) {
                continue;
            }
            let lacks = match self.binding_of(file, names, root)? {
                Binding::ProjectModule(module) => {
                    let dir = module.strip_suffix("__init__.py");
                    let submodule = dir.is_some_and(|d| {
                        self.tracked.contains(&format!("{d}{attribute}.py"))
                            || self
                                .tracked
                                .contains(&format!("{d}{attribute}/__init__.py"))
                    });
                    !submodule && !self.binds_in_new(&module, attribute, 3)?
                }
                Binding::Defined => names.class_header(root).is_some_and(|header| {
                    let simple = header.effects.iter().all(|e| {
                        matches!(e, Effect::Calls { name, .. }
                            if matches!(name.as_str(), "object" | "Enum" | "IntEnum" | "StrEnum"))
                    });
                    simple
                        && !names.statements().iter().any(|s| {
                            s.class.as_deref() == Some(root.as_str())
                                && s.binds.iter().any(|b| b.name == *attribute)
                        })
                }),
                _ => false,
            };
            if lacks {
                return Ok(Some((
                    format!("`{root}.{attribute}`, which `{root}` does not bind,"),
                    *line,
                )));
            }
        }
        for effect in &statement.effects {
            let Effect::Imports { import } = effect else {
                continue;
            };
            if caught(import.line, Raise::Import) {
                continue;
            }
            if let Some(what) = self.unresolved_import(file, import)? {
                return Ok(Some((what, import.line)));
            }
        }
        // Names read at import time must be bound by then: by the module (even under
        // `TYPE_CHECKING`, for annotations), by the statement itself (a comprehension's or a
        // lambda's own names), or by Python.
        let mentions = names.mentions_in(index);
        // What a `from` import names is looked up in the other module, checked above.
        let imported: BTreeSet<&str> = statement
            .effects
            .iter()
            .filter_map(|e| match e {
                Effect::Imports { import } => Some(import.names.iter().map(String::as_str)),
                _ => None,
            })
            .flatten()
            .collect();
        let own: BTreeSet<&str> = mentions
            .iter()
            .filter(|(_, m)| matches!(m.kind, MentionKind::Store | MentionKind::Parameter))
            .map(|(name, _)| *name)
            .chain(imported)
            .collect();
        // A name `if TYPE_CHECKING:` alone binds is unbound at run time, where annotations
        // are evaluated (no `from __future__ import annotations`).
        let deferred = names.module_bindings("annotations").any(|b| {
            b.imported
                .as_ref()
                .is_some_and(|i| i.module == "__future__")
        });
        let bound_anywhere = |name: &str| {
            names.module_bindings(name).next().is_some()
                || deferred && names.binds_anywhere(name)
                || own.contains(name)
                || crate::python::runtime::BUILTINS.contains(&name)
                || !names.star_imports().is_empty()
        };
        // A module-level name read before the first statement that binds it.
        let bound_later = |name: &str| {
            names.star_imports().is_empty()
                && !own.contains(name)
                && names.first_binding(name).is_some_and(|first| first > index)
                && !crate::python::runtime::BUILTINS.contains(&name)
        };
        for (name, mention) in mentions.iter().copied() {
            // A class body sees what it bound before, but not in a comprehension's or a
            // lambda's own scope.
            let class_scope = !mention.nested
                && statement.class.as_ref().is_some_and(|c| {
                    names.statements()[..index].iter().any(|s| {
                        s.class.as_deref() == Some(c.as_str())
                            && s.binds.iter().any(|b| b.name == name)
                    })
                });
            if caught(mention.line, Raise::Any) {
                continue;
            }
            if mention.kind == MentionKind::Name && !class_scope && !bound_anywhere(name) {
                return Ok(Some((
                    format!("`{name}`, which nothing binds,"),
                    mention.line,
                )));
            }
            if mention.kind == MentionKind::Name && !class_scope && bound_later(name) {
                return Ok(Some((
                    format!("`{name}`, read before the module binds it,"),
                    mention.line,
                )));
            }
        }
        Ok(None)
    }

    /// Why an import may fail, if it may: its module is neither the project's nor the standard
    /// library's, or the project module does not bind a name it imports.
    fn unresolved_import(&mut self, file: &str, import: &Import) -> Result<Option<String>> {
        self.ensure_graph()?;
        let files = self
            .graph
            .as_ref()
            .expect("built above")
            .resolve(file, import);
        if files.is_empty() {
            let top = if import.level > 0 {
                return Ok(Some(format!(
                    "`from {} import ...`, which covshard cannot find",
                    ".".repeat(import.level as usize) + &import.module
                )));
            } else {
                import.module.split('.').next().unwrap_or(&import.module)
            };
            // `import json` cannot fail; `from json import nope` can, unless the base run
            // imported those names.
            if stdlib_import_cannot_fail(import, top) || self.imported_in_base_run(import)? {
                return Ok(None);
            }
            let what = if crate::python::runtime::STDLIB_MODULES.contains(&top) {
                "a standard-library import that not every Python has, nor the base's code imports"
            } else {
                "neither the project's nor the standard library's, nor imported by the base's code"
            };
            return Ok(Some(match import.names.is_empty() {
                true => format!("an import of `{}`, {what}", import.module),
                false => format!(
                    "`from {} import {}`, {what}",
                    import.module,
                    import.names.join(", ")
                ),
            }));
        }
        let modules = self
            .graph
            .as_ref()
            .expect("built above")
            .module_files(file, import);
        if modules.is_empty() {
            // A package of the project without the module: `ModuleNotFoundError`.
            return Ok(Some(format!(
                "an import of `{}`, which covshard cannot find",
                ".".repeat(import.level as usize) + &import.module
            )));
        }
        // A module the base run never imported, or one the change edits, may raise as it is
        // imported for the first time here.
        for module in files.iter().filter(|f| !is_ancestor_init(f, file)) {
            // A module that imports this one, directly or not, finds it half-initialised.
            let graph = self.graph.as_mut().expect("built above");
            if graph.closure(&[file])?.contains_key(module.as_str()) {
                return Ok(Some(format!(
                    "an import of {module}, which imports {file} in turn (an import cycle)"
                )));
            }
            if let Some((what, line)) = self.module_may_raise(module)? {
                return Ok(Some(format!(
                    "an import of {module}, where {what} (line {line})"
                )));
            }
        }
        for name in import.names.iter().filter(|n| n.as_str() != "*") {
            // A submodule of that name is a file the resolver found.
            let submodule = files.iter().any(|f| {
                let stem = f.strip_suffix(".py").unwrap_or(f);
                let stem = stem.strip_suffix("/__init__").unwrap_or(stem);
                stem.rsplit('/').next() == Some(name.as_str())
            });
            if submodule {
                continue;
            }
            let mut found = false;
            for f in &modules {
                if self.binds_in_new(f, name, 3)? {
                    found = true;
                    break;
                }
            }
            if !found {
                return Ok(Some(format!(
                    "`from {} import {name}`, a name the module does not bind",
                    ".".repeat(import.level as usize) + &import.module
                )));
            }
        }
        Ok(None)
    }

    /// What in the working-tree version of a project module may raise while it is imported,
    /// unless the base run imported it, unchanged, and ran its import-time code (judged once
    /// per module; a module being judged is taken as fine, which ends import cycles).
    fn module_may_raise(&mut self, path: &str) -> Result<Option<(String, u32)>> {
        if let Some(known) = self.names.module_raises.get(path) {
            return Ok(known.clone());
        }
        self.names.module_raises.insert(path.to_string(), None);
        // The lines the change wrote, in a module it modified: only they are new code.
        let written: Option<BTreeSet<u32>> = self
            .req
            .changes
            .iter()
            .find(|c| c.new_path.as_deref() == Some(path))
            .map(|c| c.new_lines.clone());
        let ran = match self.measured.get(path) {
            Some(&file_id) => {
                let rows = self.rows_of(file_id)?;
                self.tests
                    .global_context
                    .and_then(|g| rows.get(g))
                    .is_some_and(|blob| !numbits::decode(blob).is_empty())
            }
            _ => false,
        };
        let mut found = None;
        if let Some(facts) = self.new_facts(path) {
            for index in 0..facts.names.statements().len() {
                let statement = &facts.names.statements()[index];
                // What ran in the base runs again; of a module never run, everything is new.
                let new = match (&written, ran) {
                    // Class bodies run too: their statements are a level of their own.
                    (_, false) => statement.parent.is_none(),
                    (Some(lines), true) => lines
                        .range(statement.first..=statement.last)
                        .next()
                        .is_some(),
                    (None, true) => false,
                };
                if !new {
                    continue;
                }
                if let Some(raise) = self.may_raise(path, &facts.names, index, false)? {
                    found = Some(raise);
                    break;
                }
            }
        }
        self.names
            .module_raises
            .insert(path.to_string(), found.clone());
        Ok(found)
    }

    /// The type of the literal the working-tree version of `file` binds `name` to, through
    /// `depth` imports of the project (`None`: not one literal, or unknown).
    fn literal_of(
        &mut self,
        file: &str,
        names: &FileNames,
        name: &str,
        depth: u32,
    ) -> Result<Option<names::LiteralKind>> {
        let statements: Vec<&Statement> = names
            .statements()
            .iter()
            .filter(|s| s.class.is_none() && !s.inert && s.binds.iter().any(|b| b.name == name))
            .collect();
        if let [only] = statements[..]
            && only.literal.is_some()
        {
            return Ok(only.literal);
        }
        if depth == 0 {
            return Ok(None);
        }
        match self.binding_of(file, names, name)? {
            Binding::Project((home, original)) => match self.new_facts(&home) {
                Some(facts) => self.literal_of(&home, &facts.names, &original, depth - 1),
                None => Ok(None),
            },
            _ => Ok(None),
        }
    }

    /// Whether the working-tree version of `file` binds `name` at its top level, itself or
    /// through star imports (`depth` levels), or answers for any name (`__getattr__`).
    fn binds_in_new(&mut self, file: &str, name: &str, depth: u32) -> Result<bool> {
        let Some(facts) = self.new_facts(file) else {
            return Ok(false);
        };
        if facts.names.module_bindings(name).next().is_some()
            || facts.names.module_bindings("__getattr__").next().is_some()
            || !facts.names.parsed()
        {
            return Ok(true);
        }
        if depth == 0 {
            return Ok(!facts.names.star_imports().is_empty());
        }
        for import in facts.names.star_imports().to_vec() {
            self.ensure_graph()?;
            let files = self
                .graph
                .as_ref()
                .expect("built above")
                .module_files(file, &import);
            if files.is_empty() {
                // A star import from outside the project may bring anything.
                return Ok(true);
            }
            for f in files {
                if f != file && self.binds_in_new(&f, name, depth - 1)? {
                    return Ok(true);
                }
            }
        }
        Ok(false)
    }

    /// The working-tree version of a file, read once.
    pub(super) fn new_facts(&mut self, path: &str) -> Option<Rc<Facts>> {
        if let Some(known) = self.names.new_facts.get(path) {
            return known.clone();
        }
        let facts = std::fs::read(self.req.repo_root.join(path))
            .ok()
            .map(|bytes| {
                let (syntax, names) = names::read(&String::from_utf8_lossy(&bytes));
                Rc::new(Facts { syntax, names })
            });
        self.names.new_facts.insert(path.to_string(), facts.clone());
        facts
    }

    /// The names an object imported from the project goes by: its name here, and its name in
    /// each module it was imported through, up to the one that defines it (`from pkg import
    /// REG` where `pkg/__init__.py` re-exports `REG` of `pkg/reg.py`).
    fn aliases(
        &mut self,
        file: &str,
        name: &str,
        origin: &(String, String),
    ) -> Result<Vec<Target>> {
        let mut out = vec![Target::Global {
            file: file.to_string(),
            name: name.to_string(),
        }];
        let mut at = origin.clone();
        for _ in 0..8 {
            out.push(Target::Global {
                file: at.0.clone(),
                name: at.1.clone(),
            });
            let Some(facts) = self.facts(&at.0) else {
                break;
            };
            match self.binding_of(&at.0, &facts.names, &at.1)? {
                Binding::Project(next) if !out.iter().any(|t| {
                    matches!(t, Target::Global { file, name } if *file == next.0 && *name == next.1)
                }) =>
                {
                    at = next;
                }
                _ => break,
            }
        }
        Ok(out)
    }

    /// Whether importing a project module runs code with effects beyond its own names: a
    /// statement names cannot follow, a change to another module's object, or an import of a
    /// module that has such effects (judged once per module; an import cycle ends because a
    /// module is taken as having none while it is judged).
    fn import_effects(&mut self, file: &str) -> Result<Option<(String, u32)>> {
        if let Some(known) = self.names.import_effects.get(file) {
            return Ok(known.clone());
        }
        self.names.import_effects.insert(file.to_string(), None);
        let mut found = None;
        if let Some(facts) = self.facts(file) {
            'statements: for statement in facts.names.statements() {
                if statement.class.is_some() || statement.inert {
                    continue;
                }
                match self.judge(file, &facts.names, statement, false)? {
                    // A star import shapes the module's own namespace, which names follow.
                    Verdict::Dependents { what, line } if what != "a star import" => {
                        found = Some((what, line));
                        break;
                    }
                    Verdict::Follow(targets) => {
                        if let Some(elsewhere) = targets.iter().find(
                            |t| matches!(t, Target::Global { file: home, .. } if home != file),
                        ) {
                            found = Some((
                                format!("a change to `{}` of another module", elsewhere.name()),
                                statement.first,
                            ));
                            break;
                        }
                    }
                    _ => {}
                }
                for effect in &statement.effects {
                    let Effect::Imports { import } = effect else {
                        continue;
                    };
                    self.ensure_graph()?;
                    let imported = self
                        .graph
                        .as_ref()
                        .expect("built above")
                        .resolve(file, import);
                    for other in imported.into_iter().filter(|f| !is_ancestor_init(f, file)) {
                        if let Some((what, _)) = self.import_effects(&other)? {
                            found = Some((
                                format!("an import of {other}, which has {what}"),
                                import.line,
                            ));
                            break 'statements;
                        }
                    }
                }
            }
        }
        self.names
            .import_effects
            .insert(file.to_string(), found.clone());
        Ok(found)
    }

    /// How `file` binds `name` at its top level.
    pub(super) fn binding_of(
        &mut self,
        file: &str,
        names: &FileNames,
        name: &str,
    ) -> Result<Binding> {
        let all: Vec<names::Bound> = names.module_bindings(name).cloned().collect();
        if all.is_empty() {
            // In a package's `__init__.py`, importing a submodule binds its name there.
            if let Some(dir) = file.strip_suffix("__init__.py") {
                self.ensure_graph()?;
                let graph = self.graph.as_ref().expect("built above");
                for submodule in [
                    format!("{dir}{name}.py"),
                    format!("{dir}{name}/__init__.py"),
                ] {
                    if graph.contains(&submodule) {
                        return Ok(Binding::ProjectModule(submodule));
                    }
                }
            }
            return Ok(Binding::Builtin(name.to_string()));
        }
        // `del toolz` at the end of a module says nothing of what the name was before.
        let bindings: Vec<names::Bound> = all
            .into_iter()
            .filter(|b| b.kind != BindKind::Delete)
            .collect();
        if bindings.is_empty() {
            return Ok(Binding::Value);
        }
        if bindings
            .iter()
            .any(|b| matches!(b.kind, BindKind::Def | BindKind::Class))
        {
            return Ok(Binding::Defined);
        }
        if bindings.iter().any(|b| b.kind == BindKind::Assign) {
            return Ok(Binding::Value);
        }
        // Imports only: the first that resolves to the project decides.
        self.ensure_graph()?;
        for bound in &bindings {
            let Some(import) = &bound.imported else {
                continue;
            };
            let graph = self.graph.as_ref().expect("built above");
            let files = graph.resolve(file, import);
            match import.names.first() {
                None => {
                    // `import a.b`: binds `a`, the top-level package.
                    let top = import.module.split('.').next().unwrap_or(&import.module);
                    return Ok(if files.is_empty() {
                        Binding::ExternalModule(top.to_string())
                    } else {
                        Binding::ProjectModule(files.into_iter().next().unwrap_or_default())
                    });
                }
                Some(original) => {
                    if files.is_empty() {
                        let module = if import.module.is_empty() {
                            original.clone()
                        } else {
                            format!("{}.{original}", import.module)
                        };
                        return Ok(match import.level {
                            0 if PURE_MODULES.contains(&original.as_str())
                                || module.split('.').count() > 1 =>
                            {
                                // `from os import path`: a module of an external package.
                                if names::is_pure_callable(original) {
                                    Binding::External(original.clone())
                                } else {
                                    Binding::ExternalModule(module)
                                }
                            }
                            _ => Binding::External(original.clone()),
                        });
                    }
                    // A submodule (`from pkg import mod`) or a name of a module.
                    let submodule = files.iter().find(|f| {
                        let stem = f.strip_suffix(".py").unwrap_or(f);
                        let stem = stem.strip_suffix("/__init__").unwrap_or(stem);
                        stem.rsplit('/').next() == Some(original.as_str())
                    });
                    if let Some(submodule) = submodule {
                        return Ok(Binding::ProjectModule(submodule.clone()));
                    }
                    let home = graph
                        .module_files(file, import)
                        .into_iter()
                        .next()
                        .or_else(|| files.iter().next_back().cloned())
                        .unwrap_or_default();
                    return Ok(Binding::Project((home, original.clone())));
                }
            }
        }
        Ok(Binding::Value)
    }

    /// The name an imported callable has in its own module.
    fn original_name(&self, names: &FileNames, name: &str) -> String {
        names
            .module_bindings(name)
            .find_map(|b| b.imported.as_ref()?.names.first().cloned())
            .unwrap_or_else(|| name.to_string())
    }

    /// Whether calling a project callable of this name may keep state (`calls::ProjectFacts`).
    fn is_effectful(&mut self, name: &str) -> Result<bool> {
        self.ensure_project_facts()?;
        Ok(self
            .project
            .as_ref()
            .is_some_and(|p| p.effectful.contains(name)))
    }
}

/// Whether an import the resolver finds no file for brings an external module's names
/// (`import pytest`): an absolute import that does not name the home module (which may lie on
/// a path covshard does not know of).
/// The names a [`names::Shape`] combines.
fn shape_names(shape: &names::Shape) -> Vec<String> {
    match shape {
        names::Shape::Kind(_) => Vec::new(),
        names::Shape::Name(n) => vec![n.clone()],
        names::Shape::Op(_, a, b) => {
            let mut out = shape_names(a);
            out.extend(shape_names(b));
            out
        }
    }
}

/// Whether an import of the standard library cannot fail on any Python since 3.8: a module
/// every platform has (or a submodule of [`STDLIB_SUBMODULES`]), and for `from m import n`,
/// names [`STDLIB_NAMES`] lists (or submodules).
fn stdlib_import_cannot_fail(import: &Import, top: &str) -> bool {
    use crate::python::runtime::{
        PLATFORM_MODULES, STDLIB_MODULES, STDLIB_NAMES, STDLIB_SUBMODULES,
    };
    if import.level > 0 || !STDLIB_MODULES.contains(&top) || PLATFORM_MODULES.contains(&top) {
        return false;
    }
    let module = import.module.as_str();
    let known_module = !module.contains('.') || STDLIB_SUBMODULES.contains(&module);
    if !known_module {
        return false;
    }
    let names = STDLIB_NAMES
        .iter()
        .find(|(m, _)| *m == module)
        .map_or(&[][..], |(_, names)| *names);
    import.names.iter().all(|n| {
        names.contains(&n.as_str()) || STDLIB_SUBMODULES.contains(&format!("{module}.{n}").as_str())
    })
}

fn is_external(import: &Import, home: &str) -> bool {
    let stem = module_stem(home);
    import.level == 0
        && !import
            .module
            .split('.')
            .chain(import.names.iter().map(String::as_str))
            .any(|part| part == stem)
}

/// Whether `init` is the `__init__.py` of a package around `file` (Python ran it before
/// `file`).
fn is_ancestor_init(init: &str, file: &str) -> bool {
    init.strip_suffix("__init__.py")
        .is_some_and(|dir| file.starts_with(dir) && init != file)
}

/// The name a module goes by: `consts` of `src/geo/consts.py`, `geo` of `src/geo/__init__.py`.
fn module_stem(path: &str) -> &str {
    let stem = path.strip_suffix(".py").unwrap_or(path);
    let stem = stem.strip_suffix("/__init__").unwrap_or(stem);
    stem.rsplit('/').next().unwrap_or(stem)
}

/// How a module binds a name, as far as its effects are concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Binding {
    /// By `def` or `class`: a project callable.
    Defined,
    /// By assignment: a value.
    Value,
    /// By importing a project module (the file).
    ProjectModule(String),
    /// By importing a module from outside the project (its dotted name).
    ExternalModule(String),
    /// By importing a name of a project module: (the module's file, the name there).
    Project((String, String)),
    /// By importing a name from outside the project (the name there).
    External(String),
    /// Not at all: a builtin.
    Builtin(String),
}

/// What one effect means.
enum Judged {
    Pure,
    /// It changes these objects: follow them as changed names.
    Changes(Vec<Target>),
    /// Names cannot follow it.
    Unfollowable(String, u32),
}

/// The names `enum` reserves for its hooks (`_generate_next_value_`, `_missing_`), which it
/// calls while a subclass's members are made or looked up.
fn is_sunder(name: &str) -> bool {
    name.len() > 2
        && name.starts_with('_')
        && name.ends_with('_')
        && !name.starts_with("__")
        && !name.ends_with("__")
}

/// Special methods and attributes, which Python uses without their names being written.
fn is_special(name: &str) -> bool {
    name.len() > 4 && name.starts_with("__") && name.ends_with("__")
}

/// Why reading the followed name at `mention`, in module- or class-level statement `index`,
/// may raise at import time: a removed name read there (as a name, an attribute, an import,
/// `getattr(m, "NAME")`, in `__all__`), or a new value worked on there (see
/// [`Mention::value_use`]) or in the body of a class whose creation reads its namespace (a
/// dataclass checks its defaults, an enum its members). A raise there breaks every importer.
fn raises_at_import(
    names: &FileNames,
    index: usize,
    mention: &Mention,
    follow: &Follow,
) -> Option<&'static str> {
    let statement = &names.statements()[index];
    if statement.inert {
        return None;
    }
    let reads = matches!(
        mention.kind,
        MentionKind::Name | MentionKind::Attribute | MentionKind::Dynamic
    );
    // `try: from m import A, B` / `except ImportError:` runs the handler, which is followed.
    let imports = statement
        .effects
        .iter()
        .any(|e| matches!(e, Effect::Imports { .. }));
    if follow.removed
        && (reads || mention.kind == MentionKind::String)
        && !(imports && names.caught(index, Raise::Import))
    {
        return Some("a name the change removes, read at import time");
    }
    if !reads || names.caught(index, Raise::Any) || follow.docs_only {
        return None;
    }
    match mention.value_use {
        ValueUse::WorkedOn => {
            return Some("worked on at import time: the new value may raise there");
        }
        ValueUse::Combined | ValueUse::Tested | ValueUse::Accessed if !follow.kept_type => {
            return Some("used at import time: a value of another type may raise there");
        }
        _ => {}
    }
    let hooked = statement.class.as_ref().is_some_and(|class| {
        !(is_plain_class(names, class)
            || tolerates_kept_types(names, class)
                && (follow.kept_type || !checks_values(names, class, 4)))
    });
    hooked
        .then_some("in the body of a class whose creation reads it: the new value may raise there")
}

/// Whether creating class `qualname` cannot raise on a field or member value that keeps its
/// type, or on a new method: a dataclass (it checks defaults for mutable types), an enum, an
/// abstract base, with bases that are plain, of those kinds, or such classes of the module,
/// and no method of [`CREATION_HOOKS`] in its body.
pub(super) fn tolerates_kept_types(names: &FileNames, qualname: &str) -> bool {
    tolerates_within(names, qualname, 4)
}

fn tolerates_within(names: &FileNames, qualname: &str, depth: u32) -> bool {
    let Some(header) = names.class_header(qualname) else {
        return false;
    };
    // An enum runs `__init__` and `__new__` on every member as the class is created.
    let enum_like = header.effects.iter().any(|e| match e {
        Effect::Calls { name, .. } => name.ends_with("Enum") || name.ends_with("Flag"),
        Effect::CallsMethod { chain, .. } => chain.ends_with("Enum") || chain.ends_with("Flag"),
        _ => false,
    });
    let hooks = names.statements().iter().any(|s| {
        s.class.as_deref() == Some(qualname)
            && s.binds.iter().any(|b| {
                CREATION_HOOKS.contains(&b.name.as_str())
                    && (enum_like || !matches!(b.name.as_str(), "__init__" | "__new__"))
            })
    });
    !hooks
        && header.effects.iter().all(|e| match e {
            Effect::Calls { name, .. } => {
                names::PLAIN_BASES.contains(&name.as_str())
                    || tolerant_hook(name)
                    || depth > 0
                        && !qualname.contains('.')
                        && tolerates_within(names, name, depth - 1)
            }
            Effect::CallsMethod { chain, .. } => tolerant_hook(chain),
            _ => false,
        })
}

/// Whether a class decorator or base, by its dotted name, accepts any field or member value of
/// a kept type and any new method: [`TOLERANT_HOOKS`], and the abstract bases of `abc` and
/// `collections.abc` ([`names::ABSTRACT_BASES`]).
fn tolerant_hook(name: &str) -> bool {
    let (module, last) = name.rsplit_once('.').unwrap_or(("", name));
    TOLERANT_HOOKS.contains(&name)
        || matches!(module, "" | "abc" | "collections.abc" | "typing")
            && names::ABSTRACT_BASES.contains(&last)
}

/// Whether creating class `qualname` looks at its attributes' values: a dataclass (mutable
/// defaults), an enum (its members), or a class of the module derived from one; an abstract
/// base only collects the abstract methods.
fn checks_values(names: &FileNames, qualname: &str, depth: u32) -> bool {
    let Some(header) = names.class_header(qualname) else {
        return true;
    };
    header.effects.iter().any(|e| {
        let name = match e {
            Effect::Calls { name, .. } => name.as_str(),
            Effect::CallsMethod { chain, .. } => chain.as_str(),
            _ => return true,
        };
        name.ends_with("dataclass")
            || name.ends_with("Enum")
            || name.ends_with("Flag")
            || depth > 0
                && names.class_header(name).is_some()
                && name != qualname
                && checks_values(names, name, depth - 1)
    })
}

/// Methods that run while a class is created, or that a dataclass or an enum refuses or runs
/// on every member: defining or changing one may raise at import.
pub(super) const CREATION_HOOKS: &[&str] = &[
    "__init__",
    "__new__",
    "__init_subclass__",
    "__set_name__",
    "__setattr__",
    "__delattr__",
    "__hash__",
    "_missing_",
    "_generate_next_value_",
    "_ignore_",
    "_order_",
];

/// Class decorators and bases that accept any field or member value of a kept type, and any
/// new method: a dataclass, an enum, `Generic` and `Protocol` (abstract bases: see
/// [`tolerant_hook`]; instantiating one raises in the tests that do it, which read the class).
const TOLERANT_HOOKS: &[&str] = &[
    "dataclass",
    "dataclasses.dataclass",
    "Enum",
    "IntEnum",
    "StrEnum",
    "enum.Enum",
    "enum.IntEnum",
    "enum.StrEnum",
    "Generic",
    "typing.Generic",
    "Protocol",
    "typing.Protocol",
];

/// A class with no decorator, keyword or base that could read its namespace when it is created
/// (a dataclass, an enum, a metaclass, a base with `__init_subclass__` are not plain).
fn is_plain_class(names: &FileNames, qualname: &str) -> bool {
    plain_within(names, qualname, 4)
}

/// [`is_plain_class`], following bases of the same module `depth` levels up; such a base must
/// not hook its subclasses' creation (`__init_subclass__`, `__set_name__`, `__class_getitem__`).
fn plain_within(names: &FileNames, qualname: &str, depth: u32) -> bool {
    let Some(header) = names.class_header(qualname) else {
        return false;
    };
    header.effects.iter().all(|e| match e {
        Effect::Calls { name, .. } if names::PLAIN_BASES.contains(&name.as_str()) => true,
        Effect::Calls { name, .. } => {
            depth > 0
                && !qualname.contains('.')
                && plain_within(names, name, depth - 1)
                && !names.statements().iter().any(|s| {
                    s.class.as_deref() == Some(name.as_str())
                        && s.binds.iter().any(|b| {
                            matches!(
                                b.name.as_str(),
                                "__init_subclass__" | "__set_name__" | "__class_getitem__"
                            )
                        })
                })
        }
        _ => false,
    })
}

/// The outermost function around function `index` (in source pre-order, the last one before
/// it at the top level that contains it).
fn top_level(syntax: &ModuleSyntax, index: usize) -> usize {
    let functions = syntax.functions();
    let Some(target) = functions.get(index) else {
        return index;
    };
    functions
        .iter()
        .enumerate()
        .take(index + 1)
        .find(|(_, f)| !f.qualname.contains('.') && f.start <= target.start && target.end <= f.end)
        .map_or(index, |(i, _)| i)
}

/// Who gets what a memoised function, or one run at import time, hands out: its callers (by
/// its name, or its outermost function's for a nested one) and the readers of the state it
/// keeps.
pub(super) fn callers_of(file: &str, span: &FunctionSpan) -> Vec<Target> {
    let global = |name: &str| Target::Global {
        file: file.to_string(),
        name: name.to_string(),
    };
    let qualname = &span.qualname;
    let mut out = Vec::new();
    if qualname.contains("<locals>") || !qualname.contains('.') {
        out.push(global(qualname.split('.').next().unwrap_or(qualname)));
    } else {
        let last = qualname.rsplit('.').next().unwrap_or(qualname);
        out.push(Target::Attribute {
            name: last.to_string(),
        });
        // Python calls special methods (and enum's `_generate_next_value_`), and the test
        // runner a class's xunit setup and its fixtures, for the class and its subclasses
        // without naming them: follow the class.
        if is_special(last) || is_sunder(last) || span.shared_fixture {
            out.push(global(qualname.split('.').next().unwrap_or(qualname)));
        }
    }
    out.extend(state_targets(file, span));
    out
}

/// Where a function keeps state, as names to follow: module-level names of `file`, and
/// attributes.
pub(super) fn state_targets(file: &str, span: &FunctionSpan) -> Vec<Target> {
    span.state
        .iter()
        .filter_map(|root| match root.strip_prefix('.') {
            Some("") => None,
            Some(attribute) => Some(Target::Attribute {
                name: attribute.to_string(),
            }),
            None => Some(Target::Global {
                file: file.to_string(),
                name: root.to_string(),
            }),
        })
        .collect()
}

/// For tests: the targets a statement of a source would make follow, by line.
#[cfg(test)]
pub(super) fn plain_targets(source: &str, line: u32) -> Vec<String> {
    let (_, names) = names::read(source);
    let Some(i) = names.statement_at(line) else {
        return Vec::new();
    };
    names.statements()[i]
        .binds
        .iter()
        .map(|b| b.name.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn callers_of_functions_methods_and_closures() {
        let span = |qualname: &str, state: &[&str]| FunctionSpan {
            qualname: qualname.into(),
            start: 1,
            def_line: 1,
            header_end: 1,
            end: 2,
            is_async: false,
            memoised: true,
            shared_fixture: false,
            keeps_state: !state.is_empty(),
            state: state.iter().map(|s| s.to_string()).collect(),
            docstring: None,
            may_read_docs: true,
        };
        let names = |targets: Vec<Target>| -> Vec<String> {
            targets
                .into_iter()
                .map(|t| match t {
                    Target::Global { name, .. } => format!("global {name}"),
                    Target::Attribute { name } => format!("attribute {name}"),
                    Target::Fixture { name, .. } => format!("fixture {name}"),
                })
                .collect()
        };
        assert_eq!(
            names(callers_of("m.py", &span("detect", &[]))),
            ["global detect"]
        );
        assert_eq!(
            names(callers_of("m.py", &span("C.price", &[".seen"]))),
            ["attribute price", "attribute seen"]
        );
        assert_eq!(
            names(callers_of("m.py", &span("memoize.<locals>.wrapper", &[]))),
            ["global memoize"]
        );
        assert_eq!(
            names(callers_of("m.py", &span("register", &["CODECS"]))),
            ["global register", "global CODECS"]
        );
        assert_eq!(
            names(callers_of("m.py", &span("C.__hash__", &[]))),
            ["attribute __hash__", "global C"]
        );
    }

    #[test]
    fn plain_classes() {
        let (_, names) = names::read(
            "class A:\n    x = 1\nclass B(Exception):\n    pass\n@dataclass\nclass C:\n    y: int = 0\nclass D(Base):\n    pass\nclass E(metaclass=M):\n    pass\n",
        );
        assert!(is_plain_class(&names, "A"));
        assert!(is_plain_class(&names, "B"));
        assert!(!is_plain_class(&names, "C"));
        assert!(!is_plain_class(&names, "D"));
        assert!(!is_plain_class(&names, "E"));
        let (_, names) = names::read(
            "class A:\n    pass\nclass B(A):\n    pass\nclass H:\n    def __init_subclass__(cls):\n        pass\nclass I(H):\n    pass\n",
        );
        assert!(
            is_plain_class(&names, "B"),
            "a plain base of the same module"
        );
        assert!(
            !is_plain_class(&names, "I"),
            "a base that hooks its subclasses"
        );
        assert_eq!(plain_targets("X = 1\nY, Z = 2, 3\n", 2), ["Y", "Z"]);
    }
}
