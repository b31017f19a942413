//! pytest node ids, taken apart in one place.
//!
//! A node id is `FILE`, or `FILE::NAME[::NAME...]` optionally followed by `[PARAMS]` on the
//! last name: `tests/a.py::TestK::test_x[1-a]`. Parameters hold whatever the ids of
//! `@pytest.mark.parametrize` produce, `::`, `[` and `]` included (`test_x[a::b]`), so they are
//! cut off before anything else is split; a file path never holds `::`. Every module that needs
//! an id's file, class or function uses these functions, so that two readings of one id (a
//! group key in the planner, a setup key in the estimates) cannot disagree.

/// A node id, split into its parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NodeId<'a> {
    /// The file (or directory) path: everything before the first `::`.
    pub file: &'a str,
    /// The names between the file and the function: `TestK`, `Outer::Inner`; empty when none.
    pub classes: &'a str,
    /// The test function's name, without parameters; empty for a path.
    pub function: &'a str,
    /// The parameters without their brackets (`1-a` of `test_x[1-a]`), when there are any.
    pub params: Option<&'a str>,
}

impl<'a> NodeId<'a> {
    pub fn parse(id: &'a str) -> Self {
        let Some((file, rest)) = id.split_once("::") else {
            return NodeId {
                file: id,
                classes: "",
                function: "",
                params: None,
            };
        };
        let (names, params) = match rest.find('[') {
            Some(i) => {
                let inner = &rest[i + 1..];
                (&rest[..i], Some(inner.strip_suffix(']').unwrap_or(inner)))
            }
            None => (rest, None),
        };
        let (classes, function) = names.rsplit_once("::").unwrap_or(("", names));
        NodeId {
            file,
            classes,
            function,
            params,
        }
    }
}

/// Whether the id names a path (a file or a directory) rather than one test.
pub fn is_path(id: &str) -> bool {
    !id.contains("::")
}

/// The file part: `tests/a.py::T::t[x]` -> `tests/a.py`; a path is its own file.
pub fn file_of(id: &str) -> &str {
    // The same as `NodeId::parse(id).file`, without the rest: counting the suite calls this
    // for every context of the data file.
    id.find("::").map_or(id, |i| &id[..i])
}

/// The id without its parameters: `tests/a.py::t[1]` -> `tests/a.py::t`.
pub fn without_params(id: &str) -> &str {
    match (id.find("::"), NodeId::parse(id).params) {
        (Some(sep), Some(_)) => {
            let names_end = id[sep..].find('[').map_or(id.len(), |i| sep + i);
            &id[..names_end]
        }
        _ => id,
    }
}

/// The class group of a test in a class: `tests/a.py::K::x[p]` -> `tests/a.py::K`, and
/// `tests/a.py::A::B::x` -> `tests/a.py::A::B`; `None` for a module-level test or a path.
pub fn class_of(id: &str) -> Option<&str> {
    let parsed = NodeId::parse(id);
    if parsed.classes.is_empty() {
        return None;
    }
    Some(&id[..parsed.file.len() + 2 + parsed.classes.len()])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An id, and its file, classes, function, parameters and class group.
    type Case = (
        &'static str,
        &'static str,
        &'static str,
        &'static str,
        Option<&'static str>,
        Option<&'static str>,
    );

    #[test]
    fn ids_are_taken_apart_once_and_the_same_way() {
        let cases: &[Case] = &[
            // id, file, classes, function, params, class group
            ("tests/a.py", "tests/a.py", "", "", None, None),
            ("tests/a.py::test_x", "tests/a.py", "", "test_x", None, None),
            (
                "tests/a.py::TestK::test_x",
                "tests/a.py",
                "TestK",
                "test_x",
                None,
                Some("tests/a.py::TestK"),
            ),
            (
                "tests/a.py::A::B::test_x[1]",
                "tests/a.py",
                "A::B",
                "test_x",
                Some("1"),
                Some("tests/a.py::A::B"),
            ),
            // Parameters may hold `::` and brackets: they never make a class.
            (
                "t.py::test_x[a::b]",
                "t.py",
                "",
                "test_x",
                Some("a::b"),
                None,
            ),
            (
                "t.py::K::test_x[a::b]",
                "t.py",
                "K",
                "test_x",
                Some("a::b"),
                Some("t.py::K"),
            ),
            (
                "t.py::test_x[[1, 2]]",
                "t.py",
                "",
                "test_x",
                Some("[1, 2]"),
                None,
            ),
            ("t.py::test_x[]", "t.py", "", "test_x", Some(""), None),
            // A bracket in a file name is not a parameter.
            ("tests/test_[x].py", "tests/test_[x].py", "", "", None, None),
        ];
        for &(id, file, classes, function, params, class) in cases {
            let parsed = NodeId::parse(id);
            assert_eq!(
                (parsed.file, parsed.classes, parsed.function, parsed.params),
                (file, classes, function, params),
                "{id}"
            );
            assert_eq!(file_of(id), file, "{id}");
            assert_eq!(class_of(id), class, "{id}");
        }
        assert_eq!(without_params("t.py::K::x[a::b]"), "t.py::K::x");
        assert_eq!(without_params("t.py::x"), "t.py::x");
        assert_eq!(without_params("tests/test_[x].py"), "tests/test_[x].py");
        assert!(is_path("tests/") && is_path("tests/a.py") && !is_path("a.py::t"));
    }
}
