//! `bd version`: the name, implementation and version.

use serde_json::json;

use super::common::{Output, out};

pub fn run() -> Output {
    let v = env!("CARGO_PKG_VERSION");
    out(
        json!({"name": "bd", "implementation": "strand", "version": v}),
        format!("bd (strand) {v}"),
    )
}
