//! A tiny regex: what JSON Schema `pattern` needs here: literals, `.`,
//! classes (`[a-z_]`, `[^ ]`, `\d \w \s` and their negations), groups with
//! `|`, the quantifiers `* + ? {n} {n,} {n,m}`, and the anchors `^ $`.
//! Unanchored patterns match anywhere, as in JSON Schema.

use std::collections::BTreeSet;

#[derive(Debug, Clone)]
enum Atom {
    Char(char),
    Any,
    Class(Vec<(char, char)>, bool),
    Start,
    End,
    Group(Vec<Vec<Piece>>),
}

#[derive(Debug, Clone)]
struct Piece {
    atom: Atom,
    min: usize,
    max: Option<usize>,
}

#[derive(Debug)]
pub struct Regex {
    alts: Vec<Vec<Piece>>,
}

const DIGIT: &[(char, char)] = &[('0', '9')];
const WORD: &[(char, char)] = &[('0', '9'), ('A', 'Z'), ('_', '_'), ('a', 'z')];
const SPACE: &[(char, char)] = &[
    (' ', ' '),
    ('\t', '\t'),
    ('\n', '\n'),
    ('\r', '\r'),
    ('\x0b', '\x0c'),
];

struct Parser {
    chars: Vec<char>,
    i: usize,
}

impl Parser {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.i).copied()
    }

    fn next(&mut self) -> Result<char, String> {
        let c = self.peek().ok_or("pattern ends too early")?;
        self.i += 1;
        Ok(c)
    }

    fn alts(&mut self) -> Result<Vec<Vec<Piece>>, String> {
        let mut alts = vec![self.seq()?];
        while self.peek() == Some('|') {
            self.i += 1;
            alts.push(self.seq()?);
        }
        Ok(alts)
    }

    fn seq(&mut self) -> Result<Vec<Piece>, String> {
        let mut out = Vec::new();
        while let Some(c) = self.peek() {
            if c == '|' || c == ')' {
                break;
            }
            let atom = self.atom()?;
            let (min, max) = self.quantifier()?;
            out.push(Piece { atom, min, max });
        }
        Ok(out)
    }

    fn atom(&mut self) -> Result<Atom, String> {
        Ok(match self.next()? {
            '(' => {
                if self.peek() == Some('?') {
                    self.i += 1;
                    if self.next()? != ':' {
                        return Err("only (?: groups are supported".into());
                    }
                }
                let g = self.alts()?;
                if self.next()? != ')' {
                    return Err("unclosed group".into());
                }
                Atom::Group(g)
            }
            '[' => self.class()?,
            '.' => Atom::Any,
            '^' => Atom::Start,
            '$' => Atom::End,
            '\\' => match self.escape()? {
                Ok(c) => Atom::Char(c),
                Err((set, neg)) => Atom::Class(set.to_vec(), neg),
            },
            c @ ('*' | '+' | '?' | '{' | '}' | ']') => {
                return Err(format!("'{c}' has nothing to apply to"));
            }
            c => Atom::Char(c),
        })
    }

    /// After a backslash: a literal, or a shorthand class (and whether negated).
    #[allow(clippy::type_complexity)]
    fn escape(&mut self) -> Result<Result<char, (&'static [(char, char)], bool)>, String> {
        Ok(match self.next()? {
            'd' => Err((DIGIT, false)),
            'D' => Err((DIGIT, true)),
            'w' => Err((WORD, false)),
            'W' => Err((WORD, true)),
            's' => Err((SPACE, false)),
            'S' => Err((SPACE, true)),
            'n' => Ok('\n'),
            't' => Ok('\t'),
            c if c.is_ascii_alphanumeric() => {
                return Err(format!("unsupported escape \\{c}"));
            }
            c => Ok(c),
        })
    }

    fn class(&mut self) -> Result<Atom, String> {
        let mut neg = false;
        if self.peek() == Some('^') {
            neg = true;
            self.i += 1;
        }
        let mut set = Vec::new();
        loop {
            let c = self.next()?;
            if c == ']' && !set.is_empty() {
                break;
            }
            let lo = if c == '\\' {
                match self.escape()? {
                    Ok(c) => c,
                    Err((s, false)) => {
                        set.extend_from_slice(s);
                        continue;
                    }
                    Err((_, true)) => return Err("negated shorthand in a class".into()),
                }
            } else {
                c
            };
            if self.peek() == Some('-') && self.chars.get(self.i + 1) != Some(&']') {
                self.i += 1;
                let mut hi = self.next()?;
                if hi == '\\' {
                    hi = self
                        .escape()?
                        .map_err(|_| "a shorthand cannot end a range".to_string())?;
                }
                if hi < lo {
                    return Err(format!("bad range {lo}-{hi}"));
                }
                set.push((lo, hi));
            } else {
                set.push((lo, lo));
            }
        }
        Ok(Atom::Class(set, neg))
    }

    fn number(&mut self) -> Option<usize> {
        let start = self.i;
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.i += 1;
        }
        self.chars[start..self.i]
            .iter()
            .collect::<String>()
            .parse()
            .ok()
    }

    fn quantifier(&mut self) -> Result<(usize, Option<usize>), String> {
        let q = match self.peek() {
            Some('*') => (0, None),
            Some('+') => (1, None),
            Some('?') => (0, Some(1)),
            Some('{') => {
                self.i += 1;
                let min = self.number().ok_or("{ needs a number")?;
                let max = match self.next()? {
                    '}' => return Ok((min, Some(min))),
                    ',' if self.peek() == Some('}') => None,
                    ',' => Some(self.number().ok_or("{n,m} needs m")?),
                    c => return Err(format!("unexpected '{c}' in {{}}")),
                };
                if self.next()? != '}' {
                    return Err("unclosed {".into());
                }
                if max.is_some_and(|m| m < min) {
                    return Err("{n,m} with m < n".into());
                }
                return Ok((min, max));
            }
            _ => return Ok((1, Some(1))),
        };
        self.i += 1;
        if matches!(self.peek(), Some('?' | '+')) {
            return Err("lazy and possessive quantifiers are not supported".into());
        }
        Ok(q)
    }
}

fn ends_atom(atom: &Atom, s: &[char], pos: usize) -> BTreeSet<usize> {
    let mut out = BTreeSet::new();
    let here = s.get(pos).copied();
    match atom {
        Atom::Char(c) => {
            if here == Some(*c) {
                out.insert(pos + 1);
            }
        }
        Atom::Any => {
            if here.is_some_and(|c| c != '\n') {
                out.insert(pos + 1);
            }
        }
        Atom::Class(set, neg) => {
            if let Some(c) = here
                && set.iter().any(|(lo, hi)| *lo <= c && c <= *hi) != *neg
            {
                out.insert(pos + 1);
            }
        }
        Atom::Start => {
            if pos == 0 {
                out.insert(pos);
            }
        }
        Atom::End => {
            if pos == s.len() {
                out.insert(pos);
            }
        }
        Atom::Group(alts) => out = ends_alts(alts, s, pos),
    }
    out
}

fn ends_piece(p: &Piece, s: &[char], pos: usize) -> BTreeSet<usize> {
    let mut result = BTreeSet::new();
    if p.min == 0 {
        result.insert(pos);
    }
    let mut frontier = BTreeSet::from([pos]);
    let mut seen = frontier.clone();
    let mut count = 0;
    while !frontier.is_empty() && p.max != Some(count) {
        let next: BTreeSet<usize> = frontier
            .iter()
            .flat_map(|&q| ends_atom(&p.atom, s, q))
            .collect();
        count += 1;
        if count >= p.min {
            result.extend(next.iter().copied());
            // Past the minimum, a position seen before can lead nowhere new.
            frontier = next.difference(&seen).copied().collect();
            seen.extend(next);
        } else {
            frontier = next;
        }
    }
    result
}

fn ends_alts(alts: &[Vec<Piece>], s: &[char], pos: usize) -> BTreeSet<usize> {
    let mut out = BTreeSet::new();
    for seq in alts {
        let mut cur = BTreeSet::from([pos]);
        for p in seq {
            cur = cur.iter().flat_map(|&q| ends_piece(p, s, q)).collect();
            if cur.is_empty() {
                break;
            }
        }
        out.extend(cur);
    }
    out
}

impl Regex {
    pub fn new(pattern: &str) -> Result<Regex, String> {
        let mut p = Parser {
            chars: pattern.chars().collect(),
            i: 0,
        };
        let alts = p.alts()?;
        if p.i != p.chars.len() {
            return Err(format!("unexpected ')' at {}", p.i));
        }
        Ok(Regex { alts })
    }

    /// Whether the pattern matches anywhere in `text`.
    pub fn is_match(&self, text: &str) -> bool {
        let s: Vec<char> = text.chars().collect();
        (0..=s.len()).any(|start| !ends_alts(&self.alts, &s, start).is_empty())
    }
}
