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

use super::Engine;
use super::names::{Follow, Target};
use crate::error::Result;
use crate::python::names::{Home, ValueUse};

impl Engine<'_> {
    /// The names bound by module- and class-level statements that hand the top-level
    /// function `function` of `path` to a call, as names to follow.
    pub(super) fn handed_on(&mut self, path: &str, function: &str) -> Result<Vec<Follow>> {
        self.ensure_graph()?;
        let graph = self.graph.as_mut().expect("built above");
        let mut files = graph.importers_of(path)?;
        files.push(path.to_string());
        let mut out = Vec::new();
        for file in files {
            if !self
                .base_text(&file)
                .is_some_and(|text| may_hand_on(&text, function))
            {
                continue;
            }
            let Some(facts) = self.facts(&file) else {
                continue;
            };
            let names = &facts.names;
            for (spelling, homes) in names.value_uses() {
                if spelling.rsplit('.').next() != Some(function) {
                    continue;
                }
                for home in homes {
                    let Home::Statement(index) = *home else {
                        continue;
                    };
                    let statement = &names.statements()[index];
                    // Handed to a call: a statement that only copies it (`alias = compute`,
                    // a table of handlers) keeps nothing it returns.
                    let Some(line) = names
                        .mentions_in(index)
                        .into_iter()
                        .find(|(name, m)| *name == function && m.value_use == ValueUse::WorkedOn)
                        .map(|(_, m)| m.line)
                    else {
                        continue;
                    };
                    for bound in &statement.binds {
                        let target = match &statement.class {
                            None => Target::Global {
                                file: file.clone(),
                                name: bound.name.clone(),
                            },
                            Some(_) => Target::Attribute {
                                name: bound.name.clone(),
                            },
                        };
                        out.push(Follow::new(
                            target,
                            format!(
                                "{function} is handed to a call at {file}:{line}, which may keep what it returns in `{}`",
                                bound.name
                            ),
                        ));
                    }
                }
            }
        }
        out.sort_by(|a, b| a.chain.cmp(&b.chain));
        Ok(out)
    }
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
        let before = text[line_start..at].trim_ascii_start();
        let after = text[end..].trim_ascii_start();
        !(before.starts_with(b"from ")
            || before.starts_with(b"import ")
            || before.ends_with(b"def ")
            || after.starts_with(b"("))
    })
}

#[cfg(test)]
mod tests {
    use super::may_hand_on;

    #[test]
    fn only_files_that_may_hand_a_function_on_are_parsed() {
        assert!(!may_hand_on(
            b"from m import f\n\ndef g():\n    return f (1)\n",
            "f"
        ));
        assert!(!may_hand_on(b"def f():\n    pass\nx = ff\n", "f"));
        assert!(may_hand_on(b"import m\nCACHED = cache(m.f)\n", "f"));
        assert!(may_hand_on(b"TABLE = defaultdict(f)\n", "f"));
    }
}
