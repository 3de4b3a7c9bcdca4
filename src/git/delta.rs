//! Git's delta format (gitformat-pack, "Deltified representation"), made
//! for files of lines such as the tracker: the common prefix and suffix are
//! copied, and the lines between are copied from wherever the source has the
//! same line, else inserted.
//!
//! A delta is: the source size and the target size (little-endian base-128
//! varints), then instructions: a copy (`1oooossss` and the non-zero bytes
//! of a 32-bit offset and a 24-bit size) or an insert (a byte 1..=127, then
//! that many literal bytes).

use std::collections::HashMap;

/// The largest size one copy instruction carries (three size bytes).
const MAX_COPY: usize = 0xff_ffff;
/// The largest literal one insert instruction carries.
const MAX_INSERT: usize = 0x7f;
/// Lines shorter than this are inserted rather than looked up (a copy costs
/// up to eight bytes).
const MIN_LOOKUP: usize = 16;

fn varint(out: &mut Vec<u8>, mut n: usize) {
    loop {
        let b = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(b);
            return;
        }
        out.push(b | 0x80);
    }
}

fn copy(out: &mut Vec<u8>, mut off: usize, mut len: usize) {
    while len > 0 {
        let n = len.min(MAX_COPY);
        let at = out.len();
        out.push(0x80);
        let mut op = 0x80u8;
        for i in 0..4 {
            let b = ((off >> (8 * i)) & 0xff) as u8;
            if b != 0 {
                op |= 1 << i;
                out.push(b);
            }
        }
        for i in 0..3 {
            let b = ((n >> (8 * i)) & 0xff) as u8;
            if b != 0 {
                op |= 0x10 << i;
                out.push(b);
            }
        }
        out[at] = op;
        off += n;
        len -= n;
    }
}

fn insert(out: &mut Vec<u8>, bytes: &[u8]) {
    for chunk in bytes.chunks(MAX_INSERT) {
        out.push(chunk.len() as u8);
        out.extend_from_slice(chunk);
    }
}

fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    let n = a.len().min(b.len());
    let mut i = 0;
    // Compare in blocks first: the prefix is most of a 10 MB file.
    const B: usize = 4096;
    while i + B <= n && a[i..i + B] == b[i..i + B] {
        i += B;
    }
    while i < n && a[i] == b[i] {
        i += 1;
    }
    i
}

fn common_suffix(a: &[u8], b: &[u8], limit: usize) -> usize {
    let n = a.len().min(b.len()).min(limit);
    let (la, lb) = (a.len(), b.len());
    let mut i = 0;
    const B: usize = 4096;
    while i + B <= n && a[la - i - B..la - i] == b[lb - i - B..lb - i] {
        i += B;
    }
    while i < n && a[la - 1 - i] == b[lb - 1 - i] {
        i += 1;
    }
    i
}

/// Split `bytes` into lines (each with its `\n`, the last maybe without),
/// as `(start, end)` offsets added to `base`.
fn lines(bytes: &[u8], base: usize) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start = 0;
    for nl in memchr::memchr_iter(b'\n', bytes) {
        out.push((base + start, base + nl + 1));
        start = nl + 1;
    }
    if start < bytes.len() {
        out.push((base + start, base + bytes.len()));
    }
    out
}

enum Pending {
    Nothing,
    /// A copy of `src[from..from + len]`.
    Copy(usize, usize),
    /// An insert of `dst[from..to]`.
    Insert(usize, usize),
}

/// A delta that turns `src` into `dst`.
pub fn encode(src: &[u8], dst: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    varint(&mut out, src.len());
    varint(&mut out, dst.len());
    // The common prefix and suffix, cut back to whole lines so the middle
    // is whole lines on both sides.
    let mut p = common_prefix(src, dst);
    if p < src.len() || p < dst.len() {
        p = memchr::memrchr(b'\n', &src[..p]).map_or(0, |i| i + 1);
    }
    let limit = (src.len() - p).min(dst.len() - p);
    let mut s = common_suffix(src, dst, limit);
    let at_line = |b: &[u8], s: usize| b.len() == s || b[b.len() - s - 1] == b'\n';
    if (s < src.len() - p || s < dst.len() - p) && !(at_line(src, s) && at_line(dst, s)) {
        let tail = &src[src.len() - s..];
        s = match memchr::memchr(b'\n', tail) {
            Some(i) => s - (i + 1),
            None => 0,
        };
    }
    let src_mid = (p, src.len() - s);
    let dst_mid = (p, dst.len() - s);
    if p > 0 {
        copy(&mut out, 0, p);
    }
    // The middle: a line the source has (anywhere in its middle) is copied,
    // and the copy goes on while the next lines agree.
    let mut at: HashMap<&[u8], usize> = HashMap::new();
    if src_mid.0 < src_mid.1 && dst_mid.0 < dst_mid.1 {
        for (a, b) in lines(&src[src_mid.0..src_mid.1], src_mid.0) {
            if b - a >= MIN_LOOKUP {
                at.entry(&src[a..b]).or_insert(a);
            }
        }
    }
    let mut pending = Pending::Nothing;
    let flush = |out: &mut Vec<u8>, p: &Pending| match *p {
        Pending::Nothing => {}
        Pending::Copy(from, len) => copy(out, from, len),
        Pending::Insert(from, to) => insert(out, &dst[from..to]),
    };
    for (a, b) in lines(&dst[dst_mid.0..dst_mid.1], dst_mid.0) {
        let line = &dst[a..b];
        if let Pending::Copy(from, len) = pending {
            let next = from + len;
            if src.len() >= next + line.len() && &src[next..next + line.len()] == line {
                pending = Pending::Copy(from, len + line.len());
                continue;
            }
        }
        let found = if line.len() >= MIN_LOOKUP {
            at.get(line).copied()
        } else {
            None
        };
        match (found, &pending) {
            (Some(from), _) => {
                flush(&mut out, &pending);
                pending = Pending::Copy(from, line.len());
            }
            (None, Pending::Insert(from, _)) => pending = Pending::Insert(*from, b),
            (None, _) => {
                flush(&mut out, &pending);
                pending = Pending::Insert(a, b);
            }
        }
    }
    flush(&mut out, &pending);
    if s > 0 {
        copy(&mut out, src.len() - s, s);
    }
    out
}

fn read_varint(d: &[u8], i: &mut usize) -> Option<usize> {
    let mut n = 0usize;
    let mut shift = 0;
    loop {
        let b = *d.get(*i)?;
        *i += 1;
        if shift > 56 {
            return None;
        }
        n |= ((b & 0x7f) as usize) << shift;
        shift += 7;
        if b & 0x80 == 0 {
            return Some(n);
        }
    }
}

/// The sizes a delta names: `(source, target)`.
pub fn sizes(delta: &[u8]) -> Option<(usize, usize)> {
    let mut i = 0;
    let s = read_varint(delta, &mut i)?;
    let t = read_varint(delta, &mut i)?;
    Some((s, t))
}

/// Walk a delta's instructions, calling `copy(src_range)` and
/// `insert(bytes)` in order; `None` when it is malformed for `src_len`.
fn walk<'d>(
    delta: &'d [u8],
    src_len: usize,
    mut each: impl FnMut(Result<std::ops::Range<usize>, &'d [u8]>) -> bool,
) -> Option<usize> {
    let mut i = 0;
    if read_varint(delta, &mut i)? != src_len {
        return None;
    }
    let target = read_varint(delta, &mut i)?;
    let mut written = 0usize;
    while i < delta.len() {
        let op = delta[i];
        i += 1;
        if op & 0x80 != 0 {
            let (mut off, mut len) = (0usize, 0usize);
            for k in 0..4 {
                if op & (1 << k) != 0 {
                    off |= (*delta.get(i)? as usize) << (8 * k);
                    i += 1;
                }
            }
            for k in 0..3 {
                if op & (0x10 << k) != 0 {
                    len |= (*delta.get(i)? as usize) << (8 * k);
                    i += 1;
                }
            }
            if len == 0 {
                len = 0x10000;
            }
            if off.checked_add(len)? > src_len {
                return None;
            }
            written += len;
            if !each(Ok(off..off + len)) {
                return None;
            }
        } else if op != 0 {
            let n = op as usize;
            let bytes = delta.get(i..i + n)?;
            i += n;
            written += n;
            if !each(Err(bytes)) {
                return None;
            }
        } else {
            return None;
        }
        if written > target {
            return None;
        }
    }
    (written == target).then_some(target)
}

/// Apply `delta` to `src` (`None` when the delta is malformed or not for `src`).
pub fn apply(src: &[u8], delta: &[u8]) -> Option<Vec<u8>> {
    let (_, target) = sizes(delta)?;
    let mut out = Vec::with_capacity(target);
    walk(delta, src.len(), |step| {
        match step {
            Ok(r) => out.extend_from_slice(&src[r]),
            Err(b) => out.extend_from_slice(b),
        }
        true
    })?;
    Some(out)
}

/// Whether `delta` turns `src` into exactly `dst` (compared in place).
pub fn produces(src: &[u8], delta: &[u8], dst: &[u8]) -> bool {
    let mut at = 0usize;
    let ok = walk(delta, src.len(), |step| {
        let piece = match step {
            Ok(r) => &src[r],
            Err(b) => b,
        };
        let end = at + piece.len();
        let same = end <= dst.len() && &dst[at..end] == piece;
        at = end;
        same
    });
    ok == Some(dst.len()) && at == dst.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_changed_line_is_a_small_delta() {
        let src: Vec<u8> = (0..10_000)
            .map(|i| format!("{{\"id\":\"bd-{i:05}\",\"title\":\"issue number {i}\"}}\n"))
            .collect::<String>()
            .into_bytes();
        let dst = String::from_utf8(src.clone())
            .unwrap()
            .replace("issue number 5000\"", "issue number 5000, changed\"")
            .into_bytes();
        let d = encode(&src, &dst);
        assert!(d.len() < 200, "{}", d.len());
        assert_eq!(apply(&src, &d).unwrap(), dst);
        assert!(produces(&src, &d, &dst));
        assert!(!produces(&dst, &d, &src));
    }

    #[test]
    fn edge_cases() {
        let cases: &[(&[u8], &[u8])] = &[
            (b"", b""),
            (b"", b"a\n"),
            (b"a\n", b""),
            (b"a", b"a\n"),
            (b"a\nb\n", b"b\na\n"),
            (b"same\n", b"same\n"),
            (b"x\ny\nz", b"x\nq\nz"),
        ];
        for (s, d) in cases {
            let delta = encode(s, d);
            assert_eq!(apply(s, &delta).as_deref(), Some(*d), "{s:?} -> {d:?}");
        }
    }
}
