//! Map the paths recorded in a data file to paths relative to the repository root.
//!
//! coverage.py records absolute real paths of the machine that ran the tests
//! (`/home/runner/work/proj/proj/src/pkg/mod.py`) unless `relative_files = true`. covshard runs
//! elsewhere (a developer's laptop, another CI runner), so it maps each recorded path to a file
//! that git tracks here: first by the user's remap rules (like coverage's `[paths]`), then, when
//! unambiguous, by finding the one recorded root under which the tracked files lie. A path that
//! matches nothing, or more than one candidate, is reported, never guessed.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap};

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
    /// For each unmapped recorded path, the tracked files it may be (those of its name,
    /// ignoring case): its rows may belong to any of them.
    pub may_be: BTreeMap<String, Vec<String>>,
}

impl PathMap {
    pub fn get(&self, recorded: &str) -> Option<&str> {
        self.mapped.get(recorded).map(String::as_str)
    }

    /// The tracked files an unmapped recorded path may be; none for a mapped path.
    pub fn may_be(&self, recorded: &str) -> &[String] {
        self.may_be.get(recorded).map_or(&[], Vec::as_slice)
    }
}

/// One spelling per path: `/` separators, no `\\?\\` verbatim prefix, no `.` or empty
/// components, an upper-case drive letter (Windows runners record `D:\\a\\proj\\...`, and
/// tools differ on the letter's case).
pub fn normalise(path: &str) -> String {
    let path = path.replace('\\', "/");
    let (unc, rest) = if let Some(rest) = path.strip_prefix("//?/UNC/") {
        (true, rest)
    } else if let Some(rest) = path.strip_prefix("//?/") {
        (false, rest)
    } else if let Some(rest) = path.strip_prefix("//") {
        (true, rest)
    } else {
        (false, path.as_str())
    };
    let absolute = !unc && rest.starts_with('/');
    let parts: Vec<&str> = rest
        .split('/')
        .filter(|part| !part.is_empty() && *part != ".")
        .collect();
    let mut out = String::with_capacity(path.len());
    if unc {
        out.push_str("//");
    } else if absolute {
        out.push('/');
    }
    out.push_str(&parts.join("/"));
    if is_drive(&out) {
        out[..1].make_ascii_uppercase();
    }
    out
}

/// `C:` or `C:/...`: a path recorded on Windows.
fn is_drive(path: &str) -> bool {
    let bytes = path.as_bytes();
    bytes.len() >= 2
        && bytes[0].is_ascii_alphabetic()
        && bytes[1] == b':'
        && (bytes.len() == 2 || bytes[2] == b'/')
}

/// Recorded on Windows (a drive letter or a UNC share), where file names ignore case.
fn is_windows(path: &str) -> bool {
    is_drive(path) || path.starts_with("//")
}

/// `path` below the folder `prefix` (both normalised), as the rest after the separator; the
/// whole path when `prefix` is empty. Folder names match whole, and ignore case on Windows.
/// A prefix that names a file matches that file alone (the rest is empty); `/` matches the
/// absolute paths of Unix systems, and an empty prefix every path.
fn below<'p>(path: &'p str, prefix: &str) -> Option<&'p str> {
    if prefix == "/" {
        return path.strip_prefix('/').filter(|_| !path.starts_with("//"));
    }
    let prefix = prefix.trim_end_matches('/');
    if prefix.is_empty() {
        return Some(path.trim_start_matches('/'));
    }
    let head = path.get(..prefix.len())?;
    let same = if is_windows(path) {
        head.eq_ignore_ascii_case(prefix)
    } else {
        head == prefix
    };
    if !same {
        return None;
    }
    match &path[prefix.len()..] {
        "" => Some(""),
        rest => rest.strip_prefix('/'),
    }
}

/// A recorded path that did not map directly, with its rewritten form.
struct Pending {
    original: String,
    path: String,
    /// Recorded on Windows: names compare ignoring case.
    fold: bool,
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
    let mut pending: Vec<Pending> = Vec::new();
    let remaps: Vec<(String, String)> = remaps
        .iter()
        .map(|r| (normalise(&r.from), normalise(&r.to)))
        .collect();
    let repo_root = repo_root.map(normalise);
    for original in recorded {
        let mut path = normalise(original);
        let fold = is_windows(&path);
        if let Some((to, rest)) = remaps
            .iter()
            .find_map(|(from, to)| Some((to, below(&path, from)?)))
        {
            path = match (to.trim_matches('/'), rest) {
                ("", rest) => rest.to_string(),
                (to, "") => to.to_string(),
                (to, rest) => format!("{to}/{rest}"),
            };
        } else if let Some(rest) = repo_root.as_deref().and_then(|root| below(&path, root)) {
            path = rest.to_string();
        }
        if tracked.contains(&path) {
            map.mapped.insert(original.clone(), path);
        } else {
            pending.push(Pending {
                original: original.clone(),
                path,
                fold,
            });
        }
    }
    if pending.is_empty() {
        return map;
    }

    // Each pending path may match tracked files that share its name: the candidates are the
    // (recorded prefix, repository prefix) pairs that turn one into the other over their common
    // suffix. The pair most paths agree on is the machine-to-checkout mapping.
    // By lower-case name: a path recorded on Windows may spell a name in another case.
    // Borrowed names where they are lower-case already: a monorepo tracks 100,000 files.
    let mut by_name: HashMap<Cow<'_, str>, Vec<&String>> = HashMap::new();
    for t in tracked {
        by_name.entry(lower_name(t)).or_default().push(t);
    }
    let named = |path: &str| by_name.get(lower_name(path).as_ref());

    // Fast path for the usual case, one machine-to-checkout rule for every file: learn it from
    // a sample of paths whose names are unique in the repository, apply it to all.
    let mut sample_votes: BTreeMap<(String, String), usize> = BTreeMap::new();
    let unique = pending
        .iter()
        .filter_map(|p| match named(&p.path) {
            Some(list) if list.len() == 1 => Some((&p.path, list[0], p.fold)),
            _ => None,
        })
        .take(64);
    for (path, target, fold) in unique {
        let common = common_suffix_components(path, target, fold);
        if common > 0 {
            let rule = (
                strip_components(path, common).to_string(),
                strip_components(target, common).to_string(),
            );
            *sample_votes.entry(rule).or_default() += 1;
        }
    }
    let fast_rule = sample_votes
        .iter()
        .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))
        .filter(|(_, n)| **n >= 2)
        .map(|(rule, _)| rule.clone());
    if let Some((strip, add)) = &fast_rule {
        pending.retain(|p| {
            if let Some(rest) = p.path.strip_prefix(strip.as_str()) {
                let candidate = format!("{add}{rest}");
                if tracked.contains(&candidate) {
                    map.mapped.insert(p.original.clone(), candidate);
                    return false;
                }
            }
            true
        });
        map.inferred_root = Some(strip.clone());
        if pending.is_empty() {
            return map;
        }
    }
    let mut votes: BTreeMap<(String, String), usize> = BTreeMap::new();
    let mut candidates: Vec<(&Pending, Vec<Candidate>)> = Vec::new();
    for p in &pending {
        let mut found: Vec<Candidate> = Vec::new();
        for t in named(&p.path).into_iter().flatten() {
            let common = common_suffix_components(&p.path, t, p.fold);
            if common == 0 {
                continue;
            }
            let strip = strip_components(&p.path, common);
            let add = strip_components(t, common);
            found.push(Candidate {
                strip: strip.to_string(),
                add: add.to_string(),
                target: (*t).clone(),
                common,
                exact_case: p.path.ends_with(&t[add.len()..]),
            });
        }
        for c in &found {
            *votes.entry((c.strip.clone(), c.add.clone())).or_default() += 1;
        }
        candidates.push((p, found));
    }
    let best = votes.values().copied().max().unwrap_or(0);
    let winners: Vec<&(String, String)> = votes
        .iter()
        .filter(|(_, n)| **n == best)
        .map(|(k, _)| k)
        .collect();
    let common_rule = (winners.len() == 1 && best > 1).then(|| winners[0].clone());
    if common_rule.is_some() {
        map.inferred_root = common_rule.as_ref().map(|(strip, _)| strip.clone());
    }

    for (pending, found) in candidates {
        let original = pending.original.clone();
        if found.is_empty() {
            map.unmapped.insert(original, Unmapped::NoMatch);
            continue;
        }
        if let Some((strip, add)) = &common_rule {
            // Two tracked files that differ only in case both follow the rule for a path
            // recorded on Windows: the one spelled as recorded, else neither.
            let agreed: Vec<&Candidate> = found
                .iter()
                .filter(|c| &c.strip == strip && &c.add == add)
                .collect();
            let chosen = match agreed.as_slice() {
                [one] => Some(*one),
                several => {
                    let exact: Vec<&&Candidate> = several.iter().filter(|c| c.exact_case).collect();
                    (exact.len() == 1).then(|| *exact[0])
                }
            };
            if let Some(c) = chosen {
                map.mapped.insert(original, c.target.clone());
                continue;
            }
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
    for p in &pending {
        if map.unmapped.contains_key(&p.original) {
            let files = named(&p.path).into_iter().flatten().map(|t| (*t).clone());
            map.may_be.insert(p.original.clone(), files.collect());
        }
    }
    map
}

struct Candidate {
    strip: String,
    add: String,
    target: String,
    common: usize,
    /// The shared suffix is spelled alike, case included.
    exact_case: bool,
}

fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// The file name of `path` in lower case, borrowed when it is already.
fn lower_name(path: &str) -> Cow<'_, str> {
    let name = file_name(path);
    match name.bytes().any(|b| b.is_ascii_uppercase()) {
        true => Cow::Owned(name.to_ascii_lowercase()),
        false => Cow::Borrowed(name),
    }
}

/// How many trailing `/`-separated components the recorded path `a` shares with the tracked
/// path `b`; ignoring case when `a` was recorded on Windows (`fold`).
fn common_suffix_components(a: &str, b: &str, fold: bool) -> usize {
    a.rsplit('/')
        .zip(b.rsplit('/'))
        .take_while(|(x, y)| x == y || (fold && x.eq_ignore_ascii_case(y)))
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
        // What an unmapped path may be: every tracked file of its name.
        assert_eq!(map.may_be("/ci/a/x.py"), ["p/a/x.py", "q/a/x.py"]);
        assert!(map.may_be("/usr/lib/python3/os.py").is_empty());
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
    #[test]
    fn one_spelling_per_path() {
        for (recorded, normal) in [
            (r"D:\a\proj\proj\src\m.py", "D:/a/proj/proj/src/m.py"),
            (r"d:\a\proj\\src/.\m.py", "D:/a/proj/src/m.py"),
            (r"\\?\C:\work\m.py", "C:/work/m.py"),
            (r"\\?\UNC\server\share\m.py", "//server/share/m.py"),
            (r"\\server\share\m.py", "//server/share/m.py"),
            ("/home/runner//work/./m.py", "/home/runner/work/m.py"),
            ("./src/m.py", "src/m.py"),
            ("src\\m.py", "src/m.py"),
        ] {
            assert_eq!(normalise(recorded), normal, "{recorded}");
        }
    }

    #[test]
    fn paths_recorded_on_a_windows_runner_map_by_common_root() {
        let files = tracked(&["src/pkg/mod.py", "src/pkg/__init__.py", "src/pkg/Util.py"]);
        let recorded = strings(&[
            r"D:\a\proj\proj\src\pkg\mod.py",
            r"D:\a\proj\proj\src\pkg\__init__.py",
            // Another case than git's, as a case-insensitive file system allows.
            r"d:\a\proj\proj\SRC\pkg\util.py",
        ]);
        let map = map_paths(&recorded, &files, Some("/here/proj"), &[]);
        assert_eq!(map.get(&recorded[0]), Some("src/pkg/mod.py"));
        assert_eq!(map.get(&recorded[1]), Some("src/pkg/__init__.py"));
        assert_eq!(map.get(&recorded[2]), Some("src/pkg/Util.py"));
        assert!(map.unmapped.is_empty(), "{:?}", map.unmapped);
        // On Linux, case is part of the name: no match is made up.
        let map = map_paths(&strings(&["/ci/SRC/pkg/util.py"]), &files, None, &[]);
        assert_eq!(
            map.unmapped.get("/ci/SRC/pkg/util.py"),
            Some(&Unmapped::NoMatch)
        );
    }

    #[test]
    fn the_repository_root_here_strips_whatever_its_spelling() {
        let files = tracked(&["pkg/a.py"]);
        let recorded = strings(&[r"C:\Users\dev\proj\pkg\a.py"]);
        for root in [
            "C:/Users/dev/proj",
            "c:/users/dev/proj/",
            r"\\?\C:\Users\dev\proj",
        ] {
            let map = map_paths(&recorded, &files, Some(root), &[]);
            assert_eq!(map.get(&recorded[0]), Some("pkg/a.py"), "root {root}");
        }
    }

    #[test]
    fn remap_rules_match_whole_folders_and_join_with_one_separator() {
        let files = tracked(&["lib/m.py", "ect/x.py", "m.py", "pkg/util.py", "a/util.py"]);
        let rule = |from: &str, to: &str| Remap {
            from: from.into(),
            to: to.into(),
        };
        for (from, to, recorded, expected) in [
            ("/b/src/", "lib", "/b/src/m.py", Some("lib/m.py")),
            ("/b/src", "lib/", "/b/src/m.py", Some("lib/m.py")),
            ("/b/src", "", "/b/src/m.py", Some("m.py")),
            (r"d:\a\p\src", "lib", r"D:\a\p\src\m.py", Some("lib/m.py")),
            // `/ci/proj` is not a folder of `/ci/project/x.py`: the rule does not apply, and no
            // other tracked file is called x.py under a matching folder.
            ("/ci/proj", "", "/ci/project/x.py", None),
            // A rule may name one file.
            (
                "/ci/a/util.py",
                "pkg/util.py",
                "/ci/a/util.py",
                Some("pkg/util.py"),
            ),
            // `/` is the root of Unix paths: relative ones do not match it.
            ("/", "lib", "/m.py", Some("lib/m.py")),
            ("/", "lib", "m.py", Some("m.py")),
        ] {
            let recorded = strings(&[recorded]);
            let map = map_paths(&recorded, &files, None, &[rule(from, to)]);
            assert_eq!(
                map.get(&recorded[0]),
                expected,
                "{from} -> {to}: {recorded:?}"
            );
        }
    }
}
