//! Which old-side function a new-side line belongs to, decided by position in the aligned old
//! and new sources (DESIGN.md, rule 9).
//!
//! Coverage was recorded on the base, so a line added or replaced in the working tree must be
//! charged to a function of the *old* file. Matching by qualified name alone is wrong wherever
//! several definitions share one: a property's getter, setter and deleter (`Thing.v` three
//! times), `@overload` stubs before the real definition, `singledispatch` registrations (every
//! `def _`), a function defined in both branches of an `if` or a `try`. So the match is made by
//! position: a unified diff pairs every unchanged old line with an unchanged new line, in order,
//! and the new function's unchanged lines land inside exactly the old definition it came from.
//! When no unchanged line of it survives (the whole function was rewritten) or the diff does not
//! fit the sources, the change is charged to every old definition of that name, which is safe.

use crate::diff::FileChange;
use crate::python::{FunctionSpan, ModuleSyntax};

/// The unchanged lines of a diff, paired: new line -> old line.
#[derive(Debug, Clone)]
pub struct Alignment {
    /// `old_of[new_line]` for unchanged new lines (index 0 unused); `None` for added or
    /// replaced lines. Empty when the diff does not fit the sources.
    old_of: Vec<Option<u32>>,
}

impl Alignment {
    /// Pair the unchanged lines of a file with `old_count` lines at the base and `new_count`
    /// lines in the working tree. The k-th old line the diff leaves alone is the k-th such new
    /// line; when the two counts differ (a `--diff` that is not the working tree's), nothing is
    /// paired.
    pub fn new(change: &FileChange, old_count: u32, new_count: u32) -> Self {
        let kept_old: Vec<u32> = (1..=old_count)
            .filter(|l| !change.old_lines.contains(l))
            .collect();
        let kept_new: Vec<u32> = (1..=new_count)
            .filter(|l| !change.new_lines.contains(l))
            .collect();
        if kept_old.len() != kept_new.len() {
            return Alignment { old_of: Vec::new() };
        }
        let mut old_of = vec![None; new_count as usize + 1];
        for (old, new) in kept_old.into_iter().zip(kept_new) {
            old_of[new as usize] = Some(old);
        }
        Alignment { old_of }
    }

    /// Whether the diff fits the two sources: without it, new-side lines cannot be read in the
    /// new source (a `--diff` that is not the working tree's).
    pub fn fits(&self) -> bool {
        !self.old_of.is_empty()
    }

    /// The changed stretches of the file: for each gap between unchanged lines, the old lines
    /// and the new lines in it (either may be empty).
    pub fn blocks(
        &self,
        old_count: u32,
        new_count: u32,
    ) -> Vec<(std::ops::Range<u32>, std::ops::Range<u32>)> {
        let mut out = Vec::new();
        let (mut old_next, mut new_next) = (1, 1);
        let kept = (1..=new_count).filter_map(|n| self.old_line(n).map(|o| (o, n)));
        for (old, new) in kept.chain(std::iter::once((old_count + 1, new_count + 1))) {
            if old > old_next || new > new_next {
                out.push((old_next..old, new_next..new));
            }
            (old_next, new_next) = (old + 1, new + 1);
        }
        out
    }

    /// The old line an unchanged new line was, if it is one.
    pub fn old_line(&self, new_line: u32) -> Option<u32> {
        self.old_of.get(new_line as usize).copied().flatten()
    }
}

/// Where a new-side line inside a function body belongs on the old side.
#[derive(Debug, PartialEq, Eq)]
pub enum Placement<'a> {
    /// The old definitions the line belongs to: one when its position decides, every definition
    /// of the same name when it cannot.
    Functions(Vec<&'a FunctionSpan>),
    /// The old file has no function of that name: the function is new.
    NewFunction,
}

/// The old-side functions that new-side `line` (a body line of a function of `new`) belongs to:
/// the innermost function whose body holds it and that the old file has by name (a line of a
/// nested function new to the file belongs to the function around it).
pub fn place<'a>(
    line: u32,
    old: &'a ModuleSyntax,
    new: &ModuleSyntax,
    alignment: &Alignment,
) -> Placement<'a> {
    for function in new.enclosing_bodies(line) {
        let same_name: Vec<&FunctionSpan> = old
            .functions()
            .iter()
            .filter(|f| f.qualname == function.qualname)
            .collect();
        if same_name.is_empty() {
            continue;
        }
        let images: Vec<u32> = (function.start..=function.end)
            .filter_map(|l| alignment.old_line(l))
            .collect();
        let by_position: Vec<&FunctionSpan> = same_name
            .iter()
            .copied()
            .filter(|f| images.iter().any(|l| (f.start..=f.end).contains(l)))
            .collect();
        return if by_position.is_empty() {
            Placement::Functions(same_name)
        } else {
            Placement::Functions(by_position)
        };
    }
    Placement::NewFunction
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::python::analyze;

    /// The diff of `old` -> `new` as git would report it, from a line-by-line comparison of
    /// two sources that differ in one block (enough for these tests).
    fn change(old: &str, new: &str) -> FileChange {
        let (a, b): (Vec<&str>, Vec<&str>) = (old.lines().collect(), new.lines().collect());
        let prefix = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
        let suffix = a[prefix..]
            .iter()
            .rev()
            .zip(b[prefix..].iter().rev())
            .take_while(|(x, y)| x == y)
            .count();
        let mut change = FileChange {
            old_path: Some("m.py".into()),
            new_path: Some("m.py".into()),
            ..FileChange::default()
        };
        change.old_lines = (prefix + 1..=a.len() - suffix).map(|l| l as u32).collect();
        change.new_lines = (prefix + 1..=b.len() - suffix).map(|l| l as u32).collect();
        if change.old_lines.is_empty() {
            change.insertions_after.insert(prefix as u32);
        }
        change
    }

    #[test]
    fn blocks_are_the_stretches_between_unchanged_lines() {
        let old = "a\nb\nc\nd\n";
        let new = "a\nB\nC\nX\nd\n";
        let alignment = Alignment::new(&change(old, new), 4, 5);
        assert_eq!(alignment.blocks(4, 5), vec![(2..4, 2..5)]);
        let inserted = "a\nb\nc\nd\ne\n";
        let alignment = Alignment::new(&change(old, inserted), 4, 5);
        assert_eq!(alignment.blocks(4, 5), vec![(5..5, 5..6)]);
        let alignment = Alignment::new(&change(old, old), 4, 4);
        assert!(alignment.blocks(4, 4).is_empty());
    }

    /// The `def` lines of the old functions a new line is placed in.
    fn placed(old: &str, new: &str, line: u32) -> Vec<u32> {
        let c = change(old, new);
        let (o, n) = (analyze(old), analyze(new));
        let alignment = Alignment::new(&c, o.line_count(), n.line_count());
        match place(line, &o, &n, &alignment) {
            Placement::Functions(fs) => fs.iter().map(|f| f.def_line).collect(),
            Placement::NewFunction => Vec::new(),
        }
    }

    const PROPERTY: &str = "class T:\n    @property\n    def v(self):\n        return self._v\n\n    @v.setter\n    def v(self, x):\n        self._v = x\n";

    #[test]
    fn an_insertion_into_a_setter_is_the_setters() {
        let new = PROPERTY.replace(
            "        self._v = x\n",
            "        self._v = x\n        self._v = -1\n",
        );
        assert_eq!(placed(PROPERTY, &new, 9), vec![7]);
        let getter = PROPERTY.replace(
            "        return self._v\n",
            "        self.n = 1\n        return self._v\n",
        );
        assert_eq!(placed(PROPERTY, &getter, 4), vec![3]);
    }

    #[test]
    fn overloads_registrations_and_branches_are_told_apart() {
        let overload = "@overload\ndef p(x: int) -> int: ...\n@overload\ndef p(x: str) -> str: ...\ndef p(x):\n    return x\n";
        let new = overload.replace("    return x\n", "    x = x + 1\n    return x\n");
        assert_eq!(placed(overload, &new, 6), vec![5]);

        let dispatch = "@f.register\ndef _(v: int):\n    return 1\n\n@f.register\ndef _(v: list):\n    return 2\n";
        let new = dispatch.replace("    return 2\n", "    v.sort()\n    return 2\n");
        assert_eq!(placed(dispatch, &new, 7), vec![6]);

        let branches =
            "if X:\n    def j():\n        return 1\nelse:\n    def j():\n        return 2\n";
        let new = branches.replace("        return 2\n", "        y = 0\n        return 2\n");
        assert_eq!(placed(branches, &new, 6), vec![5]);
    }

    #[test]
    fn a_rewritten_function_is_charged_to_every_definition_of_its_name() {
        let old = "if X:\n    def j():\n        return 1\nelse:\n    def j():\n        return 2\n";
        // The diff does not fit the sources: nothing is paired.
        let c = FileChange {
            old_path: Some("m.py".into()),
            new_path: Some("m.py".into()),
            new_lines: [6].into(),
            ..FileChange::default()
        };
        let (o, n) = (analyze(old), analyze(old));
        let alignment = Alignment::new(&c, o.line_count(), n.line_count());
        let Placement::Functions(fs) = place(6, &o, &n, &alignment) else {
            panic!("j exists in the old file");
        };
        assert_eq!(
            fs.iter().map(|f| f.def_line).collect::<Vec<_>>(),
            vec![2, 5]
        );
    }

    #[test]
    fn a_nested_function_new_to_the_file_belongs_to_the_one_around_it() {
        let old = "def outer():\n    return 1\n";
        let new = "def outer():\n    def inner():\n        return 2\n    return 1\n";
        assert_eq!(placed(old, new, 3), vec![1]);
        // A decorator added to a nested function runs in the function around it.
        let old = "def make(n):\n    @register(n)\n    def h(x):\n        return x\n    return h\n";
        let new = old.replace(
            "    @register(n)\n",
            "    @register(n + 1)\n    @register(n)\n",
        );
        assert_eq!(placed(old, &new, 2), vec![1]);
    }

    #[test]
    fn a_function_new_to_the_file_has_no_old_place() {
        let old = "def a():\n    return 1\n";
        let new = "def a():\n    return 1\n\ndef b():\n    return 2\n";
        assert_eq!(placed(old, new, 5), Vec::<u32>::new());
    }

    #[test]
    fn unchanged_lines_pair_in_order() {
        let c = FileChange {
            old_lines: [2].into(),
            new_lines: [2, 3].into(),
            ..FileChange::default()
        };
        let a = Alignment::new(&c, 3, 4);
        assert_eq!(
            (1..=4).map(|l| a.old_line(l)).collect::<Vec<_>>(),
            vec![Some(1), None, None, Some(3)]
        );
        assert_eq!(Alignment::new(&c, 3, 5).old_line(1), None);
    }
}
