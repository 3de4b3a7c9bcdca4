//! `bd quickstart`: a short guide to the day-to-day commands (classic).

use super::common::{Output, out};

pub fn run() -> Output {
    let text = crate::ops::classic::QUICKSTART;
    out(serde_json::json!({ "text": text }), text)
}
