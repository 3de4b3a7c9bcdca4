//! Repository-relative path globs, as file reservations (`bd reserve`) name
//! files: what a glob may be ([`normalize`]), whether it matches a path
//! ([`matches`]), and whether two globs can match one same path
//! ([`overlaps`]). Pure.
//!
//! The syntax is git's wildmatch for paths: `*` is any run of characters
//! but `/`, `?` one character but `/`, `[abc]`, `[a-z]`, `[!a-z]` (or
//! `[^a-z]`) a character class (never `/`; a `]` first in the class is a
//! member), and `**` as a whole component any number of components:
//! `**/x` is `x` at any depth, `a/**/b` is `b` anywhere under `a` (`a/b`
//! too), `a/**` everything under `a`. `**` inside a component is `*`.
//! Every other character is itself (`[*]` is a literal `*`); a backslash is
//! refused, so a glob means the same to every reader. Paths are compared
//! byte for byte (case matters).
//!
//! Overlap is decided exactly: each glob is a small automaton over
//! characters whose edges carry character sets, and two globs overlap iff
//! the product automaton reaches a state accepting in both, stepping only
//! on edges whose sets intersect (every such step has a character both
//! take, so the walk spells a path both match).

use std::collections::{HashMap, VecDeque};

/// The largest Unicode scalar value.
const MAX: u32 = 0x10_FFFF;
const SLASH: u32 = '/' as u32;

/// A set of characters: sorted, disjoint, non-adjacent inclusive ranges.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Set(Vec<(u32, u32)>);

impl Set {
    fn one(c: char) -> Set {
        Set(vec![(c as u32, c as u32)])
    }

    fn any() -> Set {
        Set(vec![(0, MAX)])
    }

    /// Every character but `/`.
    fn not_slash() -> Set {
        Set(vec![(0, SLASH - 1), (SLASH + 1, MAX)])
    }

    /// The union of `ranges`, made canonical.
    fn of(mut ranges: Vec<(u32, u32)>) -> Set {
        ranges.sort_unstable();
        let mut out: Vec<(u32, u32)> = Vec::new();
        for (a, b) in ranges {
            match out.last_mut() {
                Some(last) if a <= last.1.saturating_add(1) => last.1 = last.1.max(b),
                _ => out.push((a, b)),
            }
        }
        Set(out)
    }

    fn complement(&self) -> Set {
        let mut out = Vec::new();
        let mut next = 0u32;
        for &(a, b) in &self.0 {
            if a > next {
                out.push((next, a - 1));
            }
            next = b.saturating_add(1);
        }
        if next <= MAX && self.0.last().is_none_or(|l| l.1 < MAX) {
            out.push((next, MAX));
        }
        Set(out)
    }

    fn intersect(&self, other: &Set) -> Set {
        let mut out = Vec::new();
        let (mut i, mut j) = (0, 0);
        while i < self.0.len() && j < other.0.len() {
            let (a1, b1) = self.0[i];
            let (a2, b2) = other.0[j];
            let (lo, hi) = (a1.max(a2), b1.min(b2));
            if lo <= hi {
                out.push((lo, hi));
            }
            if b1 < b2 {
                i += 1;
            } else {
                j += 1;
            }
        }
        Set(out)
    }

    /// A character of the set, a plain one when it has one (a witness
    /// path should read well).
    fn pick(&self) -> Option<char> {
        let plain = ('a'..='z').chain('0'..='9').chain(['.', '_', '-', 'A']);
        if let Some(c) = plain.into_iter().find(|c| self.contains(*c)) {
            return Some(c);
        }
        self.0
            .iter()
            .find_map(|&(a, b)| (a..=b).take(4096).find_map(char::from_u32))
    }

    fn contains(&self, c: char) -> bool {
        let c = c as u32;
        self.0.iter().any(|&(a, b)| a <= c && c <= b)
    }
}

/// One piece of a component.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    /// A character set taken once (a literal, `?`, a class).
    One(Set),
    /// `*`: any run of characters but `/`.
    Star,
}

/// A glob, parsed: its components, `None` for a `**` component.
type Parsed = Vec<Option<Vec<Piece>>>;

/// Why a glob is refused: one line for the user.
pub type Refusal = String;

/// Check a glob as the user typed it and give its canonical form: leading
/// `./` and `.` components gone, `//` made `/`, a trailing `/` (a folder)
/// made `/**`, runs of `*` in a component made one, `**/**` made `**`.
/// Refused: empty, absolute, `..` components, control characters, a
/// backslash, a class left open, empty or holding `/`.
pub fn normalize(raw: &str) -> Result<String, Refusal> {
    if raw.is_empty() {
        return Err("an empty path is not a path in the repository".into());
    }
    if let Some(c) = raw.chars().find(|c| c.is_control()) {
        return Err(format!(
            "{:?} holds a control character ({:?}); name files by their path in the repository",
            raw, c
        ));
    }
    if raw.starts_with('/') {
        return Err(format!(
            "'{raw}' is absolute; give the path relative to the repository's root"
        ));
    }
    if raw.contains('\\') {
        return Err(format!(
            "'{raw}' holds a backslash; paths use '/', and a class (`[*]`) matches a glob character literally"
        ));
    }
    let folder = raw.ends_with('/');
    let mut comps: Vec<String> = Vec::new();
    for c in raw.split('/') {
        match c {
            "" | "." => continue,
            ".." => {
                return Err(format!(
                    "'{raw}' leaves the repository ('..'); give the path from the repository's root"
                ));
            }
            "**" => {
                if comps.last().is_some_and(|l| l == "**") {
                    continue;
                }
                comps.push("**".into());
            }
            other => comps.push(collapse_stars(other)),
        }
    }
    if folder && comps.last().is_some_and(|l| l != "**") {
        comps.push("**".into());
    }
    if comps.is_empty() {
        return Err(format!(
            "'{raw}' names the repository's root; name files (`**` is every file)"
        ));
    }
    let glob = comps.join("/");
    parse(&glob).map_err(|why| format!("'{raw}': {why}"))?;
    Ok(glob)
}

/// Runs of `*` in a component (not a whole `**`) mean one `*`; the stars
/// inside a class stay.
fn collapse_stars(comp: &str) -> String {
    let chars: Vec<char> = comp.chars().collect();
    let mut out = String::with_capacity(comp.len());
    let mut after_star = false;
    let mut i = 0;
    while i < chars.len() {
        if chars[i] == '['
            && let Some(end) = class_end(&chars, i)
        {
            out.extend(&chars[i..=end]);
            after_star = false;
            i = end + 1;
            continue;
        }
        if !(chars[i] == '*' && after_star) {
            out.push(chars[i]);
        }
        after_star = chars[i] == '*';
        i += 1;
    }
    out
}

/// The index of the `]` closing the class opened at `chars[open]`.
fn class_end(chars: &[char], open: usize) -> Option<usize> {
    let mut i = open + 1;
    if i < chars.len() && (chars[i] == '!' || chars[i] == '^') {
        i += 1;
    }
    // A `]` first in the class is a member.
    if i < chars.len() && chars[i] == ']' {
        i += 1;
    }
    while i < chars.len() {
        if chars[i] == ']' {
            return Some(i);
        }
        i += 1;
    }
    None
}

/// Parse a canonical glob (as [`normalize`] gives it).
fn parse(glob: &str) -> Result<Parsed, String> {
    let mut out = Vec::new();
    for comp in glob.split('/') {
        if comp == "**" {
            out.push(None);
            continue;
        }
        let chars: Vec<char> = comp.chars().collect();
        let mut pieces = Vec::new();
        let mut i = 0;
        while i < chars.len() {
            match chars[i] {
                '*' => {
                    if pieces.last() != Some(&Piece::Star) {
                        pieces.push(Piece::Star);
                    }
                    i += 1;
                }
                '?' => {
                    pieces.push(Piece::One(Set::not_slash()));
                    i += 1;
                }
                '[' => {
                    let end = class_end(&chars, i).ok_or("a character class '[' is not closed")?;
                    pieces.push(Piece::One(class(&chars[i + 1..end])?));
                    i = end + 1;
                }
                c => {
                    pieces.push(Piece::One(Set::one(c)));
                    i += 1;
                }
            }
        }
        out.push(Some(pieces));
    }
    Ok(out)
}

/// The set of a class's body (between `[` and `]`).
fn class(body: &[char]) -> Result<Set, String> {
    let (negated, body) = match body.first() {
        Some('!' | '^') => (true, &body[1..]),
        _ => (false, body),
    };
    if body.is_empty() {
        return Err("a character class is empty".into());
    }
    if body.contains(&'/') {
        return Err(
            "a character class cannot hold '/' (a class is one character of a name)".into(),
        );
    }
    // git's wildmatch reads `[[:alpha:]]` as a named class; this syntax has
    // none, and reading it as the characters `[:alph` would protect nothing.
    if body
        .windows(2)
        .any(|w| w[0] == '[' && matches!(w[1], ':' | '=' | '.'))
    {
        return Err(
            "named character classes such as [[:alpha:]] are not supported; list the characters ([A-Za-z])"
                .into(),
        );
    }
    let mut ranges = Vec::new();
    let mut i = 0;
    while i < body.len() {
        let a = body[i];
        if i + 2 < body.len() && body[i + 1] == '-' {
            let b = body[i + 2];
            if b < a {
                return Err(format!("the class range '{a}-{b}' is backwards"));
            }
            ranges.push((a as u32, b as u32));
            i += 3;
        } else {
            ranges.push((a as u32, a as u32));
            i += 1;
        }
    }
    let set = Set::of(ranges);
    let set = if negated { set.complement() } else { set };
    Ok(set.intersect(&Set::not_slash()))
}

/// A nondeterministic automaton over characters: state 0 starts, the last
/// state accepts.
#[derive(Debug)]
struct Nfa {
    eps: Vec<Vec<usize>>,
    edges: Vec<Vec<(Set, usize)>>,
}

impl Nfa {
    fn state(&mut self) -> usize {
        self.eps.push(vec![]);
        self.edges.push(vec![]);
        self.eps.len() - 1
    }

    fn accept(&self) -> usize {
        self.eps.len() - 1
    }

    /// The states reachable from `s` by empty steps, `s` included.
    fn closure(&self, s: usize) -> Vec<usize> {
        let mut seen = vec![s];
        let mut i = 0;
        while i < seen.len() {
            for &t in &self.eps[seen[i]] {
                if !seen.contains(&t) {
                    seen.push(t);
                }
            }
            i += 1;
        }
        seen
    }

    fn build(parsed: &Parsed) -> Nfa {
        let mut n = Nfa {
            eps: vec![],
            edges: vec![],
        };
        let mut cur = n.state();
        let last = parsed.len() - 1;
        for (i, comp) in parsed.iter().enumerate() {
            // Each repetition gets a state of its own, entered by an empty
            // step, so its loop adds nothing to what came before it.
            let looping = |n: &mut Nfa, cur: usize| {
                let l = n.state();
                n.eps[cur].push(l);
                l
            };
            match comp {
                // `**` last (or alone): anything, slashes too, after the
                // slash already taken.
                None if i == last => {
                    cur = looping(&mut n, cur);
                    n.edges[cur].push((Set::any(), cur));
                }
                // Leading or inner `**/`: zero or more whole components,
                // each with its slash (`([^/]*/)*`).
                None => {
                    cur = looping(&mut n, cur);
                    let mid = n.state();
                    n.edges[cur].push((Set::not_slash(), mid));
                    n.edges[cur].push((Set::one('/'), cur));
                    n.edges[mid].push((Set::not_slash(), mid));
                    n.edges[mid].push((Set::one('/'), cur));
                }
                Some(pieces) => {
                    for p in pieces {
                        match p {
                            Piece::One(set) => {
                                let next = n.state();
                                n.edges[cur].push((set.clone(), next));
                                cur = next;
                            }
                            Piece::Star => {
                                cur = looping(&mut n, cur);
                                n.edges[cur].push((Set::not_slash(), cur));
                            }
                        }
                    }
                    if i != last {
                        let next = n.state();
                        n.edges[cur].push((Set::one('/'), next));
                        cur = next;
                    }
                }
            }
        }
        // The accepting state is the last one made.
        let end = n.state();
        n.eps[cur].push(end);
        n
    }
}

fn compile(glob: &str) -> Option<Nfa> {
    parse(glob).ok().map(|p| Nfa::build(&p))
}

/// A glob made ready to match many paths.
#[derive(Debug)]
pub struct Matcher(Nfa);

impl Matcher {
    /// `None` when the glob does not parse (it matches nothing).
    pub fn new(glob: &str) -> Option<Matcher> {
        compile(glob).map(Matcher)
    }

    /// Whether the glob matches `path` (a repository-relative path).
    pub fn matches(&self, path: &str) -> bool {
        let n = &self.0;
        let mut now: Vec<usize> = n.closure(0);
        for c in path.chars() {
            let mut next: Vec<usize> = Vec::new();
            for &s in &now {
                for (set, t) in &n.edges[s] {
                    if set.contains(c) {
                        for u in n.closure(*t) {
                            if !next.contains(&u) {
                                next.push(u);
                            }
                        }
                    }
                }
            }
            if next.is_empty() {
                return false;
            }
            now = next;
        }
        now.contains(&n.accept())
    }
}

/// Whether `glob` (canonical, as [`normalize`] gives it) matches `path` (a
/// repository-relative path). A glob that does not parse matches nothing.
pub fn matches(glob: &str, path: &str) -> bool {
    Matcher::new(glob).is_some_and(|m| m.matches(path))
}

/// Whether some path matches both globs (canonical, as [`normalize`]
/// gives them). Symmetric; a glob that does not parse overlaps nothing.
pub fn overlaps(a: &str, b: &str) -> bool {
    witness(a, b).is_some()
}

/// A state of each of two automata, walked together.
type Pair = (usize, usize);

/// A path both globs match (one of the shortest), if there is one: the
/// proof of an overlap.
pub fn witness(a: &str, b: &str) -> Option<String> {
    let (x, y) = (compile(a)?, compile(b)?);
    let cx: Vec<Vec<usize>> = (0..x.eps.len()).map(|s| x.closure(s)).collect();
    let cy: Vec<Vec<usize>> = (0..y.eps.len()).map(|s| y.closure(s)).collect();
    // Each pair reached, with the pair it was reached from and the
    // character stepped on.
    let mut from: HashMap<Pair, Option<(Pair, char)>> = HashMap::new();
    let mut queue = VecDeque::from([(0usize, 0usize)]);
    from.insert((0, 0), None);
    while let Some((p, q)) = queue.pop_front() {
        let accepts = cx[p].contains(&x.accept()) && cy[q].contains(&y.accept());
        if accepts {
            let mut path = Vec::new();
            let mut at = (p, q);
            while let Some(Some((prev, c))) = from.get(&at) {
                path.push(*c);
                at = *prev;
            }
            return Some(path.into_iter().rev().collect());
        }
        for &p2 in &cx[p] {
            for &q2 in &cy[q] {
                for (s1, t1) in &x.edges[p2] {
                    for (s2, t2) in &y.edges[q2] {
                        let both = s1.intersect(s2);
                        if let Some(c) = both.pick()
                            && !from.contains_key(&(*t1, *t2))
                        {
                            from.insert((*t1, *t2), Some(((p, q), c)));
                            queue.push_back((*t1, *t2));
                        }
                    }
                }
            }
        }
    }
    None
}

/// Whether a canonical glob is a plain path (no glob character): it
/// matches exactly itself.
pub fn is_literal(glob: &str) -> bool {
    !glob.contains(['*', '?', '['])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> String {
        normalize(s).unwrap()
    }

    #[test]
    fn normal_forms() {
        assert_eq!(n("./src//main.rs"), "src/main.rs");
        assert_eq!(n("src/"), "src/**");
        assert_eq!(n("a/**/**/b"), "a/**/b");
        assert_eq!(n("a/b***c"), "a/b*c");
        assert_eq!(n("a/[*]*"), "a/[*]*");
        assert_eq!(n("**"), "**");
        for bad in [
            "",
            "/etc/passwd",
            "../x",
            "a/../b",
            "a\\b",
            "a\tb",
            "[ab",
            "a/[]",
            "a/[a/b]",
            ".",
            "./",
            "[z-a]",
        ] {
            assert!(normalize(bad).is_err(), "{bad:?} was taken");
        }
    }

    #[test]
    fn matching() {
        assert!(matches("src/*.rs", "src/main.rs"));
        assert!(!matches("src/*.rs", "src/a/main.rs"));
        assert!(matches("src/**", "src/a/b.rs"));
        assert!(!matches("src/**", "src"));
        assert!(matches("**/*.rs", "main.rs"));
        assert!(matches("**/*.rs", "a/b/main.rs"));
        assert!(matches("a/**/b", "a/b"));
        assert!(matches("a/**/b", "a/x/y/b"));
        assert!(!matches("a/**/b", "ab"));
        assert!(matches("f?o", "foo"));
        assert!(!matches("f?o", "f/o"));
        assert!(matches("[!a]x", "bx"));
        assert!(!matches("[!a]x", "ax"));
        assert!(matches("[]a]", "]"));
        assert!(matches("a[*]", "a*"));
        assert!(!matches("a[*]", "ab"));
        assert!(matches("**", "anything/at/all"));
    }

    #[test]
    fn overlapping() {
        assert!(overlaps("src/*.rs", "src/main.rs"));
        assert!(overlaps("src/**", "**/main.rs"));
        assert!(overlaps("*.rs", "main.*"));
        assert!(!overlaps("*.rs", "*.md"));
        assert!(!overlaps("src/*", "docs/*"));
        assert!(!overlaps("src/*.rs", "src/a/b.rs"));
        assert!(overlaps("[a-c]x", "[c-e]x"));
        assert!(!overlaps("[a-c]x", "[d-e]x"));
        assert!(!overlaps("[!a]", "a"));
        assert!(overlaps("a/**/b", "a/b"));
        assert!(!overlaps("a/*", "a"));
    }
}
