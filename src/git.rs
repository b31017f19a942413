//! The few questions covshard asks git: where the repository is, which files it tracks, and
//! (in [`crate::diff`]) what changed. git is run as a subprocess: it is on every CI machine,
//! and its answers are the ground truth users see.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::error::{Error, Result};

/// Run git in `dir` and return its stdout as bytes.
pub fn run(dir: &Path, args: &[&str]) -> Result<Vec<u8>> {
    let output = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .map_err(|e| {
            Error::git("cannot run git")
                .caused_by(e)
                .with_hint("install git and make sure it is on PATH")
        })?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(Error::git(format!(
            "`git {}` failed: {}",
            args.join(" "),
            stderr.trim()
        )));
    }
    Ok(output.stdout)
}

/// The top-level directory of the repository containing `dir`.
pub fn repo_root(dir: &Path) -> Result<PathBuf> {
    let out = run(dir, &["rev-parse", "--show-toplevel"]).map_err(|_| not_a_repository(dir))?;
    Ok(PathBuf::from(String::from_utf8_lossy(&out).trim()))
}

/// The error for a `dir` that no git repository contains.
pub fn not_a_repository(dir: &Path) -> Error {
    Error::git(format!("{} is not inside a git repository", dir.display()))
        .with_hint("run covshard from a checkout of the project")
}

/// Files git tracks, plus untracked files it does not ignore, relative to the root.
pub fn tracked_files(root: &Path) -> Result<BTreeSet<String>> {
    let out = run(
        root,
        &[
            "ls-files",
            "-z",
            "--cached",
            "--others",
            "--exclude-standard",
        ],
    )?;
    Ok(split_nul(&out).collect())
}

/// Split NUL-separated git output into strings (names may contain spaces or any text).
pub fn split_nul(out: &[u8]) -> impl Iterator<Item = String> + '_ {
    out.split(|&b| b == 0)
        .filter(|s| !s.is_empty())
        .map(|s| String::from_utf8_lossy(s).into_owned())
}

/// The content of `paths` at commit `rev`, read by one `git cat-file --batch` (one process
/// for any number of files). Paths that do not exist there are absent from the result.
pub fn read_blobs(
    root: &Path,
    rev: &str,
    paths: &[String],
) -> Result<std::collections::BTreeMap<String, Vec<u8>>> {
    let requests = paths
        .iter()
        .filter(|p| !p.contains('\n'))
        .map(|p| (p.clone(), format!("{rev}:{p}")));
    read_objects(root, requests.collect())
}

/// One `git cat-file --batch` for `(key, object name)` pairs (`REV:PATH`, or a blob id as
/// `git ls-tree` lists it, which git reads directly where `REV:PATH` makes it walk the commit's
/// trees again for every path: seconds for 100,000 files); the blobs, by key.
pub fn read_objects(
    root: &Path,
    requests: Vec<(String, String)>,
) -> Result<std::collections::BTreeMap<String, Vec<u8>>> {
    use std::io::{BufRead, BufReader, Read, Write};
    use std::process::Stdio;
    let mut out = std::collections::BTreeMap::new();
    if requests.is_empty() {
        return Ok(out);
    }
    let mut child = Command::new("git")
        .arg("-C")
        .arg(root)
        .args(["cat-file", "--batch"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| Error::git("cannot run git").caused_by(e))?;
    let mut stdin = child.stdin.take().expect("piped stdin");
    let text: String = requests.iter().map(|(_, r)| format!("{r}\n")).collect();
    // Write from a thread: git answers while we write, and both pipes have limited buffers.
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(text.as_bytes());
    });
    let mut reader = BufReader::new(child.stdout.take().expect("piped stdout"));
    for (key, _) in requests {
        let mut header = String::new();
        if reader.read_line(&mut header).unwrap_or(0) == 0 {
            break;
        }
        // `<sha> blob <size>`, or `<request> missing`.
        let fields: Vec<&str> = header.split_whitespace().collect();
        let [_, kind, size] = fields[..] else {
            continue;
        };
        let Ok(size) = size.parse::<usize>() else {
            continue;
        };
        let mut content = vec![0; size + 1];
        if reader.read_exact(&mut content).is_err() {
            break;
        }
        content.pop();
        if kind == "blob" {
            out.insert(key, content);
        }
    }
    let _ = writer.join();
    let _ = child.wait();
    Ok(out)
}

/// Resolve a base revision (given with `--base`) to a full commit id, with a clear error for a
/// shallow clone.
pub fn resolve_commit(root: &Path, rev: &str) -> Result<String> {
    resolve_commit_for(root, rev, "the base, given with --base", "--base")
}

/// [`resolve_commit`] naming where the revision came from (`origin`) and the flag that
/// overrides it, for messages.
pub fn resolve_commit_for(root: &Path, rev: &str, origin: &str, flag: &str) -> Result<String> {
    match run(
        root,
        &[
            "rev-parse",
            "--verify",
            "--quiet",
            &format!("{rev}^{{commit}}"),
        ],
    ) {
        Ok(out) => Ok(String::from_utf8_lossy(&out).trim().to_string()),
        Err(_) => {
            let shallow = run(root, &["rev-parse", "--is-shallow-repository"])
                .map(|o| String::from_utf8_lossy(&o).trim() == "true")
                .unwrap_or(false);
            let err = Error::git(format!(
                "the commit `{rev}` ({origin}) is not in this clone"
            ));
            Err(if shallow {
                err.with_hint("this is a shallow clone: fetch full history (`git fetch --unshallow`, or `fetch-depth: 0` in actions/checkout)")
            } else {
                err.with_hint(format!(
                    "fetch it (`git fetch origin <commit>`) or pass another commit with {flag}"
                ))
            })
        }
    }
}
