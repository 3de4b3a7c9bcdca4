//! `bd demo`: the whole product in about a minute, in a throwaway folder.
//!
//! It builds a small world (a bare remote, two clones of project `vc`, a
//! project `beads`, one BD_HOME) and has three agents play the story: work
//! with dependencies, `ready`, a claim race, a hook that survives a crash,
//! a convoy landing, a sync with a concurrent edit merged, and a bug handed
//! to another project and answered. Every step runs the real `bd` (this very
//! binary) and `git` as separate processes and prints the command and its
//! output. The demo checks what it shows: a step that does not behave as told
//! stops it with an error.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::error::{Error, Result};

struct Demo {
    root: PathBuf,
    home: PathBuf,
    bd: PathBuf,
    out: Box<dyn Write>,
}

/// One finished command.
struct Ran {
    stdout: String,
}

fn fail(msg: impl Into<String>) -> Error {
    Error::invalid(format!("demo: {}", msg.into()))
}

impl Demo {
    fn say(&mut self, text: &str) {
        let _ = writeln!(self.out, "{text}");
    }

    fn step(&mut self, n: usize, title: &str, why: &str) {
        let _ = writeln!(self.out, "\n== {n}. {title}\n   {why}");
    }

    fn label(&self, dir: &Path) -> String {
        dir.strip_prefix(&self.root)
            .map(|p| p.display().to_string())
            .unwrap_or_else(|_| dir.display().to_string())
    }

    fn command(&self, program: &Path, dir: &Path, actor: Option<&str>, args: &[&str]) -> Command {
        let mut c = Command::new(program);
        c.args(args)
            .current_dir(dir)
            .env("BD_HOME", &self.home)
            .env("HOME", &self.root)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_AUTHOR_NAME", "demo")
            .env("GIT_AUTHOR_EMAIL", "demo@example.com")
            .env("GIT_COMMITTER_NAME", "demo")
            .env("GIT_COMMITTER_EMAIL", "demo@example.com")
            // The demo's own repositories only, whatever the caller's git
            // setup (a hook's GIT_DIR, signing config, global config).
            .env_remove("GIT_DIR")
            .env_remove("GIT_WORK_TREE")
            .env_remove("GIT_INDEX_FILE")
            .env_remove("GIT_COMMON_DIR")
            .env_remove("XDG_CONFIG_HOME")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env_remove("BD_ACTOR")
            .env_remove("BD_NOW")
            .env_remove("XDG_STATE_HOME")
            .env("PATH", self.path_with_bd())
            .stdin(Stdio::null());
        if let Some(a) = actor {
            c.env("BD_ACTOR", a);
        }
        c
    }

    /// PATH with this binary's folder first: git's merge driver is `bd merge`.
    fn path_with_bd(&self) -> String {
        let dir = self.bd.parent().map(Path::to_path_buf).unwrap_or_default();
        format!(
            "{}:{}",
            dir.display(),
            std::env::var("PATH").unwrap_or_default()
        )
    }

    fn show(&mut self, dir: &Path, actor: Option<&str>, shown: &str, o: &std::process::Output) {
        let who = actor.map(|a| format!("BD_ACTOR={a} ")).unwrap_or_default();
        let _ = writeln!(self.out, "\n[{}] $ {who}{shown}", self.label(dir));
        for stream in [&o.stdout, &o.stderr] {
            for line in String::from_utf8_lossy(stream).lines() {
                let _ = writeln!(self.out, "    {line}");
            }
        }
        if !o.status.success() {
            let _ = writeln!(self.out, "    (exit {})", o.status.code().unwrap_or(-1));
        }
    }

    /// Run `bd` and print it; `want` is the exit code the story expects.
    fn bd_expect(
        &mut self,
        dir: &Path,
        actor: Option<&str>,
        args: &[&str],
        want: i32,
    ) -> Result<Ran> {
        let o = self
            .command(&self.bd.clone(), dir, actor, args)
            .output()
            .map_err(|e| fail(format!("cannot run bd: {e}")))?;
        self.show(dir, actor, &format!("bd {}", quote(args)), &o);
        let code = o.status.code().unwrap_or(-1);
        if code != want {
            return Err(fail(format!(
                "`bd {}` exited {code}, the story expects {want}",
                quote(args)
            )));
        }
        Ok(Ran {
            stdout: String::from_utf8_lossy(&o.stdout).trim().to_string(),
        })
    }

    fn bd(&mut self, dir: &Path, actor: Option<&str>, args: &[&str]) -> Result<Ran> {
        self.bd_expect(dir, actor, args, 0)
    }

    /// Run `bd` without printing (to learn an id for the story).
    fn quiet(&self, dir: &Path, actor: Option<&str>, args: &[&str]) -> Result<String> {
        let o = self
            .command(&self.bd.clone(), dir, actor, args)
            .output()
            .map_err(|e| fail(format!("cannot run bd: {e}")))?;
        if !o.status.success() {
            return Err(fail(format!(
                "`bd {}` failed: {}",
                quote(args),
                String::from_utf8_lossy(&o.stderr).trim()
            )));
        }
        Ok(String::from_utf8_lossy(&o.stdout).trim().to_string())
    }

    fn git(&mut self, dir: &Path, args: &[&str], print: bool) -> Result<()> {
        let o = self
            .command(Path::new("git"), dir, None, args)
            .output()
            .map_err(|e| fail(format!("cannot run git: {e}")))?;
        if print {
            self.show(dir, None, &format!("git {}", quote(args)), &o);
        }
        if !o.status.success() {
            return Err(fail(format!(
                "`git {}` failed: {}",
                quote(args),
                String::from_utf8_lossy(&o.stderr).trim()
            )));
        }
        Ok(())
    }
}

fn quote(args: &[&str]) -> String {
    args.iter()
        .map(|a| {
            if a.is_empty() || a.contains(|c: char| c.is_whitespace() || "\"'$`<>|&;".contains(c)) {
                format!("\"{}\"", a.replace('"', "\\\""))
            } else {
                a.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Play the story in `dir` (a new temp folder when `None`); returns the folder.
pub fn run(dir: Option<&Path>, out: Box<dyn Write>) -> Result<PathBuf> {
    let root = match dir {
        Some(d) => {
            std::fs::create_dir_all(d).map_err(|e| Error::io(d, e))?;
            if std::fs::read_dir(d)
                .map_err(|e| Error::io(d, e))?
                .next()
                .is_some()
            {
                return Err(Error::Invalid {
                    msg: format!("{} is not empty", d.display()),
                    hint: Some(
                        "give a new or empty folder (the demo creates repositories in it)".into(),
                    ),
                });
            }
            std::fs::canonicalize(d).map_err(|e| Error::io(d, e))?
        }
        None => {
            let base = std::env::temp_dir().join(format!(
                "bd-demo-{}-{}",
                std::process::id(),
                chrono::Utc::now().timestamp()
            ));
            std::fs::create_dir_all(&base).map_err(|e| Error::io(&base, e))?;
            std::fs::canonicalize(&base).map_err(|e| Error::io(&base, e))?
        }
    };
    let bd = std::env::current_exe().map_err(|e| fail(format!("cannot find bd itself: {e}")))?;
    let mut d = Demo {
        home: root.join("home"),
        root: root.clone(),
        bd,
        out,
    };
    story(&mut d)?;
    d.say(&format!(
        "\nThe demo's files stay in {} (remove it when done).",
        root.display()
    ));
    Ok(root)
}

/// The people of the story: alice's and bob's clones of vc, carol's beads.
struct Cast {
    root: PathBuf,
    a1: PathBuf,
    a2: PathBuf,
    b1: PathBuf,
}

const ALICE: Option<&str> = Some("alice");
const BOB: Option<&str> = Some("bob");
const CAROL: Option<&str> = Some("carol");

fn story(d: &mut Demo) -> Result<()> {
    let root = d.root.clone();
    let c = Cast {
        a1: root.join("vc-alice"),
        a2: root.join("vc-bob"),
        b1: root.join("beads"),
        root,
    };
    d.say(&format!(
        "strand demo in {}\nA bare remote vc.git with two clones (alice's and bob's), a project beads (carol's), one BD_HOME.",
        c.root.display()
    ));
    set_up(d, &c)?;
    let (parser, importer, docs) = plan(d, &c)?;
    let (win_ws, win) = claim_race(d, &c, &parser)?;
    hook_survives(d, &c, &docs)?;
    d.bd(
        &win_ws,
        win,
        &["close", &parser, "--reason", "fixed the empty-file case"],
    )?;
    convoy_lands(d, &c)?;
    concurrent_edit(d, &c, &docs)?;
    handoff(d, &c, &importer)?;
    review(d, &c, &docs)
}

fn set_up(d: &mut Demo, c: &Cast) -> Result<()> {
    let (root, a1, a2, b1) = (&c.root, &c.a1, &c.a2, &c.b1);
    let (alice, bob, carol) = (ALICE, BOB, CAROL);
    d.step(1, "Set up", "Two projects with their remotes; `bd init` routes .beads/*.jsonl to strand's merge driver.");
    for (name, ws) in [("vc", &a1), ("beads", &b1)] {
        let remote = root.join(format!("{name}.git"));
        d.git(
            root,
            &[
                "init",
                "-q",
                "--bare",
                "-b",
                "main",
                &remote.to_string_lossy(),
            ],
            false,
        )?;
        d.git(
            root,
            &[
                "clone",
                "-q",
                &remote.to_string_lossy(),
                &ws.to_string_lossy(),
            ],
            false,
        )?;
        d.git(ws, &["checkout", "-q", "-b", "main"], false)?;
        let prefix = if name == "vc" { "vc" } else { "bz" };
        d.bd(ws, None, &["init", "--prefix", prefix])?;
        d.git(ws, &["add", "-A"], false)?;
        d.git(ws, &["commit", "-q", "-m", "bd init"], false)?;
        d.git(ws, &["push", "-q", "-u", "origin", "main"], false)?;
    }
    d.git(
        root,
        &[
            "clone",
            "-q",
            &root.join("vc.git").to_string_lossy(),
            &a2.to_string_lossy(),
        ],
        true,
    )?;
    for (ws, who) in [(&a1, alice), (&a2, bob), (&b1, carol)] {
        d.bd(ws, who, &["agent", "register", "--kind", "claude"])?;
    }

    Ok(())
}

/// Step 2: the parser bug, the importer it blocks, the docs.
fn plan(d: &mut Demo, c: &Cast) -> Result<(String, String, String)> {
    let (a1, a2, alice) = (&c.a1, &c.a2, ALICE);
    d.step(
        2,
        "Work with dependencies",
        "Alice plans: the parser must be fixed before the importer can ship.",
    );
    let parser = d
        .bd(
            a1,
            alice,
            &["create", "Fix the parser", "-t", "bug", "-p", "1"],
        )?
        .stdout;
    let importer = d
        .bd(
            a1,
            alice,
            &[
                "create",
                "Ship the importer",
                "-p",
                "1",
                "--deps",
                &format!("blocks:{parser}"),
            ],
        )?
        .stdout;
    let docs = d
        .bd(a1, alice, &["create", "Write the import docs", "-p", "2"])?
        .stdout;
    d.bd(a1, alice, &["ready"])?;
    d.bd(a1, alice, &["blocked"])?;
    d.bd(a1, alice, &["commit", "-m", "plan the importer"])?;
    d.git(a1, &["push", "-q"], false)?;
    d.git(a2, &["pull", "-q", "--no-rebase"], true)?;

    Ok((parser, importer, docs))
}

/// Step 3: the race; the winner's clone and name.
fn claim_race(d: &mut Demo, c: &Cast, parser: &str) -> Result<(PathBuf, Option<&'static str>)> {
    let (a1, a2, alice, bob) = (&c.a1, &c.a2, ALICE, BOB);
    d.step(3, "A claim race", "Alice and Bob claim the parser bug at the same moment, from different clones. The file lock and the machine's ledger let exactly one win; the other is told who holds it.");
    let spawn = |who: &str, ws: &Path| -> Result<std::process::Child> {
        d.command(&d.bd, ws, Some(who), &["claim", parser])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| fail(format!("cannot run bd: {e}")))
    };
    let ca = spawn("alice", a1)?;
    let cb = spawn("bob", a2)?;
    let oa = ca.wait_with_output().map_err(|e| fail(e.to_string()))?;
    let ob = cb.wait_with_output().map_err(|e| fail(e.to_string()))?;
    d.show(a1, alice, &format!("bd claim {parser}"), &oa);
    d.show(a2, bob, &format!("bd claim {parser}"), &ob);
    let codes = (oa.status.code(), ob.status.code());
    let winner = match codes {
        (Some(0), Some(3)) => "alice",
        (Some(3), Some(0)) => "bob",
        other => {
            return Err(fail(format!(
                "the race should have one winner and one exit 3, got {other:?}"
            )));
        }
    };
    d.say(&format!(
        "   -> {winner} won; the loser got exit 3 naming the holder."
    ));
    let (win_ws, win) = if winner == "alice" {
        (a1.clone(), alice)
    } else {
        (a2.clone(), bob)
    };
    let (lose_ws, lose) = if winner == "alice" {
        (a2.clone(), bob)
    } else {
        (a1.clone(), alice)
    };
    d.bd(&lose_ws, lose, &["show", parser])?;

    Ok((win_ws, win))
}

fn hook_survives(d: &mut Demo, c: &Cast, docs: &str) -> Result<()> {
    let (a1, a2, alice, bob) = (&c.a1, &c.a2, ALICE, BOB);
    d.step(4, "A hook survives a crash", "Bob's session is slung the docs. His agent process is killed (kill -9); a fresh session's `bd prime` still shows the work on his hook.");
    d.bd(a1, alice, &["sling", docs, "bob"])?;
    let mut session = Command::new("sleep")
        .arg("30")
        .spawn()
        .map_err(|e| fail(format!("cannot start the stand-in agent process: {e}")))?;
    let pid = session.id();
    session.kill().map_err(|e| fail(e.to_string()))?;
    let _ = session.wait();
    d.say(&format!(
        "\n   (bob's agent process {pid} was killed with SIGKILL; a new one starts)"
    ));
    let prime = d.bd(a2, bob, &["prime"])?;
    if !prime.stdout.contains(docs) {
        return Err(fail("bob's prime does not show his hook"));
    }
    Ok(())
}

fn convoy_lands(d: &mut Demo, c: &Cast) -> Result<()> {
    let (a1, alice) = (&c.a1, ALICE);
    d.step(5, "A convoy lands", "Alice groups the release chores in a convoy; it closes in the same write as the last of them.");
    let notes = d
        .bd(a1, alice, &["create", "Release notes", "-p", "2"])?
        .stdout;
    let tag = d.bd(a1, alice, &["create", "Tag v1.0", "-p", "2"])?.stdout;
    d.bd(
        a1,
        alice,
        &["convoy", "create", "release-1.0", &notes, &tag],
    )?;
    d.bd(a1, alice, &["close", &notes, "--reason", "written"])?;
    d.bd(a1, alice, &["convoy", "list"])?;
    d.bd(a1, alice, &["close", &tag, "--reason", "tagged"])?;
    let convoys = d.bd(a1, alice, &["convoy", "list"])?;
    if !convoys.stdout.contains("closed") {
        return Err(fail("the convoy should have landed with its last item"));
    }

    Ok(())
}

fn concurrent_edit(d: &mut Demo, c: &Cast, docs: &str) -> Result<()> {
    let (a1, a2, alice, bob) = (&c.a1, &c.a2, ALICE, BOB);
    d.step(6, "Sync with a concurrent edit", "Alice and Bob change the same issue in their clones before syncing; `bd sync` merges (never rebases) with the one merge, and both clones end with both changes.");
    d.bd(a1, alice, &["update", docs, "--priority", "0"])?;
    d.bd(
        a2,
        bob,
        &["comment", docs, "Started on the import docs outline."],
    )?;
    d.bd(a2, bob, &["label", "add", docs, "docs"])?;
    d.bd(a1, alice, &["sync"])?;
    d.bd(a2, bob, &["sync"])?;
    d.bd(a1, alice, &["sync"])?;
    let shown = d.bd(a1, alice, &["show", docs])?;
    if !(shown.stdout.contains("P0")
        && shown.stdout.contains("outline")
        && shown.stdout.contains("docs"))
    {
        return Err(fail(
            "the merged issue should have alice's priority and bob's comment and label",
        ));
    }

    Ok(())
}

fn handoff(d: &mut Demo, c: &Cast, importer: &str) -> Result<()> {
    let (root, a1, b1, alice, carol) = (&c.root, &c.a1, &c.b1, ALICE, CAROL);
    d.step(7, "A bug handed to another project", "Working in vc, Alice finds a bug in beads. She mails it to the beads project with the repro attached; beads' own bd imports it as a bug (never written into beads by vc), Carol asks a question, Alice answers, Carol closes it, and vc's `bd show` reports the status.");
    let repro = root.join("repro.txt");
    std::fs::write(
        &repro,
        "beads import empty.jsonl\n-> panic: index out of range\n",
    )
    .map_err(|e| Error::io(&repro, e))?;
    let msg = d
        .bd(
            a1,
            alice,
            &[
                "mail",
                "send",
                "--to",
                "@beads",
                "-s",
                "Import panics on an empty file",
                "-b",
                "Repro attached; vc needs this for the importer.",
                "--attach",
                &repro.to_string_lossy(),
                "--issue",
                importer,
            ],
        )?
        .stdout;
    d.bd(b1, carol, &["ready"])?;
    let item = crate::ops::mail::handoff_id("bz", &msg);
    d.bd(b1, carol, &["show", &item])?;
    d.bd(
        b1,
        carol,
        &[
            "comment",
            &item,
            "Does it also happen with a file holding only a newline?",
        ],
    )?;
    d.bd(a1, alice, &["mail", "inbox"])?;
    let question = d.quiet(a1, alice, &["mail", "inbox", "--json"])?;
    let qid = serde_json::from_str::<serde_json::Value>(&question)
        .ok()
        .and_then(|v| v[0]["id"].as_str().map(str::to_string))
        .ok_or_else(|| fail("carol's question did not reach alice"))?;
    d.bd(
        a1,
        alice,
        &[
            "mail",
            "reply",
            &qid,
            "-b",
            "Yes, a lone newline panics too.",
        ],
    )?;
    d.bd(b1, carol, &["claim", &item])?;
    d.bd(
        b1,
        carol,
        &["close", &item, "--reason", "empty input handled"],
    )?;
    d.bd(a1, alice, &["mail", "thread", &msg])?;
    let shown = d.bd(a1, alice, &["show", importer])?;
    if !shown.stdout.contains("is closed") {
        return Err(fail("vc's show should report the beads item as closed"));
    }

    Ok(())
}

fn review(d: &mut Demo, c: &Cast, docs: &str) -> Result<()> {
    let (a1, alice) = (&c.a1, ALICE);
    d.step(
        8,
        "Review",
        "Everything the agents did is plain JSONL under .beads/, committed and reviewed like code.",
    );
    d.bd(a1, alice, &["log", docs])?;
    d.bd(
        a1,
        alice,
        &["commit", "-m", "hand the empty-file bug to beads"],
    )?;
    d.git(a1, &["show", "--stat", "--format=%s", "HEAD"], true)?;
    d.say("\nDone: dependencies, ready work, an atomic claim race, a hook that survived a crash, a convoy, a merged concurrent edit and a cross-project handoff, all in plain files under .beads/.");
    Ok(())
}
