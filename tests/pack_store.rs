//! `bd commit` stores the tracker as deltas in a pack of bd's own
//! (`src/git/pack.rs`): git and gix read every version, `git fsck`, `gc`,
//! `repack`, `clone`, `push` and `fetch` take the repository, the objects grow
//! by little per commit, and a crash mid-write leaves the repository valid.
//! The delta encoder is checked against an applier written here.

mod common;

use std::path::{Path, PathBuf};

use common::{TestEnvironment, Workspace};
use proptest::prelude::*;
use serde_json::Value;

// ---------------------------------------------------------------------------
// The delta encoder, against an independent applier
// ---------------------------------------------------------------------------

/// Git's delta format, applied the way `patch-delta.c` does.
fn apply(src: &[u8], d: &[u8]) -> Option<Vec<u8>> {
    fn varint(d: &[u8], i: &mut usize) -> Option<usize> {
        let (mut n, mut shift) = (0usize, 0);
        loop {
            let b = *d.get(*i)?;
            *i += 1;
            n |= ((b & 0x7f) as usize) << shift;
            shift += 7;
            if b & 0x80 == 0 {
                return Some(n);
            }
        }
    }
    let mut i = 0;
    if varint(d, &mut i)? != src.len() {
        return None;
    }
    let size = varint(d, &mut i)?;
    let mut out = Vec::new();
    while i < d.len() {
        let cmd = d[i];
        i += 1;
        if cmd & 0x80 != 0 {
            let mut off = 0usize;
            let mut n = 0usize;
            for (bit, shift) in [(0x01, 0), (0x02, 8), (0x04, 16), (0x08, 24)] {
                if cmd & bit != 0 {
                    off |= (*d.get(i)? as usize) << shift;
                    i += 1;
                }
            }
            for (bit, shift) in [(0x10, 0), (0x20, 8), (0x40, 16)] {
                if cmd & bit != 0 {
                    n |= (*d.get(i)? as usize) << shift;
                    i += 1;
                }
            }
            if n == 0 {
                n = 0x10000;
            }
            out.extend_from_slice(src.get(off..off + n)?);
        } else if cmd != 0 {
            out.extend_from_slice(d.get(i..i + cmd as usize)?);
            i += cmd as usize;
        } else {
            return None;
        }
    }
    (out.len() == size).then_some(out)
}

fn sorted_lines(n: usize, seed: u64) -> Vec<String> {
    let mut x = seed | 1;
    (0..n)
        .map(|i| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            format!(
                "{{\"id\":\"bd-{i:05}\",\"title\":\"issue {i} {}\",\"priority\":{}}}",
                x % 100_000,
                x % 5
            )
        })
        .collect()
}

#[derive(Debug, Clone)]
enum Edit {
    Change(usize, String),
    Insert(usize, String),
    Delete(usize),
    Bytes(usize, Vec<u8>),
    Swap(usize, usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<usize>(), "[a-z \"{}:,]{0,80}").prop_map(|(i, s)| Edit::Change(i, s)),
        (any::<usize>(), "[a-z0-9 ]{0,200}").prop_map(|(i, s)| Edit::Insert(i, s)),
        any::<usize>().prop_map(Edit::Delete),
        (
            any::<usize>(),
            proptest::collection::vec(any::<u8>(), 0..40)
        )
            .prop_map(|(i, b)| Edit::Bytes(i, b)),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Edit::Swap(a, b)),
    ]
}

fn edited(lines: &[String], edits: &[Edit], trailing_newline: bool) -> (Vec<u8>, Vec<u8>) {
    let join = |ls: &[String]| {
        let mut s = ls.join("\n");
        if trailing_newline && !ls.is_empty() {
            s.push('\n');
        }
        s.into_bytes()
    };
    let src = join(lines);
    let mut ls = lines.to_vec();
    let mut raw_edits = Vec::new();
    for e in edits {
        let n = ls.len().max(1);
        match e {
            Edit::Change(i, s) if !ls.is_empty() => ls[i % n] = s.clone(),
            Edit::Insert(i, s) => ls.insert(i % (ls.len() + 1), s.clone()),
            Edit::Delete(i) if !ls.is_empty() => {
                ls.remove(i % n);
            }
            Edit::Swap(a, b) if !ls.is_empty() => ls.swap(a % n, b % n),
            Edit::Bytes(i, b) => raw_edits.push((*i, b.clone())),
            _ => {}
        }
    }
    let mut dst = join(&ls);
    for (i, b) in raw_edits {
        let at = i % (dst.len() + 1);
        dst.splice(at..at, b);
    }
    (src, dst)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]
    #[test]
    fn delta_of_random_edits_applies(
        n in 0usize..400,
        seed in any::<u64>(),
        edits in proptest::collection::vec(edit(), 0..12),
        nl in any::<bool>(),
    ) {
        let (src, dst) = edited(&sorted_lines(n, seed), &edits, nl);
        let d = strand::git::delta::encode(&src, &dst);
        prop_assert_eq!(apply(&src, &d), Some(dst.clone()));
        prop_assert!(strand::git::delta::produces(&src, &d, &dst));
        // Both directions, and any two unrelated inputs.
        let back = strand::git::delta::encode(&dst, &src);
        prop_assert_eq!(apply(&dst, &back), Some(src.clone()));
    }

    #[test]
    fn delta_of_arbitrary_bytes_applies(
        a in proptest::collection::vec(prop_oneof![Just(b'\n'), any::<u8>()], 0..3000),
        b in proptest::collection::vec(prop_oneof![Just(b'\n'), any::<u8>()], 0..3000),
    ) {
        let d = strand::git::delta::encode(&a, &b);
        prop_assert_eq!(apply(&a, &d), Some(b.clone()));
    }
}

#[test]
fn one_changed_line_in_a_big_file_is_a_tiny_delta() {
    let lines = sorted_lines(50_000, 7);
    let src = (lines.join("\n") + "\n").into_bytes();
    let mut changed = lines.clone();
    changed[31_337].push_str(" (changed)");
    changed.insert(40_000, "{\"id\":\"bd-39999a\",\"title\":\"new\"}".into());
    changed.remove(100);
    let dst = (changed.join("\n") + "\n").into_bytes();
    let d = strand::git::delta::encode(&src, &dst);
    assert!(d.len() < 400, "delta of {} bytes", d.len());
    assert_eq!(apply(&src, &d), Some(dst));
}

// ---------------------------------------------------------------------------
// A repository with a tracker big enough to be packed
// ---------------------------------------------------------------------------

/// A repository whose tracker holds `n` issues (about 300 bytes each),
/// committed by git (a loose blob), with a bare remote `remote.git` as origin.
fn big_repo(n: usize) -> (TestEnvironment, Workspace, Vec<String>) {
    let env = TestEnvironment::empty();
    let ws = env.init_at(&env.root().join("repo"), &env.root().join("home"), "tester");
    ws.bd(&["init", "--prefix", "bd"]).ok();
    let template = ws.create("Template");
    let line: Value = serde_json::from_str(ws.issues_text().lines().next().unwrap()).unwrap();
    assert_eq!(line["id"], template.as_str());
    let mut out = String::new();
    let mut ids = Vec::new();
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    for i in 0..n {
        let mut rec = line.clone();
        let id = format!("bd-z{i:05}");
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        rec["id"] = Value::String(id.clone());
        rec["title"] = Value::String(format!("Issue {i} about module {}", x % 977));
        rec["description"] = Value::String(format!(
            "Steps {}: run the {} check with seed {} and compare {} against {}.",
            x % 13,
            ["parser", "merge", "sync", "index", "cli"][(x % 5) as usize],
            x,
            x.rotate_left(17) % 100_003,
            x.rotate_left(29) % 65_537
        ));
        out.push_str(&serde_json::to_string(&rec).unwrap());
        out.push('\n');
        ids.push(id);
    }
    std::fs::write(ws.issues_path(), out).unwrap();
    ws.git(&["add", "-A"]);
    ws.git(&["commit", "-q", "-m", "a big tracker"]);
    let remote = env.bare_remote();
    ws.git(&["remote", "add", "origin", remote.to_str().unwrap()]);
    (env, ws, ids)
}

fn objects_bytes(dir: &Path) -> u64 {
    fn walk(p: &Path) -> u64 {
        let Ok(rd) = std::fs::read_dir(p) else {
            return 0;
        };
        rd.flatten()
            .map(|e| {
                let m = e.metadata().unwrap();
                if m.is_dir() { walk(&e.path()) } else { m.len() }
            })
            .sum()
    }
    walk(&dir.join(".git/objects"))
}

fn packs(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir.join(".git/objects/pack"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "pack"))
        .collect();
    v.sort();
    v
}

/// One `bd update` of issue `i` and a `bd commit`; the bytes it added.
fn change_and_commit(ws: &Workspace, ids: &[String], i: usize) -> u64 {
    let before = objects_bytes(&ws.dir);
    // Never the template's priority (2), so every update changes something.
    let p = ["0", "1", "3", "4"][i % 4];
    ws.bd(&["update", &ids[(i * 7919) % ids.len()], "--priority", p])
        .ok();
    let r = ws.bd(&["commit"]).ok();
    assert!(r.stderr.contains("Committed"), "{}", r.stderr);
    objects_bytes(&ws.dir) - before
}

#[track_caller]
fn assert_valid(ws: &Workspace) {
    let fsck = ws.git_try(&["fsck", "--full", "--strict", "--no-progress"]);
    assert_eq!(fsck.code, 0, "fsck: {}\n{}", fsck.stdout, fsck.stderr);
    assert!(
        !fsck.stdout.contains("error") && !fsck.stderr.contains("error"),
        "{}\n{}",
        fsck.stdout,
        fsck.stderr
    );
    let head = ws.git_run(&["cat-file", "blob", "HEAD:.beads/issues.jsonl"], false);
    assert_eq!(head.code, 0, "{}", head.stderr);
    assert!(
        head.stdout.as_bytes() == ws.issues(),
        "HEAD's blob is the file"
    );
    assert_eq!(
        ws.git(&["hash-object", ".beads/issues.jsonl"]).trim(),
        ws.git(&["rev-parse", "HEAD:.beads/issues.jsonl"]).trim()
    );
    assert!(ws.beads_status().is_empty(), "{:?}", ws.beads_status());
}

/// Every pack is one git itself would index the same way.
#[track_caller]
fn assert_packs_verify(ws: &Workspace) {
    for p in packs(&ws.dir) {
        let ps = p.to_str().unwrap();
        let r = ws.git_try(&["verify-pack", "-v", ps]);
        assert_eq!(r.code, 0, "verify-pack {ps}: {}", r.stderr);
        let tmp = ws.dir.join("../reindexed.idx");
        let r = ws.git_try(&["index-pack", "-o", tmp.to_str().unwrap(), ps]);
        assert_eq!(r.code, 0, "index-pack {ps}: {}", r.stderr);
        let ours = std::fs::read(p.with_extension("idx")).unwrap();
        assert!(
            std::fs::read(&tmp).unwrap() == ours,
            "git's index of {ps} differs from bd's"
        );
        std::fs::remove_file(tmp).unwrap();
    }
}

#[test]
fn commits_are_deltas_git_and_gix_read_and_the_repository_stays_valid() {
    let (env, ws, ids) = big_repo(3000);
    let size = ws.issues().len() as u64;
    assert!(size > 600_000, "{size}");
    let loose = objects_bytes(&ws.dir);
    let mut added = Vec::new();
    for i in 0..26 {
        added.push(change_and_commit(&ws, &ids, i));
    }
    // The first commit writes the file whole (compressed) as the root of
    // bd's pack; each one after adds a delta: a few hundred bytes, plus the
    // commit and trees git writes loose. A loose blob would be ~1/3 of the file.
    eprintln!("tracker {size} bytes; bytes added per commit: {added:?}");
    assert!(added[0] < size / 2, "{added:?}");
    for (i, a) in added.iter().enumerate().skip(1) {
        assert!(*a < 6_000, "commit {i} added {a} bytes: {added:?}");
    }
    let total: u64 = added.iter().skip(1).sum();
    assert!(total < 25 * 3_000, "{added:?}");
    assert!(objects_bytes(&ws.dir) - loose < size / 2 + 25 * 3_000);
    assert_eq!(packs(&ws.dir).len(), 1, "the old packs are gone");
    assert_valid(&ws);
    assert_packs_verify(&ws);

    // Every version reads back through git (log -p walks the chains).
    let revs = ws.git(&["rev-list", "HEAD"]);
    for rev in revs.lines() {
        let spec = format!("{rev}:.beads/issues.jsonl");
        let r = ws.git_run(&["cat-file", "blob", &spec], false);
        assert_eq!(r.code, 0, "{spec}: {}", r.stderr);
        assert!(!r.stdout.is_empty());
    }
    let log = ws.git(&["log", "-p", "--format=%H", "--", ".beads/issues.jsonl"]);
    assert!(log.contains("\"priority\""), "log -p shows the changes");

    // History through gix: bd log and bd diff across deltas of the pack.
    let l = ws.json(&["log", &ids[0]]);
    let entries = l["entries"].as_array().unwrap();
    assert!(entries.len() >= 2, "{l}");
    assert_eq!(entries[0]["kind"], "changed", "{l}");
    let d = ws.json(&["diff", "HEAD~20..HEAD"]);
    let changes = d["changes"].as_array().unwrap();
    assert!(changes.len() >= 10, "{d}");
    ws.bd(&["diff", "HEAD~1"]).ok();

    // Clones (local, and over file://), a push to a bare remote, a fetch back.
    for (name, url) in [
        ("local", ws.dir.to_str().unwrap().to_string()),
        ("url", format!("file://{}", ws.dir.display())),
    ] {
        let dir = env.root().join(format!("clone-{name}"));
        let r = ws.git_try(&["clone", "-q", &url, dir.to_str().unwrap()]);
        assert_eq!(r.code, 0, "clone {url}: {}", r.stderr);
        let c = env.workspace(&dir, &env.root().join("home-clone"), "other");
        c.configure_user();
        assert_eq!(c.issues(), ws.issues());
        let fsck = c.git_try(&["fsck", "--full", "--no-progress"]);
        assert_eq!(fsck.code, 0, "{}", fsck.stderr);
    }
    ws.git(&["push", "-q", "origin", "main"]);
    let other = env.clone_workspace("other", "other", &[]);
    assert_eq!(other.issues(), ws.issues());
    other.code_commit("other.txt", "from the other clone\n", "other work");
    other.git(&["push", "-q", "origin", "main"]);
    ws.git(&["pull", "-q", "--no-rebase", "origin", "main"]);
    assert!(ws.dir.join("other.txt").exists());
    assert_valid(&ws);

    // More commits after the fetch, then git's own maintenance.
    for i in 26..30 {
        assert!(change_and_commit(&ws, &ids, i) < 6_000);
    }
    assert_valid(&ws);
    ws.git(&["push", "-q", "origin", "main"]);
    let r = ws.git_try(&["repack", "-a", "-d", "-q"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_valid(&ws);
    // After a repack the file is in git's pack: the next commit starts a
    // new pack of bd's (a root), the ones after are deltas again.
    change_and_commit(&ws, &ids, 30);
    assert!(change_and_commit(&ws, &ids, 31) < 6_000);
    assert_valid(&ws);
    let r = ws.git_try(&["gc", "-q"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_valid(&ws);
    change_and_commit(&ws, &ids, 32);
    change_and_commit(&ws, &ids, 33);
    assert_valid(&ws);
    assert_packs_verify(&ws);
    ws.git(&["push", "-q", "origin", "main"]);
    let remote = env.bare_remote();
    let fsck = common::git(&remote, &["fsck", "--full", "--no-progress"]);
    assert!(!fsck.contains("error"), "{fsck}");
}

#[test]
fn a_crash_mid_write_leaves_the_repository_valid() {
    let (_env, ws, ids) = big_repo(2500);
    change_and_commit(&ws, &ids, 0);
    change_and_commit(&ws, &ids, 1);
    let pack_dir = ws.dir.join(".git/objects/pack");
    // A crash while writing: temporary files git's own naming, half written.
    let pack = std::fs::read(&packs(&ws.dir)[0]).unwrap();
    std::fs::write(
        pack_dir.join("tmp_pack_0123456789abcdef"),
        &pack[..pack.len() / 2],
    )
    .unwrap();
    std::fs::write(pack_dir.join("tmp_idx_0123456789abcdef"), b"\xfftOc\0\0").unwrap();
    assert_valid(&ws);
    // A crash after the new pack was published but before the old one was
    // removed: both are there, and every object is in both.
    let old: Vec<(PathBuf, Vec<u8>)> = std::fs::read_dir(&pack_dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .starts_with("pack-")
        })
        .map(|p| {
            let b = std::fs::read(&p).unwrap();
            (p, b)
        })
        .collect();
    assert!(change_and_commit(&ws, &ids, 2) < 6_000);
    for (p, b) in &old {
        if !p.exists() {
            std::fs::write(p, b).unwrap();
        }
    }
    assert_eq!(packs(&ws.dir).len(), 2);
    assert_valid(&ws);
    for i in 3..6 {
        assert!(change_and_commit(&ws, &ids, i) < 6_000);
    }
    assert_valid(&ws);
    assert_packs_verify(&ws);
    // The cached bases lost or damaged: bd reads the previous version from
    // git instead, and a copy that is not what it recorded is not trusted.
    let cache = ws.dir.join(".beads/.cache");
    std::fs::write(cache.join("pack-prev.v1"), b"not the previous version\n").unwrap();
    assert!(change_and_commit(&ws, &ids, 6) < 6_000);
    assert_valid(&ws);
    for f in ["pack-prev.v1", "pack-root.v1", "pack-bases.v1"] {
        let _ = std::fs::remove_file(cache.join(f));
    }
    assert!(change_and_commit(&ws, &ids, 7) < 6_000);
    assert_valid(&ws);
    assert_packs_verify(&ws);
    let r = ws.git_try(&["gc", "-q", "--prune=now"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(!pack_dir.join("tmp_pack_0123456789abcdef").exists());
    assert_valid(&ws);
}

#[test]
fn a_multi_pack_index_or_a_small_tracker_gets_loose_objects() {
    let (_env, ws, ids) = big_repo(2500);
    ws.git(&["repack", "-a", "-d", "-q"]);
    ws.git(&["multi-pack-index", "write"]);
    let before = packs(&ws.dir);
    change_and_commit(&ws, &ids, 0);
    assert_eq!(
        packs(&ws.dir),
        before,
        "no pack written beside a multi-pack index"
    );
    assert_valid(&ws);

    let env = TestEnvironment::empty();
    let small = env.init_at(&env.root().join("repo"), &env.root().join("home"), "tester");
    small.bd(&["init", "--prefix", "bd"]).ok();
    small.create("One");
    small.bd(&["commit"]).ok();
    small.create("Two");
    small.bd(&["commit"]).ok();
    assert!(
        std::fs::read_dir(small.dir.join(".git/objects/pack"))
            .unwrap()
            .next()
            .is_none()
    );
    assert_valid(&small);
}

/// Why bd's pack holds its root: a pack on disk whose delta's base lives
/// outside it (a "thin" pack, as sent over the wire) is not readable by git.
/// Written here by hand with a REF_DELTA against a loose blob.
#[test]
fn a_thin_pack_on_disk_is_refused_by_git() {
    use std::io::Write as _;
    let env = TestEnvironment::empty();
    let ws = env.init_at(&env.root().join("repo"), &env.root().join("home"), "tester");
    let base: String = (0..2000).map(|i| format!("line {i}\n")).collect();
    let new = base.replace("line 1000\n", "line one thousand\n");
    std::fs::write(ws.dir.join("f"), &base).unwrap();
    let base_id = ws.git(&["hash-object", "-w", "f"]).trim().to_string();
    std::fs::write(ws.dir.join("f"), &new).unwrap();
    let new_id = ws.git(&["hash-object", "f"]).trim().to_string();

    let delta = strand::git::delta::encode(base.as_bytes(), new.as_bytes());
    let mut z = gix::zlib::stream::deflate::Write::new(Vec::new(), Default::default());
    z.write_all(&delta).unwrap();
    z.flush().unwrap();
    let mut entry = Vec::new();
    let mut size = delta.len();
    let mut c = (7u8 << 4) | (size & 15) as u8; // OBJ_REF_DELTA
    size >>= 4;
    while size != 0 {
        entry.push(c | 0x80);
        c = (size & 0x7f) as u8;
        size >>= 7;
    }
    entry.push(c);
    entry.extend_from_slice(
        gix::ObjectId::from_hex(base_id.as_bytes())
            .unwrap()
            .as_slice(),
    );
    entry.extend_from_slice(&z.into_inner());
    let mut pack = b"PACK\0\0\0\x02\0\0\0\x01".to_vec();
    pack.extend_from_slice(&entry);
    let mut h = gix::hash::hasher(gix::hash::Kind::Sha1);
    h.update(&pack);
    let sum = h.try_finalize().unwrap();
    pack.extend_from_slice(sum.as_slice());
    let mut id = [0u8; 20];
    id.copy_from_slice(
        gix::ObjectId::from_hex(new_id.as_bytes())
            .unwrap()
            .as_slice(),
    );
    let mut pack_sum = [0u8; 20];
    pack_sum.copy_from_slice(sum.as_slice());
    let index = strand::git::pack::Index {
        entries: vec![strand::git::pack::IdxEntry {
            id,
            crc: strand::git::pack::crc32(&entry),
            offset: 12,
        }],
        pack_sum,
    };
    let dir = ws.dir.join(".git/objects/pack");
    std::fs::write(dir.join(format!("pack-{sum}.pack")), &pack).unwrap();
    std::fs::write(dir.join(format!("pack-{sum}.idx")), index.encode().unwrap()).unwrap();

    // git lists the object (it is in the index) but cannot read it.
    let r = ws.git_try(&["cat-file", "-p", &new_id]);
    assert_ne!(r.code, 0, "git read a thin pack: {}", r.stdout);
    let r = ws.git_try(&["fsck", "--full", "--no-progress"]);
    assert_ne!(r.code, 0, "fsck took a thin pack");
    assert!(r.stderr.contains("delta base"), "{}", r.stderr);
    // The same delta with its base in the pack is fine: what bd writes.
    std::fs::remove_file(dir.join(format!("pack-{sum}.pack"))).unwrap();
    std::fs::remove_file(dir.join(format!("pack-{sum}.idx"))).unwrap();
    let r = ws.git_try(&["fsck", "--full", "--no-progress"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
}

/// The temporary files left in the pack folder.
fn temps(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir.join(".git/objects/pack"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.file_name().unwrap().to_str().unwrap().starts_with("tmp_"))
        .collect()
}

/// `bd commit` writes the delta's pack while it hashes the file, before it
/// knows whether the pack is wanted: one not published is removed.
#[test]
fn a_pack_written_ahead_and_not_wanted_is_removed() {
    let (_env, ws, ids) = big_repo(2500);
    for i in 0..3 {
        change_and_commit(&ws, &ids, i);
    }
    assert!(temps(&ws.dir).is_empty(), "{:?}", temps(&ws.dir));
    // A change undone: the file's blob is in git already, nothing is stored.
    let before = ws.issues();
    change_and_commit(&ws, &ids, 3);
    std::fs::write(ws.issues_path(), &before).unwrap();
    let r = ws.bd(&["commit"]).ok();
    assert!(r.stderr.contains("Committed"), "{}", r.stderr);
    assert!(temps(&ws.dir).is_empty(), "{:?}", temps(&ws.dir));
    assert_eq!(packs(&ws.dir).len(), 1);
    assert_valid(&ws);
    // HEAD moved by git, so it holds a version bd did not write: the delta
    // made ahead against bd's last version is not used.
    ws.bd(&["update", &ids[11], "--priority", "4"]).ok();
    ws.git(&["commit", "-q", "-m", "by git", "--", ".beads/issues.jsonl"]);
    assert!(change_and_commit(&ws, &ids, 4) < 6_000);
    assert!(temps(&ws.dir).is_empty(), "{:?}", temps(&ws.dir));
    assert_valid(&ws);
    assert_packs_verify(&ws);
    for i in 5..12 {
        assert!(change_and_commit(&ws, &ids, i) < 6_000);
    }
    assert!(temps(&ws.dir).is_empty(), "{:?}", temps(&ws.dir));
    assert_valid(&ws);
    assert_packs_verify(&ws);
}
