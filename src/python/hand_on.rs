//! Where a module's object may be handed on as a value: which of the project's module and
//! package names a file mentions bare (not as the object of an attribute access, not in an
//! import), and whether it finds modules by other means than naming them (`sys.modules`,
//! `importlib.import_module`, a frame's globals).
//!
//! Selection asks this of every file when a module-level name changes, to tell whether code
//! that reads names from objects dynamically can reach the module; the import index records
//! the answers at the base commit, so that selection looks up only the names of the modules
//! a change reaches instead of reading the whole project.

use std::collections::{BTreeSet, HashSet};

/// The names the modules and packages of `files` (repository paths of Python files) go by:
/// every component of their paths (`src`, `geo` and `consts` of `src/geo/consts.py`).
pub fn module_words<'a>(files: impl IntoIterator<Item = &'a str>) -> HashSet<String> {
    files
        .into_iter()
        .flat_map(|f| {
            let path = f.strip_suffix(".py").unwrap_or(f);
            let path = path.strip_suffix("/__init__").unwrap_or(path);
            path.split('/').map(str::to_string).collect::<Vec<_>>()
        })
        .collect()
}

/// The version of [`scan`]'s analysis: raise it when what it finds changes, so that facts an
/// older build recorded are not trusted.
const VERSION: u8 = 2;

/// A hash of a set of Python files, and of this build's [`VERSION`], that stays the same
/// across builds and platforms (FNV-1a over the sorted paths): facts recorded for one set of
/// files, by one version of the analysis, hold only for the same.
pub fn files_fingerprint<'a>(files: impl IntoIterator<Item = &'a str>) -> i64 {
    let mut sorted: Vec<&str> = files.into_iter().collect();
    sorted.sort_unstable();
    sorted.dedup();
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let bytes = sorted
        .iter()
        .flat_map(|path| path.as_bytes().iter().copied().chain([0]));
    for b in std::iter::once(VERSION).chain(bytes) {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash as i64
}

/// What one file tells.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileHandOn {
    pub finds_modules: bool,
    /// The module words it mentions bare, sorted.
    pub bare: Vec<String>,
}

/// Read one file's source.
pub fn scan(text: &[u8], words: &WordSet) -> FileHandOn {
    FileHandOn {
        finds_modules: finds_modules(text),
        bare: bare_words(text, words),
    }
}

/// What code that finds modules or their namespaces without naming them spells.
const FINDS_MODULES: &[&str] = &[
    "sys.modules",
    "import modules",
    "import_module",
    "__import__",
    "getmodule",
    "__globals__",
    "f_globals",
    "_getframe",
    "currentframe",
    "getmembers",
    // Loaders that turn a dotted path into an object, a module perhaps.
    "module_from_spec",
    "load_module",
    "resolve_name",
    "import_string",
    "import_object",
    "pydoc",
];

/// Fragments every word of [`FINDS_MODULES`] holds one of, searched first.
const FINDS_MODULES_FRAGMENTS: &[&str] = &[
    "module",
    "globals",
    "frame",
    "members",
    "__import__",
    "resolve_name",
    "import_",
    "pydoc",
];

/// Whether source finds modules or namespaces without naming them ([`FINDS_MODULES`]); the
/// words share a few fragments, searched first.
pub fn finds_modules(text: &[u8]) -> bool {
    FINDS_MODULES_FRAGMENTS
        .iter()
        .any(|part| memchr::memmem::find(text, part.as_bytes()).is_some())
        && FINDS_MODULES
            .iter()
            .any(|w| super::names::has_word(text, w))
}

/// A set of words with a quick first test on their lengths and first bytes.
pub struct WordSet {
    words: HashSet<String>,
    lengths: [bool; 64],
    first: [bool; 256],
}

impl WordSet {
    pub fn new(words: HashSet<String>) -> Self {
        let mut set = WordSet {
            words,
            lengths: [false; 64],
            first: [false; 256],
        };
        for w in &set.words {
            set.lengths[w.len().min(63)] = true;
            if let Some(&b) = w.as_bytes().first() {
                set.first[usize::from(b)] = true;
            }
        }
        set
    }

    pub fn may_hold(&self, word: &[u8]) -> bool {
        self.lengths[word.len().min(63)] && self.first[usize::from(word[0])]
    }
}

/// The words of `wanted` that `text` mentions as whole words other than as the object of an
/// attribute access (`word.x`) or in an import statement: where each may be a value handed
/// on. Erring towards yes (strings and comments count), it spares parsing the files that
/// cannot hand a module on.
pub fn bare_words(text: &[u8], wanted: &WordSet) -> Vec<String> {
    let inner = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80;
    let mut found: BTreeSet<String> = BTreeSet::new();
    let mut line_start = 0;
    let mut i = 0;
    while i < text.len() {
        let b = text[i];
        if b == b'\n' {
            line_start = i + 1;
        }
        if !inner(b) {
            i += 1;
            continue;
        }
        let start = i;
        while i < text.len() && inner(text[i]) {
            i += 1;
        }
        // Cheapest tests first: most words are attribute objects or not module names at all.
        let next = text[i..].iter().find(|b| !matches!(b, b' ' | b'\t'));
        if next == Some(&b'.') || !wanted.may_hold(&text[start..i]) {
            continue;
        }
        let Ok(word) = std::str::from_utf8(&text[start..i]) else {
            continue;
        };
        if !wanted.words.contains(word) || found.contains(word) {
            continue;
        }
        let line = text[line_start..start].trim_ascii_start();
        if line.starts_with(b"import ") || line.starts_with(b"from ") {
            continue;
        }
        found.insert(word.to_string());
    }
    found.into_iter().collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_word_holds_a_fragment_searched_first() {
        for word in super::FINDS_MODULES {
            assert!(
                super::FINDS_MODULES_FRAGMENTS
                    .iter()
                    .any(|part| word.contains(part)),
                "{word}"
            );
        }
    }

    #[test]
    fn code_that_loads_modules_by_path_finds_them() {
        for text in [
            "importlib.import_module(n)\n",
            "sys.modules[n]\n",
            "from pkgutil import resolve_name\n",
            "handler = import_string(path)\n",
            "pydoc.locate(path)\n",
            "spec.loader.exec_module(importlib.util.module_from_spec(spec))\n",
        ] {
            assert!(super::finds_modules(text.as_bytes()), "{text:?}");
        }
        for text in ["import os\n", "modules = 3\n", "def import_rows(): pass\n"] {
            assert!(!super::finds_modules(text.as_bytes()), "{text:?}");
        }
    }
}
