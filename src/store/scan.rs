//! Whole-tracker reads without holding the tracker: the file behind a
//! [`Snapshot`], opened again and checked to be the state its index
//! describes, read in large sequential pieces. `list --json`, `search` and
//! `export` go through here so that their memory does not grow with the
//! tracker (issue 15): each line is read, used and dropped.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;

use crate::error::{Error, Result};
use crate::model::record::Record;
use crate::store::Snapshot;
use crate::store::index::{Row, Signature};

/// How much is read at once: large enough that a pass over the file is a
/// few hundred reads, small enough that it never counts in a process's memory.
const PIECE: usize = 1 << 20;

/// Neighbouring wanted lines closer than this are read in one read (the
/// bytes between them read and skipped) rather than one read each.
const GAP: usize = 64 << 10;

/// The tracker file in the state a snapshot's index describes.
pub struct Lines {
    path: PathBuf,
    /// `None`: there is no tracker file (and the snapshot has no rows).
    file: Option<File>,
    len: u64,
}

impl Lines {
    /// Open the file of `snap` again. `None` when it is no longer the file
    /// the snapshot's index was read for (a write replaced it since): the
    /// caller loads a new snapshot.
    pub fn open(snap: &Snapshot) -> Result<Option<Lines>> {
        let (lines, sig) = Lines::open_path(&snap.path)?;
        Ok((sig == snap.header.sig).then_some(lines))
    }

    /// Open the tracker at `path` as it is now, and its signature (to be
    /// compared with the header of an index loaded after).
    pub fn open_path(path: &std::path::Path) -> Result<(Lines, Signature)> {
        let (file, sig) = Signature::open(path)?;
        let lines = Lines {
            path: path.to_path_buf(),
            file,
            len: sig.len,
        };
        Ok((lines, sig))
    }

    fn read(&self, at: usize, buf: &mut Vec<u8>, len: usize) -> Result<()> {
        buf.clear();
        buf.resize(len, 0);
        let Some(f) = &self.file else {
            return Err(self.out_of_date(at));
        };
        if (at + len) as u64 > self.len {
            return Err(self.out_of_date(at));
        }
        f.read_exact_at(buf, at as u64)
            .map_err(|e| Error::io(&self.path, e))
    }

    /// The record of `row` from its line's bytes (as [`Snapshot::record`]
    /// reads it: the line must hold that record).
    pub fn record(&self, row: &Row, bytes: &[u8]) -> Result<Record> {
        let parse = |reason: String| Error::Parse {
            path: self.path.clone(),
            line: 0,
            reason,
        };
        let text = std::str::from_utf8(bytes)
            .map_err(|_| parse(format!("line of {} is not UTF-8", row.id)))?;
        let rec = Record::parse(text).map_err(parse)?;
        if rec.id() != row.id {
            return Err(parse(format!(
                "index out of date: expected {} at byte {}",
                row.id, row.span.start
            )));
        }
        Ok(rec)
    }

    fn out_of_date(&self, at: usize) -> Error {
        Error::Parse {
            path: self.path.clone(),
            line: 0,
            reason: format!("index out of date: no line at byte {at}"),
        }
    }

    /// Hand each row's line (its bytes, without the line ending) to `f`, in
    /// the order of `rows`. Rows in file order are read in large
    /// sequential reads (near neighbours in one read); rows in another
    /// order (a listing sorted by priority) with one read each.
    pub fn each<'r, I>(
        &self,
        rows: I,
        mut f: impl FnMut(&'r Row, &[u8]) -> Result<()>,
    ) -> Result<()>
    where
        I: IntoIterator<Item = &'r Row>,
    {
        let rows: Vec<&'r Row> = rows.into_iter().collect();
        let mut buf = Vec::new();
        let in_order = rows.windows(2).all(|w| w[0].span.end <= w[1].span.start);
        if !in_order {
            for r in rows {
                self.read(r.span.start, &mut buf, r.span.len())?;
                f(r, &buf)?;
            }
            return Ok(());
        }
        let mut i = 0;
        while i < rows.len() {
            let start = rows[i].span.start;
            let mut end = rows[i].span.end;
            let mut j = i + 1;
            while j < rows.len()
                && rows[j].span.start - end <= GAP
                && rows[j].span.end - start <= PIECE
            {
                end = rows[j].span.end;
                j += 1;
            }
            self.read(start, &mut buf, end - start)?;
            for r in &rows[i..j] {
                f(r, &buf[r.span.start - start..r.span.end - start])?;
            }
            i = j;
        }
        Ok(())
    }

    /// The whole file in pieces of whole lines, in order: `f` gets each
    /// piece's offset in the file and its bytes (a piece ends after a
    /// newline, or at the end of the file).
    pub fn pieces(&self, mut f: impl FnMut(usize, &[u8]) -> Result<()>) -> Result<()> {
        let Some(file) = &self.file else {
            return Ok(());
        };
        let len = self.len as usize;
        let mut buf: Vec<u8> = Vec::with_capacity(PIECE);
        // `buf` holds the file's bytes from `at` on.
        let mut at = 0usize;
        let mut read_to = 0usize;
        while read_to < len {
            let want = (len - read_to).min(PIECE.max(buf.len()));
            let old = buf.len();
            buf.resize(old + want, 0);
            file.read_exact_at(&mut buf[old..], read_to as u64)
                .map_err(|e| Error::io(&self.path, e))?;
            read_to += want;
            let cut = if read_to == len {
                buf.len()
            } else {
                match memchr::memrchr(b'\n', &buf) {
                    Some(p) => p + 1,
                    // One line longer than the buffer: read more of it.
                    None => continue,
                }
            };
            f(at, &buf[..cut])?;
            buf.drain(..cut);
            at += cut;
        }
        Ok(())
    }
}

/// The records of `rows` (rows of `snap`), one at a time in the order of
/// `rows`: each read from its line, handed to `f` and dropped. Lines are
/// read through [`Lines`] (rows in file order in large reads), or, when a
/// write replaced the file since the snapshot was loaded, through the
/// snapshot's own handle on the file it loaded.
pub fn each_record<'r>(
    snap: &Snapshot,
    rows: impl IntoIterator<Item = &'r Row>,
    mut f: impl FnMut(&'r Row, Record) -> Result<()>,
) -> Result<()> {
    let Some(lines) = Lines::open(snap)? else {
        for r in rows {
            f(r, snap.record(r)?)?;
        }
        return Ok(());
    };
    lines.each(rows, |r, bytes| {
        let rec = lines.record(r, bytes)?;
        f(r, rec)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines_of(bytes: &[u8]) -> (tempfile::TempDir, Lines) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("issues.jsonl");
        std::fs::write(&path, bytes).unwrap();
        let file = File::open(&path).unwrap();
        let lines = Lines {
            path,
            len: bytes.len() as u64,
            file: Some(file),
        };
        (dir, lines)
    }

    fn row(span: std::ops::Range<usize>) -> Row {
        Row {
            span,
            ..Row::default()
        }
    }

    #[test]
    fn reads_rows_in_any_order_and_pieces_of_whole_lines() {
        let mut text = Vec::new();
        let mut rows = Vec::new();
        for i in 0..5000 {
            let line = format!("{{\"id\":\"x-{i}\",\"pad\":\"{}\"}}", "p".repeat(i % 700));
            rows.push(row(text.len()..text.len() + line.len()));
            text.extend_from_slice(line.as_bytes());
            text.push(b'\n');
        }
        let (_d, lines) = lines_of(&text);
        let want = |r: &Row| text[r.span.clone()].to_vec();
        // In order, every third one (reads coalesced), and reversed.
        let picked: Vec<&Row> = rows.iter().step_by(3).collect();
        let mut got = Vec::new();
        lines
            .each(picked.iter().copied(), |r, b| {
                got.push((r.span.clone(), b.to_vec()));
                Ok(())
            })
            .unwrap();
        assert_eq!(got.len(), picked.len());
        assert!(got.iter().all(|(s, b)| *b == text[s.clone()]));
        let mut back = Vec::new();
        lines
            .each(rows.iter().rev(), |r, b| {
                back.push(b == want(r));
                Ok(())
            })
            .unwrap();
        assert_eq!(back.len(), rows.len());
        assert!(back.iter().all(|&ok| ok));
        let mut whole = Vec::new();
        lines
            .pieces(|at, p| {
                assert_eq!(at, whole.len());
                assert!(p.ends_with(b"\n"));
                whole.extend_from_slice(p);
                Ok(())
            })
            .unwrap();
        assert_eq!(whole, text);
    }

    #[test]
    fn a_line_longer_than_a_piece_and_no_final_newline() {
        let mut text =
            format!("{{\"id\":\"a\",\"t\":\"{}\"}}\n", "z".repeat(3 * PIECE)).into_bytes();
        text.extend_from_slice(b"{\"id\":\"b\"}");
        let (_d, lines) = lines_of(&text);
        let mut seen = Vec::new();
        lines
            .pieces(|at, p| {
                seen.push((at, p.len()));
                Ok(())
            })
            .unwrap();
        let total: usize = seen.iter().map(|s| s.1).sum();
        assert_eq!(total, text.len());
        assert_eq!(seen[0].0, 0);
        // Past the end: refused, not read short.
        let err = lines.each([&row(text.len() - 2..text.len() + 5)], |_, _| Ok(()));
        assert!(err.is_err());
    }
}
