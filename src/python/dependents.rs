//! The files that import given modules, directly or not, found without building the whole
//! import graph.
//!
//! Selection asks one question of the import graph: which files reach these few changed
//! modules? Parsing every file of a large repository to answer it costs more than the rest of
//! selection together, so this walks the graph backwards from the changed modules and parses
//! only the files that can import the module at hand: an import names the module's last
//! component in its text (`import a.b.c`, `from a.b import c`, `from .c import x`,
//! `pytest_plugins = ["a.b.c"]`), so a file whose text lacks that word cannot import it.
//! Files inside a package also depend on the package's `__init__.py` (Python runs it first).
//! The answer is the same as [`super::ImportGraph::dependents_closure`] on the full graph.

use std::collections::{BTreeMap, HashMap, VecDeque};

use super::graph::read_imports;
use super::imports::{Import, ModuleResolver};

/// Reverse reachability over repository Python files, parsed lazily.
pub struct Dependents {
    /// Raw bytes: most files are only searched, never parsed, so they are never decoded.
    sources: BTreeMap<String, Vec<u8>>,
    resolver: ModuleResolver,
    imports: HashMap<String, Vec<Import>>,
}

impl Dependents {
    /// `sources`: every Python file of the working tree (repo-relative path -> text);
    /// `phantoms`: deleted modules that imports may still name; `roots`: configured roots.
    pub fn new(sources: BTreeMap<String, Vec<u8>>, phantoms: &[String], roots: &[String]) -> Self {
        let resolver = ModuleResolver::new(
            sources
                .keys()
                .map(String::as_str)
                .chain(phantoms.iter().map(String::as_str)),
            roots,
        );
        Dependents {
            sources,
            resolver,
            imports: HashMap::new(),
        }
    }

    /// Every file that reaches one of `changed` through imports, mapped to the next file on a
    /// shortest path towards the changed module (the changed files map to `None`).
    pub fn closure(&mut self, changed: &[&str]) -> BTreeMap<String, Option<String>> {
        let mut parent: BTreeMap<String, Option<String>> = BTreeMap::new();
        let mut queue: VecDeque<String> = VecDeque::new();
        for path in changed {
            if parent.insert(path.to_string(), None).is_none() {
                queue.push_back(path.to_string());
            }
        }
        while let Some(target) = queue.pop_front() {
            for importer in self.importers_of(&target) {
                if !parent.contains_key(&importer) {
                    parent.insert(importer.clone(), Some(target.clone()));
                    queue.push_back(importer);
                }
            }
        }
        parent
    }

    /// Files that import `target` directly (or run it as their package's `__init__.py`).
    fn importers_of(&mut self, target: &str) -> Vec<String> {
        let mut out = Vec::new();
        let word = module_word(target);
        let finder = (!word.is_empty()).then(|| memchr::memmem::Finder::new(word.as_bytes()));
        let package_dir = target
            .strip_suffix("__init__.py")
            .filter(|dir| dir.is_empty() || dir.ends_with('/'));
        for (path, source) in &self.sources {
            if path == target {
                continue;
            }
            if let Some(dir) = package_dir
                && path.starts_with(dir)
            {
                out.push(path.clone());
                continue;
            }
            if word.is_empty() || finder.as_ref().is_none_or(|f| f.find(source).is_none()) {
                continue;
            }
            let imports = self
                .imports
                .entry(path.clone())
                .or_insert_with(|| read_imports(&String::from_utf8_lossy(source)));
            if imports
                .iter()
                .any(|imp| self.resolver.resolve(path, imp).contains(target))
            {
                out.push(path.clone());
            }
        }
        out
    }
}

/// The word an import of `path` must contain: `c` for `a/b/c.py`, `b` for `a/b/__init__.py`.
fn module_word(path: &str) -> &str {
    let stem = path.strip_suffix(".py").unwrap_or(path);
    let stem = stem.strip_suffix("/__init__").unwrap_or(stem);
    stem.rsplit('/').next().unwrap_or(stem)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::python::ImportGraph;

    fn tree() -> BTreeMap<String, Vec<u8>> {
        [
            ("src/pkg/__init__.py", "from .consts import X\n"),
            ("src/pkg/consts.py", "X = 1\n"),
            ("src/pkg/core.py", "from pkg.consts import X\n"),
            ("src/pkg/sub/__init__.py", ""),
            (
                "src/pkg/sub/deep.py",
                "def f():\n    from ..core import y\n",
            ),
            ("src/other.py", "import os\n"),
            ("tests/test_core.py", "import pkg.core\n"),
            ("tests/test_other.py", "import other\n"),
            ("tests/conftest.py", "pytest_plugins = ['pkg.sub.deep']\n"),
        ]
        .into_iter()
        .map(|(p, s)| (p.to_string(), s.as_bytes().to_vec()))
        .collect()
    }

    #[test]
    fn agrees_with_the_full_graph() {
        let sources = tree();
        let text: Vec<(String, String)> = sources
            .iter()
            .map(|(p, s)| (p.clone(), String::from_utf8_lossy(s).into_owned()))
            .collect();
        let graph = ImportGraph::build(text.iter().map(|(p, s)| (p.as_str(), s.as_str())), &[]);
        let mut lazy = Dependents::new(sources.clone(), &[], &[]);
        for changed in sources.keys() {
            let want = graph.dependents_closure([changed.as_str()]);
            let got: std::collections::BTreeSet<String> =
                lazy.closure(&[changed.as_str()]).into_keys().collect();
            assert_eq!(got, want, "dependents of {changed}");
        }
    }

    #[test]
    fn parents_lead_to_the_changed_module() {
        let sources = tree();
        let mut lazy = Dependents::new(sources.clone(), &[], &[]);
        let closure = lazy.closure(&["src/pkg/consts.py"]);
        let mut chain = vec!["tests/test_core.py".to_string()];
        while let Some(Some(next)) = closure.get(chain.last().unwrap()) {
            chain.push(next.clone());
        }
        assert_eq!(chain.last().map(String::as_str), Some("src/pkg/consts.py"));
        assert!(chain.len() >= 3, "{chain:?}");
    }
}
