//! Byte search for the hot loops of reading JSONL and index files.

/// The first `needle` in `hay`, eight bytes at a time (a SWAR zero-byte test:
/// the lowest flagged byte is always a true match).
pub fn find_byte(hay: &[u8], needle: u8) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let pattern = ONES * u64::from(needle);
    let mut i = 0;
    while i + 8 <= hay.len() {
        let mut w = [0u8; 8];
        w.copy_from_slice(&hay[i..i + 8]);
        let x = u64::from_le_bytes(w) ^ pattern;
        let found = x.wrapping_sub(ONES) & !x & HIGHS;
        if found != 0 {
            return Some(i + (found.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    hay[i..].iter().position(|&c| c == needle).map(|p| i + p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_at_every_offset() {
        for len in 0..40 {
            for at in 0..=len {
                let mut b = vec![b'x'; len];
                if at < len {
                    b[at] = b'\n';
                }
                assert_eq!(
                    find_byte(&b, b'\n'),
                    (at < len).then_some(at),
                    "len {len} at {at}"
                );
            }
        }
        assert_eq!(find_byte("é\t".as_bytes(), b'\t'), Some(2));
        assert_eq!(find_byte(&[0x89, 0x0a], b'\n'), Some(1));
    }
}
