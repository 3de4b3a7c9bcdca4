//! The classic contract (issue 11): every classic command `bd` provides, run
//! as a classic agent runs it (the classic spelling, `--json` last), its
//! stdout checked against `schema/classic/<command>.schema.json`, the shape
//! the classic reference documents (where the real clients disagree, the
//! schema follows them and says so), and again under `BD_JSON_ENVELOPE=1`,
//! where it must come back as `{"schema_version": 1, "data": …}`.
//!
//! The spellings `bd` does not accept yet, and the outputs that miss their
//! contract, are listed in [`PENDING`] with what fails. They are run too, and
//! must still fail: one that passes must leave the list.

use super::*;

/// Where a case runs.
#[derive(Clone, Copy, Debug, PartialEq)]
enum At {
    /// The shared fixture, which the command only reads.
    Fixture,
    /// A copy of the fixture of its own (the command writes).
    Copy,
    /// A git repository where `bd` was never set up.
    Bare,
}

/// One classic command line and the schema its output must match.
#[derive(Clone, Debug)]
struct Case {
    /// The file in `schema/classic/`, without `.schema.json`.
    schema: &'static str,
    /// The arguments before `--json`; `{name}` stands for a fixture ID or file.
    args: Vec<&'static str>,
    at: At,
    stdin: Option<&'static str>,
    /// `BD_NOW` for the run (instead of the clock's next time).
    now: Option<&'static str>,
    /// An array output may be empty.
    may_be_empty: bool,
    /// Object output must also carry the legacy top-level `schema_version`.
    legacy_version: bool,
}

impl Case {
    /// The case's name in failures and in [`PENDING`].
    /// (The arguments as a shell would take them: quoted when empty or spaced.)
    fn key(&self) -> String {
        let words: Vec<String> = self
            .args
            .iter()
            .map(|a| {
                if a.is_empty() || a.contains(' ') {
                    format!("{a:?}")
                } else {
                    a.to_string()
                }
            })
            .collect();
        let mut k = words.join(" ");
        if self.legacy_version {
            k.push_str(" [schema_version]");
        }
        k
    }

    fn writes(mut self) -> Case {
        self.at = At::Copy;
        self
    }

    fn bare(mut self) -> Case {
        self.at = At::Bare;
        self
    }

    fn stdin(mut self, text: &'static str) -> Case {
        self.stdin = Some(text);
        self
    }

    fn now(mut self, t: &'static str) -> Case {
        self.now = Some(t);
        self
    }

    fn may_be_empty(mut self) -> Case {
        self.may_be_empty = true;
        self
    }

    fn legacy_version(mut self) -> Case {
        self.legacy_version = true;
        self
    }
}

fn c(schema: &'static str, args: &[&'static str]) -> Case {
    Case {
        schema,
        args: args.to_vec(),
        at: At::Fixture,
        stdin: None,
        now: None,
        may_be_empty: false,
        legacy_version: false,
    }
}

/// Two months past the harness clock's start: every fixture issue is stale.
const LATER: &str = "2027-03-01T00:00:00Z";

/// Every classic command line checked. The fixture: an epic `{epic}` with
/// children `{charge}` (assigned, labelled, commented, with notes and
/// acceptance criteria) and `{refund}` (blocked by `{charge}`, commented),
/// a bug `{bug}` discovered from `{charge}`, a closed `{old}`, a deferred
/// `{later}`; `{notes}` is a text file, `{import}` a classic JSONL file
/// holding one new issue.
fn cases() -> Vec<Case> {
    vec![
        // Listings.
        c("list", &["list"]),
        c("list", &["list", "--all"]),
        c("list", &["list", "--status", "open"]),
        c("list", &["list", "--status", "closed"]),
        c("list", &["list", "-l", "payments"]),
        c("list", &["list", "--label-any", "backend,urgent"]),
        c("list", &["list", "--type", "bug"]),
        c("list", &["list", "-p", "1"]),
        c("list", &["list", "--assignee", "alice"]),
        c("list", &["list", "--no-assignee"]),
        c("list", &["list", "--parent", "{epic}"]),
        c("list", &["list", "--limit", "0"]),
        c("list", &["list", "--sort", "priority"]),
        c("list", &["list", "--title-contains", "charge"]),
        c("list", &["list", "--id", "{charge},{refund}"]),
        c("list", &["list", "--desc-contains", "gateway"]),
        c("list", &["list", "--notes-contains", "retry"]),
        c("list", &["list", "--updated-after", "2026-01-01"]),
        c("list", &["list", "--all", "--closed-after", "2026-01-01"]),
        c("list", &["list", "--no-labels"]),
        c("list", &["list", "--ready"]),
        c("list", &["list", "--no-parent"]),
        c("list", &["list", "--long"]),
        c("list", &["list", "--flat"]),
        c("list", &["list", "--tree=false", "--limit", "0"]),
        c("ready", &["ready"]),
        c("ready", &["ready", "--limit", "1000"]),
        c("ready", &["ready", "-n", "1"]),
        c("ready", &["ready", "--unassigned"]),
        c("ready", &["ready", "--assignee", "alice"]),
        c("ready", &["ready", "--parent", "{epic}"]),
        c("ready", &["ready", "-l", "payments"]),
        c("ready", &["ready", "-t", "bug"]),
        c("ready", &["ready", "-p", "0"]),
        c("ready", &["ready", "--sort", "oldest"]),
        c("ready", &["ready", "-u"]),
        c("ready", &["ready", "--include-deferred"]),
        c("ready", &["ready", "--claim"]).writes(),
        c("blocked", &["blocked"]),
        c("blocked", &["blocked", "--parent", "{epic}"]),
        c("search", &["search", "charge"]),
        c("search", &["search", "charge", "--status", "all"]),
        c("search", &["search", "charge", "--label", "payments"]),
        c("search", &["search", "--query", "charge"]),
        c("stale", &["stale"]).now(LATER),
        c("stale", &["stale", "--days", "30", "--status", "open"]).now(LATER),
        c("stale", &["stale", "-d", "30"]).now(LATER),
        c("children", &["children", "{epic}"]),
        // One issue.
        c("show", &["show", "{charge}"]),
        c("show", &["show", "{charge}", "{refund}"]),
        c("show", &["show", "{epic}"]),
        c("show", &["show", "{charge}"]).legacy_version(),
        c("show", &["show", "--id", "{charge}"]),
        c("show", &["view", "{charge}"]),
        // Writes that print issues.
        c(
            "create",
            &[
                "create",
                "Email a receipt",
                "-t",
                "feature",
                "-p",
                "1",
                "-d",
                "After every charge",
                "-l",
                "payments",
            ],
        )
        .writes(),
        c(
            "create",
            &["create", "Receipt template", "--parent", "{epic}"],
        )
        .writes(),
        c(
            "create",
            &["create", "Retry storm", "--deps", "discovered-from:{bug}"],
        )
        .writes(),
        c(
            "create",
            &[
                "create",
                "--title",
                "Titled by flag",
                "--type",
                "chore",
                "--assignee",
                "alice",
                "--design",
                "d",
                "--acceptance",
                "a",
                "--notes",
                "n",
                "--external-ref",
                "gh-9",
            ],
        )
        .writes(),
        c("create", &["create", "Later thing", "--defer", "+2d"]).writes(),
        c("create", &["create", "Plain"]).writes().legacy_version(),
        c(
            "create",
            &["create", "Labelled", "--labels", "payments,backend"],
        )
        .writes(),
        c("create", &["create", "Explicit", "--id", "bd-x42"]).writes(),
        c(
            "create",
            &["create", "From a file", "--body-file", "{notes}"],
        )
        .writes(),
        c("create", &["create", "From stdin", "--stdin"])
            .writes()
            .stdin("described on stdin\n"),
        c("create", &["create", "Preview", "--dry-run"]).writes(),
        c("create", &["new", "Aliased"]).writes(),
        c("update", &["update", "{charge}", "--status", "in_progress"]).writes(),
        c("update", &["update", "{charge}", "{refund}", "-p", "0"]).writes(),
        c("update", &["update", "{bug}", "--claim"]).writes(),
        c(
            "update",
            &[
                "update",
                "{charge}",
                "--add-label",
                "urgent",
                "--remove-label",
                "backend",
            ],
        )
        .writes(),
        c(
            "update",
            &[
                "update",
                "{charge}",
                "--title",
                "Charge cards once",
                "--description",
                "d2",
                "--notes",
                "n2",
                "--acceptance",
                "a2",
                "--design",
                "x",
                "--assignee",
                "bob",
            ],
        )
        .writes(),
        c("update", &["update", "{charge}", "--append-notes", "more"]).writes(),
        c("update", &["update", "{bug}", "--defer", "2031-02-01"]).writes(),
        c("update", &["update", "{bug}", "--status", "closed"]).writes(),
        c("close", &["close", "{charge}", "--reason", "Implemented"]).writes(),
        c("close", &["close", "{bug}", "-r", "Fixed"]).writes(),
        c("close", &["close", "{charge}", "{bug}"]).writes(),
        c("close", &["close", "{charge}", "--suggest-next"]).writes(),
        c("close", &["done", "{bug}"]).writes(),
        c("reopen", &["reopen", "{old}"]).writes(),
        c("reopen", &["reopen", "{old}", "--reason", "Regressed"]).writes(),
        c("assign", &["assign", "{bug}", "bob"]).writes(),
        c("assign", &["assign", "{charge}", ""]).writes(),
        c("note", &["note", "{charge}", "Retry", "twice"]).writes(),
        c("note", &["note", "{charge}", "--stdin"])
            .writes()
            .stdin("from a pipe\n"),
        c("note", &["note", "{charge}", "--file", "{notes}"]).writes(),
        c("tag", &["tag", "{bug}", "urgent"]).writes(),
        c("defer", &["defer", "{bug}", "--until", "2031-01-01"]).writes(),
        c("defer", &["defer", "{bug}", "{charge}", "--until=+1d"]).writes(),
        c("defer", &["defer", "{bug}"]).writes(),
        c("defer", &["defer", "{bug}", "--until=tomorrow"]).writes(),
        c("undefer", &["undefer", "{later}"]).writes(),
        c("delete", &["delete", "{bug}", "--force"]).writes(),
        // Comments and labels.
        c("comments", &["comments", "{charge}"]),
        c("comment", &["comment", "{bug}", "Seen on retry"]).writes(),
        c("comment", &["comment", "{bug}", "Seen", "again"]).writes(),
        c("comment", &["comment", "{bug}", "--file", "{notes}"]).writes(),
        c("comment", &["comment", "{bug}", "--stdin"])
            .writes()
            .stdin("from a pipe\n"),
        c("comments-add", &["comments", "add", "{bug}", "Seen again"]).writes(),
        c(
            "comments-add",
            &[
                "comments", "add", "{bug}", "Reviewed", "--author", "reviewer",
            ],
        )
        .writes(),
        c(
            "comments-add",
            &["comments", "add", "{bug}", "-f", "{notes}"],
        )
        .writes(),
        c("priority", &["priority", "{bug}", "1"]).writes(),
        c("todo", &["todo"]),
        c("todo", &["todo", "list", "--all"]),
        c("todo-add", &["todo", "add", "Water the plants", "-p", "1"]).writes(),
        c("todo-done", &["todo", "done", "{charge}"]).writes(),
        c("label-add", &["label", "add", "{bug}", "urgent"]).writes(),
        c(
            "label-add",
            &["label", "add", "{bug}", "{refund}", "urgent"],
        )
        .writes(),
        c("label-remove", &["label", "remove", "{charge}", "backend"]).writes(),
        c("label-list", &["label", "list", "{charge}"]),
        c("label-list-all", &["label", "list-all"]),
        // Reports.
        c("count", &["count"]),
        c("count", &["count", "--status", "open"]),
        c("count", &["count", "--by-status"]),
        c("status", &["stats"]),
        c("status", &["status"]),
        c("statuses", &["statuses"]),
        c("types", &["types"]),
        c("history", &["history", "{charge}"]),
        // Dependencies and epics.
        c("dep-add", &["dep", "add", "{bug}", "{refund}"]).writes(),
        c(
            "dep-add",
            &["dep", "add", "{bug}", "{refund}", "--type", "related"],
        )
        .writes(),
        c(
            "dep-add",
            &["dep", "add", "{bug}", "--blocked-by", "{refund}"],
        )
        .writes(),
        c(
            "dep-add",
            &["dep", "add", "{bug}", "--depends-on", "{refund}"],
        )
        .writes(),
        c("dep-add", &["dep", "{refund}", "--blocks", "{bug}"]).writes(),
        c("dep-remove", &["dep", "remove", "{refund}", "{charge}"]).writes(),
        c("dep-remove", &["dep", "rm", "{refund}", "{charge}"]).writes(),
        c("dep-list", &["dep", "list", "{refund}"]),
        c("dep-list", &["dep", "list", "{charge}", "{refund}"]),
        c(
            "dep-list",
            &["dep", "list", "{charge}", "--direction", "up"],
        ),
        c("dep-tree", &["dep", "tree", "{refund}"]),
        c(
            "dep-tree",
            &["dep", "tree", "{charge}", "--direction", "up"],
        ),
        c("dep-cycles", &["dep", "cycles"]).may_be_empty(),
        c("dep-relate", &["dep", "relate", "{bug}", "{refund}"]).writes(),
        c("dep-unrelate", &["dep", "unrelate", "{later}", "{old}"]).writes(),
        c("link", &["link", "{bug}", "{refund}"]).writes(),
        c("link", &["link", "{bug}", "{refund}", "--type", "related"]).writes(),
        c("duplicate", &["duplicate", "{bug}", "--of", "{charge}"]).writes(),
        c("supersede", &["supersede", "{old}", "--with", "{charge}"]).writes(),
        c("epic-status", &["epic", "status"]),
        c(
            "epic-close-eligible",
            &["epic", "close-eligible", "--dry-run"],
        )
        .may_be_empty(),
        // Data.
        c("export", &["export"]),
        c("import", &["import", "{import}"]).writes(),
        c("import", &["import", "--dry-run", "{import}"]).writes(),
        c("import", &["import", "-"]).writes().stdin(IMPORT_LINE),
        c("import", &["import", "-i", "{import}"]).writes(),
        // Setup and maintenance.
        c("init", &["init", "--prefix", "bd"]).bare(),
        c("info", &["info"]),
        c("info", &["info", "--schema"]),
        c("where", &["where"]),
        c("version", &["version"]),
        c("doctor", &["doctor"]),
        c("migrate", &["migrate", "--inspect"]),
        c("config-list", &["config", "list"]),
        c("config-get", &["config", "get", "lease"]),
        c("config-get", &["config", "get", "status.custom"]),
        c("config-set", &["config", "set", "lease", "20m"]).writes(),
        c(
            "config-set",
            &["config", "set", "status.custom", "in_review:active"],
        )
        .writes(),
        c("config-unset", &["config", "unset", "lease"]).writes(),
    ]
}

/// The cases that do not pass yet (by [`Case::key`]), and why. Each is run
/// and must still fail; when one passes, take it off this list.
const PENDING: &[(&str, &str)] = &[
    (
        "export",
        "export --json prints one array (wrapped by the envelope), not JSONL lines with schema_version",
    ),
    (
        "config get status.custom",
        "no classic config key status.custom (custom_statuses is there)",
    ),
    (
        "config set status.custom in_review:active",
        "no classic config key status.custom (custom_statuses is there)",
    ),
];

/// One classic record `{import}` holds and `import -` reads.
const IMPORT_LINE: &str = "{\"id\":\"bd-imp1\",\"title\":\"Imported from classic\",\"status\":\"open\",\"priority\":2,\"issue_type\":\"task\",\"created_at\":\"2026-01-01T00:00:00Z\",\"updated_at\":\"2026-01-01T00:00:00Z\"}\n";

/// The fixture and the names its cases use.
struct Fixture {
    env: TestEnvironment,
    names: Vec<(&'static str, String)>,
}

impl Fixture {
    fn new() -> Fixture {
        let env = TestEnvironment::new();
        let epic = env.create(
            "Payments epic",
            &["-t", "epic", "-p", "1", "-l", "payments"],
        );
        let charge = env.create(
            "Charge cards",
            &[
                "--parent",
                &epic,
                "-p",
                "1",
                "-l",
                "payments,backend",
                "-a",
                "alice",
                "-d",
                "Use the gateway",
                "--acceptance",
                "Cards are charged once",
                "--notes",
                "Retry on timeout",
            ],
        );
        let refund = env.create(
            "Refund flow",
            &[
                "--parent",
                &epic,
                "-t",
                "feature",
                "-d",
                "Refund a charge",
                "--acceptance",
                "Refunds reach the card",
            ],
        );
        let bug = env.create(
            "Double charge on retry",
            &["-t", "bug", "-p", "0", "-l", "payments"],
        );
        let old = env.create("Old cleanup", &["-t", "chore"]);
        env.bd(&["close", &old, "--reason", "done"]).ok();
        let later = env.create("Later idea", &[]);
        env.bd(&["defer", &later, "--until", "2031-01-01"]).ok();
        env.bd(&["dep", "add", &refund, &charge]).ok();
        env.bd(&["dep", "add", &bug, &charge, "--type", "discovered-from"])
            .ok();
        env.bd(&["comment", &charge, "Needs idempotency keys"]).ok();
        env.bd(&["comment", &refund, "Waiting on the charge work"])
            .ok();
        env.bd(&["dep", "relate", &later, &old]).ok();
        // History for `history`: the tracker committed.
        env.bd(&["commit"]).ok();
        let files = env.folder("files");
        let notes = files.join("notes.txt");
        std::fs::write(&notes, "Written in a file\n").unwrap();
        let import = files.join("classic.jsonl");
        std::fs::write(&import, IMPORT_LINE).unwrap();
        let path = |p: PathBuf| p.to_str().unwrap().to_string();
        Fixture {
            env,
            names: vec![
                ("epic", epic),
                ("charge", charge),
                ("refund", refund),
                ("bug", bug),
                ("old", old),
                ("later", later),
                ("notes", path(notes)),
                ("import", path(import)),
            ],
        }
    }

    /// The case's arguments with the names filled in, and `--json` last.
    fn argv(&self, case: &Case) -> Vec<String> {
        let mut out: Vec<String> = case
            .args
            .iter()
            .map(|a| {
                let mut a = a.to_string();
                for (name, value) in &self.names {
                    a = a.replace(&format!("{{{name}}}"), value);
                }
                assert!(!a.contains('{'), "{}: unknown name in {a}", case.key());
                a
            })
            .collect();
        out.push("--json".into());
        out
    }

    /// Run the case once (on a copy of its own if it writes), with extra
    /// environment variables.
    fn run(&self, case: &Case, vars: &[(&str, &str)]) -> Run {
        let copy;
        let env = match case.at {
            At::Fixture => &self.env,
            At::Copy => {
                copy = TestEnvironment::copy_of(&self.env);
                &copy
            }
            At::Bare => {
                copy = TestEnvironment::bare_git();
                &copy
            }
        };
        let argv = self.argv(case);
        let args: Vec<&str> = argv.iter().map(String::as_str).collect();
        let mut cmd = env.cmd(&args);
        if let Some(t) = case.now {
            cmd.env("BD_NOW", t);
        }
        for (k, v) in vars {
            cmd.env(k, v);
        }
        match case.stdin {
            None => common::run_of(cmd.output().expect("bd runs")),
            Some(text) => {
                use std::io::Write;
                cmd.stdin(std::process::Stdio::piped())
                    .stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::piped());
                let mut child = cmd.spawn().expect("bd runs");
                // A `bd` that refuses the arguments may exit before it reads.
                let _ = child.stdin.take().unwrap().write_all(text.as_bytes());
                common::run_of(child.wait_with_output().unwrap())
            }
        }
    }
}

/// What is wrong with the case's output, plain and under the envelope.
fn check(v: &Validator, fx: &Fixture, case: &Case) -> Result<(), String> {
    let name = format!("classic/{}.schema.json", case.schema);
    let plain = fx.run(case, &[]);
    if plain.code != 0 {
        return Err(format!(
            "exit {}: {}",
            plain.code,
            plain.stderr.lines().next().unwrap_or_default()
        ));
    }
    let doc = documents(v, &name, case, &plain.stdout)?;
    if case.legacy_version && doc.is_object() && doc.get("schema_version") != Some(&json!(1)) {
        return Err("no top-level \"schema_version\": 1".into());
    }
    if !case.may_be_empty && doc.as_array().is_some_and(Vec::is_empty) {
        return Err(
            "an empty array: the fixture should give this command something to print".into(),
        );
    }
    let wrapped = fx.run(case, &[("BD_JSON_ENVELOPE", "1")]);
    if wrapped.code != 0 {
        return Err(format!(
            "BD_JSON_ENVELOPE=1: exit {}: {}",
            wrapped.code,
            wrapped.stderr.lines().next().unwrap_or_default()
        ));
    }
    if case.schema == "export" {
        // The one exception: export prints JSONL, never enveloped.
        return documents(v, &name, case, &wrapped.stdout)
            .map(drop)
            .map_err(|e| format!("BD_JSON_ENVELOPE=1: {e}"));
    }
    let env_doc: Value = serde_json::from_str(&wrapped.stdout)
        .map_err(|e| format!("BD_JSON_ENVELOPE=1: stdout is not one JSON document: {e}"))?;
    let keys: Vec<&str> = env_doc
        .as_object()
        .map(|m| m.keys().map(String::as_str).collect())
        .unwrap_or_default();
    if keys != ["schema_version", "data"] && keys != ["data", "schema_version"] {
        return Err(format!(
            "BD_JSON_ENVELOPE=1: not {{\"schema_version\", \"data\"}}: {}",
            short(&env_doc)
        ));
    }
    if env_doc["schema_version"] != 1 {
        return Err(format!(
            "BD_JSON_ENVELOPE=1: schema_version is {}",
            env_doc["schema_version"]
        ));
    }
    let errs = v.errors(&name, &env_doc["data"]);
    if !errs.is_empty() {
        return Err(format!("BD_JSON_ENVELOPE=1: data: {}", errs.join("; ")));
    }
    Ok(())
}

/// stdout checked against the schema: one document, or for export one per
/// line (returned as an array).
fn documents(v: &Validator, name: &str, case: &Case, stdout: &str) -> Result<Value, String> {
    let docs: Vec<Value> = if case.schema == "export" {
        let mut lines = Vec::new();
        for (i, l) in stdout.lines().filter(|l| !l.trim().is_empty()).enumerate() {
            lines.push(
                serde_json::from_str(l)
                    .map_err(|e| format!("line {} is not a JSON document ({e}): {}", i + 1, l))?,
            );
        }
        lines
    } else {
        vec![
            serde_json::from_str(stdout)
                .map_err(|e| format!("stdout is not one JSON document: {e}"))?,
        ]
    };
    let mut errs = Vec::new();
    for d in &docs {
        errs.extend(v.errors(name, d));
    }
    if !errs.is_empty() {
        errs.truncate(8);
        return Err(errs.join("; "));
    }
    Ok(if case.schema == "export" {
        Value::Array(docs)
    } else {
        docs.into_iter().next().unwrap()
    })
}

/// Run the cases `which` selects: the others must pass, the pending ones
/// must still fail.
fn run_cases(which: impl Fn(&Case) -> bool) {
    let fx = Fixture::new();
    let v = Validator::new();
    let pending: BTreeMap<&str, &str> = PENDING.iter().copied().collect();
    let mut failures = Vec::new();
    let mut passed = 0;
    for case in cases().into_iter().filter(|c| which(c)) {
        let key = case.key();
        let result = check(&v, &fx, &case);
        match (pending.get(key.as_str()), result) {
            (None, Ok(())) => passed += 1,
            (None, Err(e)) => failures.push(format!(
                "`bd {key} --json` (classic/{}.schema.json): {e}",
                case.schema
            )),
            (Some(_), Ok(())) => {
                failures.push(format!("`bd {key} --json` passes now: take it off PENDING"))
            }
            (Some(why), Err(e)) => println!("pending `bd {key} --json` ({why}): {e}"),
        }
    }
    assert!(passed > 0, "no case passed");
    assert!(
        failures.is_empty(),
        "{} classic case(s) wrong:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn classic_reads_match_their_schemas() {
    run_cases(|c| c.at == At::Fixture);
}

#[test]
fn classic_writes_match_their_schemas() {
    run_cases(|c| c.at != At::Fixture);
}

/// Every schema in `schema/classic/` has a case, every case a schema, every
/// PENDING entry a case; no two cases share a name.
#[test]
fn every_classic_schema_is_used_and_every_pending_entry_names_a_case() {
    let files: BTreeSet<String> = schema_files()
        .into_iter()
        .filter_map(|f| {
            f.strip_prefix("classic/")
                .and_then(|f| f.strip_suffix(".schema.json"))
                .map(str::to_string)
        })
        .collect();
    let all = cases();
    let used: BTreeSet<String> = all.iter().map(|c| c.schema.to_string()).collect();
    let unused: Vec<&String> = files.difference(&used).collect();
    assert!(unused.is_empty(), "schemas no case uses: {unused:?}");
    let missing: Vec<&String> = used.difference(&files).collect();
    assert!(missing.is_empty(), "cases without a schema: {missing:?}");
    let mut keys = BTreeSet::new();
    for c in &all {
        assert!(keys.insert(c.key()), "two cases named `{}`", c.key());
    }
    for (k, why) in PENDING {
        assert!(keys.contains(*k), "PENDING names no case: `{k}`");
        assert!(!why.is_empty(), "`{k}`: say why it is pending");
    }
}

/// The schemas refuse what their contract forbids (else the cases prove nothing).
#[test]
fn classic_schemas_refuse_what_the_contract_forbids() {
    let v = Validator::new();
    let item = json!({"id": "bd-a1", "title": "T", "status": "open", "priority": 2,
        "issue_type": "task", "created_at": "2026-01-01T00:00:00Z",
        "updated_at": "2026-01-01T00:00:00Z", "dependency_count": 0,
        "dependent_count": 0, "comment_count": 0, "parent": null});
    assert_valid(&v, "classic/list.schema.json", &json!([item]), "a list");
    for key in [
        "id",
        "title",
        "status",
        "priority",
        "issue_type",
        "created_at",
    ] {
        let mut i = item.clone();
        i.as_object_mut().unwrap().remove(key);
        assert!(
            !v.errors("classic/list.schema.json", &json!([i])).is_empty(),
            "list item without {key}"
        );
    }
    for (key, bad) in [
        ("priority", json!(5)),
        ("priority", json!("P1")),
        ("created_at", json!("yesterday")),
        ("labels", json!("a,b")),
        ("parent", json!(3)),
    ] {
        let mut i = item.clone();
        i[key] = bad.clone();
        assert!(
            !v.errors("classic/list.schema.json", &json!([i])).is_empty(),
            "list item with {key} = {bad}"
        );
    }
    assert!(!v.errors("classic/list.schema.json", &item).is_empty());
    let mut no_count = item.clone();
    no_count.as_object_mut().unwrap().remove("comment_count");
    assert!(
        !v.errors("classic/ready.schema.json", &json!([no_count]))
            .is_empty()
    );
    assert!(
        !v.errors("classic/blocked.schema.json", &json!([item]))
            .is_empty()
    );
    // show: an object for one ID, with the linked issues the client reads.
    let mut shown = item.clone();
    shown["description"] = json!("");
    shown["acceptance_criteria"] = json!("");
    shown["comments"] = json!([]);
    shown["dependencies"] = json!([]);
    assert_valid(&v, "classic/show.schema.json", &shown, "a shown issue");
    let mut edge = shown.clone();
    edge["dependencies"] =
        json!([{"issue_id": "bd-a1", "depends_on_id": "bd-b2", "type": "blocks"}]);
    assert!(!v.errors("classic/show.schema.json", &edge).is_empty());
    assert!(
        !v.errors("classic/show.schema.json", &json!([shown]))
            .is_empty()
    );
    // close gives an array; comments have string ids.
    assert!(!v.errors("classic/close.schema.json", &item).is_empty());
    assert!(!v.errors("classic/tag.schema.json", &item).is_empty());
    let comment = json!({"id": "7", "issue_id": "bd-a1", "author": "me", "text": "t",
        "created_at": "2026-01-01T00:00:00Z"});
    assert_valid(&v, "classic/comment.schema.json", &comment, "a comment");
    let mut numbered = comment.clone();
    numbered["id"] = json!(7);
    assert!(
        !v.errors("classic/comments.schema.json", &json!([numbered]))
            .is_empty()
    );
    // The import summary, every documented key.
    let summary = json!({"source": "stdin", "created": 1, "skipped": 0, "dedup_skipped": 0,
        "memories": 0, "ids": ["bd-a1"], "dry_run": false});
    assert_valid(
        &v,
        "classic/import.schema.json",
        &summary,
        "an import summary",
    );
    for key in ["source", "skipped", "ids", "dry_run"] {
        let mut s = summary.clone();
        s.as_object_mut().unwrap().remove(key);
        assert!(
            !v.errors("classic/import.schema.json", &s).is_empty(),
            "import summary without {key}"
        );
    }
    // dep tree: flat nodes; export lines carry schema_version.
    assert!(
        !v.errors(
            "classic/dep-tree.schema.json",
            &json!({"id": "bd-a1", "children": []})
        )
        .is_empty()
    );
    assert!(!v.errors("classic/export.schema.json", &item).is_empty());
    assert!(
        !v.errors("classic/status.schema.json", &json!({"total": 3}))
            .is_empty()
    );
    assert!(
        !v.errors("classic/epic-status.schema.json", &json!([{"epic": item}]))
            .is_empty()
    );
}
