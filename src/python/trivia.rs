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

/// What one pass over a file's tokens tells about its lines.
pub struct Lines {
    /// The 1-based lines touched by any token other than comments and newlines (and the
    /// encoding declaration, see [`declares_encoding`]).
    pub code: BTreeSet<u32>,
    /// Each line's text without its comments, trailing whitespace trimmed (index 0 unused):
    /// two lines that differ only in a comment (`# type: Dict[str, int]` made
    /// `# type: dict[str, int]`) read the same.
    pub without_comments: Vec<String>,
}

/// Read the lines of `source` (see [`Lines`]).
pub fn lines(source: &str) -> Lines {
    let parsed = ruff_python_parser::parse_unchecked_source(source, PySourceType::Python);
    let index = LineIndex::new(source);
    let mut code = BTreeSet::new();
    let mut text = String::with_capacity(source.len());
    let mut at = 0;
    for token in parsed.tokens().iter() {
        let range = token.range();
        let first = index.line_of(range.start());
        match token.kind() {
            TokenKind::Comment if declares_encoding(&source[range], first) => {
                code.insert(first);
            }
            TokenKind::Comment => {
                text.push_str(&source[at..range.start().to_usize()]);
                at = range.end().to_usize();
            }
            TokenKind::NonLogicalNewline
            | TokenKind::Newline
            | TokenKind::Indent
            | TokenKind::Dedent
            | TokenKind::EndOfFile => {}
            _ => {
                let last =
                    index.line_of(range.end().checked_sub(1.into()).unwrap_or(range.start()));
                code.extend(first..=last.max(first));
            }
        }
    }
    text.push_str(&source[at..]);
    let without_comments = std::iter::once(String::new())
        .chain(text.split('\n').map(|l| l.trim_end().to_string()))
        .collect();
    Lines {
        code,
        without_comments,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_and_blank_lines_are_not_code() {
        let source = "import os\n\n# a comment\nX = 1  # trailing\ns = \"\"\"\n\n# not a comment\n\"\"\"\ndef f():\n    # inside\n    return 1\n";
        let code: Vec<u32> = lines(source).code.into_iter().collect();
        assert_eq!(code, vec![1, 4, 5, 6, 7, 8, 9, 11]);
    }

    #[test]
    fn the_encoding_declaration_is_code() {
        let source = "# -*- coding: latin-1 -*-\n# plain\nX = 1\n";
        let code: Vec<u32> = lines(source).code.into_iter().collect();
        assert_eq!(code, vec![1, 3]);
    }

    #[test]
    fn lines_without_comments_keep_strings() {
        let lines = lines(
            "x = {}  # type: Dict[str, int]\ns = \"# kept\"  # gone\nt = \"\"\"\n# in a string\n\"\"\"\n",
        )
        .without_comments;
        assert_eq!(lines[1], "x = {}");
        assert_eq!(lines[2], "s = \"# kept\"");
        assert_eq!(lines[4], "# in a string");
    }
}
