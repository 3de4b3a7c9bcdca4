//! `bd import` and `bd export`.

use super::*;

#[test]
fn import_classic_file_twice_and_from_stdin() {
    let env = TestEnvironment::new();
    let n = fixture_values().len();
    let f = fixture();
    let rep = env.json(&["import", f.to_str().unwrap()]);
    assert_eq!(rep["created"], n, "{rep}");
    assert_eq!(rep["updated"], 0);
    assert_eq!(env.records().len(), n);
    let after_first = std::fs::read(env.issues_path()).unwrap();
    // Every record arrives meaning-equal.
    let got: Vec<Value> = env.records();
    assert_eq!(got, fixture_values());

    let rep = env.json(&["import", f.to_str().unwrap()]);
    assert_eq!(rep["created"], 0, "{rep}");
    assert_eq!(rep["updated"], 0, "{rep}");
    assert_eq!(rep["unchanged"], n, "{rep}");
    assert_eq!(std::fs::read(env.issues_path()).unwrap(), after_first);

    // Dry run writes nothing.
    let env3 = TestEnvironment::new();
    let rep = env3.json(&["import", "--dry-run", f.to_str().unwrap()]);
    assert_eq!(rep["created"], n);
    assert!(env3.records().is_empty());

    // `-` reads stdin.
    let env2 = TestEnvironment::new();
    let bytes = std::fs::read(&f).unwrap();
    let r = env2.bd_stdin(&["--json", "import", "-"], &bytes).ok();
    assert_eq!(r.json()["created"], n);
    assert_eq!(std::fs::read(env2.issues_path()).unwrap(), after_first);

    // A changed record imports as an update.
    let mut lines: Vec<String> = bytes_to_lines(&bytes);
    let mut v: Value = serde_json::from_str(&lines[0]).unwrap();
    v["title"] = "Retitled elsewhere".into();
    v["updated_at"] = "2030-01-01T00:00:00Z".into();
    lines[0] = serde_json::to_string(&v).unwrap();
    let r = env2
        .bd_stdin(
            &["--json", "import", "-"],
            (lines.join("\n") + "\n").as_bytes(),
        )
        .ok();
    assert_eq!(r.json()["updated"], 1, "{}", r.stdout);
    assert_eq!(r.json()["unchanged"], n - 1);
    assert_eq!(
        env2.record(v["id"].as_str().unwrap())["title"],
        "Retitled elsewhere"
    );
}

#[test]
fn import_never_waits_on_stdin_without_dash() {
    let env = TestEnvironment::new();
    // stdin is an open pipe nobody writes to: a reader would hang.
    let mut c = env.cmd(&["import"]);
    c.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = c.spawn().unwrap();
    let _keep_open = child.stdin.take().unwrap();
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break Some(s);
        }
        if start.elapsed() > Duration::from_secs(10) {
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    if status.is_none() {
        let _ = child.kill();
        let _ = child.wait();
        panic!("`bd import` without a file waited on stdin");
    }
    assert_eq!(status.unwrap().code(), Some(2), "usage error");
    let mut err = String::new();
    use std::io::Read;
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(!err.trim().is_empty());
}

#[test]
fn import_bad_line_names_file_and_line_and_writes_nothing() {
    let env = TestEnvironment::new();
    let a = env.create("Existing", &[]);
    let before = std::fs::read(env.issues_path()).unwrap();
    let f = env.tmp.path().join("incoming.jsonl");
    let text = format!(
        "{}\n{}\n{{\"id\": \"bd-broken\", oops\n{}\n",
        line("bd-i1", "open", &[]),
        line("bd-i2", "open", &[]),
        line("bd-i3", "open", &[])
    );
    std::fs::write(&f, text).unwrap();
    let r = env.bd(&["import", f.to_str().unwrap()]).code(1);
    assert!(r.stderr.contains("incoming.jsonl"), "{}", r.stderr);
    assert!(
        r.stderr.contains(":3") || r.stderr.contains("line 3"),
        "{}",
        r.stderr
    );
    let v = json_err(&env, &["import", f.to_str().unwrap()], 1, "parse");
    assert!(v["error"].as_str().unwrap().contains("incoming.jsonl"));
    assert_eq!(std::fs::read(env.issues_path()).unwrap(), before);
    assert_eq!(env.records().len(), 1);
    assert_eq!(env.records()[0]["id"], a.as_str());
    // A missing file is an io error, not a hang.
    json_err(&env, &["import", "/nonexistent/x.jsonl"], 1, "io");
    // Bad line from stdin is named as `-`.
    let r = env.bd_stdin(&["import", "-"], b"not json\n").code(1);
    assert!(r.stderr.contains('1'), "{}", r.stderr);
    assert_eq!(std::fs::read(env.issues_path()).unwrap(), before);
}

#[test]
fn export_stdout_file_and_round_trip() {
    let env = TestEnvironment::new();
    let f = fixture();
    env.bd(&["import", f.to_str().unwrap()]).ok();
    let a = env.create("Made here", &["-l", "x", "-d", "with <html> & stuff"]);
    env.bd(&["comment", &a, "a comment"]).ok();
    let b = env.create("Also here", &["--deps", &format!("related:{a}")]);
    env.bd(&["dep", "add", &b, &a]).ok();
    let file = std::fs::read(env.issues_path()).unwrap();

    let out = env.bd(&["export"]).ok();
    assert_eq!(
        out.stdout.as_bytes(),
        file.as_slice(),
        "export is the canonical file"
    );
    let arr = env.json(&["export"]);
    assert_eq!(arr.as_array().unwrap().len(), env.records().len());

    let p = env.tmp.path().join("out.jsonl");
    let r = env.bd(&["export", "-o", p.to_str().unwrap()]).ok();
    assert!(r.stdout.is_empty(), "data went to the file: {}", r.stdout);
    assert_eq!(std::fs::read(&p).unwrap(), file);

    let fresh = TestEnvironment::new();
    let rep = fresh.json(&["import", p.to_str().unwrap()]);
    assert_eq!(rep["created"], env.records().len());
    assert_eq!(
        std::fs::read(fresh.issues_path()).unwrap(),
        file,
        "export → import gives a byte-identical issues.jsonl"
    );
    // Exporting never changes the tracker.
    assert_eq!(std::fs::read(env.issues_path()).unwrap(), file);
    // An export to a folder that does not exist fails plainly.
    json_err(
        &env,
        &["export", "-o", "/nonexistent/dir/out.jsonl"],
        1,
        "io",
    );
    // Empty stdin imports nothing.
    let r = TestEnvironment::new()
        .bd_stdin(&["--json", "import", "-"], b"")
        .ok();
    assert_eq!(r.json()["created"], 0);
    // Empty tracker: empty export.
    assert_eq!(TestEnvironment::new().bd(&["export"]).ok().stdout, "");
}
