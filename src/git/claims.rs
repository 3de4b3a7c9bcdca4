//! Where claims live on a remote (issue 14; docs/DESIGN.md "Coordination
//! through the remote"): one ref per item, `refs/beads/claims/<id>`, whose
//! commit holds `claim.json`; or, on hosts that refuse custom refs, one
//! orphan branch `beads/claims` whose tree holds `claims/<id>.json` for
//! every item. The registers themselves are `git::refs`.

/// The prefix of the per-item claim refs.
pub const PREFIX: &str = "refs/beads/claims/";
/// The fallback: one branch holding the whole claim table.
pub const TABLE: &str = "refs/heads/beads/claims";
/// The blob's name in a per-item claim commit's tree.
pub const FILE: &str = "claim.json";
/// The folder of the table branch's tree.
pub const TABLE_DIR: &str = "claims";

/// An id as a ref or file name: as its `bd run` branch is (lower-case
/// letters, digits, `-`, `_` and lone dots as they are, any other byte
/// `%XX`), so every id has a valid name of its own.
pub fn key(id: &str) -> String {
    crate::model::run::branch_for(id)
        .trim_start_matches("bd/")
        .to_string()
}

/// The ref of an item's claim: `refs/beads/claims/<key>`.
pub fn ref_name(id: &str) -> String {
    format!("{PREFIX}{}", key(id))
}

/// The path of an item's claim in the table branch's tree.
pub fn table_path(id: &str) -> String {
    format!("{TABLE_DIR}/{}.json", key(id))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::git::refs::{self, Pushed, Update};
    use std::path::Path;
    use std::process::Command;

    fn git(dir: &Path, args: &[&str]) {
        let st = Command::new("git")
            .args(args)
            .current_dir(dir)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .output()
            .unwrap();
        assert!(
            st.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&st.stderr)
        );
    }

    fn up(name: &str, to: &str, lease: Option<&str>) -> Vec<Update> {
        vec![Update {
            refname: name.into(),
            to: Some(to.into()),
            lease: lease.map(str::to_string),
        }]
    }

    fn fetched(root: &Path, name: &str) -> Option<(String, String)> {
        refs::fetch(root, "origin", name).unwrap().unwrap();
        let tip = refs::tip(root, &refs::tracking(name)).unwrap()?;
        let body = refs::read_file(root, &tip, FILE).unwrap().unwrap();
        Some((tip, String::from_utf8(body).unwrap()))
    }

    #[test]
    fn one_of_two_claimers_wins_and_the_loser_reads_the_winner() {
        let t = tempfile::tempdir().unwrap();
        let remote = t.path().join("remote.git");
        std::fs::create_dir_all(&remote).unwrap();
        git(&remote, &["init", "-q", "--bare"]);
        let url = remote.to_str().unwrap();
        let (a, b) = (t.path().join("a"), t.path().join("b"));
        for c in [&a, &b] {
            git(t.path(), &["clone", "-q", url, c.to_str().unwrap()]);
        }
        let name = ref_name("bd-x1");
        assert_eq!(name, "refs/beads/claims/bd-x1");
        assert_eq!(table_path("Bd-X"), "claims/%42d-%58.json");
        assert_eq!(fetched(&b, &name), None);
        let commit = |root: &Path, body: &str, parent: Option<&str>| {
            refs::write_commit(
                root,
                None,
                &[(FILE, Some(body.as_bytes()))],
                parent,
                "bd claim",
            )
            .unwrap()
        };
        // Both observed no claim; both push a first claim: one wins.
        let ca = commit(&a, r#"{"agent":"ann"}"#, None);
        let cb = commit(&b, r#"{"agent":"bob"}"#, None);
        assert_eq!(
            refs::push(&a, "origin", &up(&name, &ca, None), false).unwrap(),
            Pushed::Taken
        );
        assert!(matches!(
            refs::push(&b, "origin", &up(&name, &cb, None), false).unwrap(),
            Pushed::Refused { .. }
        ));
        let (tip, body) = fetched(&b, &name).unwrap();
        assert_eq!(
            (tip.as_str(), body.as_str()),
            (ca.as_str(), r#"{"agent":"ann"}"#)
        );
        // A release on top of the tip is a fast-forward; a push on the old
        // tip after it is refused.
        let rel = commit(&a, r#"{"state":"released"}"#, Some(&ca));
        assert_eq!(
            refs::push(&a, "origin", &up(&name, &rel, None), false).unwrap(),
            Pushed::Taken
        );
        let stale = commit(&b, r#"{"agent":"bob"}"#, Some(&ca));
        assert!(matches!(
            refs::push(&b, "origin", &up(&name, &stale, None), false).unwrap(),
            Pushed::Refused { .. }
        ));
        // A steal over exactly the observed tip goes through; over an old one, not.
        let steal = commit(&b, r#"{"agent":"bob","stolen":true}"#, None);
        assert!(matches!(
            refs::push(&b, "origin", &up(&name, &steal, Some(&ca)), false).unwrap(),
            Pushed::Refused { .. }
        ));
        assert_eq!(
            refs::push(&b, "origin", &up(&name, &steal, Some(&rel)), false).unwrap(),
            Pushed::Taken
        );
        assert_eq!(fetched(&a, &name).unwrap().0, steal);
        // An atomic push of two refs, one stale: neither moves.
        let other = ref_name("bd-x2");
        let c2 = commit(&a, r#"{"agent":"ann"}"#, None);
        let mut both = up(&other, &c2, None);
        both.extend(up(&name, &c2, None));
        assert!(matches!(
            refs::push(&a, "origin", &both, true).unwrap(),
            Pushed::Refused { .. }
        ));
        assert_eq!(fetched(&a, &other), None);
        // The list of fetched refs, and a pattern fetch that prunes.
        refs::fetch(&a, "origin", "refs/beads/claims/*")
            .unwrap()
            .unwrap();
        let listed = refs::list(&a, "refs/beads-remote/claims/").unwrap();
        assert_eq!(listed, vec![(refs::tracking(&name), steal.clone())]);
        let gone = vec![Update {
            refname: name.clone(),
            to: None,
            lease: Some(steal.clone()),
        }];
        assert_eq!(
            refs::push(&b, "origin", &gone, false).unwrap(),
            Pushed::Taken
        );
        refs::fetch(&a, "origin", "refs/beads/claims/*")
            .unwrap()
            .unwrap();
        assert!(
            refs::list(&a, "refs/beads-remote/claims/")
                .unwrap()
                .is_empty()
        );
        // What reached the remote names no host and no local path.
        let raw = Command::new("git")
            .args(["cat-file", "-p", &steal])
            .current_dir(&remote)
            .output()
            .unwrap();
        let raw = String::from_utf8_lossy(&raw.stdout).to_string();
        let host = std::fs::read_to_string("/etc/hostname").unwrap_or_default();
        assert!(raw.contains("bd <bd@claims.invalid>"), "{raw}");
        assert!(!raw.contains(t.path().to_str().unwrap()), "{raw}");
        assert!(
            host.trim().is_empty() || !raw.contains(host.trim()),
            "{raw}"
        );
    }

    #[test]
    fn a_table_commit_edits_one_file_and_keeps_the_others() {
        let t = tempfile::tempdir().unwrap();
        git(t.path(), &["init", "-q"]);
        let one = refs::write_commit(
            t.path(),
            None,
            &[
                (&table_path("a"), Some(b"1")),
                (&table_path("b"), Some(b"2")),
            ],
            None,
            "t",
        )
        .unwrap();
        let two = refs::write_commit(
            t.path(),
            Some(&one),
            &[(&table_path("a"), None), (&table_path("c"), Some(b"3"))],
            Some(&one),
            "t",
        )
        .unwrap();
        let names: Vec<String> = refs::read_dir(t.path(), &two, TABLE_DIR)
            .unwrap()
            .into_iter()
            .map(|(n, b)| format!("{n}={}", String::from_utf8(b).unwrap()))
            .collect();
        assert_eq!(names, ["b.json=2", "c.json=3"]);
        assert_eq!(
            refs::read_file(t.path(), &two, &table_path("a")).unwrap(),
            None
        );
    }
}
