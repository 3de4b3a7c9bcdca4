//! docs/COMPATIBILITY.md, "Every classic command" (issue 11): one row for
//! each command of classic `bd` v1.0.5 (`tests/classic/commands.txt`), and
//! each row's **Here** is what `bd` does today: a `same` or `different`
//! command is one `bd` accepts, a `not provided` one `bd` refuses with an
//! error that names it. Adding a verb to `bd` without flipping its row (or
//! dropping one) fails here, and the message says which row to flip.

mod common;

use common::{Run, TestEnvironment};

const DOC: &str = include_str!("../docs/COMPATIBILITY.md");
const COMMANDS: &str = include_str!("classic/commands.txt");
const SECTION: &str = "## Every classic command";
const HERE: [&str; 3] = ["same", "different", "not provided"];

/// One row of the table.
#[derive(Debug)]
struct Row {
    command: String,
    here: String,
    why: String,
}

/// The classic commands, in the file's order.
fn classic_commands() -> Vec<&'static str> {
    COMMANDS
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect()
}

/// The section's text, up to the next `## ` heading.
fn section() -> &'static str {
    let start = DOC
        .find(&format!("\n{SECTION}\n"))
        .unwrap_or_else(|| panic!("docs/COMPATIBILITY.md has no section {SECTION:?}"));
    let body = &DOC[start + SECTION.len() + 2..];
    body.find("\n## ").map_or(body, |end| &body[..end])
}

/// The table's rows (lines starting with "| `").
fn rows() -> Vec<Row> {
    section()
        .lines()
        .filter(|l| l.starts_with("| `"))
        .map(|l| {
            let cells: Vec<&str> = l
                .trim()
                .trim_matches('|')
                .split('|')
                .map(str::trim)
                .collect();
            assert_eq!(cells.len(), 3, "a row has three cells: {l}");
            Row {
                command: cells[0].trim_matches('`').to_owned(),
                here: cells[1].to_owned(),
                why: cells[2].to_owned(),
            }
        })
        .collect()
}

/// The "Counts: …" line the section should have for these rows.
fn counts_line(rows: &[Row]) -> String {
    let n = |h: &str| rows.iter().filter(|r| r.here == h).count();
    format!(
        "Counts: {} same, {} different, {} not provided.",
        n("same"),
        n("different"),
        n("not provided")
    )
}

#[test]
fn every_classic_command_has_exactly_one_row() {
    let commands = classic_commands();
    assert!(
        commands.len() > 200,
        "tests/classic/commands.txt lists {} commands",
        commands.len()
    );
    let mut seen = std::collections::BTreeSet::new();
    for c in &commands {
        assert!(
            seen.insert(*c),
            "tests/classic/commands.txt lists `{c}` twice"
        );
    }
    let rows = rows();
    let mut problems = Vec::new();
    for c in &commands {
        match rows.iter().filter(|r| r.command == *c).count() {
            1 => {}
            0 => problems.push(format!("`{c}`: no row; add `| `{c}` | <here> | <why> |`")),
            n => problems.push(format!("`{c}`: {n} rows; keep one")),
        }
    }
    for r in &rows {
        if !commands.contains(&r.command.as_str()) {
            problems.push(format!(
                "`{}`: a row for a command classic v1.0.5 does not have (tests/classic/commands.txt); remove it",
                r.command
            ));
        }
        if !HERE.contains(&r.here.as_str()) {
            problems.push(format!(
                "`{}`: Here is `{}`; it must be one of {HERE:?}",
                r.command, r.here
            ));
        }
        if r.here != "same" && r.why.is_empty() {
            problems.push(format!(
                "`{}` is `{}`: its Why must say why",
                r.command, r.here
            ));
        }
    }
    let counts = counts_line(&rows);
    if !section().lines().any(|l| l == counts) {
        problems.push(format!("the section's counts line must read: {counts}"));
    }
    assert!(
        problems.is_empty(),
        "docs/COMPATIBILITY.md, {SECTION:?}:\n{}",
        problems.join("\n")
    );
}

/// How `bd` takes a command.
enum Taken {
    /// `bd <cmd…> --help` and `bd help <cmd…>` exit 0, and the command is
    /// listed in its parent's help (not a hidden alias).
    Command,
    /// `bd <cmd…>` itself exits 0 (`help`; `completion bash`, whose last
    /// word is an argument).
    Runs,
    /// Neither: how the plain run failed.
    Refused(Run),
}

fn args<'a>(pre: &[&'a str], words: &[&'a str], post: &[&'a str]) -> Vec<&'a str> {
    pre.iter().chain(words).chain(post).copied().collect()
}

/// Whether `name` is a visible command (or a visible alias of one) in the
/// "Commands:" list of `help`.
fn listed(help: &str, name: &str) -> bool {
    help.lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with(' '))
        .any(|l| {
            let aliases = ["[alias: ", "[aliases: "]
                .iter()
                .filter_map(|open| l.find(open).map(|i| &l[i + open.len()..]))
                .flat_map(|rest| rest.split(']').next().unwrap_or("").split(", "));
            l.split_whitespace().next() == Some(name) || aliases.into_iter().any(|a| a == name)
        })
}

fn taken(env: &TestEnvironment, words: &[&str]) -> Taken {
    let (last, parent) = words.split_last().expect("a command has a word");
    if env.bd(&args(&[], words, &["--help"])).code == 0
        && env.bd(&args(&["help"], words, &[])).code == 0
        && listed(&env.bd(&args(&[], parent, &["--help"])).ok().stdout, last)
    {
        return Taken::Command;
    }
    let run = env.bd(words);
    if run.code == 0 {
        Taken::Runs
    } else {
        Taken::Refused(run)
    }
}

#[test]
fn each_row_says_what_bd_does() {
    let env = TestEnvironment::new();
    let mut problems = Vec::new();
    for r in rows() {
        let words: Vec<&str> = r.command.split(' ').collect();
        let c = &r.command;
        match (r.here.as_str(), taken(&env, &words)) {
            ("same" | "different", Taken::Command | Taken::Runs) => {}
            ("same" | "different", Taken::Refused(run)) => problems.push(format!(
                "`{c}` is `{}` but bd refuses it (`bd {c}`: exit {}, {:?}; `bd {c} --help` or `bd help {c}` fails, or its parent's help does not list it): flip its row to `not provided` with why, or make bd take it",
                r.here,
                run.code,
                run.stderr.lines().next().unwrap_or("")
            )),
            ("not provided", Taken::Refused(run)) => {
                let first = run.stderr.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
                let names_it = words
                    .iter()
                    .any(|w| first.contains(&format!("'{w}'")) || first.contains(&format!("`{w}`")));
                if !first.to_lowercase().starts_with("error") || !names_it {
                    problems.push(format!(
                        "`{c}` is `not provided` and bd refuses it (exit {}), but not with an error naming it: {first:?}",
                        run.code
                    ));
                }
            }
            ("not provided", how) => {
                let how = match how {
                    Taken::Command => format!("`bd {c} --help` and `bd help {c}` exit 0"),
                    _ => format!("`bd {c}` exits 0"),
                };
                problems.push(format!(
                    "`{c}`: bd takes it now ({how}): flip its row from `not provided` to `same` (or `different`, saying why), and the counts line"
                ));
            }
            (other, _) => problems.push(format!("`{c}`: Here is `{other}`")),
        }
    }
    assert!(
        problems.is_empty(),
        "docs/COMPATIBILITY.md, {SECTION:?}, rows that do not say what bd does:\n{}",
        problems.join("\n")
    );
}
