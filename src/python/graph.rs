//! The whole import graph of a repository's Python files, built at once: the reference that
//! the lazy reverse walk selection uses ([`super::dependents::Dependents`]) is tested against.
//! Test code only.
//!
//! Edges: every import statement of a file, resolved by [`ModuleResolver`] (module, parent
//! packages' `__init__.py`, submodules named in `from` imports), plus each file's own enclosing
//! packages' `__init__.py`, which Python runs before the file however it is reached.

use std::collections::{BTreeSet, HashMap, VecDeque};

#[cfg(test)]
use super::imports::{Import, read_imports_full};
use super::imports::{ModuleResolver, read_imports};

/// Forward and reverse import edges over repository Python files (repo-relative, `/`-separated).
#[derive(Debug, Clone)]
pub struct ImportGraph {
    /// Sorted, so node ids and every output are deterministic.
    paths: Vec<String>,
    index: HashMap<String, u32>,
    forward: Vec<Vec<u32>>,
    reverse: Vec<Vec<u32>>,
    roots: Vec<String>,
}

impl ImportGraph {
    /// Parse every `(path, source)` once and resolve its imports against all given paths.
    /// `roots`: configured source roots; defaults and inferred roots are added
    /// (see [`super::imports::infer_roots`]).
    pub fn build<I, P, S>(files: I, roots: &[String]) -> Self
    where
        I: IntoIterator<Item = (P, S)>,
        P: Into<String>,
        S: AsRef<str>,
    {
        Self::build_with_phantoms(files, std::iter::empty::<&str>(), roots)
    }

    /// Like [`Self::build`], with extra `phantoms`: files that imports may resolve to but whose
    /// source is not given, such as modules deleted or renamed by the change. Their importers
    /// then still show up in [`Self::dependents_closure`] of the phantom path.
    pub fn build_with_phantoms<I, P, S, Q>(
        files: I,
        phantoms: impl IntoIterator<Item = Q>,
        roots: &[String],
    ) -> Self
    where
        I: IntoIterator<Item = (P, S)>,
        P: Into<String>,
        S: AsRef<str>,
        Q: AsRef<str>,
    {
        let mut parsed: Vec<(String, Vec<Import>)> = files
            .into_iter()
            .map(|(path, source)| {
                let path = path.into();
                let imports = read_imports(source.as_ref());
                (path, imports)
            })
            .collect();
        for p in phantoms {
            parsed.push((p.as_ref().to_owned(), Vec::new()));
        }
        parsed.sort_by(|a, b| a.0.cmp(&b.0));
        parsed.dedup_by(|a, b| a.0 == b.0);

        let resolver = ModuleResolver::new(parsed.iter().map(|(p, _)| p.as_str()), roots);
        let paths: Vec<String> = parsed.iter().map(|(p, _)| p.clone()).collect();
        let index: HashMap<String, u32> = paths
            .iter()
            .enumerate()
            .map(|(i, p)| (p.clone(), i as u32))
            .collect();
        let mut forward: Vec<Vec<u32>> = Vec::with_capacity(paths.len());
        for (path, imports) in &parsed {
            let mut targets: BTreeSet<String> = resolver.package_inits(path).into_iter().collect();
            for imp in imports {
                targets.extend(resolver.resolve(path, imp));
            }
            let mut ids: Vec<u32> = targets
                .iter()
                .filter(|t| *t != path)
                .filter_map(|t| index.get(t).copied())
                .collect();
            ids.sort_unstable();
            forward.push(ids);
        }
        let mut reverse: Vec<Vec<u32>> = vec![Vec::new(); paths.len()];
        for (from, tos) in forward.iter().enumerate() {
            for &to in tos {
                reverse[to as usize].push(from as u32);
            }
        }
        Self {
            paths,
            index,
            forward,
            reverse,
            roots: resolver.roots().to_vec(),
        }
    }

    /// Every file in the graph, sorted.
    pub fn files(&self) -> &[String] {
        &self.paths
    }

    /// The source roots resolution used, sorted.
    pub fn roots(&self) -> &[String] {
        &self.roots
    }

    /// Whether `path` is a node.
    pub fn contains(&self, path: &str) -> bool {
        self.index.contains_key(path)
    }

    /// Files `path` imports directly (including its packages' `__init__.py`), sorted.
    pub fn imports_of(&self, path: &str) -> Vec<&str> {
        self.neighbours(&self.forward, path)
    }

    /// Files that import `path` directly, sorted.
    pub fn importers_of(&self, path: &str) -> Vec<&str> {
        self.neighbours(&self.reverse, path)
    }

    /// Every file that imports one of `changed`, directly or transitively, plus the changed
    /// files themselves (those in the graph). Paths not in the graph are ignored.
    pub fn dependents_closure<'a>(
        &self,
        changed: impl IntoIterator<Item = &'a str>,
    ) -> BTreeSet<String> {
        let mut seen = vec![false; self.paths.len()];
        let mut stack: Vec<u32> = changed
            .into_iter()
            .filter_map(|p| self.index.get(p).copied())
            .collect();
        for &s in &stack {
            seen[s as usize] = true;
        }
        while let Some(n) = stack.pop() {
            for &m in &self.reverse[n as usize] {
                if !seen[m as usize] {
                    seen[m as usize] = true;
                    stack.push(m);
                }
            }
        }
        seen.iter()
            .enumerate()
            .filter(|(_, s)| **s)
            .map(|(i, _)| self.paths[i].clone())
            .collect()
    }

    /// A shortest import chain `from -> ... -> to` (both included), for `explain`: why a test
    /// file depends on a changed module. `None` when `from` does not reach `to`.
    pub fn import_chain(&self, from: &str, to: &str) -> Option<Vec<&str>> {
        let (&start, &goal) = (self.index.get(from)?, self.index.get(to)?);
        let mut prev: Vec<u32> = vec![u32::MAX; self.paths.len()];
        prev[start as usize] = start;
        let mut queue = VecDeque::from([start]);
        while let Some(n) = queue.pop_front() {
            if n == goal {
                let mut chain = vec![self.paths[n as usize].as_str()];
                let mut cur = n;
                while cur != start {
                    cur = prev[cur as usize];
                    chain.push(self.paths[cur as usize].as_str());
                }
                chain.reverse();
                return Some(chain);
            }
            for &m in &self.forward[n as usize] {
                if prev[m as usize] == u32::MAX {
                    prev[m as usize] = n;
                    queue.push_back(m);
                }
            }
        }
        None
    }

    fn neighbours(&self, edges: &[Vec<u32>], path: &str) -> Vec<&str> {
        self.index
            .get(path)
            .map(|&i| {
                edges[i as usize]
                    .iter()
                    .map(|&j| self.paths[j as usize].as_str())
                    .collect()
            })
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repo() -> Vec<(&'static str, &'static str)> {
        vec![
            ("app/__init__.py", "from .settings import DEBUG\n"),
            ("app/settings.py", "DEBUG = False\n"),
            (
                "app/models.py",
                "from app import settings\nclass M:\n    pass\n",
            ),
            (
                "app/views.py",
                "from .models import M\ndef v():\n    from app.heavy import h\n    return h\n",
            ),
            ("app/heavy.py", "X = 1\n"),
            (
                "app/cli.py",
                "import sys\nif __name__ == '__main__':\n    pass\n",
            ),
            ("app/broken.py", "import app.models\ndef f(:\n"),
            ("tests/conftest.py", "pytest_plugins = ['fixtures.db']\n"),
            ("tests/fixtures/db.py", "import app.models\n"),
            ("tests/test_views.py", "from app.views import v\n"),
            ("tests/test_cli.py", "from app import cli\n"),
            ("tests/test_alone.py", "def test_x():\n    assert True\n"),
        ]
    }

    #[test]
    fn closure_follows_reverse_edges() {
        let g = ImportGraph::build(repo(), &["tests".to_owned()]);
        let closure = |changed: &[&str]| -> Vec<String> {
            g.dependents_closure(changed.iter().copied())
                .into_iter()
                .collect()
        };
        assert_eq!(
            closure(&["app/heavy.py"]),
            ["app/heavy.py", "app/views.py", "tests/test_views.py"]
        );
        // Every app module runs app/__init__.py, which runs settings.
        let all_app: Vec<String> = closure(&["app/settings.py"]);
        for f in [
            "app/__init__.py",
            "app/models.py",
            "app/cli.py",
            "app/broken.py",
            "tests/test_cli.py",
            "tests/conftest.py",
            "tests/fixtures/db.py",
        ] {
            assert!(all_app.contains(&f.to_owned()), "{f} in {all_app:?}");
        }
        assert!(!all_app.contains(&"tests/test_alone.py".to_owned()));
        assert_eq!(closure(&["tests/test_alone.py"]), ["tests/test_alone.py"]);
        assert!(closure(&["not/there.py"]).is_empty());
    }

    #[test]
    fn edges_and_chains() {
        let g = ImportGraph::build(repo(), &["tests".to_owned()]);
        assert_eq!(
            g.imports_of("app/models.py"),
            ["app/__init__.py", "app/settings.py"]
        );
        assert_eq!(
            g.imports_of("app/broken.py"),
            ["app/__init__.py", "app/models.py"]
        );
        assert_eq!(g.importers_of("app/heavy.py"), ["app/views.py"]);
        assert_eq!(
            g.import_chain("tests/test_views.py", "app/heavy.py"),
            Some(vec!["tests/test_views.py", "app/views.py", "app/heavy.py"])
        );
        assert_eq!(g.import_chain("tests/test_alone.py", "app/heavy.py"), None);
    }

    #[test]
    fn phantoms_keep_importers_of_deleted_modules() {
        let files = vec![("a.py", "import gone\n"), ("tests/test_a.py", "import a\n")];
        let g = ImportGraph::build_with_phantoms(files, ["gone.py"], &[]);
        assert_eq!(
            g.dependents_closure(["gone.py"])
                .into_iter()
                .collect::<Vec<_>>(),
            ["a.py", "gone.py", "tests/test_a.py"]
        );
    }

    /// A synthetic repository: `packages` packages of `modules` modules, each module importing a
    /// few others absolutely and relatively (and, for one module in `late_every`, once more in a
    /// function at its end, which forces a full parse), plus one test file per module.
    pub(crate) fn synthetic(
        packages: usize,
        modules: usize,
        late_every: usize,
    ) -> Vec<(String, String)> {
        let mut files = Vec::new();
        for p in 0..packages {
            files.push((
                format!("src/proj/p{p}/__init__.py"),
                "from .m0 import *\n".to_owned(),
            ));
            for m in 0..modules {
                let mut src = String::from("\"\"\"Module docs.\"\"\"\nimport os\nimport typing\n");
                src.push_str(&format!(
                    "from proj.p{}.m{} import thing\n",
                    (p + 1) % packages,
                    m
                ));
                src.push_str(&format!("from . import m{}\n", (m + 1) % modules));
                src.push_str(&format!("from .m{} import other as o\n", (m + 3) % modules));
                for k in 0..20 {
                    src.push_str(&format!(
                        "\n\nclass C{k}(Base):\n    attr: int = {k}\n\n    def method(self, a, b=3):\n        if a > b:\n            return [x * 2 for x in range(a)]\n        return {{'k': f'{{a}}-{{b}}'}}\n"
                    ));
                }
                if m % late_every == 0 {
                    src.push_str("\ndef late():\n    import json\n    return json.dumps({})\n");
                }
                files.push((format!("src/proj/p{p}/m{m}.py"), src));
                files.push((
                    format!("tests/p{p}/test_m{m}.py"),
                    format!("from proj.p{p}.m{m} import C0\n\ndef test_it():\n    assert C0().method(1)\n"),
                ));
            }
        }
        files
    }

    #[test]
    fn synthetic_tree_is_connected_as_built() {
        let files = synthetic(5, 10, 1);
        let g = ImportGraph::build(files.iter().map(|(p, s)| (p.as_str(), s.as_str())), &[]);
        assert_eq!(g.files().len(), 5 + 5 * 10 * 2);
        let deps = g.dependents_closure(["src/proj/p0/m0.py"]);
        // Cyclic imports through the packages reach every test.
        assert_eq!(deps.iter().filter(|p| p.starts_with("tests/")).count(), 50);
    }

    #[test]
    fn prefix_keeps_every_import() {
        let cases = [
            "import a\nX = 1\ndef f():\n    return 2\n",
            "from x import (a,  # see f()\n    b as c,\n    d)\nY = (1)\n",
            "from x import a, \\\n    b\nZ = 3\n",
            "from x import (\n    importer,\n    thing,\n)\nclass C:\n    pass\n",
            "def f():\n    from . import late\n\"\"\"docs about import\"\"\"\nx = 1\n",
            "x = 'no imports here'\n",
            "import a; import b\nfrom c import d as \u{e9}t\u{e9}\n",
            "pytest_plugins = ['a.b']\nimport x\n",
            "if TYPE_CHECKING:\n    from m import T\nelse:\n    T = None\n",
            "from broken import (a,\n",
        ];
        for src in cases {
            assert_eq!(read_imports(src), read_imports_full(src), "{src}");
        }
    }

    /// Differential check of the prefix parse against a full parse over a real Python tree:
    /// `$COVSHARD_PY_DIR`, else the site-packages of the venv `.ci/run` makes (pytest,
    /// coverage, their dependencies). CI always runs it; elsewhere it needs one of the two.
    #[test]
    fn prefix_matches_full_parse_on_a_tree() {
        let dir = match std::env::var_os("COVSHARD_PY_DIR") {
            Some(dir) => std::path::PathBuf::from(dir),
            None => match std::env::var_os("COVSHARD_PYTHON") {
                Some(python) => {
                    let lib = std::path::Path::new(&python)
                        .parent()
                        .and_then(|bin| bin.parent())
                        .expect("the venv python lives in <venv>/bin")
                        .join("lib");
                    let version = std::fs::read_dir(&lib)
                        .expect("<venv>/lib exists")
                        .flatten()
                        .find(|e| e.file_name().to_string_lossy().starts_with("python"))
                        .expect("<venv>/lib/pythonX.Y");
                    version.path().join("site-packages")
                }
                None if std::env::var_os("CI").is_some() => {
                    panic!("CI needs COVSHARD_PYTHON (set by .ci/run) for this check")
                }
                None => return,
            },
        };
        let mut stack = vec![dir];
        let (mut files, mut imports) = (0, 0);
        while let Some(d) = stack.pop() {
            for entry in std::fs::read_dir(&d).expect("read dir").flatten() {
                let p = entry.path();
                if p.is_dir() {
                    stack.push(p);
                } else if p.extension().is_some_and(|e| e == "py")
                    && let Ok(src) = std::fs::read_to_string(&p)
                {
                    let (fast, full) = (read_imports(&src), read_imports_full(&src));
                    assert_eq!(fast, full, "{}", p.display());
                    files += 1;
                    imports += full.len();
                }
            }
        }
        eprintln!("{files} files, {imports} imports: prefix parse agrees");
    }

    proptest::proptest! {
        /// Reverse reachability and forward chains agree: a file is in the closure of a module
        /// exactly when an import chain leads from it to the module.
        #[test]
        fn closure_agrees_with_chains(edges in proptest::collection::vec((0usize..12, 0usize..12), 0..30)) {
            let mut sources = vec![String::new(); 12];
            for (from, to) in edges {
                sources[from].push_str(&format!("import m{to}\n"));
            }
            let files: Vec<(String, String)> = sources
                .into_iter()
                .enumerate()
                .map(|(i, s)| (format!("m{i}.py"), s))
                .collect();
            let g = ImportGraph::build(files.iter().map(|(p, s)| (p.as_str(), s.as_str())), &[]);
            for (changed, _) in &files {
                let closure = g.dependents_closure([changed.as_str()]);
                for (file, _) in &files {
                    proptest::prop_assert_eq!(
                        closure.contains(file),
                        g.import_chain(file, changed).is_some(),
                        "{} -> {}", file, changed
                    );
                }
            }
        }
    }
}
