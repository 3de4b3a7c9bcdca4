//! CRLF conversion as git does it (item 10).

use super::*;

/// `core.autocrlf = true`: git checks `.beads/` text files out with CRLF;
/// `bd commit` stores what git would (LF), `git status` stays clean and
/// `doctor` reports nothing pending.
#[test]
fn item_10_autocrlf_commits_lf_and_agrees_with_git_status() {
    let net = net(1);
    create(&net.c[0], "first");
    ok(net.c[0].bd(&["commit"]));
    net.c[0].git(&["push", "-q"]);
    let b = net.clone_fresh("b", "bob", &["-c", "core.autocrlf=true"]);
    b.git(&["config", "core.autocrlf", "true"]);
    let gi = std::fs::read(b.dir.join(".beads/.gitignore")).unwrap();
    assert!(gi.windows(2).any(|w| w == b"\r\n"), "checked out with CRLF");
    // The tracker files are LF whatever autocrlf says (`eol=lf`), so no
    // command notes a canonical rewrite and doctor sees no CRLF.
    let issues = std::fs::read(b.dir.join(".beads/issues.jsonl")).unwrap();
    assert!(!issues.contains(&b'\r'), "issues.jsonl checked out with CR");
    // Nothing pending right after the clone.
    let r = ok(b.bd(&["doctor"]));
    assert!(!r.stdout.contains("pending"), "{}", r.stdout);
    assert!(!r.stdout.contains("CRLF"), "{}", r.stdout);
    let r = ok(b.bd(&["create", "second"]));
    assert!(!r.stderr.contains("canonical"), "{}", r.stderr);
    let r = ok(b.bd(&["commit"]));
    let _ = r;
    assert_eq!(porcelain(&b), "", "git status after bd commit");
    let r = ok(b.bd(&["doctor"]));
    assert!(!r.stdout.contains("pending"), "{}", r.stdout);
    // The last commit changed issues.jsonl only, and every blob is LF.
    let changed = b.git(&["show", "--name-only", "--format=", "HEAD"]);
    assert_eq!(changed.trim(), ".beads/issues.jsonl");
    for f in b
        .git(&["ls-tree", "-r", "--name-only", "HEAD", ".beads"])
        .lines()
    {
        let blob = b.git(&["cat-file", "blob", &format!("HEAD:{f}")]);
        assert!(!blob.contains('\r'), "{f} stored with CR: {blob:?}");
    }
    // A CRLF edit of a tracked file is stored as LF too.
    std::fs::write(
        b.dir.join(".beads/.gitignore"),
        String::from_utf8(gi).unwrap() + "notes/\r\n",
    )
    .unwrap();
    ok(b.bd(&["commit"]));
    assert_eq!(porcelain(&b), "");
    let blob = b.git(&["cat-file", "blob", "HEAD:.beads/.gitignore"]);
    assert!(
        blob.ends_with("notes/\n") && !blob.contains('\r'),
        "{blob:?}"
    );
}

/// `core.autocrlf = true` must not touch attachment bodies: they are named
/// by their SHA-256, so a text attachment sent from one clone reaches a
/// CRLF-converting clone byte for byte (git would check an LF text out as CRLF) (`attachments/** -text`).
#[test]
fn item_10_attachment_bodies_keep_their_bytes_under_autocrlf() {
    let net = net(1);
    let a = &net.c[0];
    let body = b"line one\nline two\n".to_vec();
    std::fs::write(a.dir.join("repro.txt"), &body).unwrap();
    ok(a.bd(&[
        "mail",
        "send",
        "--to",
        "alice",
        "-s",
        "repro",
        "-b",
        "see file",
        "--attach",
        "repro.txt",
    ]));
    ok(a.bd(&["commit"]));
    a.git(&["push", "-q"]);
    let b = net.clone_fresh("b", "bob", &["-c", "core.autocrlf=true"]);
    b.git(&["config", "core.autocrlf", "true"]);
    let dir = b.dir.join(".beads/attachments");
    let files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    assert_eq!(std::fs::read(&files[0]).unwrap(), body, "bytes changed");
    let r = ok(b.bd(&["doctor"]));
    assert!(!r.stdout.contains("attachment"), "{}", r.stdout);
    assert_eq!(porcelain(&b), "");
}
