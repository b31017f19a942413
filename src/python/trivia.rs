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

/// Whether a comment is the encoding declaration (PEP 263: `# -*- coding: latin-1 -*-` on the
/// first or second line), which decides how Python reads the rest of the file: code, not trivia.
fn declares_encoding(text: &str, line: u32) -> bool {
    line <= 2 && (text.contains("coding:") || text.contains("coding="))
}

/// The 1-based lines touched by any token other than comments and newlines.
pub fn code_lines(source: &str) -> BTreeSet<u32> {
    let parsed = ruff_python_parser::parse_unchecked_source(source, PySourceType::Python);
    let lines = LineIndex::new(source);
    let mut out = BTreeSet::new();
    for token in parsed.tokens().iter() {
        if token.kind() == TokenKind::Comment {
            let line = lines.line_of(token.range().start());
            if declares_encoding(&source[token.range()], line) {
                out.insert(line);
            }
            continue;
        }
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

/// Each line's text without its comments, trailing whitespace trimmed (index 0 unused): two
/// lines that differ only in a comment (`# type: Dict[str, int]` made `# type: dict[str, int]`)
/// read the same. The encoding declaration stays (see [`declares_encoding`]).
pub fn lines_without_comments(source: &str) -> Vec<String> {
    let parsed = ruff_python_parser::parse_unchecked_source(source, PySourceType::Python);
    let lines = LineIndex::new(source);
    let mut text = String::with_capacity(source.len());
    let mut at = 0;
    for token in parsed.tokens().iter() {
        let range = token.range();
        if token.kind() == TokenKind::Comment
            && !declares_encoding(&source[range], lines.line_of(range.start()))
        {
            text.push_str(&source[at..range.start().to_usize()]);
            at = range.end().to_usize();
        }
    }
    text.push_str(&source[at..]);
    std::iter::once(String::new())
        .chain(text.split('\n').map(|l| l.trim_end().to_string()))
        .collect()
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

    #[test]
    fn the_encoding_declaration_is_code() {
        let source = "# -*- coding: latin-1 -*-\n# plain\nX = 1\n";
        let code: Vec<u32> = code_lines(source).into_iter().collect();
        assert_eq!(code, vec![1, 3]);
    }

    #[test]
    fn lines_without_comments_keep_strings_and_drop_comments() {
        let lines = lines_without_comments(
            "x = {}  # type: Dict[str, int]\ns = \"# kept\"  # gone\nt = \"\"\"\n# in a string\n\"\"\"\n",
        );
        assert_eq!(lines[1], "x = {}");
        assert_eq!(lines[2], "s = \"# kept\"");
        assert_eq!(lines[4], "# in a string");
    }
}
