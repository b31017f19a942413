//! A change to a measured Python module, classified in one place: which functions' bodies it
//! touches ([`Touched::bodies`]), which module- and class-level statements ([`Touched::statements`],
//! whose names the names rule follows), and where neither can be read (no base source, a
//! syntax error, a diff that does not fit), which sends it to every dependent.
//!
//! Then each part goes to its rule: a function body to the tests that ran it (escalated when the
//! function is memoised, runs at import time or feeds a memoised function), a statement to
//! [`super::names`] or, with `selection.import_time = "dependents"`, every dependent of the
//! module.

use std::collections::{BTreeMap, BTreeSet};

use super::names::{Binding, Follow, Origin, Target, Verdict, callers_of, state_targets};
use super::{Engine, Reason, Rule, align, changed_old_lines, star_list};
use crate::config::{Granularity, ImportTime};
use crate::coverage::{FileRows, numbits};
use crate::diff::{ChangeKind, FileChange};
use crate::error::Result;
use crate::python::names::{FileNames, LiteralKind};
use crate::python::{self, FunctionSpan, ModuleSyntax};

/// How a function ran at import time when a test imported its module lazily.
const LAZY_IMPORT: &str = "ran while a test imported the module";

/// An old function, by its span and qualified name.
type FunctionKey = (u32, u32, String);

/// Which side of the diff a statement is read on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Side {
    Old,
    New,
}

/// What a change touches in one module.
#[derive(Debug, Default)]
struct Touched {
    /// Old functions whose bodies changed, with the old lines near the change.
    bodies: BTreeMap<FunctionKey, BTreeSet<u32>>,
    /// Module- and class-level statements that changed, on the side they are read on.
    statements: BTreeSet<(Side, usize)>,
    /// Changed lines that lie in no statement and no function body (kept for safety).
    stray: BTreeSet<u32>,
    /// Lines in the body of a function new to the file, outside any statement the new side
    /// has (a body line of a new method in an existing class is in its `def`'s statement).
    new_functions: BTreeSet<u32>,
}

/// Both versions of a changed module, read.
struct Versions {
    /// The change, without comment and blank lines.
    change: FileChange,
    old: ModuleSyntax,
    new: ModuleSyntax,
    old_names: FileNames,
    new_names: FileNames,
    alignment: align::Alignment,
}

impl Engine<'_> {
    pub(super) fn apply_measured_python(
        &mut self,
        change: &FileChange,
        file_id: i64,
    ) -> Result<()> {
        let old_path = change.old_path.clone().unwrap_or_default();
        let rows = match self.rows.remove(&file_id) {
            Some(rows) => rows,
            None => self.req.db.line_blobs(file_id)?,
        };
        if matches!(change.kind(), ChangeKind::Deleted | ChangeKind::Renamed) {
            self.select_observers(&old_path, true)?;
            let reason = Reason::new(Rule::DeletedFile).file(old_path.clone());
            return self.select_dependents(
                change,
                &rows,
                reason,
                Rule::ImportsChanged,
                &[],
                "deleted or renamed: every test that covered or imports it",
            );
        }
        let versions = self.read_versions(change);
        // Tests coverage cannot see run it: in a child process, or by its line numbers.
        self.select_observers(&old_path, !matches!(versions, Ok(None)))?;
        if !matches!(versions, Ok(None)) {
            self.select_module_doctests(change);
        }
        let versions = match versions {
            Ok(Some(versions)) => versions,
            Ok(None) => {
                self.note(
                    change,
                    "comments and blank lines only: the tests that read line numbers or source",
                );
                return Ok(());
            }
            Err(handling) => {
                let lines = changed_old_lines(change);
                let reason = Reason::new(Rule::ImportTime)
                    .file(old_path)
                    .lines(lines.iter().copied());
                return self.select_dependents(
                    change,
                    &rows,
                    reason,
                    Rule::ImportTime,
                    &lines,
                    handling,
                );
            }
        };
        match self.req.config.selection.import_time {
            ImportTime::Dependents => self.apply_by_dependents(&versions, &old_path, &rows),
            ImportTime::Names => self.apply_by_names(&versions, &old_path, file_id, rows),
        }
    }

    /// Read the base and working-tree versions; `Err` says why they cannot be read (every
    /// dependent then), `Ok(None)` that only comments and blank lines changed.
    fn read_versions(
        &mut self,
        change: &FileChange,
    ) -> std::result::Result<Option<Versions>, &'static str> {
        let old_path = change.old_path.clone().unwrap_or_default();
        let old_source = self.old_source(&old_path);
        let new_source = change
            .new_path
            .as_ref()
            .and_then(|p| std::fs::read_to_string(self.req.repo_root.join(p)).ok());
        let (Some(old_source), Some(new_source)) = (old_source, new_source) else {
            return Err("base source unavailable: treated as import-time");
        };
        let (old, old_names) = python::names::read(&old_source);
        let (new, new_names) = python::names::read(&new_source);
        let alignment = align::Alignment::new(change, old.line_count(), new.line_count());
        if !alignment.fits() {
            self.out.warnings.push(format!(
                "the diff of {} does not fit its base and working-tree versions: every change to it is treated as import-time",
                change.path()
            ));
            return Err("the diff does not fit the sources: treated as import-time");
        }
        // Blank lines and comments cannot change what runs: drop them from the change, and
        // the lines of a stretch replaced line for line with the same code and other comments.
        let mut change = change.clone();
        let old_lines = python::trivia::lines(&old_source);
        let new_lines = python::trivia::lines(&new_source);
        for (olds, news) in alignment.blocks(old.line_count(), new.line_count()) {
            let same = olds.len() == news.len()
                && olds.clone().zip(news.clone()).all(|(o, n)| {
                    let o = old_lines.without_comments.get(o as usize);
                    let n = new_lines.without_comments.get(n as usize);
                    o.is_some() && o == n
                });
            if same {
                olds.for_each(|l| {
                    change.old_lines.remove(&l);
                });
                news.for_each(|l| {
                    change.new_lines.remove(&l);
                });
            }
        }
        change.old_lines.retain(|l| old_lines.code.contains(l));
        change.new_lines.retain(|l| new_lines.code.contains(l));
        if change.old_lines.is_empty() && change.new_lines.is_empty() {
            return Ok(None);
        }
        if !old.parsed() || !new.parsed() {
            return Err("a syntax error: treated as import-time");
        }
        Ok(Some(Versions {
            change,
            old,
            new,
            old_names,
            new_names,
            alignment,
        }))
    }

    /// Function bodies, placed on the old side (new-side lines by position, `align`), and
    /// statements, on the side each line is read on.
    fn touched(&self, v: &Versions) -> Touched {
        let change = &v.change;
        let mut touched = Touched::default();
        for &line in &change.old_lines {
            if let Some(f) = v.old.enclosing_bodies(line).next() {
                touched
                    .bodies
                    .entry((f.start, f.end, f.qualname.clone()))
                    .or_default()
                    .insert(line);
            } else {
                // In a `try`, the changed statement may now raise and run the handler.
                match v
                    .old_names
                    .statement_at(line)
                    .map(|i| v.old_names.guarding(i))
                {
                    Some(i) => {
                        touched.statements.insert((Side::Old, i));
                    }
                    None => {
                        touched.stray.insert(line);
                    }
                }
            }
        }
        for &line in &change.new_lines {
            if v.new.enclosing_bodies(line).next().is_none() {
                match v
                    .new_names
                    .statement_at(line)
                    .map(|i| v.new_names.guarding(i))
                {
                    Some(i) => {
                        touched.statements.insert((Side::New, i));
                    }
                    None => {
                        touched.stray.insert(line);
                    }
                }
                continue;
            }
            match align::place(line, &v.old, &v.new, &v.alignment) {
                align::Placement::Functions(functions) => {
                    for f in functions {
                        let near: Vec<u32> = changed_old_lines(change)
                            .into_iter()
                            .filter(|l| (f.start..=f.end).contains(l))
                            .collect();
                        touched
                            .bodies
                            .entry((f.start, f.end, f.qualname.clone()))
                            .or_default()
                            .extend(near);
                    }
                }
                align::Placement::NewFunction => {
                    // The body of a function the base does not have: its `def` is new too, and
                    // binds its name.
                    let outer = v.new.enclosing_bodies(line).last().expect("checked above");
                    match v
                        .new_names
                        .statement_at(outer.start)
                        .map(|i| v.new_names.guarding(i))
                    {
                        Some(i) => {
                            touched.statements.insert((Side::New, i));
                        }
                        None => {
                            touched.new_functions.insert(line);
                        }
                    }
                }
            }
        }
        touched
    }

    /// The `def` and `class` statements (new side) whose decorators received a changed
    /// docstring while the module imported, with those decorators: a decorator may read it (a
    /// CLI framework's help text, a router's description, through `inspect.getdoc` in code
    /// covshard cannot see). A method's docstring reaches its class's decorators too.
    fn decorated_docstrings(&self, v: &Versions, touched: &Touched) -> Vec<(usize, Vec<String>)> {
        let mut headers: Vec<u32> = Vec::new();
        let mut classes: BTreeSet<String> = docstrings_toggled(v).into_iter().flatten().collect();
        for (start, end, qualname) in touched.bodies.keys() {
            if let Some(span) = find_span(&v.old, *start, *end, qualname)
                && docstring_touched(v, span).is_some()
                && let Some(new) = v.new.functions().iter().find(|f| f.qualname == *qualname)
            {
                headers.push(new.start);
                classes.extend(enclosing_classes(qualname));
            }
        }
        for &(side, index) in &touched.statements {
            let names = match side {
                Side::Old => &v.old_names,
                Side::New => &v.new_names,
            };
            let statement = &names.statements()[index];
            if let Some(class) = &statement.class
                && !statement.binds.is_empty()
                && statement.binds.iter().all(|b| b.name == "__doc__")
            {
                classes.insert(class.clone());
                classes.extend(enclosing_classes(class));
            }
        }
        headers.extend(
            classes
                .iter()
                .filter_map(|class| v.new_names.class_header(class))
                .map(|header| header.first),
        );
        let mut out: Vec<(usize, Vec<String>)> = headers
            .into_iter()
            .filter_map(|line| v.new_names.statement_at(line))
            .map(|i| (i, v.new_names.statements()[i].doc_readers.clone()))
            .filter(|(_, decorators)| !decorators.is_empty())
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// What a decorator that received a changed docstring may have handed it to, as names to
    /// follow for their readers (`docs_only`: the docstring is all that changed): the object it
    /// hangs from (`cli` of `@cli.command()`, `app` of `@app.get("/")`), where that object comes
    /// from when it is imported; and for a decorator the project defines, what it stores into
    /// (`COMMANDS` of `def command(f): COMMANDS.append(f)`). A decorator from outside the
    /// project hands its result to the decorated name, which is followed already.
    fn decorator_follows(
        &mut self,
        v: &Versions,
        decorator: &str,
        chain: &str,
    ) -> Result<Option<Vec<Follow>>> {
        let path = v.change.path().to_string();
        let mut segments = decorator.split('.');
        let root = segments.next().unwrap_or(decorator);
        let second = segments.next();
        let mut targets: Vec<Target> = Vec::new();
        let global = |file: &str, name: &str| Target::Global {
            file: file.to_string(),
            name: name.to_string(),
        };
        // A project function's code: what it keeps state in.
        let stores = |file: &str, syntax: &ModuleSyntax, qualname: &str| -> Vec<Target> {
            let nested = format!("{qualname}.<locals>.");
            syntax
                .functions()
                .iter()
                .filter(|f| f.qualname == qualname || f.qualname.starts_with(&nested))
                .flat_map(|f| state_targets(file, f))
                .collect()
        };
        // A function of the project (`@register`) that only stores what it is given: what it
        // stores into, not its name, which the other definitions it decorates read; one that
        // hands it to other code (`cli.command()(f)`), or a class, cannot tell. An object
        // (`cli`): its name, here and where it is made.
        enum Kind {
            Stores,
            HandsOn,
            Other,
        }
        let kind = |syntax: &ModuleSyntax, names: &FileNames, name: &str| match syntax
            .functions()
            .iter()
            .find(|f| f.qualname == name)
        {
            Some(f) if f.may_read_docs => Kind::HandsOn,
            Some(_) => Kind::Stores,
            None if names.class_header(name).is_some() => Kind::HandsOn,
            None => Kind::Other,
        };
        if root.is_empty() {
            return Ok(None);
        }
        match self.binding_of(&path, &v.new_names, root)? {
            Binding::Defined | Binding::Value => match kind(&v.new, &v.new_names, root) {
                Kind::Stores if second.is_none() => targets.extend(stores(&path, &v.new, root)),
                Kind::HandsOn if second.is_none() => return Ok(None),
                _ => targets.push(global(&path, root)),
            },
            Binding::Project((home, original)) => {
                let Some(facts) = self.facts(&home) else {
                    return Ok(None);
                };
                match kind(&facts.syntax, &facts.names, &original) {
                    Kind::Stores if second.is_none() => {
                        targets.extend(stores(&home, &facts.syntax, &original));
                    }
                    Kind::HandsOn if second.is_none() => return Ok(None),
                    _ => {
                        // Made there, not imported there from elsewhere (a re-export).
                        let made = facts
                            .names
                            .module_bindings(&original)
                            .any(|b| b.imported.is_none());
                        if !made {
                            return Ok(None);
                        }
                        targets.push(global(&home, &original));
                        targets.push(global(&path, root));
                    }
                }
            }
            // Their result is bound to the decorated name, which is followed already.
            Binding::ExternalModule(_) | Binding::External(_) => {}
            Binding::ProjectModule(_) | Binding::Builtin(_) => return Ok(None),
        }
        Ok(Some(
            targets
                .into_iter()
                .map(|target| {
                    let mut follow = Follow::new(target, chain.to_string());
                    follow.docs_only = true;
                    follow
                })
                .collect(),
        ))
    }

    /// The rule with `import_time = "dependents"`: any import-time or memoised change reaches
    /// every dependent of the module.
    fn apply_by_dependents(&mut self, v: &Versions, old_path: &str, rows: &FileRows) -> Result<()> {
        let change = &v.change;
        let global_blob: Option<&[u8]> = self.tests.global_context.and_then(|g| rows.get(g));
        let mut module_level: BTreeSet<u32> = BTreeSet::new();
        let mut memoised = false;
        for &line in &change.old_lines {
            if v.old.affects_dependents(line) {
                memoised |= v.old.is_memoised(line);
                module_level.insert(line);
            }
            if global_blob.is_some_and(|b| numbits::contains(b, line)) {
                module_level.insert(line);
            }
        }
        for &line in &change.new_lines {
            if v.new.affects_dependents(line) {
                memoised |= v.new.is_memoised(line);
                module_level.extend(changed_old_lines(change));
            }
        }
        let all_old = changed_old_lines(change);
        if !module_level.is_empty() {
            let rule = if memoised {
                Rule::Memoised
            } else {
                Rule::ImportTime
            };
            let lines: Vec<u32> = module_level.into_iter().collect();
            let reason = Reason::new(rule)
                .file(old_path.to_string())
                .lines(lines.iter().copied());
            let handling = if rule == Rule::Memoised {
                "memoised function: every dependent"
            } else {
                "import-time code: every dependent"
            };
            return self.select_dependents(change, rows, reason, rule, &lines, handling);
        }
        let mut touched = self.touched(v);
        // A decorator that received a changed docstring: as if its line changed.
        for (index, _) in self.decorated_docstrings(v, &touched) {
            let index = v.new_names.guarding(index);
            touched.statements.insert((Side::New, index));
        }
        if !touched.new_functions.is_empty() || !touched.statements.is_empty() {
            // A body line whose function the base does not have: every dependent.
            let reason = Reason::new(Rule::ImportTime)
                .file(old_path.to_string())
                .lines(all_old.iter().copied());
            return self.select_dependents(
                change,
                rows,
                reason,
                Rule::ImportTime,
                &all_old,
                "body of a function new to the file: every dependent",
            );
        }
        if let Some((qualname, how)) = self
            .run_at_import(&v.old, rows, &touched.bodies)
            .into_iter()
            .next()
        {
            let reason = Reason::new(Rule::ImportTime)
                .file(old_path.to_string())
                .lines(all_old.iter().copied())
                .via(format!("{qualname} {how}"));
            let handling = if how == LAZY_IMPORT {
                "function run at a lazy import: every dependent"
            } else {
                "function run at import time: every dependent"
            };
            return self.select_dependents(
                change,
                rows,
                reason,
                Rule::ImportTime,
                &all_old,
                handling,
            );
        }
        let reached = self.memo_reach(old_path, rows, &touched.bodies)?;
        self.select_memo_dependents(old_path, rows, &reached, &all_old)?;
        // A function module-level code hands to a call: every dependent of that code.
        let holders: BTreeSet<String> = self
            .handed_on(old_path, &top_level_functions(&touched))?
            .into_iter()
            .filter_map(|f| match f.target {
                Target::Global { file, .. } => Some(file),
                _ => None,
            })
            .collect();
        for holder in holders {
            self.select_importers(&[holder.as_str()], Rule::Memoised, old_path, &all_old)?;
        }
        self.select_bodies(old_path, rows, &touched.bodies);
        self.note(change, self.bodies_handling());
        Ok(())
    }

    /// The names rule (`import_time = "names"`): function bodies to the tests that ran them,
    /// statements and what memoised or import-run functions hand out to the names they bind.
    fn apply_by_names(
        &mut self,
        v: &Versions,
        old_path: &str,
        file_id: i64,
        rows: FileRows,
    ) -> Result<()> {
        let change = &v.change;
        let all_old = changed_old_lines(change);
        let origin = Origin {
            file: old_path.to_string(),
            lines: all_old.clone(),
        };
        let touched = self.touched(v);
        if let Some(&line) = touched.stray.iter().chain(&touched.new_functions).next() {
            return self.import_time_dependents(
                change,
                old_path,
                &rows,
                &all_old,
                format!("line {line} lies in no statement covshard can read"),
                "import-time code covshard cannot read: every dependent",
            );
        }
        let mut follows: Vec<Follow> = Vec::new();
        let mut handling: Vec<&str> = Vec::new();
        let unchanged = unchanged_imports(v, &touched);
        // Statements: what they bind, or every dependent where names cannot follow.
        if !touched.statements.is_empty() {
            // Tests that imported the module inside a test ran its import-time code then.
            let importers = lazy_importers(&v.old, &rows, |c| self.context_test(c).is_some());
            if !importers.is_empty() {
                let mask = numbits::encode(v.old.import_evidence());
                let reason = Reason::new(Rule::CoversChange)
                    .file(old_path.to_string())
                    .lines(all_old.iter().copied())
                    .via("ran the module's import-time code, importing it inside the test");
                self.select_rows(&rows, Some(&mask), &reason);
            }
        }
        let kept = kept_types(v, &touched.statements);
        let toggled = docstrings_toggled(v);
        let mut all_handled = false;
        for &(side, index) in &touched.statements {
            let names = match side {
                Side::Old => &v.old_names,
                Side::New => &v.new_names,
            };
            let statement = names.statements()[index].clone();
            let keeps_type = |name: &str| kept.contains(name);
            let at = match side {
                Side::Old => format!("{old_path}:{}", statement.first),
                Side::New => format!("{} (new line {})", change.path(), statement.first),
            };
            // A new or changed statement that may raise breaks every importer of the module.
            if side == Side::New
                && let Some((what, line)) = self.may_raise(
                    change.path(),
                    names,
                    index,
                    statement.binds.iter().all(|b| keeps_type(&b.name)),
                )?
            {
                return self.import_time_dependents(
                    change,
                    old_path,
                    &rows,
                    &all_old,
                    format!(
                        "{what} at {} (new line {line}) may fail at import time",
                        change.path()
                    ),
                    "import-time code that may fail: every dependent",
                );
            }
            if star_list::is_star_list(names, index) {
                // Both sides of `__all__` are read at once.
                if std::mem::replace(&mut all_handled, true) {
                    continue;
                }
                let old = star_list::Side {
                    syntax: &v.old,
                    names: &v.old_names,
                };
                let new = star_list::Side {
                    syntax: &v.new,
                    names: &v.new_names,
                };
                match self.star_list_change(old_path, old, new, &rows, &origin, &at)? {
                    Ok(more) => {
                        handling.push("`__all__`: the names star imports gain or lose, followed");
                        follows.extend(more);
                        continue;
                    }
                    Err(why) => {
                        return self.import_time_dependents(
                            change,
                            old_path,
                            &rows,
                            &all_old,
                            format!("names cannot follow {why}"),
                            "import-time code names cannot follow: every dependent",
                        );
                    }
                }
            }
            match self.judge(old_path, names, &statement, true)? {
                Verdict::Inert => handling.push("code that never runs under pytest: nothing"),
                Verdict::Follow(targets) => {
                    handling.push("import-time code: the names it binds, followed");
                    for target in targets {
                        if matches!(&target, Target::Global { name, .. } if unchanged.contains(name))
                        {
                            continue;
                        }
                        let name = target_name(&target);
                        let removed = match side {
                            Side::Old => unbound(v, &statement, &target),
                            // `del NAME`, or a name bound on some paths only.
                            Side::New => {
                                statement.binds.iter().any(|b| {
                                    b.name == name && b.kind == python::names::BindKind::Delete
                                }) || statement.maybe_unbound.iter().any(|n| n == name)
                            }
                        } || read_before_bound(&v.new_names, &target);
                        let chain = format!(
                            "`{}` {} at {at}",
                            target_name(&target),
                            if removed { "removed" } else { "changed" }
                        );
                        let mut follow = Follow::new(target, chain);
                        follow.removed = removed;
                        // A class whose namespace changed remains a class (see `judge`).
                        let namespace = matches!(
                            (&follow.target, &statement.class),
                            (Target::Global { name, .. }, Some(class))
                                if class.split('.').next() == Some(name.as_str())
                        );
                        follow.kept_type =
                            !removed && (namespace || keeps_type(target_name(&follow.target)));
                        // A docstring reworded in place: `__doc__` stays a string, and the
                        // class it documents behaves as before.
                        let docstring = !statement.binds.is_empty()
                            && statement.binds.iter().all(|b| b.name == "__doc__");
                        if docstring && !removed && !toggled.contains(&statement.class) {
                            if target_name(&follow.target) == "__doc__" {
                                follow.kept_type = true;
                            } else {
                                follow.docs_only = true;
                            }
                        }
                        follows.push(follow);
                    }
                }
                Verdict::Dependents { what, line } => {
                    let side_file = match side {
                        Side::Old => old_path.to_string(),
                        Side::New => format!("{} (new side)", change.path()),
                    };
                    return self.import_time_dependents(
                        change,
                        old_path,
                        &rows,
                        &all_old,
                        format!("names cannot follow {what} at {side_file}:{line}"),
                        "import-time code names cannot follow: every dependent",
                    );
                }
            }
        }
        for holder in toggled {
            handling.push("import-time code: the names it binds, followed");
            let chain = format!("the docstring of {old_path} gained or lost its place");
            match holder {
                None => follows.push(Follow::new(
                    Target::Global {
                        file: old_path.to_string(),
                        name: "__doc__".into(),
                    },
                    chain,
                )),
                Some(class) => {
                    follows.push(Follow::new(
                        Target::Attribute {
                            name: "__doc__".into(),
                        },
                        chain.clone(),
                    ));
                    let top = class.split('.').next().unwrap_or(&class).to_string();
                    follows.push(Follow::new(
                        Target::Global {
                            file: old_path.to_string(),
                            name: top,
                        },
                        chain,
                    ));
                }
            }
        }
        // Function bodies: memoised ones and ones run at import hand out what they compute.
        let run_at_import = self.run_at_import(&v.old, &rows, &touched.bodies);
        for (start, end, qualname) in touched.bodies.keys() {
            let Some(span) = find_span(&v.old, *start, *end, qualname) else {
                continue;
            };
            let import_run = run_at_import.iter().any(|(q, _)| q == qualname);
            if matches!(qualname.as_str(), "__getattr__" | "__dir__") {
                // A module `__getattr__` answers for names it does not bind: every importer.
                return self.import_time_dependents(
                    change,
                    old_path,
                    &rows,
                    &all_old,
                    format!("the module's `{qualname}` answers for names it does not bind"),
                    "module `__getattr__`: every dependent",
                );
            }
            if let Some(line) = docstring_touched(v, span) {
                // Its `__doc__` is data for whoever reads it: help texts, `inspect.getdoc`,
                // a CLI framework's decorator. Follow the function, and `__doc__` reads.
                handling.push("docstring: what reads the function, followed");
                let chain = format!(
                    "the docstring of {qualname} changed at {old_path}:{line}, which its `__doc__` hands out"
                );
                // A docstring changed in place leaves a string, and the function's behaviour.
                let in_place = !docstring_toggled(v, span);
                let mut doc = Follow::new(
                    Target::Attribute {
                        name: "__doc__".into(),
                    },
                    chain.clone(),
                );
                doc.kept_type = in_place;
                follows.push(doc);
                for target in callers_of(old_path, span) {
                    let mut follow = Follow::new(target, chain.clone());
                    follow.docs_only = true;
                    follows.push(follow);
                }
            }
            if !(span.memoised || import_run) {
                continue;
            }
            // A shared fixture of a plugin module: the tests that ask for it, anywhere.
            if let Some(fixture) = fixture_of(&v.old_names, &v.old, qualname) {
                follows.push(Follow::new(
                    Target::Fixture {
                        dir: String::new(),
                        name: fixture.name.clone(),
                    },
                    format!("fixture `{}` changed at {old_path}:{start}", fixture.name),
                ));
            }
            if import_run && span.keeps_state {
                return self.import_time_dependents(
                    change,
                    old_path,
                    &rows,
                    &all_old,
                    format!("{qualname} runs while modules are imported and keeps state"),
                    "function run at import time that keeps state: every dependent",
                );
            }
            let why = if span.memoised {
                handling.push("memoised function: its callers, followed");
                "which keeps its result"
            } else {
                handling.push("function run at import time: what it hands out, followed");
                "which runs while modules are imported"
            };
            for target in callers_of(old_path, span) {
                follows.push(Follow::new(
                    target,
                    format!("{qualname} changed at {old_path}:{start}, {why}"),
                ));
            }
        }
        // A changed function a memoised one may run: that function's callers get the result.
        let reached = self.memo_reach(old_path, &rows, &touched.bodies)?;
        for r in &reached {
            if !r.measured {
                self.select_test_side_users(&r.path, r.reason(old_path, &all_old));
                self.select_importers(&[r.path.as_str()], Rule::Memoised, old_path, &all_old)?;
                continue;
            }
            let Some(facts) = self.facts(&r.path) else {
                continue;
            };
            let span = facts
                .syntax
                .functions()
                .iter()
                .find(|f| f.qualname == r.memoised && f.header_end == r.body.0)
                .cloned();
            if let Some(span) = span {
                // A shared fixture of a plugin module hands its value to the tests that ask.
                if let Some(fixture) = fixture_of(&facts.names, &facts.syntax, &span.qualname) {
                    follows.push(Follow::new(
                        Target::Fixture {
                            dir: String::new(),
                            name: fixture.name.clone(),
                        },
                        format!(
                            "{} may run inside fixture `{}` of {}, which keeps its value",
                            r.callee, fixture.name, r.path
                        ),
                    ));
                }
                for target in callers_of(&r.path, &span) {
                    follows.push(Follow {
                        target,
                        chain: format!(
                            "{} may run inside memoised {} of {}, which keeps its result",
                            r.callee, r.memoised, r.path
                        ),
                        removed: false,
                        kept_type: false,
                        docs_only: false,
                    });
                }
            }
        }
        // Decorators that received a changed docstring: what they may have handed it to.
        for (index, decorators) in self.decorated_docstrings(v, &touched) {
            let at = v.new_names.statements()[index].first;
            handling
                .push("docstring under a decorator: what the decorator may hand it to, followed");
            for decorator in decorators {
                let chain = format!(
                    "a docstring changed under the decorator `@{decorator}` at {} (new line {at}), which receives it while the module imports",
                    change.path()
                );
                match self.decorator_follows(v, &decorator, &chain)? {
                    Some(more) => follows.extend(more),
                    None => {
                        return self.import_time_dependents(
                            change,
                            old_path,
                            &rows,
                            &all_old,
                            format!(
                                "a docstring changed under the decorator `@{decorator}` at {} (new line {at}), which may read it while the module imports",
                                change.path()
                            ),
                            "docstring under a decorator that may read it: every dependent",
                        );
                    }
                }
            }
        }
        // A function module-level code hands to a call: what holds it may keep its result.
        let more = self.handed_on(old_path, &top_level_functions(&touched))?;
        if !more.is_empty() {
            handling.push("function handed to a call at import time: what holds it, followed");
            follows.extend(more);
        }
        if !touched.bodies.is_empty() {
            handling.push(self.bodies_handling());
        }
        self.select_bodies(old_path, &rows, &touched.bodies);
        // The module's own rows serve the names rule too.
        self.rows.insert(file_id, rows);
        self.follow_names(&origin, follows)?;
        handling.sort_unstable();
        handling.dedup();
        self.note(change, handling.join("; "));
        Ok(())
    }

    /// The first changed function that ran while modules were imported: by the empty context
    /// (a decorator, a factory, `__init_subclass__`), or in a test that imported the module
    /// lazily (it credits the module's import-time code to that test, and so the functions it
    /// called while importing; later tests rely on that run without covering it).
    fn run_at_import(
        &self,
        old: &ModuleSyntax,
        rows: &FileRows,
        bodies: &BTreeMap<FunctionKey, BTreeSet<u32>>,
    ) -> Vec<(String, &'static str)> {
        let mut out: Vec<(String, &'static str)> = Vec::new();
        // Wherever in its body the change lies: a line coverage does not record (the second
        // line of a statement, an insertion) runs at import too.
        if let Some(global) = self.tests.global_context.and_then(|g| rows.get(g)) {
            for (start, end, qualname) in bodies.keys() {
                if find_span(old, *start, *end, qualname).is_some_and(|f| {
                    numbits::any_intersection(global, &numbits::encode(f.body_lines()))
                }) {
                    out.push((qualname.clone(), "runs while modules are imported"));
                }
            }
        }
        let importers = lazy_importers(old, rows, |c| self.context_test(c).is_some());
        for (start, end, qualname) in bodies.keys() {
            let mask = numbits::encode(*start..=*end);
            if !out.iter().any(|(q, _)| q == qualname)
                && importers
                    .iter()
                    .any(|blob| numbits::any_intersection(blob, &mask))
            {
                out.push((qualname.clone(), LAZY_IMPORT));
            }
        }
        out
    }

    /// The tests that ran each changed function (or, with `granularity = "line"`, the changed
    /// lines).
    fn select_bodies(
        &mut self,
        old_path: &str,
        rows: &FileRows,
        bodies: &BTreeMap<FunctionKey, BTreeSet<u32>>,
    ) {
        let granularity = self.req.config.selection.granularity;
        for ((start, end, qualname), lines) in bodies {
            let mask = match granularity {
                Granularity::Line if !lines.is_empty() => numbits::encode(lines.iter().copied()),
                _ => numbits::encode(*start..=*end),
            };
            let reason = Reason::new(Rule::CoversChange)
                .file(old_path.to_string())
                .lines(lines.iter().copied())
                .via(format!("in {qualname}"));
            self.select_rows(rows, Some(&mask), &reason);
        }
    }

    fn bodies_handling(&self) -> &'static str {
        match self.req.config.selection.granularity {
            Granularity::Function => "function bodies: the tests that ran those functions",
            Granularity::Line => "function bodies: the tests that ran the changed lines",
        }
    }
}

/// Whether the change unbinds a name an old statement bound: the new module binds it nowhere
/// (at its top level, or in the same class). A star import of the new module may bring it
/// back, or may not: it counts as removed, since reading a removed name raises (at a star
/// import too, when `__all__` still lists it) where reading a changed one need not.
/// A changed line (old side) or new line in the docstring of the function `span` (old side),
/// or of the new side's function of that name.
fn docstring_touched(v: &Versions, span: &FunctionSpan) -> Option<u32> {
    let within = |range: Option<(u32, u32)>, lines: &BTreeSet<u32>| {
        let (first, last) = range?;
        lines.iter().copied().find(|l| (first..=last).contains(l))
    };
    // A function the change removes is followed by its name already.
    let new_span = v
        .new
        .functions()
        .iter()
        .find(|f| f.qualname == span.qualname)?;
    let new = within(new_span.docstring, &v.change.new_lines);
    // A line inserted before it, or its string moved below another statement: no docstring
    // any more (or a new one), without a changed line in it.
    let toggled = docstring_toggled(v, span).then_some(span.def_line);
    within(span.docstring, &v.change.old_lines)
        .or(new)
        .or(toggled)
}

/// The classes around a qualified name, innermost first, up to a function that lies between:
/// `A.B` and `A` of `A.B.m`.
fn enclosing_classes(qualname: &str) -> impl Iterator<Item = String> + '_ {
    std::iter::successors(qualname.rsplit_once('.').map(|(c, _)| c), |c| {
        c.rsplit_once('.').map(|(outer, _)| outer)
    })
    .take_while(|c| !c.ends_with("<locals>"))
    .map(str::to_string)
}

/// The pytest fixture the function `qualname` of a file defines, if it is one.
fn fixture_of<'n>(
    names: &'n FileNames,
    syntax: &ModuleSyntax,
    qualname: &str,
) -> Option<&'n python::names::Fixture> {
    names.fixtures().iter().find(|f| {
        syntax
            .functions()
            .get(f.function)
            .is_some_and(|x| x.qualname == qualname)
    })
}

/// The top-level functions whose bodies a change touched: `compute` for a change in
/// `compute.<locals>.helper` too (methods aside), the ones module-level code can hand on.
fn top_level_functions(touched: &Touched) -> BTreeSet<String> {
    touched
        .bodies
        .keys()
        .filter_map(|(_, _, qualname)| match qualname.split_once('.') {
            None => Some(qualname.clone()),
            Some((top, rest)) if rest.starts_with("<locals>") => Some(top.to_string()),
            Some(_) => None,
        })
        .collect()
}

/// Whether the function `span` (old side) has a docstring on one side only.
fn docstring_toggled(v: &Versions, span: &FunctionSpan) -> bool {
    v.new
        .functions()
        .iter()
        .find(|f| f.qualname == span.qualname)
        .is_some_and(|f| f.docstring.is_some() != span.docstring.is_some())
}

/// The module and classes (`None` for the module, else the class's qualified name) whose
/// docstring one side has and the other has not: their `__doc__` changes though no changed
/// line need lie in a docstring (a statement inserted before it makes it a plain string).
fn docstrings_toggled(v: &Versions) -> BTreeSet<Option<String>> {
    let holders = |names: &FileNames| -> BTreeSet<Option<String>> {
        names
            .statements()
            .iter()
            .filter(|s| s.binds.iter().any(|b| b.name == "__doc__"))
            .map(|s| s.class.clone())
            .collect()
    };
    let (old, new) = (holders(&v.old_names), holders(&v.new_names));
    old.symmetric_difference(&new).cloned().collect()
}

fn unbound(v: &Versions, statement: &python::names::Statement, target: &Target) -> bool {
    match (target, &statement.class) {
        (Target::Global { name, .. }, None) => v.new_names.module_bindings(name).next().is_none(),
        (Target::Attribute { name }, Some(class)) => !v.new_names.statements().iter().any(|s| {
            s.class.as_deref() == Some(class.as_str())
                && !s.inert
                && s.binds.iter().any(|b| &b.name == name)
        }),
        _ => false,
    }
}

/// Names the touched statements import alike on both sides (`SCALE` when
/// `from m import A, SCALE` becomes `from m import B as A, SCALE`): the same object, unchanged.
fn unchanged_imports(v: &Versions, touched: &Touched) -> BTreeSet<String> {
    let binds = |side: Side| {
        let names = match side {
            Side::Old => &v.old_names,
            Side::New => &v.new_names,
        };
        let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for &(s, index) in &touched.statements {
            if s != side {
                continue;
            }
            for b in &names.statements()[index].binds {
                let how = match &b.imported {
                    Some(i) => format!("{}|{}|{}", i.level, i.module, i.names.join(",")),
                    // Anything but an import may bind another value.
                    None => "*".to_string(),
                };
                out.entry(b.name.clone()).or_default().insert(how);
            }
        }
        out
    };
    let (old, new) = (binds(Side::Old), binds(Side::New));
    old.into_iter()
        .filter(|(name, how)| !how.contains("*") && new.get(name) == Some(how))
        .map(|(name, _)| name)
        .collect()
}

/// The rows of tests that imported the module lazily, inside the test: they ran some of its
/// import-time lines, so whatever ran at import then is credited to them.
pub(super) fn lazy_importers<'r>(
    syntax: &ModuleSyntax,
    rows: &'r FileRows,
    is_test: impl Fn(i64) -> bool,
) -> Vec<&'r [u8]> {
    let import_time = numbits::encode(syntax.import_evidence());
    rows.iter()
        .filter(|&(context, blob)| {
            is_test(context) && numbits::any_intersection(blob, &import_time)
        })
        .map(|(_, blob)| blob)
        .collect()
}

/// The old function with this span and name.
fn find_span<'s>(
    old: &'s ModuleSyntax,
    start: u32,
    end: u32,
    qualname: &str,
) -> Option<&'s FunctionSpan> {
    old.functions()
        .iter()
        .find(|f| f.start == start && f.end == end && f.qualname == qualname)
}

fn target_name(target: &Target) -> &str {
    match target {
        Target::Global { name, .. } | Target::Attribute { name } | Target::Fixture { name, .. } => {
            name
        }
    }
}

impl Engine<'_> {
    /// Every dependent of a changed module, because of what `via` says (import-time code
    /// names cannot follow, or that may raise).
    fn import_time_dependents(
        &mut self,
        change: &FileChange,
        old_path: &str,
        rows: &FileRows,
        all_old: &[u32],
        via: impl Into<String>,
        handling: &str,
    ) -> Result<()> {
        let reason = Reason::new(Rule::ImportTime)
            .file(old_path.to_string())
            .lines(all_old.iter().copied())
            .via(via.into());
        self.select_dependents(change, rows, reason, Rule::ImportTime, all_old, handling)
    }
}

/// Whether the new version of the module reads a module-level name at import time before the
/// first statement that binds it (a constant moved below its use): a `NameError` there.
pub(super) fn read_before_bound(names: &FileNames, target: &Target) -> bool {
    let Target::Global { name, .. } = target else {
        return false;
    };
    let Some(first) = names.first_binding(name) else {
        return false;
    };
    // A comprehension runs at once; a lambda may too (`sorted(key=lambda x: ...)`).
    names.mentions_of(name).iter().any(|m| {
        m.kind == python::names::MentionKind::Name
            && matches!(m.home, python::names::Home::Statement(i)
                if i < first && !names.statements()[i].inert)
    })
}

/// The names the change rebinds to a literal of the type they had (`LIMIT = 10` becomes
/// `LIMIT = 20`): every changed statement that binds one binds only it, to a literal of one
/// kind, on both sides.
fn kept_types(v: &Versions, statements: &BTreeSet<(Side, usize)>) -> BTreeSet<String> {
    let mut kinds: BTreeMap<&str, (Vec<Option<LiteralKind>>, bool, bool)> = BTreeMap::new();
    for &(side, index) in statements {
        let names = match side {
            Side::Old => &v.old_names,
            Side::New => &v.new_names,
        };
        let statement = &names.statements()[index];
        let only = statement.binds.len() == 1;
        for bound in &statement.binds {
            let entry = kinds.entry(bound.name.as_str()).or_default();
            entry.0.push(statement.literal.filter(|_| only));
            match side {
                Side::Old => entry.1 = true,
                Side::New => entry.2 = true,
            }
        }
    }
    kinds
        .into_iter()
        .filter(|(_, (literals, old, new))| {
            *old && *new && literals[0].is_some() && literals.iter().all(|k| *k == literals[0])
        })
        .map(|(name, _)| name.to_string())
        .collect()
}
