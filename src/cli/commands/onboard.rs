//! `bd onboard`: the AGENTS.md snippet for agents.

use serde_json::json;

use super::common::{Output, out};
use crate::ops;

pub fn run() -> Output {
    out(json!({"snippet": ops::admin::ONBOARD}), ops::admin::ONBOARD)
}
