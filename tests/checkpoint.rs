//! `bd checkpoint` (issue 13): what is done and what is next, on the item
//! the agent works on; `bd prime` shows the latest one.

mod common;

use common::TestEnvironment;

#[test]
fn checkpoints_land_on_the_held_item_and_prime_shows_the_latest() {
    let env = TestEnvironment::new();
    let x = env.create("Port the parser", &[]);
    let y = env.create("Other work", &[]);
    // Holding nothing: name the issue.
    let r = env.bd(&["checkpoint", "started"]).code(2);
    assert!(r.stderr.contains("hold no issue"), "{}", r.stderr);
    env.bd(&["claim", &x]).ok();
    let v = env.json(&["checkpoint", "lexer done", "--next", "the parser"]);
    assert_eq!(v["issue_id"], x.as_str());
    assert_eq!(v["text"], "Checkpoint: lexer done\nNext: the parser");
    env.bd(&["checkpoint", &x, "parser half done"]).ok();
    let p = env.json(&["prime"]);
    assert_eq!(p["claims"][0]["id"], x.as_str());
    assert_eq!(p["claims"][0]["checkpoint"], "parser half done", "{p}");
    let t = env.bd(&["prime"]).ok().stdout;
    assert!(t.contains("last checkpoint: parser half done"), "{t}");
    // It is a comment: every tool that shows comments shows it.
    let cs = env.json(&["comments", &x]);
    assert_eq!(cs.as_array().unwrap().len(), 2);
    // Holding two: name the issue; nothing written.
    env.bd(&["claim", &y]).ok();
    let before = env.issues_text();
    let r = env.bd(&["checkpoint", "which one?"]).code(2);
    assert!(
        r.stderr.contains(&x) && r.stderr.contains(&y),
        "{}",
        r.stderr
    );
    env.bd(&["checkpoint", &y, "   "]).code(1);
    env.bd(&["checkpoint", "bd-nothere9", "x"]).code(1);
    assert_eq!(env.issues_text(), before);
}
