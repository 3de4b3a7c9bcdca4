//! `bd agents`: agents online / stale / offline, their claims and hooks.

use serde_json::Value;

use super::common::{Output, out};
use crate::error::Result;
use crate::ops::{self, Ctx};

pub fn run(ctx: &Ctx) -> Result<Output> {
    let v = ops::coord::agents(ctx)?;
    let t: String = v
        .iter()
        .map(|a| {
            let list = |k: &str| {
                a[k].as_array()
                    .map(|x| {
                        x.iter()
                            .filter_map(|i| i.as_str())
                            .collect::<Vec<_>>()
                            .join(",")
                    })
                    .unwrap_or_default()
            };
            format!(
                "{:<20} {:<8} {:<8} claims: {:<20} hook: {:<16} {}\n",
                a["name"].as_str().unwrap_or(""),
                a["kind"].as_str().unwrap_or(""),
                a["state"].as_str().unwrap_or(""),
                if list("claims").is_empty() {
                    "-".to_string()
                } else {
                    list("claims")
                },
                if list("hook").is_empty() {
                    "-".to_string()
                } else {
                    list("hook")
                },
                a["note"].as_str().unwrap_or("")
            )
        })
        .collect();
    if v.is_empty() {
        ctx.notice("No agents registered (`bd agent register`).");
    }
    Ok(out(Value::Array(v), t))
}
