//! Map the paths recorded in a data file to paths relative to the repository root.
//!
//! coverage.py records absolute real paths of the machine that ran the tests
//! (`/home/runner/work/proj/proj/src/pkg/mod.py`) unless `relative_files = true`. covshard runs
//! elsewhere (a developer's laptop, another CI runner), so it maps each recorded path to a file
//! that git tracks here: first by the user's remap rules (like coverage's `[paths]`), then, when
//! unambiguous, by finding the one recorded root under which the tracked files lie. A path that
//! matches nothing, or more than one candidate, is reported, never guessed.

use std::collections::{BTreeMap, BTreeSet};

/// A prefix rewrite from configuration: a recorded path starting with `from` starts with `to`
/// in the repository (`to` may be empty for the repository root).
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Remap {
    pub from: String,
    pub to: String,
}

/// Why a recorded path could not be mapped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unmapped {
    /// No tracked file matches the recorded path.
    NoMatch,
    /// Several tracked files match equally well.
    Ambiguous(Vec<String>),
}

/// The result of mapping every recorded path.
#[derive(Debug, Clone, Default)]
pub struct PathMap {
    /// Recorded path -> repository-relative path (with `/` separators).
    pub mapped: BTreeMap<String, String>,
    /// Recorded paths that could not be mapped, and why.
    pub unmapped: BTreeMap<String, Unmapped>,
    /// The recorded root that was inferred (for messages), if any.
    pub inferred_root: Option<String>,
}

impl PathMap {
    pub fn get(&self, recorded: &str) -> Option<&str> {
        self.mapped.get(recorded).map(String::as_str)
    }
}

fn normalise(path: &str) -> String {
    let path = path.replace('\\', "/");
    let mut out = path.as_str();
    while let Some(rest) = out.strip_prefix("./") {
        out = rest;
    }
    out.to_string()
}

/// Map `recorded` paths onto the `tracked` repository files.
///
/// `repo_root` is the absolute path of the repository here (paths recorded on this machine map
/// by prefix directly).
pub fn map_paths(
    recorded: &[String],
    tracked: &BTreeSet<String>,
    repo_root: Option<&str>,
    remaps: &[Remap],
) -> PathMap {
    let mut map = PathMap::default();
    let mut pending: Vec<(String, String)> = Vec::new();
    for original in recorded {
        let mut path = normalise(original);
        if let Some(rule) = remaps
            .iter()
            .find(|r| path.starts_with(&normalise(&r.from)))
        {
            path = format!(
                "{}{}",
                normalise(&rule.to),
                &path[normalise(&rule.from).len()..]
            );
            path = normalise(path.trim_start_matches('/'));
        } else if let Some(root) = repo_root {
            let root = normalise(root);
            let root = root.trim_end_matches('/');
            if let Some(rest) = path.strip_prefix(root).and_then(|r| r.strip_prefix('/')) {
                path = rest.to_string();
            }
        }
        if tracked.contains(&path) {
            map.mapped.insert(original.clone(), path);
        } else {
            pending.push((original.clone(), path));
        }
    }
    if pending.is_empty() {
        return map;
    }

    // Each pending path may match tracked files that share its name: the candidates are the
    // (recorded prefix, repository prefix) pairs that turn one into the other over their common
    // suffix. The pair most paths agree on is the machine-to-checkout mapping.
    let mut by_name: BTreeMap<&str, Vec<&String>> = BTreeMap::new();
    for t in tracked {
        by_name.entry(file_name(t)).or_default().push(t);
    }
    let mut votes: BTreeMap<(String, String), usize> = BTreeMap::new();
    let mut candidates: Vec<(String, Vec<Candidate>)> = Vec::new();
    for (original, path) in &pending {
        let mut found: Vec<Candidate> = Vec::new();
        for t in by_name.get(file_name(path)).into_iter().flatten() {
            let common = common_suffix_components(path, t);
            if common == 0 {
                continue;
            }
            let strip = strip_components(path, common);
            let add = strip_components(t, common);
            found.push(Candidate {
                strip: strip.to_string(),
                add: add.to_string(),
                target: (*t).clone(),
                common,
            });
        }
        for c in &found {
            *votes.entry((c.strip.clone(), c.add.clone())).or_default() += 1;
        }
        candidates.push((original.clone(), found));
    }
    let best = votes.values().copied().max().unwrap_or(0);
    let winners: Vec<&(String, String)> = votes
        .iter()
        .filter(|(_, n)| **n == best)
        .map(|(k, _)| k)
        .collect();
    let common_rule = (winners.len() == 1 && best > 1).then(|| winners[0].clone());
    map.inferred_root = common_rule.as_ref().map(|(strip, _)| strip.clone());

    for (original, found) in candidates {
        if found.is_empty() {
            map.unmapped.insert(original, Unmapped::NoMatch);
            continue;
        }
        if let Some((strip, add)) = &common_rule
            && let Some(c) = found.iter().find(|c| &c.strip == strip && &c.add == add)
        {
            map.mapped.insert(original, c.target.clone());
            continue;
        }
        // No agreed rule applies: take the single longest match, or report the tie.
        let longest = found.iter().map(|c| c.common).max().unwrap_or(0);
        let best: BTreeSet<&String> = found
            .iter()
            .filter(|c| c.common == longest)
            .map(|c| &c.target)
            .collect();
        let whole_target = best
            .iter()
            .next()
            .is_some_and(|t| t.split('/').count() == longest);
        if best.len() == 1 && (longest >= 2 || whole_target) {
            map.mapped
                .insert(original, (*best.iter().next().expect("one")).clone());
        } else {
            // Several equally good matches, or only the file name agrees: report, never guess.
            map.unmapped.insert(
                original,
                Unmapped::Ambiguous(best.into_iter().cloned().collect()),
            );
        }
    }
    map
}

struct Candidate {
    strip: String,
    add: String,
    target: String,
    common: usize,
}

fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// How many trailing `/`-separated components two paths share.
fn common_suffix_components(a: &str, b: &str) -> usize {
    a.rsplit('/')
        .zip(b.rsplit('/'))
        .take_while(|(x, y)| x == y)
        .count()
}

/// `path` without its last `n` components, keeping the trailing `/` (`""` when none is left).
fn strip_components(path: &str, n: usize) -> &str {
    let mut end = path.len();
    for _ in 0..n {
        match path[..end].rfind('/') {
            Some(i) => end = i,
            None => return "",
        }
    }
    &path[..=end]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tracked(files: &[&str]) -> BTreeSet<String> {
        files.iter().map(|s| s.to_string()).collect()
    }

    fn strings(paths: &[&str]) -> Vec<String> {
        paths.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn paths_from_another_machine_map_by_common_root() {
        let files = tracked(&["src/pkg/mod.py", "src/pkg/__init__.py", "pkg/mod.py"]);
        let recorded = strings(&[
            "/home/runner/work/proj/proj/src/pkg/mod.py",
            "/home/runner/work/proj/proj/src/pkg/__init__.py",
        ]);
        let map = map_paths(&recorded, &files, Some("/here/proj"), &[]);
        assert_eq!(map.get(&recorded[0]), Some("src/pkg/mod.py"));
        assert_eq!(map.get(&recorded[1]), Some("src/pkg/__init__.py"));
        assert!(map.unmapped.is_empty());
        assert_eq!(
            map.inferred_root.as_deref(),
            Some("/home/runner/work/proj/proj/")
        );
    }

    #[test]
    fn local_and_relative_paths_map_directly() {
        let files = tracked(&["pkg/a.py", "pkg/b.py"]);
        let recorded = strings(&["/here/proj/pkg/a.py", "./pkg/b.py"]);
        let map = map_paths(&recorded, &files, Some("/here/proj/"), &[]);
        assert_eq!(map.get("/here/proj/pkg/a.py"), Some("pkg/a.py"));
        assert_eq!(map.get("./pkg/b.py"), Some("pkg/b.py"));
    }

    #[test]
    fn unknown_and_ambiguous_paths_are_reported() {
        let files = tracked(&["p/a/x.py", "q/a/x.py"]);
        // One path whose suffix matches two tracked files equally well.
        let recorded = strings(&["/ci/a/x.py", "/usr/lib/python3/os.py"]);
        let map = map_paths(&recorded, &files, None, &[]);
        assert_eq!(
            map.unmapped.get("/usr/lib/python3/os.py"),
            Some(&Unmapped::NoMatch)
        );
        assert!(
            matches!(map.unmapped.get("/ci/a/x.py"), Some(Unmapped::Ambiguous(c)) if c.len() == 2)
        );
    }

    #[test]
    fn projects_in_a_subfolder_map_by_adding_the_prefix() {
        let files = tracked(&[
            "backend/src/shop/cart.py",
            "backend/src/shop/__init__.py",
            "README.md",
        ]);
        let relative = strings(&["src/shop/cart.py", "src/shop/__init__.py"]);
        let map = map_paths(&relative, &files, None, &[]);
        assert_eq!(
            map.get("src/shop/cart.py"),
            Some("backend/src/shop/cart.py")
        );
        assert_eq!(
            map.get("src/shop/__init__.py"),
            Some("backend/src/shop/__init__.py")
        );
        let absolute = strings(&["/ci/x/src/shop/cart.py", "/ci/x/src/shop/__init__.py"]);
        let map = map_paths(&absolute, &files, Some("/elsewhere"), &[]);
        assert_eq!(
            map.get("/ci/x/src/shop/cart.py"),
            Some("backend/src/shop/cart.py")
        );
        assert!(map.unmapped.is_empty());
    }

    #[test]
    fn remap_rules_win() {
        let files = tracked(&["lib/m.py"]);
        let recorded = strings(&["/builds/g/p/src/m.py"]);
        let remaps = [Remap {
            from: "/builds/g/p/src/".into(),
            to: "lib/".into(),
        }];
        let map = map_paths(&recorded, &files, None, &remaps);
        assert_eq!(map.get("/builds/g/p/src/m.py"), Some("lib/m.py"));
    }
}
