//! A changed `__all__`, followed as the names star imports gain or lose.
//!
//! `__all__` decides two things only: which names `from m import *` binds in the importing
//! module, and what code that reads `__all__` itself sees (a test of the public names, a
//! package's `__all__` built from its modules'). Adding a function to a library and to its
//! module's `__all__` is the most common change there is, and a package that star-imports its
//! modules would otherwise send it to every test. So when both versions list their names
//! exactly (one module-level `__all__` of string literals that no code extends, see
//! [`FileNames::star_names`]), the change is followed as:
//! - each name it adds or drops, bound or unbound in every module that star-imports this one
//!   (and from there through further star imports, as any name);
//! - the name `__all__` of this module.
//!
//! Two things reach tests without a name: pytest reads a test-side module's namespace for
//! fixtures, hooks and test classes (a conftest or test module that star-imports this one is
//! selected whole), and a caller the import graph cannot see (a text doctest, a notebook) may
//! have run a listed function (the tests that ran it are selected).
//!
//! Every dependent, as before, where more than names may change:
//! - a name added or dropped that the module may not bind for certain (a star import of it
//!   raises, or, in a package, imports a submodule and runs its import-time code); a name it
//!   gets from its own star import counts when that module binds it for certain and exports
//!   it (its exact `__all__` lists it, or it has none and the name is public);
//! - a name pytest reads from a namespace by itself (a fixture, a `pytest_` hook, a test or
//!   test class, `pytestmark`, `setup_module`...), which reaches tests through any conftest
//!   or plugin that star-imports it, however far;
//! - a star importer outside the tests that defines fixtures or hooks (a plugin);
//! - a suite with tests in files that are not Python (text doctests, notebooks), which may
//!   star-import the module where the import graph cannot see;
//! - any other form of `__all__` (built, extended, conditional).

use std::collections::BTreeSet;

use super::names::{Facts, Follow, Origin, Target};
use super::{Engine, Reason, Rule};
use crate::coverage::{FileRows, numbits};
use crate::error::Result;
use crate::python::ModuleSyntax;
use crate::python::names::{BindKind, Effect, FileNames, Statement};

/// Whether statement `index` of `names` is a simple statement at the module's top level: not
/// in a compound statement, and not one itself (an `if`, a `try`, a `with` binds what the
/// statements in it bind, on some paths only).
fn top_level_simple(names: &FileNames, index: usize) -> bool {
    let statements = names.statements();
    statements[index].class.is_none()
        && statements[index].parent.is_none()
        && !statements.iter().any(|s| s.parent == Some(index))
}

/// Whether statement `index` of `names` is a top-level `__all__ = ...` that does nothing else.
pub(super) fn is_star_list(names: &FileNames, index: usize) -> bool {
    let statement: &Statement = &names.statements()[index];
    top_level_simple(names, index)
        && !statement.binds.is_empty()
        && statement.binds.iter().all(|b| b.name == "__all__")
        && statement
            .effects
            .iter()
            .all(|e| matches!(e, Effect::Construct { what, .. } if *what == "`__all__`"))
}

/// Names pytest reads from a module's namespace without a test naming them.
const PYTEST_NAMES: &[&str] = &[
    "pytestmark",
    "pytest_plugins",
    "setup_module",
    "teardown_module",
    "setup_function",
    "teardown_function",
    "setUpModule",
    "tearDownModule",
];

/// Whether pytest may pick `name` up from a namespace it lands in by a star import: a
/// fixture, a hook, a test, a test class, a special name.
fn pytest_reads(names: &FileNames, syntax: &ModuleSyntax, name: &str) -> bool {
    name.starts_with("pytest_")
        || name.starts_with("test")
        || name.starts_with("Test")
        || PYTEST_NAMES.contains(&name)
        || names.fixtures().iter().any(|f| {
            f.name == name
                || syntax
                    .functions()
                    .get(f.function)
                    .is_some_and(|s| s.qualname == name)
        })
}

/// Whether the module binds `name` whatever path its import takes: a simple top-level
/// statement that runs binds it, and nothing deletes it.
fn binds_for_certain(names: &FileNames, name: &str) -> bool {
    let statements = names.statements();
    let bound = statements.iter().enumerate().any(|(i, s)| {
        top_level_simple(names, i)
            && !s.inert
            && !s.maybe_unbound.iter().any(|n| n == name)
            && s.binds
                .iter()
                .any(|b| b.name == name && b.kind != BindKind::Delete)
    });
    let deleted = statements.iter().any(|s| {
        s.class.is_none()
            && s.binds
                .iter()
                .any(|b| b.name == name && b.kind == BindKind::Delete)
    });
    bound && !deleted
}

/// One version of the changed module, as [`Engine::star_list_change`] reads it.
pub(super) struct Side<'v> {
    pub syntax: &'v ModuleSyntax,
    pub names: &'v FileNames,
}

impl Engine<'_> {
    /// What a change of `home`'s `__all__` (at `at`) reaches: the names to follow, or why names
    /// cannot follow it (`Err`: every dependent). Selects on the way what no name leads to:
    /// the test-side modules that star-import `home` (pytest finds fixtures, hooks and test
    /// classes there without a name in the tests), and the tests that ran a function or
    /// class the change adds to or drops from `__all__` (a caller the import graph cannot
    /// see: a text doctest, a notebook, a script run with `runpy`).
    pub(super) fn star_list_change(
        &mut self,
        home: &str,
        old: Side<'_>,
        new: Side<'_>,
        rows: &FileRows,
        origin: &Origin,
        at: &str,
    ) -> Result<std::result::Result<Vec<Follow>, String>> {
        let (Some(before), Some(after)) = (old.names.star_names(), new.names.star_names()) else {
            return Ok(Err(format!(
                "`__all__` at {at}, which is not one list of string literals that no code extends"
            )));
        };
        let before: BTreeSet<&str> = before.iter().map(String::as_str).collect();
        let after: BTreeSet<&str> = after.iter().map(String::as_str).collect();
        // A name listed but not bound makes `from home import *` raise, or import a submodule
        // of that name (running its import-time code): either way more than a name changes.
        let sides = after
            .difference(&before)
            .map(|name| (*name, &new, true))
            .chain(before.difference(&after).map(|name| (*name, &old, false)));
        for (name, side, new_side) in sides {
            if pytest_reads(side.names, side.syntax, name) {
                return Ok(Err(format!(
                    "`__all__` at {at}, which adds or drops `{name}`, a name pytest may read from a module that star-imports it"
                )));
            }
            if !(binds_for_certain(side.names, name)
                || self.brought_for_certain(home, side.names, name, new_side)?)
            {
                return Ok(Err(format!(
                    "`__all__` at {at}, which adds or drops `{name}`, a name the module may not bind for certain or that pytest may read (a star import of it raises, imports a submodule, or brings a fixture)"
                )));
            }
        }
        if let Some(file) = self.non_python_test_file() {
            return Ok(Err(format!(
                "`__all__` at {at}, and the suite has tests in {file}, which is not Python (a text doctest or a notebook may star-import it unseen)"
            )));
        }
        let changed: Vec<&str> = before.symmetric_difference(&after).copied().collect();
        let importers = self.star_importers(home)?;
        let reason = |via: String| {
            Reason::new(Rule::ReadsName)
                .file(origin.file.clone())
                .lines(origin.lines.iter().copied())
                .via(via)
        };
        for importer in &importers {
            if self.is_test_side(importer) {
                self.select_test_side_users(
                    importer,
                    reason(format!(
                        "`__all__` changed at {at}: the star import in {importer}, which pytest reads for fixtures, hooks and tests, brings other names"
                    )),
                );
            } else if self
                .facts(importer)
                .is_none_or(|f| !f.names.fixtures().is_empty() || defines_hooks(&f.syntax))
            {
                return Ok(Err(format!(
                    "`__all__` at {at}, star-imported by {importer}, which pytest may load as a plugin"
                )));
            }
        }
        for name in &changed {
            let ran = old.syntax.functions().iter().filter(|f| {
                f.qualname == *name
                    || f.qualname
                        .strip_prefix(*name)
                        .is_some_and(|rest| rest.starts_with('.'))
            });
            let lines: Vec<u32> = ran
                .flat_map(|f| {
                    let body = f.body_lines();
                    if body.is_empty() {
                        f.def_line..=f.end
                    } else {
                        body
                    }
                })
                .collect();
            if !lines.is_empty() {
                let mask = numbits::encode(lines);
                self.select_rows(
                    rows,
                    Some(&mask),
                    &reason(format!(
                        "`__all__` changed at {at}: it ran `{name}`, which star imports of {home} now bring or no longer bring"
                    )),
                );
            }
        }
        let mut follows = vec![Follow::new(
            Target::Global {
                file: home.to_string(),
                name: "__all__".to_string(),
            },
            format!("`__all__` changed at {at}"),
        )];
        for name in &changed {
            let removed = !after.contains(name);
            for importer in &importers {
                let mut follow = Follow::new(
                    Target::Global {
                        file: importer.clone(),
                        name: name.to_string(),
                    },
                    format!(
                        "`__all__` changed at {at}: the star import in {importer} {} `{name}`",
                        if removed {
                            "no longer brings"
                        } else {
                            "now brings"
                        }
                    ),
                );
                follow.removed = removed;
                follows.push(follow);
            }
        }
        Ok(Ok(follows))
    }

    /// Whether a star import of `file` (`names`, the base version or the working tree's)
    /// brings `name` whatever path the import takes: a simple top-level `from m import *` of a
    /// module that binds it for certain and exports it (its exact `__all__` lists it, or it has
    /// no `__all__` and the name is public).
    fn brought_for_certain(
        &mut self,
        file: &str,
        names: &FileNames,
        name: &str,
        new_side: bool,
    ) -> Result<bool> {
        self.ensure_graph()?;
        for import in names.star_imports() {
            if !names
                .statement_at(import.line)
                .is_some_and(|i| top_level_simple(names, i))
            {
                continue;
            }
            let graph = self.graph.as_ref().expect("built above");
            let modules = graph.module_files(file, import);
            let [module] = modules.iter().collect::<Vec<_>>()[..] else {
                continue;
            };
            let module = module.clone();
            let facts = if new_side {
                self.new_facts(&module)
            } else {
                self.facts(&module)
            };
            // Nothing in this module deletes it after the star import brought it.
            let deleted = names.statements().iter().any(|s| {
                s.binds
                    .iter()
                    .any(|b| b.name == name && b.kind == BindKind::Delete)
            });
            // `from m import *` brings what m's exact `__all__` lists, or, when m binds no
            // `__all__` at all, every name without a leading underscore.
            let brings = |f: &Facts| match f.names.star_names() {
                Some(listed) => listed.iter().any(|n| n == name),
                None => !f.names.binds_anywhere("__all__") && !name.starts_with('_'),
            };
            if !deleted
                && facts.is_some_and(|f| {
                    brings(&f)
                        && binds_for_certain(&f.names, name)
                        && !pytest_reads(&f.names, &f.syntax, name)
                })
            {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// A file of the known or collected tests that is not Python (`README.rst` doctests,
    /// notebooks, YAML cases): its tests run code the import graph cannot see.
    fn non_python_test_file(&self) -> Option<String> {
        let collected = self.req.collected.iter().flatten();
        self.test_files
            .iter()
            .map(String::as_str)
            .chain(collected.map(|id| crate::nodeid::file_of(id)))
            .find(|file| !file.ends_with(".py"))
            .map(str::to_string)
    }

    /// The files that star-import `home` at module level (`from home import *`).
    fn star_importers(&mut self, home: &str) -> Result<Vec<String>> {
        self.ensure_graph()?;
        let graph = self.graph.as_mut().expect("built above");
        let importers: Vec<String> = graph.closure(&[home])?.into_keys().collect();
        let mut out = Vec::new();
        for file in importers {
            if file == home
                || !file.ends_with(".py")
                || !self.base_text(&file).is_some_and(|t| t.contains(&b'*'))
            {
                continue;
            }
            let Some(facts) = self.facts(&file) else {
                continue;
            };
            if self.star_imports_from(&file, &facts.names, home)? {
                out.push(file);
            }
        }
        Ok(out)
    }
}

/// Whether a module defines pytest hooks (`pytest_configure`, ...): a plugin.
fn defines_hooks(syntax: &ModuleSyntax) -> bool {
    syntax
        .functions()
        .iter()
        .any(|f| f.qualname.starts_with("pytest_"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::python::names;

    fn facts(source: &str) -> FileNames {
        names::read(source).1
    }

    fn star_list_statements(source: &str) -> Vec<bool> {
        let names = facts(source);
        (0..names.statements().len())
            .map(|i| is_star_list(&names, i))
            .collect()
    }

    #[test]
    fn only_a_top_level_all_that_binds_nothing_else_is_a_star_list() {
        assert_eq!(star_list_statements("__all__ = [\"a\", \"b\"]\n"), [true]);
        assert_eq!(star_list_statements("__all__ = (\"a\",)\n"), [true]);
        assert_eq!(star_list_statements("__all__, x = [\"a\"], 1\n"), [false]);
        assert_eq!(star_list_statements("ALL = [\"a\"]\n"), [false]);
        // In an `if`, it may not run.
        assert_eq!(
            star_list_statements("if X:\n    __all__ = [\"a\"]\n"),
            [false, false]
        );
    }

    #[test]
    fn a_name_bound_on_some_paths_or_deleted_is_not_bound_for_certain() {
        let names = facts(
            "import os\nfrom .m import b\ndef f(): pass\nclass C: pass\nX = 1\n\
             if os.name:\n    y = 1\ntry:\n    import z\nexcept ImportError:\n    z = None\n\
             gone = 1\ndel gone\n",
        );
        for name in ["os", "b", "f", "C", "X"] {
            assert!(binds_for_certain(&names, name), "{name}");
        }
        for name in ["y", "z", "gone", "missing"] {
            assert!(!binds_for_certain(&names, name), "{name}");
        }
    }
}
