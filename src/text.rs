//! Text files that other programs wrote: UTF-8, with or without a byte-order mark, or UTF-16
//! with one. Windows PowerShell 5.1 writes UTF-16 for `git diff > FILE` and
//! `pytest --collect-only -q > FILE`, and Notepad has long put a mark before UTF-8.

use std::io;
use std::path::Path;

/// Read a whole text file in any of the encodings above.
pub fn read(path: &Path) -> io::Result<String> {
    decode(std::fs::read(path)?)
}

/// Decode text in any of the encodings above; other bytes are an `InvalidData` error.
pub fn decode(bytes: Vec<u8>) -> io::Result<String> {
    let invalid = |what: &str| io::Error::new(io::ErrorKind::InvalidData, what.to_string());
    let utf16 = |body: &[u8], unit: fn([u8; 2]) -> u16| {
        if !body.len().is_multiple_of(2) {
            return Err(invalid("UTF-16 text of an odd number of bytes"));
        }
        let units: Vec<u16> = body.chunks_exact(2).map(|c| unit([c[0], c[1]])).collect();
        String::from_utf16(&units).map_err(|_| invalid("invalid UTF-16 text"))
    };
    match bytes.as_slice() {
        [0xEF, 0xBB, 0xBF, rest @ ..] => String::from_utf8(rest.to_vec())
            .map_err(|_| invalid("stream did not contain valid UTF-8")),
        [0xFF, 0xFE, rest @ ..] => utf16(rest, u16::from_le_bytes),
        [0xFE, 0xFF, rest @ ..] => utf16(rest, u16::from_be_bytes),
        _ => String::from_utf8(bytes).map_err(|_| invalid("stream did not contain valid UTF-8")),
    }
}

#[cfg(test)]
mod tests {
    use super::decode;

    #[test]
    fn every_encoding_gives_the_same_text() {
        let text = "tests/test_a.py::test_é\r\n";
        let mut marked = vec![0xEF, 0xBB, 0xBF];
        marked.extend_from_slice(text.as_bytes());
        let mut le = vec![0xFF, 0xFE];
        le.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
        let mut be = vec![0xFE, 0xFF];
        be.extend(text.encode_utf16().flat_map(u16::to_be_bytes));
        for bytes in [text.as_bytes().to_vec(), marked, le, be] {
            assert_eq!(decode(bytes).unwrap(), text);
        }
    }

    #[test]
    fn broken_text_is_an_error() {
        assert!(decode(vec![0xFF, 0xFE, 0x41]).is_err());
        assert!(decode(vec![0xC3, 0x28]).is_err());
        assert!(decode(vec![0xFE, 0xFF, 0xD8, 0x00]).is_err());
    }
}
