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
//! Files whose imports come parsed from the import index ([`super::index`]) are filtered the
//! same way, by the words their imports name.
//! The answer is the same as [`super::ImportGraph::dependents_closure`] on the full graph.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

use super::graph::read_imports;
use super::imports::{Import, ModuleResolver};

/// What is known of one file: its text, searched and parsed only when needed, or its imports,
/// already parsed (from the import index of [`super::index`]).
pub enum FileImports<'a> {
    Source(Vec<u8>),
    Parsed(&'a [Import]),
}

/// Reverse reachability over repository Python files, parsed lazily.
pub struct Dependents<'a> {
    /// Every file, sorted: packages' files are a range of it.
    paths: Vec<String>,
    /// Raw bytes: most files are only searched, never parsed, so they are never decoded.
    sources: BTreeMap<String, Vec<u8>>,
    resolver: ModuleResolver,
    /// Imports parsed here, from `sources`.
    parsed: HashMap<String, Vec<Import>>,
    /// Imports given parsed.
    given: HashMap<u32, &'a [Import]>,
    /// For files given parsed: each word their imports name -> those files. The same filter
    /// as the text search over sources, without the text.
    by_word: HashMap<&'a str, Vec<u32>>,
}

impl<'a> Dependents<'a> {
    /// `files`: every Python file of the working tree (repo-relative path -> text or imports);
    /// `phantoms`: deleted modules that imports may still name; `roots`: configured roots.
    pub fn new(
        files: BTreeMap<String, FileImports<'a>>,
        phantoms: &[String],
        roots: &[String],
    ) -> Self {
        let resolver = ModuleResolver::new(
            files
                .keys()
                .map(String::as_str)
                .chain(phantoms.iter().map(String::as_str)),
            roots,
        );
        let mut paths = Vec::with_capacity(files.len());
        let mut sources = BTreeMap::new();
        let mut given = HashMap::new();
        let mut by_word: HashMap<&'a str, Vec<u32>> = HashMap::new();
        for (number, (path, file)) in files.into_iter().enumerate() {
            let number = number as u32;
            paths.push(path.clone());
            match file {
                FileImports::Source(bytes) => {
                    sources.insert(path, bytes);
                }
                FileImports::Parsed(imports) => {
                    let mut words: Vec<&'a str> = imports
                        .iter()
                        .flat_map(|i| std::iter::once(&i.module).chain(&i.names))
                        .flat_map(|name| name.split('.'))
                        .filter(|w| !w.is_empty())
                        .collect();
                    words.sort_unstable();
                    words.dedup();
                    for word in words {
                        by_word.entry(word).or_default().push(number);
                    }
                    given.insert(number, imports);
                }
            }
        }
        Dependents {
            paths,
            sources,
            resolver,
            parsed: HashMap::new(),
            given,
            by_word,
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

    /// Files that import `target` directly (or run it as their package's `__init__.py`), sorted.
    fn importers_of(&mut self, target: &str) -> Vec<String> {
        let mut out: BTreeSet<String> = BTreeSet::new();
        if let Some(dir) = target
            .strip_suffix("__init__.py")
            .filter(|dir| dir.is_empty() || dir.ends_with('/'))
        {
            let first = self.paths.partition_point(|p| p.as_str() < dir);
            out.extend(
                self.paths[first..]
                    .iter()
                    .take_while(|p| p.starts_with(dir))
                    .filter(|p| p.as_str() != target)
                    .cloned(),
            );
        }
        let word = module_word(target);
        if word.is_empty() {
            return out.into_iter().collect();
        }
        // Files that name the module's last component: text search in sources, a lookup in
        // parsed imports.
        let finder = memchr::memmem::Finder::new(word.as_bytes());
        let mut candidates: BTreeMap<String, Option<&'a [Import]>> = self
            .sources
            .iter()
            .filter(|(_, source)| finder.find(source).is_some())
            .map(|(path, _)| (path.clone(), None))
            .collect();
        for &number in self.by_word.get(word).into_iter().flatten() {
            candidates.insert(
                self.paths[number as usize].clone(),
                self.given.get(&number).copied(),
            );
        }
        for (path, given) in candidates {
            if path == target || out.contains(&path) {
                continue;
            }
            let imports: &[Import] = match given {
                Some(imports) => imports,
                None => self.parsed.entry(path.clone()).or_insert_with(|| {
                    read_imports(&String::from_utf8_lossy(&self.sources[&path]))
                }),
            };
            if imports
                .iter()
                .any(|imp| self.resolver.resolve(&path, imp).contains(target))
            {
                out.insert(path);
            }
        }
        out.into_iter().collect()
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

    fn as_sources(tree: &BTreeMap<String, Vec<u8>>) -> BTreeMap<String, FileImports<'_>> {
        tree.iter()
            .map(|(p, s)| (p.clone(), FileImports::Source(s.clone())))
            .collect()
    }

    fn parse_all(tree: &BTreeMap<String, Vec<u8>>) -> BTreeMap<String, Vec<Import>> {
        tree.iter()
            .map(|(p, s)| (p.clone(), read_imports(&String::from_utf8_lossy(s))))
            .collect()
    }

    fn as_parsed(parsed: &BTreeMap<String, Vec<Import>>) -> BTreeMap<String, FileImports<'_>> {
        parsed
            .iter()
            .map(|(p, imports)| (p.clone(), FileImports::Parsed(imports)))
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
        let mut lazy = Dependents::new(as_sources(&sources), &[], &[]);
        let parsed = parse_all(&sources);
        let mut indexed = Dependents::new(as_parsed(&parsed), &[], &[]);
        for changed in sources.keys() {
            let want = graph.dependents_closure([changed.as_str()]);
            let got: std::collections::BTreeSet<String> =
                lazy.closure(&[changed.as_str()]).into_keys().collect();
            assert_eq!(got, want, "dependents of {changed}");
            let closure = lazy.closure(&[changed.as_str()]);
            assert_eq!(
                indexed.closure(&[changed.as_str()]),
                closure,
                "indexed {changed}"
            );
        }
    }

    #[test]
    fn parents_lead_to_the_changed_module() {
        let sources = tree();
        let mut lazy = Dependents::new(as_sources(&sources), &[], &[]);
        let closure = lazy.closure(&["src/pkg/consts.py"]);
        let mut chain = vec!["tests/test_core.py".to_string()];
        while let Some(Some(next)) = closure.get(chain.last().unwrap()) {
            chain.push(next.clone());
        }
        assert_eq!(chain.last().map(String::as_str), Some("src/pkg/consts.py"));
        assert!(chain.len() >= 3, "{chain:?}");
    }
}
