//! The words by which a file shows that it observes code where coverage does not: by running
//! it in another process, or by reading its line numbers or source text (see
//! `selection::observers`, which says why that matters).
//!
//! Matched as spelled, in bytes, so that `covshard ingest` can record the files that spell
//! them for a whole commit ([`super::index`]) and selection reads only those.

use memchr::memmem::Finder;

/// Raise when the words change: an index recorded with other words is then not trusted.
pub const VERSION: i64 = 1;

/// Words of code that runs a program or another Python process.
const SPAWNS: &[&str] = &[
    "subprocess",
    "Popen",
    "os.system",
    "os.exec",
    "check_call",
    "check_output",
    "spawn",
    "pexpect",
    "plumbum",
    "multiprocessing",
    "ProcessPool",
    "sys.executable",
    "script_runner",
];

/// Words of code that reads line numbers or source text.
const READS_LINES: &[&str] = &[
    "lineno",
    "getsource",
    "findsource",
    "co_firstlineno",
    "linecache",
    "getframeinfo",
    "traceback",
    "Traceback",
    "format_exc",
    "print_exc",
    "format_exception",
];

/// How a file may observe code.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Observes {
    /// It may run a program or a process.
    pub spawns: bool,
    /// It may read line numbers or source text.
    pub reads_lines: bool,
}

impl Observes {
    pub fn any(self) -> bool {
        self.spawns || self.reads_lines
    }
}

/// The words, ready to search many files for.
pub struct Scanner {
    spawns: Vec<Finder<'static>>,
    reads_lines: Vec<Finder<'static>>,
}

impl Default for Scanner {
    fn default() -> Self {
        let finders = |words: &[&str]| -> Vec<Finder<'static>> {
            words
                .iter()
                .map(|w| Finder::new(w.as_bytes()).into_owned())
                .collect()
        };
        Scanner {
            spawns: finders(SPAWNS),
            reads_lines: finders(READS_LINES),
        }
    }
}

impl Scanner {
    /// What a file's text spells. A file of another encoding spells these words the same in
    /// ASCII.
    pub fn scan(&self, text: &[u8]) -> Observes {
        Observes {
            spawns: self.spawns.iter().any(|f| f.find(text).is_some()),
            reads_lines: self.reads_lines.iter().any(|f| f.find(text).is_some()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_that_spawn_or_read_lines() {
        let scanner = Scanner::default();
        let spawns = scanner.scan(b"subprocess.run([sys.executable, '-m', 'pkg'])");
        assert!(spawns.spawns && !spawns.reads_lines);
        let reads = scanner.scan(b"assert w[0].lineno == 3");
        assert!(reads.reads_lines && !reads.spawns);
        assert!(!scanner.scan(b"import pkg\nassert pkg.run() == 1\n").any());
    }
}
