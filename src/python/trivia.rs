//! Which lines of a source file hold code, as opposed to blank lines and comments.
//!
//! A change confined to blank lines and comments cannot change what the tests run, so selection
//! ignores such lines. "Blank" is judged on tokens, not text: a blank line or a `#` inside a
//! multi-line string is part of the string's value, and so it is code.

use std::collections::BTreeSet;

use ruff_python_ast::PySourceType;
use ruff_python_ast::token::TokenKind;
use ruff_text_size::Ranged;

use super::lines::LineIndex;

/// The 1-based lines touched by any token other than comments and newlines.
pub fn code_lines(source: &str) -> BTreeSet<u32> {
    let parsed = ruff_python_parser::parse_unchecked_source(source, PySourceType::Python);
    let lines = LineIndex::new(source);
    let mut out = BTreeSet::new();
    for token in parsed.tokens().iter() {
        if matches!(
            token.kind(),
            TokenKind::Comment
                | TokenKind::NonLogicalNewline
                | TokenKind::Newline
                | TokenKind::Indent
                | TokenKind::Dedent
                | TokenKind::EndOfFile
        ) {
            continue;
        }
        let range = token.range();
        let first = lines.line_of(range.start());
        let last = lines.line_of(range.end().checked_sub(1.into()).unwrap_or(range.start()));
        out.extend(first..=last.max(first));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_and_blank_lines_are_not_code() {
        let source = "import os\n\n# a comment\nX = 1  # trailing\ns = \"\"\"\n\n# not a comment\n\"\"\"\ndef f():\n    # inside\n    return 1\n";
        let code: Vec<u32> = code_lines(source).into_iter().collect();
        assert_eq!(code, vec![1, 4, 5, 6, 7, 8, 9, 11]);
    }
}
