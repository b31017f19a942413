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
//! The answer is the same as `graph::ImportGraph::dependents_closure` on the full graph.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

use super::imports::read_imports;
use super::imports::{Import, ModuleResolver};
use crate::error::Result;

/// Looks up, in the import index, the indexed files whose imports name a word, with their
/// imports (see [`super::index::IndexReader::files_naming`]).
pub type Lookup<'a> = Box<dyn FnMut(&str) -> Result<Vec<(String, Vec<Import>)>> + 'a>;

/// Reverse reachability over repository Python files, parsed lazily.
pub struct Dependents<'a> {
    /// Every file, sorted: packages' files are a range of it.
    paths: Vec<String>,
    /// Files read from disk, as raw bytes: most are only searched, never parsed, so they are
    /// never decoded.
    sources: BTreeMap<String, Vec<u8>>,
    /// Files whose imports the index holds (unchanged since the indexed commit).
    indexed: BTreeSet<String>,
    lookup: Option<Lookup<'a>>,
    resolver: ModuleResolver,
    /// Imports parsed so far, from sources or from the index.
    parsed: HashMap<String, Vec<Import>>,
}

impl<'a> Dependents<'a> {
    /// `sources`: the Python files of the working tree read from disk (repo-relative path ->
    /// text); `indexed`: the others, whose imports `lookup` finds in the import index;
    /// `phantoms`: deleted modules that imports may still name; `roots`: configured roots.
    pub fn new(
        sources: BTreeMap<String, Vec<u8>>,
        indexed: BTreeSet<String>,
        lookup: Option<Lookup<'a>>,
        phantoms: &[String],
        roots: &[String],
    ) -> Self {
        let mut paths: Vec<String> = sources.keys().chain(&indexed).cloned().collect();
        paths.sort();
        paths.dedup();
        let resolver = ModuleResolver::new(
            paths
                .iter()
                .map(String::as_str)
                .chain(phantoms.iter().map(String::as_str)),
            roots,
        );
        Dependents {
            paths,
            sources,
            indexed,
            lookup,
            resolver,
            parsed: HashMap::new(),
        }
    }

    /// The repository files an import in `importer` runs (see [`ModuleResolver::resolve`]).
    pub fn resolve(&self, importer: &str, import: &Import) -> BTreeSet<String> {
        self.resolver.resolve(importer, import)
    }

    /// Whether `path` is a Python file of the repository.
    pub fn contains(&self, path: &str) -> bool {
        self.resolver.contains(path)
    }

    /// The files of the module an import names (see [`ModuleResolver::module_files`]).
    pub fn module_files(&self, importer: &str, import: &Import) -> BTreeSet<String> {
        self.resolver.module_files(importer, import)
    }

    /// Every file that reaches one of `changed` through imports, mapped to the next file on a
    /// shortest path towards the changed module (the changed files map to `None`).
    pub fn closure(&mut self, changed: &[&str]) -> Result<BTreeMap<String, Option<String>>> {
        let mut parent: BTreeMap<String, Option<String>> = BTreeMap::new();
        let mut queue: VecDeque<String> = VecDeque::new();
        for path in changed {
            if parent.insert(path.to_string(), None).is_none() {
                queue.push_back(path.to_string());
            }
        }
        while let Some(target) = queue.pop_front() {
            for importer in self.importers_of(&target)? {
                if !parent.contains_key(&importer) {
                    parent.insert(importer.clone(), Some(target.clone()));
                    queue.push_back(importer);
                }
            }
        }
        Ok(parent)
    }

    /// Files whose module-level code imports the dotted `module` by that name (`import m`,
    /// `from m import x`; absolute, outside `TYPE_CHECKING`), with those imports, sorted.
    pub fn files_importing(&mut self, module: &str) -> Result<Vec<(String, Vec<Import>)>> {
        let word = module.rsplit('.').next().unwrap_or(module);
        let mut out = Vec::new();
        for path in self.candidates(word)? {
            let imports: Vec<Import> = self
                .imports(&path)
                .iter()
                .filter(|i| {
                    i.level == 0 && i.module == module && !i.in_function && !i.type_checking
                })
                .cloned()
                .collect();
            if !imports.is_empty() {
                out.push((path, imports));
            }
        }
        Ok(out)
    }

    /// The files whose imports may name `word`, parsed: a text search in the sources, a lookup
    /// in the index for the others.
    fn candidates(&mut self, word: &str) -> Result<BTreeSet<String>> {
        let finder = memchr::memmem::Finder::new(word.as_bytes());
        let mut candidates: BTreeSet<String> = self
            .sources
            .iter()
            .filter(|(_, source)| finder.find(source).is_some())
            .map(|(path, _)| path.clone())
            .collect();
        if let Some(lookup) = self.lookup.as_mut() {
            for (path, imports) in lookup(word)? {
                if self.indexed.contains(&path) {
                    self.parsed.entry(path.clone()).or_insert(imports);
                    candidates.insert(path);
                }
            }
        }
        Ok(candidates)
    }

    /// A candidate's imports, parsed on first use.
    fn imports(&mut self, path: &str) -> &[Import] {
        let sources = &self.sources;
        self.parsed
            .entry(path.to_string())
            .or_insert_with(|| read_imports(&String::from_utf8_lossy(&sources[path])))
    }

    /// Files that import `target` directly (or run it as their package's `__init__.py`), sorted.
    pub fn importers_of(&mut self, target: &str) -> Result<Vec<String>> {
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
            return Ok(out.into_iter().collect());
        }
        // Files that name the module's last component.
        for path in self.candidates(word)? {
            if path == target || out.contains(&path) {
                continue;
            }
            let sources = &self.sources;
            let imports = self
                .parsed
                .entry(path.clone())
                .or_insert_with(|| read_imports(&String::from_utf8_lossy(&sources[&path])));
            if imports
                .iter()
                .any(|imp| self.resolver.resolve(&path, imp).contains(target))
            {
                out.insert(path);
            }
        }
        Ok(out.into_iter().collect())
    }
}

/// The word an import of `path` must contain: `c` for `a/b/c.py`, `b` for `a/b/__init__.py`.
pub fn module_word(path: &str) -> &str {
    let stem = path.strip_suffix(".py").unwrap_or(path);
    let stem = stem.strip_suffix("/__init__").unwrap_or(stem);
    stem.rsplit('/').next().unwrap_or(stem)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::python::graph::ImportGraph;

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

    fn from_sources(tree: &BTreeMap<String, Vec<u8>>) -> Dependents<'static> {
        Dependents::new(tree.clone(), BTreeSet::new(), None, &[], &[])
    }

    /// Every file indexed: the lookup answers from parsed imports, as the stored index does.
    fn from_index(tree: &BTreeMap<String, Vec<u8>>) -> Dependents<'static> {
        let parsed: BTreeMap<String, Vec<Import>> = tree
            .iter()
            .map(|(p, s)| (p.clone(), read_imports(&String::from_utf8_lossy(s))))
            .collect();
        let indexed = parsed.keys().cloned().collect();
        let lookup: Lookup<'static> = Box::new(move |word: &str| {
            Ok(parsed
                .iter()
                .filter(|(_, imports)| crate::python::index::words(imports).contains(word))
                .map(|(p, imports)| (p.clone(), imports.clone()))
                .collect())
        });
        Dependents::new(BTreeMap::new(), indexed, Some(lookup), &[], &[])
    }

    #[test]
    fn agrees_with_the_full_graph() {
        let sources = tree();
        let text: Vec<(String, String)> = sources
            .iter()
            .map(|(p, s)| (p.clone(), String::from_utf8_lossy(s).into_owned()))
            .collect();
        let graph = ImportGraph::build(text.iter().map(|(p, s)| (p.as_str(), s.as_str())), &[]);
        let mut lazy = from_sources(&sources);
        let mut indexed = from_index(&sources);
        for changed in sources.keys() {
            let want = graph.dependents_closure([changed.as_str()]);
            let closure = lazy.closure(&[changed.as_str()]).unwrap();
            let got: BTreeSet<String> = closure.keys().cloned().collect();
            assert_eq!(got, want, "dependents of {changed}");
            let from_index = indexed.closure(&[changed.as_str()]).unwrap();
            assert_eq!(from_index, closure, "indexed {changed}");
        }
    }

    #[test]
    fn files_importing_a_module_by_name() {
        let mut sources = tree();
        sources.insert(
            "src/late.py".to_string(),
            b"def f():\n    import os\n".to_vec(),
        );
        for mut lazy in [from_sources(&sources), from_index(&sources)] {
            let found = lazy.files_importing("os").unwrap();
            let paths: Vec<&str> = found.iter().map(|(p, _)| p.as_str()).collect();
            // The import in a function body runs only when the function does.
            assert_eq!(paths, ["src/other.py"]);
            assert_eq!(found[0].1[0].module, "os");
            assert!(lazy.files_importing("pkg").unwrap().is_empty());
        }
    }

    #[test]
    fn parents_lead_to_the_changed_module() {
        let sources = tree();
        let mut lazy = from_sources(&sources);
        let closure = lazy.closure(&["src/pkg/consts.py"]).unwrap();
        let mut chain = vec!["tests/test_core.py".to_string()];
        while let Some(Some(next)) = closure.get(chain.last().unwrap()) {
            chain.push(next.clone());
        }
        assert_eq!(chain.last().map(String::as_str), Some("src/pkg/consts.py"));
        assert!(chain.len() >= 3, "{chain:?}");
    }
}
