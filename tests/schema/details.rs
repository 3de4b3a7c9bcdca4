//! What the output schemas leave open.

use super::*;

/// A few shapes the schemas leave open, pinned here so a change is noticed.
#[test]
fn output_details_the_schemas_leave_open() {
    let env = TestEnvironment::new();
    let a = env.create("A", &[]);
    let b = env.create("B", &["--deps", &a]);
    let shown = env.json(&["show", &a]);
    assert_eq!(shown["dependent_count"], 1);
    assert_eq!(shown["dependents"][0]["id"], b.as_str());
    let listed = env.json(&["list"]);
    let counts: BTreeMap<String, Value> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["id"].as_str().unwrap().to_string(),
                i["dependent_count"].clone(),
            )
        })
        .collect();
    assert_eq!(counts[&a], 1);
    let stats = env.json(&["stats"])["summary"].clone();
    assert_eq!(stats["total_issues"], 2);
    assert_eq!(stats["blocked_issues"], 1);
    let cfg = env.json(&["config", "list"]);
    let keys: Vec<&String> = cfg
        .as_object()
        .unwrap()
        .keys()
        .filter(|k| *k != "schema_version")
        .collect();
    let known: Vec<&str> = strand::store::config::KEYS.iter().map(|k| k.0).collect();
    assert_eq!(
        &keys[..known.len()],
        &known[..],
        "config list starts with the known keys in order"
    );
}
