//! `kill -9` during writes (SPEC §2 writes, §8: "every acknowledged command's
//! effect is in the files when it returns; a kill at any moment leaves every
//! file whole"). Writers are killed with SIGKILL (`Child::kill` on Unix) after
//! a reproducible pseudo-random delay; after every kill the tracker file must be
//! whole and canonical, hold every acknowledged effect, differ from the state
//! before by at most the killed command's own effect, and `bd list` (which may
//! find a stale index) must agree with it.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{Rng, TestEnvironment};
use serde_json::Value;

const LOCK_TIMEOUT_MS: &str = "60000";

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn spawn(env: &TestEnvironment, args: &[&str]) -> Child {
    let mut c: Command = env.cmd(args);
    c.env("BD_LOCK_TIMEOUT_MS", LOCK_TIMEOUT_MS)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    c.spawn().expect("bd runs")
}

/// How one killed (or not) command ended.
struct Ended {
    /// It exited 0 on its own: its effect was acknowledged.
    acked: bool,
    stdout: String,
    stderr: String,
}

/// Let the child run `delay_us`, then SIGKILL it and reap it. A child that
/// already finished is a zombie the kill cannot touch, so its own exit status
/// is what `wait` reports.
#[track_caller]
fn kill_after(mut child: Child, delay_us: u64) -> Ended {
    std::thread::sleep(Duration::from_micros(delay_us));
    let _ = child.kill();
    let o = child.wait_with_output().expect("reap child");
    let stdout = text(&o.stdout);
    let stderr = text(&o.stderr);
    match o.status.code() {
        Some(0) => Ended {
            acked: true,
            stdout,
            stderr,
        },
        // Killed by the signal.
        None => Ended {
            acked: false,
            stdout,
            stderr,
        },
        Some(c) => panic!(
            "a writer exited {c} on its own (it must succeed or be killed)\nstdout: {stdout}\nstderr: {stderr}"
        ),
    }
}

/// (title, status, labels) of one record.
type State = BTreeMap<String, (String, String, Vec<String>)>;

/// Check the file is whole and canonical and return its state: every line is a
/// JSON object with a string id, ids strictly ascending, `\n` after every line.
#[track_caller]
fn check_file(env: &TestEnvironment) -> State {
    let bytes = std::fs::read(env.issues_path()).expect("issues.jsonl exists");
    let text = String::from_utf8(bytes).expect("issues.jsonl is UTF-8");
    assert!(
        text.is_empty() || text.ends_with('\n'),
        "issues.jsonl is not newline-terminated (torn?): ...{:?}",
        &text[text.len().saturating_sub(300)..]
    );
    let mut out = State::new();
    let mut prev: Option<String> = None;
    for (n, line) in text.split_terminator('\n').enumerate() {
        let v: Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("line {} is not JSON ({e}) (torn?): {line}", n + 1));
        let id = v["id"]
            .as_str()
            .unwrap_or_else(|| panic!("line {} has no id: {line}", n + 1))
            .to_string();
        if let Some(p) = &prev {
            assert!(
                p.as_bytes() < id.as_bytes(),
                "line {}: {p} then {id}",
                n + 1
            );
        }
        prev = Some(id.clone());
        out.insert(id, summary(&v));
    }
    out
}

fn summary(v: &Value) -> (String, String, Vec<String>) {
    let labels = v["labels"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|l| l.as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default();
    (
        v["title"].as_str().unwrap_or_default().to_string(),
        v["status"].as_str().unwrap_or_default().to_string(),
        labels,
    )
}

/// `bd --json list --all`: must succeed; its state.
#[track_caller]
fn listed(env: &TestEnvironment) -> State {
    let r = env.bd(&["--json", "list", "--all", "--limit", "0"]);
    assert_eq!(
        r.code, 0,
        "bd list failed after a kill\nstdout: {}\nstderr: {}",
        r.stdout, r.stderr
    );
    r.json()
        .as_array()
        .expect("list gives an array")
        .iter()
        .map(|v| (v["id"].as_str().unwrap().to_string(), summary(v)))
        .collect()
}

/// How long an unhindered `bd create` takes here (the median of three runs,
/// at least 5 ms): kill delays are spread over this span and a little beyond,
/// so kills land before, during and after the write on any machine.
fn create_duration_us(env: &TestEnvironment) -> u64 {
    let mut runs: Vec<u64> = (0..3)
        .map(|i| {
            let t = Instant::now();
            env.create(&format!("timing {i}"), &[]);
            t.elapsed().as_micros() as u64
        })
        .collect();
    runs.sort_unstable();
    runs[1].max(5_000)
}

fn temp_files(env: &TestEnvironment) -> usize {
    std::fs::read_dir(env.beads())
        .unwrap()
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with(".issues.jsonl.tmp-")
        })
        .count()
}

#[derive(Default, Debug)]
struct Tally {
    acked: usize,
    killed_not_applied: usize,
    killed_but_applied: usize,
}

impl Tally {
    fn note(&mut self, acked: bool, applied: bool) {
        match (acked, applied) {
            (true, _) => self.acked += 1,
            (false, false) => self.killed_not_applied += 1,
            (false, true) => self.killed_but_applied += 1,
        }
    }
}

/// One writer at a time, killed at a random moment, 60 times: creates,
/// retitles, and closes/reopens alternate. The state after each kill is either
/// the state before or the state before plus exactly the command's effect (the
/// latter whenever the command was acknowledged).
#[test]
fn sequential_kills_leave_whole_files_and_keep_acknowledged_writes() {
    const ITERATIONS: u64 = 120;
    let env = TestEnvironment::new();
    // A few issues to edit from the start (the timing runs).
    let span_us = create_duration_us(&env) * 13 / 10;
    let started = Instant::now();
    let mut tally = Tally::default();
    let mut state = check_file(&env);
    let mut acked_ids: BTreeSet<String> = BTreeSet::new();
    for n in 0..ITERATIONS {
        let mut rng = Rng::mixed(n);
        let delay_us = rng.below_u64(span_us + 1);
        let ids: Vec<String> = state.keys().cloned().collect();
        let target = ids[rng.below_u64(ids.len() as u64) as usize].clone();
        let before = state.clone();
        let op = n % 3;
        let title = format!("crash {n}");
        let child = match op {
            0 => spawn(&env, &["create", &title]),
            1 => spawn(&env, &["update", &target, "--title", &title]),
            _ => {
                let verb = if before[&target].1 == "closed" {
                    "reopen"
                } else {
                    "close"
                };
                spawn(&env, &[verb, &target])
            }
        };
        let ended = kill_after(child, delay_us);
        let after = check_file(&env);

        // The state with the command applied.
        let mut applied_state = before.clone();
        let mut new_id = None;
        match op {
            0 => {
                let added: Vec<&String> =
                    after.keys().filter(|k| !before.contains_key(*k)).collect();
                assert!(
                    added.len() <= 1,
                    "iteration {n}: one create added {added:?}"
                );
                if ended.acked {
                    let printed = ended.stdout.trim().to_string();
                    assert_eq!(
                        added,
                        vec![&printed],
                        "iteration {n}: acknowledged create {printed} is not in the file"
                    );
                    acked_ids.insert(printed);
                }
                if let Some(id) = added.first() {
                    new_id = Some((*id).clone());
                    applied_state.insert((*id).clone(), (title.clone(), "open".into(), vec![]));
                }
            }
            1 => {
                applied_state.get_mut(&target).unwrap().0 = title.clone();
            }
            _ => {
                let s = &mut applied_state.get_mut(&target).unwrap().1;
                *s = if s == "closed" { "open" } else { "closed" }.into();
            }
        }
        let applied = if op == 0 {
            new_id.is_some()
        } else {
            after != before
        };
        if ended.acked || applied {
            assert_eq!(
                after, applied_state,
                "iteration {n} (op {op}, acked {}, delay {delay_us}us): the file is not the state before plus the command\nstderr: {}",
                ended.acked, ended.stderr
            );
        } else {
            assert_eq!(
                after, before,
                "iteration {n}: a killed command changed the file"
            );
        }
        tally.note(ended.acked, applied);
        for id in &acked_ids {
            assert!(
                after.contains_key(id),
                "iteration {n}: acknowledged {id} vanished"
            );
        }
        // Readers: the index may be stale, never wrong. Every third iteration
        // skips this so the next writer, too, may start from a stale index.
        if rng.below_u64(3) != 0 {
            assert_eq!(
                listed(&env),
                after,
                "iteration {n}: bd list disagrees with issues.jsonl"
            );
        }
        state = after;
    }
    let temps = temp_files(&env);
    // Writers still work (they refuse files with bad lines) and see everything.
    let last = env.create("after the crashes", &[]);
    let fin = check_file(&env);
    assert!(fin.contains_key(&last));
    assert_eq!(listed(&env), fin);
    eprintln!(
        "sequential: {ITERATIONS} kills (delays 0..{span_us}us) in {:?}: {tally:?}, {temps} leftover temp files",
        started.elapsed()
    );
}

/// Four writers at once, each killed at random, while a reader checks that the
/// file is whole at every moment, that it holds every effect acknowledged
/// before it was read, and that `bd list` sits between two reads of the file.
/// Writers create issues and add labels to one shared issue.
#[test]
fn concurrent_writers_killed_at_random() {
    const WRITERS: u64 = 4;
    const PER: u64 = 24;
    let env = Arc::new(TestEnvironment::new());
    let shared = env.create("shared", &[]);
    // Four writers queue on the lock: spread the kills over three writes.
    let span_us = create_duration_us(&env) * 3;
    let started = Instant::now();
    // (id or label, title) acknowledged so far.
    let acked_ids: Arc<Mutex<BTreeSet<String>>> = Arc::default();
    let acked_labels: Arc<Mutex<BTreeSet<String>>> = Arc::default();
    let tally: Arc<Mutex<(usize, usize)>> = Arc::default();
    let done = Arc::new(AtomicBool::new(false));

    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let env = Arc::clone(&env);
            let shared = shared.clone();
            let acked_ids = Arc::clone(&acked_ids);
            let acked_labels = Arc::clone(&acked_labels);
            let tally = Arc::clone(&tally);
            std::thread::spawn(move || {
                for i in 0..PER {
                    let mut rng = Rng::mixed(1000 + w * 100 + i);
                    let delay_us = rng.below_u64(span_us + 1);
                    let title = format!("conc w{w} i{i}");
                    let label = format!("w{w}-i{i}");
                    let create = i % 2 == 0;
                    let child = if create {
                        spawn(&env, &["create", &title])
                    } else {
                        spawn(&env, &["label", "add", &shared, &label])
                    };
                    let ended = kill_after(child, delay_us);
                    let mut t = tally.lock().unwrap();
                    if ended.acked {
                        t.0 += 1;
                        if create {
                            acked_ids
                                .lock()
                                .unwrap()
                                .insert(ended.stdout.trim().to_string());
                        } else {
                            acked_labels.lock().unwrap().insert(label);
                        }
                    } else {
                        t.1 += 1;
                    }
                }
            })
        })
        .collect();

    let reader = {
        let env = Arc::clone(&env);
        let shared = shared.clone();
        let acked_ids = Arc::clone(&acked_ids);
        let acked_labels = Arc::clone(&acked_labels);
        let done = Arc::clone(&done);
        std::thread::spawn(move || {
            let mut rounds = 0;
            while !done.load(Ordering::SeqCst) {
                let ids_known = acked_ids.lock().unwrap().clone();
                let labels_known = acked_labels.lock().unwrap().clone();
                let a = check_file(&env);
                for id in &ids_known {
                    assert!(a.contains_key(id), "acknowledged {id} is not in the file");
                }
                for l in &labels_known {
                    assert!(
                        a[&shared].2.contains(l),
                        "acknowledged label {l} is not on {shared}"
                    );
                }
                let l = listed(&env);
                let b = check_file(&env);
                for id in a.keys() {
                    assert!(l.contains_key(id), "bd list lost {id} (in the file before)");
                }
                for id in l.keys() {
                    assert!(
                        b.contains_key(id),
                        "bd list shows {id}, which is not in the file (a temp file read as data?)"
                    );
                }
                rounds += 1;
            }
            rounds
        })
    };
    for w in writers {
        w.join().expect("writer thread");
    }
    done.store(true, Ordering::SeqCst);
    let rounds = reader.join().expect("reader thread");

    let fin = check_file(&env);
    for id in acked_ids.lock().unwrap().iter() {
        assert!(fin.contains_key(id), "acknowledged {id} is not in the file");
    }
    let labels = &fin[&shared].2;
    for l in acked_labels.lock().unwrap().iter() {
        assert!(labels.contains(l), "acknowledged label {l} was lost");
    }
    // Nothing appears that no writer attempted.
    for (id, (title, _, _)) in &fin {
        assert!(
            id == &shared || title.starts_with("conc w") || title.starts_with("timing "),
            "unexpected record {id}: {title}"
        );
    }
    for l in labels {
        assert!(l.starts_with('w'), "unexpected label {l}");
    }
    assert_eq!(listed(&env), fin, "bd list disagrees with issues.jsonl");
    let temps = temp_files(&env);
    let last = env.create("after the concurrent crashes", &[]);
    assert!(check_file(&env).contains_key(&last));
    let t = tally.lock().unwrap();
    eprintln!(
        "concurrent: {} writers x {PER} (delays 0..{span_us}us) in {:?}: {} acknowledged, {} killed; {rounds} reader rounds; {temps} leftover temp files",
        WRITERS,
        started.elapsed(),
        t.0,
        t.1
    );
}
