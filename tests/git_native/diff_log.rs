//! `bd diff` and `bd log`.

use super::*;

#[test]
fn diff_shows_changes_issue_by_issue_and_field_by_field() {
    let (env, ws) = solo();
    let a = ws.create("Alpha");
    let b = ws.create("Beta");
    ws.bd(&["commit"]).ok();
    let c1 = ws.head();

    let none = ws.json(&["diff"]);
    assert_eq!(none["changes"].as_array().unwrap().len(), 0, "{none}");
    let r = ws.bd(&["diff"]).ok();
    crate::assert_human!(env, "diff_nothing", r.transcript());

    ws.bd(&["update", &a, "--title", "Alpha renamed", "-p", "0"])
        .ok();
    ws.bd(&["close", &b, "--reason", "done"]).ok();
    let c = ws.create("Gamma");

    let d = ws.json(&["diff"]);
    assert_eq!(d["changes"].as_array().unwrap().len(), 3, "{d}");
    let ca = change(&d, &a);
    assert_eq!(ca["kind"], "changed");
    assert_eq!(field_names(ca), vec!["title", "priority"], "{ca}");
    assert_eq!(field(ca, "title")["before"], "Alpha");
    assert_eq!(field(ca, "title")["after"], "Alpha renamed");
    assert_eq!(field(ca, "priority")["before"], 2);
    assert_eq!(field(ca, "priority")["after"], 0);
    let cb = change(&d, &b);
    assert_eq!(cb["kind"], "closed");
    assert_eq!(field(cb, "status")["before"], "open");
    assert_eq!(field(cb, "status")["after"], "closed");
    assert!(field(cb, "closed_at")["before"].is_null());
    assert!(field(cb, "closed_at")["after"].is_string());
    assert_eq!(field(cb, "close_reason")["after"], "done");
    let cc = change(&d, &c);
    assert_eq!(cc["kind"], "created");
    assert_eq!(field(cc, "title")["after"], "Gamma");
    assert!(field(cc, "title")["before"].is_null());
    assert!(
        !field_names(ca)
            .iter()
            .any(|f| f == "_stamps" || f == "updated_at"),
        "{ca}"
    );

    let r = ws.bd(&["diff"]).ok();
    crate::assert_human!(env, "diff_three_changes", r.transcript());

    // REV against the working tree, and A..B between commits.
    let same = ws.json(&["diff", &c1]);
    assert_eq!(same["changes"], d["changes"]);
    assert_eq!(ws.json(&["diff", "HEAD"])["changes"], d["changes"]);
    ws.bd(&["commit"]).ok();
    let c2 = ws.head();
    assert_eq!(ws.json(&["diff"])["changes"].as_array().unwrap().len(), 0);
    let range = ws.json(&["diff", &format!("{c1}..{c2}")]);
    assert_eq!(range["changes"], d["changes"]);
    let range = ws.json(&["diff", "HEAD~1..HEAD"]);
    assert_eq!(range["changes"], d["changes"]);
    let back = ws.json(&["diff", &format!("{c2}..{c1}")]);
    let cc = change(&back, &c);
    assert_eq!(cc["kind"], "removed");
    assert_eq!(change(&back, &b)["kind"], "reopened");

    // An unknown revision is an error, not an empty diff.
    let r = ws.bd(&["--json", "diff", "no-such-rev"]).code(1);
    assert_eq!(r.json()["code"], "not_found");
}

#[test]
fn log_lists_the_commits_of_one_issue_newest_first() {
    let (_env, ws) = solo();
    let a = ws.create("Logged");
    ws.bd(&["commit"]).ok();
    let c1 = ws.head();
    ws.create("Unrelated");
    ws.bd(&["commit"]).ok();
    ws.code_commit("code.txt", "code\n", "code only");
    ws.bd(&["update", &a, "-p", "1", "--description", "more detail"])
        .ok();
    ws.bd(&["commit"]).ok();
    let c2 = ws.head();
    ws.bd(&["close", &a]).ok();
    ws.bd(&["commit"]).ok();
    let c3 = ws.head();

    let v = ws.json(&["log", &a]);
    assert_eq!(v["id"], a.as_str());
    let entries = v["entries"].as_array().unwrap();
    let commits: Vec<&str> = entries
        .iter()
        .map(|e| e["commit"].as_str().unwrap())
        .collect();
    assert_eq!(commits, vec![c3.as_str(), c2.as_str(), c1.as_str()], "{v}");
    assert_eq!(entries[0]["kind"], "closed");
    assert_eq!(entries[1]["kind"], "changed");
    assert_eq!(entries[2]["kind"], "created");
    let f1: Vec<&str> = entries[1]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap())
        .collect();
    assert_eq!(f1, vec!["description", "priority"]);
    assert_eq!(entries[1]["fields"][1]["before"], 2);
    assert_eq!(entries[1]["fields"][1]["after"], 1);
    assert!(entries[0]["author"].as_str().unwrap().contains("tester"));

    let text = ws.bd(&["log", &a]).ok().stdout;
    let p3 = text.find(&c3[..10]).expect("newest commit shown");
    let p1 = text.find(&c1[..10]).expect("oldest commit shown");
    assert!(p3 < p1, "newest first:\n{text}");
    assert!(text.contains("priority"), "{text}");
    let limited = ws.json(&["log", &a, "-n", "1"]);
    assert_eq!(limited["entries"].as_array().unwrap().len(), 1);
}
