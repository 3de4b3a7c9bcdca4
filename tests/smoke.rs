//! The wiring end to end: init, create, ready, JSON shapes.
mod common;
use common::TestEnvironment;

#[test]
fn create_then_ready_then_close() {
    let env = TestEnvironment::new();
    let a = env.create("First", &["-p", "1"]);
    assert!(a.starts_with("bd-"), "{a}");
    let ready = env.json(&["ready"]);
    assert_eq!(ready[0]["id"], a.as_str());
    assert_eq!(ready[0]["dependency_count"], 0);
    let closed = env.json(&["close", &a]);
    assert_eq!(closed[0]["status"], "closed");
    assert_eq!(env.json(&["ready"]).as_array().unwrap().len(), 0);
}
