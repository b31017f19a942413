//! Functions that import-time code hands to a call as values.
//!
//! `cached = functools.lru_cache(maxsize=None)(compute)`, `TABLE = defaultdict(compute)` and
//! `get = functools.partial(memo, {}, "key", compute)` call `compute` later, through what they
//! bind, and may keep what it returns: the first test that asks runs its body, later tests read
//! the kept value without covering a line of it. So a change to the body of a function that
//! module-level code hands to a call is followed, like a memoised function's, to the readers of
//! the names that code binds.
//!
//! Searched: the function's own module and the modules that import it directly, among those
//! that spell its name. Known limit: a function handed on through a re-export (`pkg.compute`,
//! imported from the package that re-exports it) is not seen.

use std::collections::BTreeSet;

use super::Engine;
use super::names::{Follow, Target};
use crate::error::Result;
use crate::python::names::{Effect, Home, Statement, ValueUse};

impl Engine<'_> {
    /// The names bound by module- and class-level statements that hand one of the top-level
    /// `functions` of `path` to a call that may keep what it returns, as names to follow: in
    /// `path` and in the modules that import it directly, under the names it is imported by.
    /// A statement that binds nothing follows what it changes (`REGISTRY.add(cache(f))`).
    pub(super) fn handed_on(
        &mut self,
        path: &str,
        functions: &BTreeSet<String>,
    ) -> Result<Vec<Follow>> {
        if functions.is_empty() {
            return Ok(Vec::new());
        }
        self.ensure_graph()?;
        let graph = self.graph.as_mut().expect("built above");
        let mut files = graph.importers_of(path)?;
        files.push(path.to_string());
        let mut out = Vec::new();
        for file in files {
            let Some(text) = self.base_text(&file) else {
                continue;
            };
            if !functions.iter().any(|f| may_hand_on(&text, f)) {
                continue;
            }
            let Some(facts) = self.facts(&file) else {
                continue;
            };
            let names = &facts.names;
            for function in functions {
                // `from .impl import compute as _compute`: the names it goes by here.
                let mut spellings: BTreeSet<&str> = BTreeSet::from([function.as_str()]);
                spellings.extend(
                    names
                        .statements()
                        .iter()
                        .flat_map(|s| s.binds.iter())
                        .filter(|b| {
                            b.imported
                                .as_ref()
                                .is_some_and(|i| i.names.iter().any(|n| n == function))
                        })
                        .map(|b| b.name.as_str()),
                );
                for (index, statement) in names.statements().iter().enumerate() {
                    // Handed to a call, or called by a lambda it hands on: a statement that
                    // only copies it (`alias = compute`, a table of handlers) keeps nothing.
                    let handed = |name: &str, m: &crate::python::names::Mention| {
                        m.nested
                            || (m.value_use == ValueUse::WorkedOn
                                && names.value_uses().iter().any(|(spelling, homes)| {
                                    spelling.rsplit('.').next() == Some(name)
                                        && homes.contains(&Home::Statement(index))
                                }))
                    };
                    let Some(line) = names
                        .mentions_in(index)
                        .into_iter()
                        .find(|(name, m)| spellings.contains(name) && handed(name, m))
                        .map(|(_, m)| m.line)
                    else {
                        continue;
                    };
                    if !may_keep_results(statement, statement_text(&text, statement)) {
                        continue;
                    }
                    let mut holders: Vec<Target> = statement
                        .binds
                        .iter()
                        .map(|bound| match &statement.class {
                            None => Target::Global {
                                file: file.clone(),
                                name: bound.name.clone(),
                            },
                            Some(_) => Target::Attribute {
                                name: bound.name.clone(),
                            },
                        })
                        .collect();
                    if holders.is_empty() {
                        holders.extend(statement.effects.iter().filter_map(|e| match e {
                            Effect::Mutates { root, .. }
                            | Effect::Passes { root, .. }
                            | Effect::CallsMethod {
                                root: Some(root), ..
                            } => Some(Target::Global {
                                file: file.clone(),
                                name: root.clone(),
                            }),
                            _ => None,
                        }));
                    }
                    for target in holders {
                        let chain = format!(
                            "{function} is handed to a call at {file}:{line}, which may keep what it returns in `{}`",
                            target.name()
                        );
                        out.push(Follow::new(target, chain));
                    }
                }
            }
        }
        out.sort_by(|a, b| a.chain.cmp(&b.chain));
        out.dedup_by(|a, b| a.chain == b.chain);
        Ok(out)
    }
}

/// Callables known to call what they are given afresh each time, keeping no result: wrappers
/// (`toolz.curry`, `staticmethod`), and builtins that consume it at once.
const KEEP_NOTHING: &[&str] = &[
    "curry",
    "partialmethod",
    "staticmethod",
    "classmethod",
    "property",
    "wraps",
    "update_wrapper",
    "singledispatch",
    "contextmanager",
    "asynccontextmanager",
    "total_ordering",
    "vectorize",
    "compose",
    "compose_left",
    "flip",
    "complement",
    "juxt",
    "map",
    "filter",
    "sorted",
    "min",
    "max",
    "isinstance",
    "callable",
    "getattr",
    "hasattr",
    "setattr",
    "len",
    "repr",
    "str",
];

/// Whether the calls of a statement that hands a function on may keep what it returns: any
/// call but those of [`KEEP_NOTHING`], and `partial` only when it binds a container too
/// (`partial(memo, {}, "key", compute)` hands `memo` a store).
fn may_keep_results(statement: &Statement, text: &[u8]) -> bool {
    let last = |name: &str| name.rsplit('.').next().unwrap_or(name).to_string();
    let callees: Vec<String> = statement
        .effects
        .iter()
        .filter_map(|e| match e {
            Effect::Calls { name, .. } => Some(last(name)),
            Effect::CallsMethod { chain, .. } => Some(last(chain)),
            _ => None,
        })
        .collect();
    let binds_a_container = memchr::memchr2(b'{', b'[', text).is_some()
        || [&b"dict("[..], b"list(", b"set("]
            .iter()
            .any(|w| memchr::memmem::find(text, w).is_some());
    callees.is_empty()
        || callees.iter().any(|c| {
            if c == "partial" {
                binds_a_container
            } else {
                !KEEP_NOTHING.contains(&c.as_str())
            }
        })
}

/// The lines of a statement in a file's text.
fn statement_text<'t>(text: &'t [u8], statement: &Statement) -> &'t [u8] {
    let lines: Vec<usize> = std::iter::once(0)
        .chain(memchr::memchr_iter(b'\n', text).map(|i| i + 1))
        .collect();
    let at = |line: u32| lines.get(line as usize - 1).copied().unwrap_or(text.len());
    let start = at(statement.first.max(1));
    let end = lines
        .get(statement.last as usize)
        .copied()
        .unwrap_or(text.len());
    &text[start.min(end)..end]
}

/// Whether a file's text may hand `name` on as a value: it spells it other than in an import,
/// its own `def` or a call (`name(`). Only such a file is parsed.
fn may_hand_on(text: &[u8], name: &str) -> bool {
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    memchr::memmem::find_iter(text, name.as_bytes()).any(|at| {
        let end = at + name.len();
        if (at > 0 && word(text[at - 1])) || text.get(end).is_some_and(|&b| word(b)) {
            return false;
        }
        let line_start = text[..at]
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |i| i + 1);
        let line_end = memchr::memchr(b'\n', &text[end..]).map_or(text.len(), |i| end + i);
        let line = &text[line_start..line_end];
        let before = text[line_start..at].trim_ascii_start();
        let after = text[end..].trim_ascii_start();
        if before.starts_with(b"from ") || before.starts_with(b"import ") {
            // Imported under another name, which may be handed on.
            return after.starts_with(b"as ");
        }
        // A lambda calls it later, from what it is handed to.
        memchr::memmem::find(line, b"lambda").is_some()
            || !(before.ends_with(b"def ") || after.starts_with(b"("))
    })
}

#[cfg(test)]
mod tests {
    use super::may_hand_on;

    #[test]
    fn calls_that_may_keep_a_result() {
        let keeps = |src: &str| {
            let (_, names) = crate::python::names::read(src);
            let statement = names.statements().last().unwrap().clone();
            super::may_keep_results(
                &statement,
                super::statement_text(src.as_bytes(), &statement),
            )
        };
        assert!(keeps(
            "import functools\nf = functools.lru_cache(maxsize=None)(g)\n"
        ));
        assert!(keeps("T = defaultdict(g)\n"));
        assert!(keeps("get = partial(memo, {}, 'v', g)\n"));
        assert!(!keeps("get = partial(g, 2)\n"));
        assert!(!keeps("import toolz\ng = toolz.curry(toolz.g)\n"));
    }

    #[test]
    fn only_files_that_may_hand_a_function_on_are_parsed() {
        assert!(!may_hand_on(
            b"from m import f\n\ndef g():\n    return f (1)\n",
            "f"
        ));
        assert!(may_hand_on(b"from m import f as _f\n", "f"));
        assert!(may_hand_on(b"T = defaultdict(lambda: f())\n", "f"));
        assert!(!may_hand_on(b"def f():\n    pass\nx = ff\n", "f"));
        assert!(may_hand_on(b"import m\nCACHED = cache(m.f)\n", "f"));
        assert!(may_hand_on(b"TABLE = defaultdict(f)\n", "f"));
    }
}
