//! coverage.py's "numbits": a set of line numbers stored as a little-endian bitset blob.
//!
//! Line `k` is present iff `blob[k >> 3] & (1 << (k & 7))`. Blobs may carry trailing zero bytes
//! (so two equal sets can have blobs of different lengths) and line 0 occurs (an empty
//! `__init__.py`). These functions match `coverage.numbits` and never allocate more than the
//! shorter input needs.

/// The line numbers in a numbits blob, ascending.
pub fn decode(blob: &[u8]) -> Vec<u32> {
    let mut lines = Vec::new();
    for (index, &byte) in blob.iter().enumerate() {
        let mut bits = byte;
        while bits != 0 {
            let bit = bits.trailing_zeros();
            lines.push(index as u32 * 8 + bit);
            bits &= bits - 1;
        }
    }
    lines
}

/// The numbits blob for a set of line numbers (no trailing zero bytes), like
/// `coverage.numbits.nums_to_numbits`.
pub fn encode(lines: impl IntoIterator<Item = u32>) -> Vec<u8> {
    let mut blob: Vec<u8> = Vec::new();
    for line in lines {
        let index = (line >> 3) as usize;
        if blob.len() <= index {
            blob.resize(index + 1, 0);
        }
        blob[index] |= 1 << (line & 7);
    }
    blob
}

/// Whether `line` is in the set.
pub fn contains(blob: &[u8], line: u32) -> bool {
    blob.get((line >> 3) as usize)
        .is_some_and(|byte| byte & (1 << (line & 7)) != 0)
}

/// The union of two sets, like `coverage.numbits.numbits_union` (trailing zeros trimmed).
pub fn union(a: &[u8], b: &[u8]) -> Vec<u8> {
    let (long, short) = if a.len() >= b.len() { (a, b) } else { (b, a) };
    let mut out = long.to_vec();
    for (o, s) in out.iter_mut().zip(short) {
        *o |= s;
    }
    trim(out)
}

/// The intersection of two sets, like `coverage.numbits.numbits_intersection`.
pub fn intersection(a: &[u8], b: &[u8]) -> Vec<u8> {
    trim(a.iter().zip(b).map(|(x, y)| x & y).collect())
}

/// Whether two sets share any line, like `coverage.numbits.numbits_any_intersection`.
pub fn any_intersection(a: &[u8], b: &[u8]) -> bool {
    a.iter().zip(b).any(|(x, y)| x & y != 0)
}

fn trim(mut blob: Vec<u8>) -> Vec<u8> {
    while blob.last() == Some(&0) {
        blob.pop();
    }
    blob
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeSet;

    #[test]
    fn known_vectors() {
        // Produced by coverage.numbits.nums_to_numbits in coverage 7.x.
        assert_eq!(encode([1, 2, 3]), vec![0b0000_1110]);
        assert_eq!(encode([0]), vec![1]);
        assert_eq!(encode([9]), vec![0, 0b10]);
        assert_eq!(decode(&[0b0000_1110, 0, 0]), vec![1, 2, 3]);
        assert!(contains(&[0, 0b10], 9));
        assert!(!contains(&[0, 0b10], 8));
        assert!(!contains(&[0, 0b10], 100));
    }

    fn line_set() -> impl Strategy<Value = BTreeSet<u32>> {
        proptest::collection::btree_set(0u32..600, 0..60)
    }

    proptest! {
        #[test]
        fn round_trip(lines in line_set(), padding in 0usize..4) {
            let mut blob = encode(lines.iter().copied());
            blob.extend(std::iter::repeat_n(0, padding));
            prop_assert_eq!(decode(&blob), lines.iter().copied().collect::<Vec<_>>());
            for line in 0..610 {
                prop_assert_eq!(contains(&blob, line), lines.contains(&line));
            }
        }

        #[test]
        fn set_operations_match_btreeset(a in line_set(), b in line_set(), pad in 0usize..3) {
            let mut ba = encode(a.iter().copied());
            ba.extend(std::iter::repeat_n(0, pad));
            let bb = encode(b.iter().copied());
            let want_union: Vec<u32> = a.union(&b).copied().collect();
            let want_inter: Vec<u32> = a.intersection(&b).copied().collect();
            prop_assert_eq!(decode(&union(&ba, &bb)), want_union.clone());
            prop_assert_eq!(union(&ba, &bb), encode(want_union));
            prop_assert_eq!(decode(&intersection(&ba, &bb)), want_inter.clone());
            prop_assert_eq!(any_intersection(&ba, &bb), !want_inter.is_empty());
        }
    }
}
