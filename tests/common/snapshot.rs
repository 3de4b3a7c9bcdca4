//! Making human output fit for a snapshot: temp paths (as given and as
//! canonicalized) become `[TMP]`.

use std::path::Path;

pub fn redact(root: &Path, text: &str) -> String {
    let mut out = text.to_string();
    let mut spellings = vec![root.display().to_string()];
    if let Ok(c) = std::fs::canonicalize(root) {
        spellings.push(c.display().to_string());
    }
    spellings.sort_by_key(|s| std::cmp::Reverse(s.len()));
    for s in spellings {
        out = out.replace(&s, "[TMP]");
    }
    out
}

/// Snapshot `text` (human output) with temp paths redacted.
#[macro_export]
macro_rules! snap {
    ($env:expr, $text:expr) => {
        insta::assert_snapshot!($env.redact(&$text))
    };
    ($name:expr, $env:expr, $text:expr) => {
        insta::assert_snapshot!($name, $env.redact(&$text))
    };
}
