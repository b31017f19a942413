//! Edits that make a module's import raise, judged by real pytest (`tests/raises/cases.py`).
//!
//! Why it exists: the names rule selects the tests that can read a changed name, which is
//! only right while every module still imports. A module whose import raises fails every test
//! that imports it, so each case here is an ordinary edit (a constant that no longer unpacks,
//! a name moved below its use, a new import that closes a cycle, a decorator that rejects what
//! it decorates, ...) after which a test that reads none of the changed names fails, and
//! covshard must select it; a few harmless edits (an unused standard-library import, a new
//! method of a dataclass) must select nothing. The cases are Python: they build tiny projects,
//! record them with pytest-cov, run the suite after the edit and call the binary under test.

use crate::util;

#[test]
fn every_test_of_a_module_whose_import_now_raises_is_selected() {
    let Some(python) = util::python() else {
        return;
    };
    let work = tempfile::tempdir().expect("temporary directory");
    let out = std::process::Command::new(&python)
        .arg(util::repo().join("tests/raises/cases.py"))
        .arg("--covshard")
        .arg(env!("CARGO_BIN_EXE_covshard"))
        .arg("--python")
        .arg(&python)
        .arg("--work")
        .arg(work.path())
        .output()
        .expect("run tests/raises/cases.py");
    let stdout = String::from_utf8_lossy(&out.stdout);
    eprintln!("{stdout}");
    assert!(
        out.status.success(),
        "some edits were missed or some cases are wrong:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Every case ran: a listing that shrank would hide a gap.
    let ran = stdout.lines().filter(|l| l.starts_with("ok ")).count();
    assert!(ran >= 30, "only {ran} cases ran:\n{stdout}");
}
