//! Byte offsets to 1-based line numbers, numbered the way coverage.py numbers them.
//!
//! Python reads source with universal newlines, so `\n`, `\r\n` and a lone `\r` each end a line;
//! counting only `\n` would shift every line after a classic-Mac line ending and make selection
//! blame the wrong lines.

use ruff_text_size::TextSize;

/// Start offset of every line, so an offset maps to its line by binary search.
#[derive(Debug, Clone)]
pub(crate) struct LineIndex {
    starts: Vec<u32>,
    len: u32,
}

impl LineIndex {
    pub(crate) fn new(source: &str) -> Self {
        let bytes = source.as_bytes();
        let mut starts = vec![0u32];
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'\n' => starts.push(i as u32 + 1),
                b'\r' if bytes.get(i + 1) == Some(&b'\n') => {
                    starts.push(i as u32 + 2);
                    i += 1;
                }
                b'\r' => starts.push(i as u32 + 1),
                _ => {}
            }
            i += 1;
        }
        Self {
            starts,
            len: bytes.len() as u32,
        }
    }

    /// Number of lines with content; a final line terminator does not open a new line.
    pub(crate) fn line_count(&self) -> u32 {
        let n = self.starts.len() as u32;
        if self.starts.last() == Some(&self.len) {
            n - 1
        } else {
            n
        }
    }

    /// 1-based line of the byte at `offset`.
    pub(crate) fn line_of(&self, offset: TextSize) -> u32 {
        let off = u32::from(offset);
        self.starts.partition_point(|&s| s <= off) as u32
    }

    /// 1-based line of the last byte of a range ending (exclusively) at `end`.
    pub(crate) fn last_line(&self, start: TextSize, end: TextSize) -> u32 {
        if end > start {
            self.line_of(end - TextSize::from(1))
        } else {
            self.line_of(start)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn universal_newlines() {
        for (src, count, probes) in [
            ("", 0, vec![(0, 1)]),
            ("a\n", 1, vec![(0, 1), (1, 1)]),
            ("a\nb", 2, vec![(2, 2)]),
            ("a\r\nb\r\n", 2, vec![(1, 1), (3, 2)]),
            ("a\rb\rc", 3, vec![(2, 2), (4, 3)]),
            ("\n\n\n", 3, vec![(0, 1), (2, 3)]),
        ] {
            let idx = LineIndex::new(src);
            assert_eq!(idx.line_count(), count, "{src:?}");
            for (off, line) in probes {
                assert_eq!(idx.line_of(TextSize::from(off)), line, "{src:?} @ {off}");
            }
        }
    }
}
