//! `.beads/config.toml`: the prefix, the project identity, settings. Kept as a
//! TOML table so keys this version does not know survive `config set`.

use std::path::Path;

use crate::error::{Error, Missing, Result};
use crate::files::atomic;

/// Known settings: (key, kind, default, help).
pub const KEYS: &[(&str, Kind, &str, &str)] = &[
    ("prefix", Kind::Prefix, "bd", "ID prefix of new issues"),
    (
        "project",
        Kind::Text,
        "",
        "project identity shared by all clones",
    ),
    (
        "auto_commit",
        Kind::Choice(&["off", "batch", "on"]),
        "off",
        "when bd commits .beads/",
    ),
    (
        "commit_window",
        Kind::Duration,
        "10m",
        "how long `batch` amends bd's last commit",
    ),
    (
        "lease",
        Kind::Duration,
        "15m",
        "how long a claim lasts without a heartbeat",
    ),
    (
        "coordination",
        Kind::Choice(&["machine", "workspace", "remote"]),
        "machine",
        "where claims are coordinated",
    ),
    (
        "remote",
        Kind::Text,
        "",
        "the git remote that arbitrates claims in remote coordination (default: the branch's upstream, else origin)",
    ),
    (
        "remote_layout",
        Kind::Choice(&["refs", "branch"]),
        "refs",
        "how the remote holds claims: a ref per item, or one branch (hosts refusing refs/beads/*)",
    ),
    (
        "custom_statuses",
        Kind::List,
        "",
        "statuses allowed beside the built-in ones",
    ),
    (
        "custom_types",
        Kind::List,
        "",
        "issue types allowed beside the built-in ones",
    ),
    (
        "non_work_types",
        Kind::List,
        "",
        "types that are never ready work",
    ),
    (
        "attachment_limit",
        Kind::Size,
        "1048576",
        "largest attachment in bytes",
    ),
    (
        "inbox_workspace",
        Kind::Text,
        "",
        "workspace that imports cross-project mail",
    ),
    (
        "case_insensitive_hosts",
        Kind::List,
        "github.com,gitlab.com,bitbucket.org",
        "hosts whose repository paths ignore case",
    ),
];

#[derive(Debug, Clone, Copy)]
pub enum Kind {
    Text,
    Prefix,
    Choice(&'static [&'static str]),
    Duration,
    List,
    Size,
}

#[derive(Debug, Clone, Default)]
pub struct Config {
    pub table: toml::Table,
}

/// Seconds of a duration such as `15m`, `2h`, `30s`, `1d`.
pub fn duration_secs(s: &str) -> Option<u64> {
    parse_duration_secs(s)
}

fn parse_duration_secs(s: &str) -> Option<u64> {
    let s = s.trim();
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: u64 = num.parse().ok()?;
    let mul = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return None,
    };
    n.checked_mul(mul)
}

pub fn valid_prefix(p: &str) -> bool {
    !p.is_empty()
        && p.len() <= 20
        && p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        && p.bytes().next().is_some_and(|b| b.is_ascii_alphabetic())
}

impl Config {
    pub fn load(path: &Path) -> Result<Config> {
        let text = match crate::files::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Config::default()),
            Err(e) => return Err(Error::io(path, e)),
        };
        Config::parse(path, &text)
    }

    /// The settings in `text` (the contents of `path`, named in the error).
    pub fn parse(path: &Path, text: &str) -> Result<Config> {
        let table: toml::Table = text.parse().map_err(|e: toml::de::Error| {
            let line = e
                .span()
                .map(|s| text[..s.start].matches('\n').count() + 1)
                .unwrap_or(0);
            Error::Parse {
                path: path.to_path_buf(),
                line,
                reason: e.message().to_string(),
            }
        })?;
        Ok(Config { table })
    }

    pub fn save(&self, path: &Path) -> Result<()> {
        let text = toml::to_string(&self.table).expect("a TOML table serializes");
        atomic::write(path, text.as_bytes())
    }

    pub fn get_str(&self, key: &str) -> Option<&str> {
        self.table.get(key).and_then(|v| v.as_str())
    }

    pub fn prefix(&self) -> Option<&str> {
        self.get_str("prefix").filter(|p| !p.is_empty())
    }

    pub fn list(&self, key: &str) -> Vec<String> {
        match self.table.get(key) {
            Some(toml::Value::Array(a)) => a
                .iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect(),
            Some(toml::Value::String(s)) => split_list(s),
            _ => Vec::new(),
        }
    }

    pub fn auto_commit(&self) -> &str {
        self.get_str("auto_commit").unwrap_or("off")
    }

    /// The claim lease in seconds.
    pub fn lease_secs(&self) -> u64 {
        self.get_str("lease")
            .and_then(parse_duration_secs)
            .unwrap_or(15 * 60)
    }

    /// The effective value of a key as text (the default when unset).
    pub fn get_text(&self, key: &str) -> Option<String> {
        if let Some(v) = self.table.get(key) {
            return Some(match v {
                toml::Value::String(s) => s.clone(),
                toml::Value::Array(a) => a
                    .iter()
                    .map(|x| {
                        x.as_str()
                            .map(str::to_string)
                            .unwrap_or_else(|| x.to_string())
                    })
                    .collect::<Vec<_>>()
                    .join(","),
                other => other.to_string(),
            });
        }
        if let Some((k, rest)) = key.split_once('.') {
            let t = self.table.get(k)?.as_table()?;
            return t.get(rest).map(|v| {
                v.as_str()
                    .map(str::to_string)
                    .unwrap_or_else(|| v.to_string())
            });
        }
        None
    }

    /// The `[projects]` table: short name → project identity.
    pub fn projects(&self) -> Vec<(String, String)> {
        self.table
            .get("projects")
            .and_then(|t| t.as_table())
            .map(|t| {
                t.iter()
                    .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_string())))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The `projects.<name>.remote` keys this file sets (as a table
    /// `[projects.<name>]` or a key `"<name>.remote"`): never used, another
    /// project's remote is set per machine (`bd config set --machine`).
    pub fn committed_remotes(&self) -> Vec<String> {
        let Some(t) = self.table.get("projects").and_then(|t| t.as_table()) else {
            return Vec::new();
        };
        t.iter()
            .filter_map(|(k, v)| match v {
                toml::Value::Table(sub) if sub.contains_key("remote") => {
                    Some(format!("projects.{k}.remote"))
                }
                toml::Value::String(_) if k.ends_with(".remote") => Some(format!("projects.{k}")),
                _ => None,
            })
            .collect()
    }

    /// Set a key after checking its value. Returns whether anything changed.
    pub fn set(&mut self, key: &str, value: &str) -> Result<bool> {
        if key.starts_with("projects.") && key.ends_with(".remote") {
            return Err(Error::Invalid {
                msg: format!(
                    "{key} is not kept in config.toml: a committed URL would send every clone's mail there"
                ),
                hint: Some(format!(
                    "set it for this machine: `bd config set --machine {key} URL`"
                )),
            });
        }
        if let Some(name) = key.strip_prefix("projects.") {
            if name.is_empty() || value.trim().is_empty() {
                return Err(Error::invalid(
                    "projects.<name> needs a name and an identity",
                ));
            }
            let t = self
                .table
                .entry("projects")
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            let Some(t) = t.as_table_mut() else {
                return Err(Error::invalid("config key 'projects' is not a table"));
            };
            let new = toml::Value::String(value.to_string());
            let changed = t.get(name) != Some(&new);
            t.insert(name.to_string(), new);
            return Ok(changed);
        }
        let Some((_, kind, _, _)) = KEYS.iter().find(|(k, ..)| *k == key) else {
            return Err(unknown_key(key));
        };
        let new = match kind {
            Kind::Text => toml::Value::String(value.to_string()),
            Kind::Prefix => {
                if !valid_prefix(value) {
                    return Err(Error::invalid(format!(
                        "invalid prefix '{value}': use letters, digits and '_', starting with a letter, at most 20"
                    )));
                }
                toml::Value::String(value.to_string())
            }
            Kind::Choice(opts) => {
                if !opts.contains(&value) {
                    return Err(Error::invalid(format!(
                        "invalid value '{value}' for {key}: use one of {}",
                        opts.join(", ")
                    )));
                }
                toml::Value::String(value.to_string())
            }
            Kind::Duration => {
                if parse_duration_secs(value).is_none_or(|s| s == 0) {
                    return Err(Error::invalid(format!(
                        "invalid duration '{value}' for {key}: use a number with s, m, h or d (e.g. 15m)"
                    )));
                }
                toml::Value::String(value.to_string())
            }
            Kind::Size => match value.parse::<i64>() {
                Ok(n) if n > 0 => toml::Value::Integer(n),
                _ => {
                    return Err(Error::invalid(format!(
                        "invalid size '{value}' for {key}: use a positive number of bytes"
                    )));
                }
            },
            Kind::List => toml::Value::Array(
                split_list(value)
                    .into_iter()
                    .map(toml::Value::String)
                    .collect(),
            ),
        };
        let changed = self.table.get(key) != Some(&new);
        self.table.insert(key.to_string(), new);
        Ok(changed)
    }

    /// Remove a key. Returns whether it was set.
    pub fn unset(&mut self, key: &str) -> Result<bool> {
        if let Some(name) = key.strip_prefix("projects.") {
            return Ok(self
                .table
                .get_mut("projects")
                .and_then(|t| t.as_table_mut())
                .is_some_and(|t| t.remove(name).is_some()));
        }
        if !KEYS.iter().any(|(k, ..)| *k == key) && !self.table.contains_key(key) {
            return Err(unknown_key(key));
        }
        Ok(self.table.remove(key).is_some())
    }
}

fn unknown_key(key: &str) -> Error {
    Error::NotFound(Missing::ConfigKey {
        key: key.to_string(),
        known: KEYS.iter().map(|(k, ..)| k.to_string()).collect(),
    })
}

/// A value one side of a config merge set and the merge did not keep.
#[derive(Debug, Clone, PartialEq)]
pub struct Dropped {
    /// The key, dotted inside tables (`projects.beads`).
    pub key: String,
    /// What the merge kept (ours; `None`: ours removed the key).
    pub kept: Option<toml::Value>,
    /// What theirs held (`None`: theirs removed the key).
    pub dropped: Option<toml::Value>,
}

/// The three-way merge of config tables (docs/DESIGN.md): every key either
/// side holds; a key only one side changed from base takes that side's
/// value (a removal included); a key both sides changed differently keeps
/// ours, and theirs' value is returned as dropped. Tables on both sides
/// merge key by key. Without a base (both sides added the file) every key
/// of either side is kept, ours winning a difference.
pub fn merge3(
    base: &toml::Table,
    ours: &toml::Table,
    theirs: &toml::Table,
) -> (toml::Table, Vec<Dropped>) {
    let mut dropped = Vec::new();
    let t = merge_tables("", base, ours, theirs, &mut dropped);
    (t, dropped)
}

fn merge_tables(
    prefix: &str,
    base: &toml::Table,
    ours: &toml::Table,
    theirs: &toml::Table,
    dropped: &mut Vec<Dropped>,
) -> toml::Table {
    let keys: std::collections::BTreeSet<&String> = ours
        .keys()
        .chain(theirs.keys())
        .chain(base.keys())
        .collect();
    let mut out = toml::Table::new();
    for k in keys {
        let (b, o, t) = (base.get(k), ours.get(k), theirs.get(k));
        let v = if o == t || t == b {
            o.cloned()
        } else if o == b {
            t.cloned()
        } else if let (Some(toml::Value::Table(ot)), Some(toml::Value::Table(tt))) = (o, t) {
            let empty = toml::Table::new();
            let bt = b.and_then(|b| b.as_table()).unwrap_or(&empty);
            let key = format!("{prefix}{k}.");
            Some(toml::Value::Table(merge_tables(&key, bt, ot, tt, dropped)))
        } else {
            dropped.push(Dropped {
                key: format!("{prefix}{k}"),
                kept: o.cloned(),
                dropped: t.cloned(),
            });
            o.cloned()
        };
        if let Some(v) = v {
            out.insert(k.clone(), v);
        }
    }
    out
}

pub fn split_list(s: &str) -> Vec<String> {
    s.split(',')
        .map(|x| x.trim().to_string())
        .filter(|x| !x.is_empty())
        .collect()
}

/// Settings text in which a key is set twice, as git's line merge leaves it
/// when two clones each add the same key on a different line: `text` with
/// every later setting of a key TOML refuses as a duplicate removed, and the
/// removed lines (with their line numbers). `None` when `text` parses as it
/// is, or has another fault, or a duplicated value spans lines (left to be
/// fixed by hand).
pub fn drop_duplicate_keys(text: &str) -> Option<(String, Vec<(usize, String)>)> {
    let mut lines: Vec<&str> = text.split_inclusive('\n').collect();
    let mut numbers: Vec<usize> = (1..=lines.len()).collect();
    let mut removed = Vec::new();
    loop {
        let now: String = lines.concat();
        let err = match now.parse::<toml::Table>() {
            Ok(_) if removed.is_empty() => return None,
            Ok(_) => return Some((now, removed)),
            Err(e) => e,
        };
        if !err.message().contains("duplicate key") {
            return None;
        }
        let start = err.span()?.start;
        let at = now[..start].matches('\n').count();
        let line = lines.get(at)?;
        // Only a one-line `key = value` setting is dropped.
        let one_line = line
            .split_once('=')
            .is_some_and(|(_, v)| format!("k ={v}").parse::<toml::Table>().is_ok());
        if !one_line || removed.len() > lines.len() {
            return None;
        }
        removed.push((numbers[at], line.trim_end().to_string()));
        lines.remove(at);
        numbers.remove(at);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_checks_values_and_reports_changes() {
        let mut c = Config::default();
        assert!(c.set("auto_commit", "batch").unwrap());
        assert!(!c.set("auto_commit", "batch").unwrap());
        assert!(c.set("auto_commit", "sometimes").is_err());
        assert!(c.set("lease", "0m").is_err());
        assert!(c.set("lease", "5m").unwrap());
        assert_eq!(c.lease_secs(), 300);
        assert!(c.set("custom_statuses", "review, qa").unwrap());
        assert_eq!(c.list("custom_statuses"), vec!["review", "qa"]);
        assert!(c.set("nonsense", "1").is_err());
        assert!(c.set("prefix", "9x").is_err());
        assert!(c.set("projects.beads", "github.com/x/beads").unwrap());
        assert_eq!(
            c.get_text("projects.beads").as_deref(),
            Some("github.com/x/beads")
        );
        assert!(c.unset("lease").unwrap());
        assert!(!c.unset("lease").unwrap());
    }

    fn table(text: &str) -> toml::Table {
        text.parse().unwrap()
    }

    #[test]
    fn merge3_keeps_both_sides_keys_and_ours_on_a_difference() {
        // Both added the file (no base): union, ours wins, theirs named.
        let (m, d) = merge3(
            &toml::Table::new(),
            &table("prefix = \"bb\"\nlease = \"30m\"\n"),
            &table("prefix = \"aa\"\ncustom_types = [\"spike\"]\nlease = \"30m\"\n"),
        );
        assert_eq!(
            m,
            table("prefix = \"bb\"\nlease = \"30m\"\ncustom_types = [\"spike\"]\n")
        );
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].key, "prefix");
        assert_eq!(d[0].dropped, Some(toml::Value::String("aa".into())));
        // With a base: a change on one side only is taken, removals too.
        let base = table(
            "prefix = \"aa\"\nlease = \"15m\"\nauto_commit = \"on\"\n[projects]\nx = \"h/x\"\n",
        );
        let ours =
            table("prefix = \"aa\"\nlease = \"20m\"\n[projects]\nx = \"h/x\"\ny = \"h/y\"\n");
        let theirs = table(
            "prefix = \"cc\"\nlease = \"15m\"\nauto_commit = \"on\"\n[projects]\nx = \"h/z\"\n",
        );
        let (m, d) = merge3(&base, &ours, &theirs);
        assert_eq!(
            m,
            table("prefix = \"cc\"\nlease = \"20m\"\n[projects]\nx = \"h/z\"\ny = \"h/y\"\n")
        );
        assert!(d.is_empty(), "{d:?}");
        // Both changed one key differently: ours, theirs named.
        let (m, d) = merge3(&base, &table("prefix = \"dd\""), &table("prefix = \"ee\""));
        assert_eq!(m, table("prefix = \"dd\""));
        assert_eq!(d[0].key, "prefix");
        // The merge of a side with itself is that side.
        let (m, d) = merge3(&base, &ours, &ours);
        assert_eq!((m, d.len()), (ours.clone(), 0));
    }

    #[test]
    fn duplicate_keys_keep_the_first_setting() {
        let text = "prefix = \"bd\"\nlease = \"10m\"\nx = 1\nlease = \"30m\"\n";
        let (fixed, dropped) = drop_duplicate_keys(text).expect("repairable");
        assert_eq!(fixed, "prefix = \"bd\"\nlease = \"10m\"\nx = 1\n");
        assert_eq!(dropped, vec![(4, "lease = \"30m\"".to_string())]);
        let c = Config::parse(Path::new("c"), &fixed).unwrap();
        assert_eq!(c.lease_secs(), 600);
        // Inside a table too; three settings of one key.
        let text = "[a]\nk = 1\nk = 2\nj = 0\nk = 3\n";
        let (fixed, dropped) = drop_duplicate_keys(text).expect("repairable");
        assert_eq!(fixed, "[a]\nk = 1\nj = 0\n");
        assert_eq!(dropped.iter().map(|d| d.0).collect::<Vec<_>>(), [3, 5]);
        // Nothing to do, another fault, a multi-line value: not this repair.
        assert!(drop_duplicate_keys("a = 1\n").is_none());
        assert!(drop_duplicate_keys("a = \n").is_none());
        assert!(drop_duplicate_keys("a = 1\na = [\n1,\n]\n").is_none());
    }
}
