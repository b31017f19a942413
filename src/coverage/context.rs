//! What a coverage context name says about the test that produced it.
//!
//! pytest-cov's `--cov-context=test` writes `NODEID|setup`, `NODEID|run` and `NODEID|teardown`
//! (node ids may themselves contain `|`, `::`, brackets, spaces or any text, so the phase is
//! split off the *last* `|`). coverage.py's own `dynamic_context = test_function` writes
//! `module.Qualname` with no file path and one context for all parametrizations. The empty
//! context `''` holds code run outside any test: import time, collection, fixtures of
//! `test_function` runs.

use serde::Serialize;

/// The phase of a pytest test that a context covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    Setup,
    Run,
    Teardown,
}

impl Phase {
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Setup => "setup",
            Phase::Run => "run",
            Phase::Teardown => "teardown",
        }
    }
}

/// A context name, classified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContextKind {
    /// The empty context: code run outside any test (import time, collection).
    Global,
    /// A pytest-cov test context: a node id and the phase.
    Test { node_id: String, phase: Phase },
    /// A `dynamic_context = test_function` context: `module.Qualname`, to be resolved to a
    /// node id against the repository's files (see [`function_context_to_node_id`]).
    Function { dotted: String },
    /// Anything else (a static `--context` label, a custom plugin's name).
    Other(String),
}

/// The node id and phase of a pytest-cov context (`node_id|phase`), borrowed: selection reads
/// every context of the file, and most are phases of a test already seen.
pub fn test_context(name: &str) -> Option<(&str, Phase)> {
    let (node_id, phase) = name.rsplit_once('|')?;
    let phase = match phase {
        "setup" => Phase::Setup,
        "run" => Phase::Run,
        "teardown" => Phase::Teardown,
        _ => return None,
    };
    (!node_id.is_empty()).then_some((node_id, phase))
}

/// The node id a context names: a pytest-cov context's directly (borrowed), a `test_function`
/// context's through `resolve_function`; `None` for any other context.
pub fn node_id_of(
    name: &str,
    resolve_function: impl FnOnce(&str) -> Option<String>,
) -> Option<std::borrow::Cow<'_, str>> {
    if let Some((node_id, _)) = test_context(name) {
        return Some(std::borrow::Cow::Borrowed(node_id));
    }
    match parse_context(name) {
        ContextKind::Function { dotted } => resolve_function(&dotted).map(std::borrow::Cow::Owned),
        _ => None,
    }
}

/// Classify a context name from the `context` table.
pub fn parse_context(name: &str) -> ContextKind {
    if name.is_empty() {
        return ContextKind::Global;
    }
    if let Some((node_id, phase)) = test_context(name) {
        return ContextKind::Test {
            node_id: node_id.to_string(),
            phase,
        };
    }
    if looks_like_dotted_qualname(name) {
        return ContextKind::Function {
            dotted: name.to_string(),
        };
    }
    ContextKind::Other(name.to_string())
}

fn looks_like_dotted_qualname(name: &str) -> bool {
    name.contains('.')
        && name.split('.').all(|part| {
            let mut chars = part.chars();
            chars.next().is_some_and(|c| c.is_alphabetic() || c == '_')
                && chars.all(|c| c.is_alphanumeric() || c == '_')
        })
}

/// Turn `tests.test_mod.TestClass.test_fn` into `tests/test_mod.py::TestClass::test_fn`, using
/// `is_module_file` to find which dotted prefix names a file of the repository (longest first).
/// Returns `None` when no prefix names a file.
pub fn function_context_to_node_id(
    dotted: &str,
    is_module_file: impl Fn(&str) -> bool,
) -> Option<String> {
    let parts: Vec<&str> = dotted.split('.').collect();
    for split in (1..parts.len()).rev() {
        let path = format!("{}.py", parts[..split].join("/"));
        if is_module_file(&path) {
            let mut id = path;
            for part in &parts[split..] {
                id.push_str("::");
                id.push_str(part);
            }
            return Some(id);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pytest_cov_contexts_keep_odd_node_ids() {
        let cases = [
            (
                "tests/test_a.py::test_x|run",
                "tests/test_a.py::test_x",
                Phase::Run,
            ),
            (
                "tests/test_a.py::TestK::test_y[a|b-c::d]|setup",
                "tests/test_a.py::TestK::test_y[a|b-c::d]",
                Phase::Setup,
            ),
            (
                "tests/t.py::test_z[héllo wörld 1]|teardown",
                "tests/t.py::test_z[héllo wörld 1]",
                Phase::Teardown,
            ),
            ("t.py::test[x|run]|run", "t.py::test[x|run]", Phase::Run),
        ];
        for (name, id, phase) in cases {
            assert_eq!(
                parse_context(name),
                ContextKind::Test {
                    node_id: id.to_string(),
                    phase
                },
                "{name}"
            );
        }
    }

    #[test]
    fn other_context_kinds() {
        assert_eq!(parse_context(""), ContextKind::Global);
        assert_eq!(
            parse_context("tests.test_a.TestK.test_y"),
            ContextKind::Function {
                dotted: "tests.test_a.TestK.test_y".into()
            }
        );
        assert_eq!(
            parse_context("nightly"),
            ContextKind::Other("nightly".into())
        );
        assert_eq!(parse_context("|run"), ContextKind::Other("|run".into()));
        assert_eq!(
            parse_context("x|bogus"),
            ContextKind::Other("x|bogus".into())
        );
    }

    #[test]
    fn function_contexts_resolve_against_files() {
        let files = ["tests/test_a.py", "tests/sub/test_b.py"];
        let is_file = |p: &str| files.contains(&p);
        assert_eq!(
            function_context_to_node_id("tests.test_a.TestK.test_y", is_file).as_deref(),
            Some("tests/test_a.py::TestK::test_y")
        );
        assert_eq!(
            function_context_to_node_id("tests.sub.test_b.test_z", is_file).as_deref(),
            Some("tests/sub/test_b.py::test_z")
        );
        assert_eq!(function_context_to_node_id("nowhere.test_q", is_file), None);
    }
}
