//! Human output checked by snapshots: [`redact`] makes output fit for one
//! (temp paths, as given and as canonicalized, become `[TMP]`), and
//! `crate::assert_human!(env, "name", text)` compares it with
//! `tests/snapshots/<binary>__<module>__<name>.snap`. The environment's clock
//! makes times and IDs deterministic; CI runs without `INSTA_UPDATE`, so a
//! snapshot that differs (or is missing) fails. To accept new output, run the
//! test with `INSTA_UPDATE=always`, read the diff of `tests/snapshots/`, and
//! commit it (no `.snap.new` file may be left behind).

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

/// Snapshot `text` (human output of `bd` run in `env`), temp paths redacted.
#[macro_export]
macro_rules! assert_human {
    ($env:expr, $name:expr, $text:expr) => {{
        let text = $env.redact(&$text);
        let mut settings = insta::Settings::clone_current();
        settings.set_snapshot_path(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/snapshots"));
        settings.set_prepend_module_to_snapshot(true);
        settings.set_omit_expression(true);
        settings.bind(|| insta::assert_snapshot!($name, text));
    }};
}
