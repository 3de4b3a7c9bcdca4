//! The simulated writers: files as the ops see them, and writers (clones)
//! that create and edit records with their own clocks, like `bd` does.

use super::*;

/// A file: records by id, with their lines (kept byte for byte when untouched).
#[derive(Clone)]
pub(crate) struct File(pub(crate) BTreeMap<String, (Record, String)>);

impl File {
    pub(crate) fn parse(bytes: &[u8]) -> File {
        let text = std::str::from_utf8(bytes).expect("merge output is UTF-8");
        let mut m = BTreeMap::new();
        for l in text.lines() {
            let r = Record::parse(l).expect("merge output parses");
            let prev = m.insert(r.id().to_string(), (r, l.to_string()));
            assert!(prev.is_none(), "duplicate id in merge output: {l}");
        }
        File(m)
    }

    pub(crate) fn bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for (_, l) in self.0.values() {
            out.extend_from_slice(l.as_bytes());
            out.push(b'\n');
        }
        out
    }

    pub(crate) fn put(&mut self, r: Record) {
        let l = r.to_line();
        self.0.insert(r.id().to_string(), (r, l));
    }
}

/// Identity of every record: (renamed_from or id, created_at instant in µs).
pub(crate) fn keys(bytes: &[u8]) -> BTreeSet<(String, i64)> {
    let text = std::str::from_utf8(bytes).unwrap();
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let r = Record::parse(l.trim_end_matches('\r')).unwrap();
            let orig = r
                .nonempty("renamed_from")
                .unwrap_or_else(|| r.id().to_string());
            let at = r
                .time("created_at")
                .map(|n| n.div_euclid(1000))
                .unwrap_or(i64::MIN);
            (orig, at)
        })
        .collect()
}

/// A writer: one clone's agent with its own (possibly skewed) clock.
pub(crate) struct Writer {
    pub(crate) actor: String,
    pub(crate) clock: i64,
    /// Write `updated_at` from the HLC stamp (never backwards) instead of
    /// the wall clock (what a writer behind the record's clock does).
    pub(crate) hlc_updated: bool,
    /// A classic tool: records without `_stamps` stay without them (every
    /// field's stamp is `updated_at`, which it moves forward; no epochs).
    pub(crate) classic: bool,
    /// The project home's ledger, shared by the clones of one machine.
    pub(crate) ledger: Option<Shared>,
    /// Mostly claim, release, close and delete two issues.
    pub(crate) races: bool,
}

/// A project home's ledger (SPEC §7), shared by the writers of one machine:
/// per issue the last claim-group event (epoch, when and by whom, holder).
pub(crate) type Shared = std::rc::Rc<std::cell::RefCell<BTreeMap<String, Entry>>>;

#[derive(Clone)]
pub(crate) struct Entry {
    pub(crate) epoch: i64,
    pub(crate) at: i64,
    pub(crate) by: String,
    pub(crate) holder: Option<String>,
}

pub(crate) const TITLES: &[&str] = &["alpha", "beta", "gamma", "a < b", "delta"];
pub(crate) const NOTES: &[&str] = &["n1", "n2", "", "long note\nwith lines"];
pub(crate) const LABELS: &[&str] = &["api", "bug", "ui", "backend", "p1"];
pub(crate) const KINDS: &[&str] = &["blocks", "related", "caused-by"];
pub(crate) const TOP_IDS: &[&str] = &[
    "bd-a1", "bd-b2", "bd-c3", "bd-d4", "bd-e5", "bd-f6", "bd-g7",
];

impl Writer {
    pub(crate) fn tick(&mut self, rng: &mut Rng) -> i64 {
        self.clock += 1 + rng.below(2_000_000_000) as i64;
        self.clock
    }

    /// Write `fields` of `rec` the way `ops::edit::apply` does.
    pub(crate) fn write(
        &mut self,
        rng: &mut Rng,
        rec: &mut Record,
        f: impl FnOnce(&mut Record, i64) -> Vec<&'static str>,
    ) -> bool {
        let now = self.tick(rng);
        let at = rec.next_stamp(now);
        let before = rec.clone();
        let fields = f(rec, now);
        if fields.is_empty() {
            return false;
        }
        if self.classic && !before.has("_stamps") {
            // No `_stamps`: every field is stamped by `updated_at`.
            rec.remove("_stamps");
            rec.set("updated_at", &time::format(at));
            return true;
        }
        rec.stamp_write(&before, &fields, at, &self.actor);
        let updated = if self.hlc_updated { at } else { now };
        rec.set("updated_at", &time::format(updated));
        true
    }

    /// The ledger's entry for `id` when it knows more than `rec` (a claim
    /// group event of another clone of this machine, not merged here yet).
    pub(crate) fn newer_entry(&self, rec: &Record) -> Option<Entry> {
        let l = self.ledger.as_ref()?.borrow();
        l.get(rec.id())
            .filter(|e| e.epoch > rec.claim_epoch())
            .cloned()
    }

    /// After a claim-group write: the claim was made on what the ledger knew
    /// (`ops::edit::claim`), and the ledger records it.
    pub(crate) fn ledger_claim(&self, rec: &mut Record, now: i64, seen: Option<Entry>) {
        let Some(l) = &self.ledger else { return };
        if let Some(e) = seen {
            STATS.lock().unwrap()[6] += 1;
            rec.raise_claim_on(&Stamp {
                at: e.at,
                actor: e.by,
            });
        }
        l.borrow_mut().insert(
            rec.id().to_string(),
            Entry {
                epoch: rec.claim_epoch(),
                at: now,
                by: self.actor.clone(),
                holder: rec
                    .nonempty("assignee")
                    .filter(|_| rec.status() == "in_progress"),
            },
        );
    }

    pub(crate) fn create(&mut self, rng: &mut Rng, file: &mut File) {
        let now = self.tick(rng);
        let ids: Vec<String> = file.0.keys().cloned().collect();
        let id = if rng.chance(50) || ids.is_empty() {
            let id = rng.pick(TOP_IDS).to_string();
            if file.0.contains_key(&id) {
                None
            } else {
                Some(id)
            }
        } else {
            None
        };
        let (id, parent) = match id {
            Some(id) => (id, None),
            None if ids.is_empty() => return,
            None => {
                let p = rng.pick(&ids).clone();
                let n = (1..)
                    .find(|n| !file.0.contains_key(&format!("{p}.{n}")))
                    .expect("a free child number");
                (format!("{p}.{n}"), Some(p))
            }
        };
        let mut r = Record::new(&id);
        r.set("title", *rng.pick(TITLES));
        r.set("status", "open");
        r.set("priority", &(rng.below(5) as i64));
        r.set("issue_type", "task");
        r.set("created_at", &time::format(now));
        r.set("created_by", &self.actor);
        r.set("updated_at", &time::format(now));
        if let Some(p) = parent {
            r.add_dep(&Dep {
                issue_id: id.clone(),
                depends_on_id: p,
                kind: "parent-child".into(),
                created_at: Some(time::format(now)),
                created_by: Some(self.actor.clone()),
                metadata: None,
            });
        }
        if !self.classic {
            r.set("_stamps", &serde_json::json!({}));
        }
        file.put(r);
    }

    /// One random change to one random record (or a new record).
    pub(crate) fn edit(&mut self, rng: &mut Rng, file: &mut File) {
        if file.0.is_empty() || rng.chance(12) {
            self.create(rng, file);
            return;
        }
        let ids: Vec<String> = file.0.keys().cloned().collect();
        // Claim races: most edits claim or release one of two issues.
        let race = self.races && rng.chance(75);
        let id = if race {
            ids[rng.below(ids.len().min(2))].clone()
        } else {
            rng.pick(&ids).clone()
        };
        let mut rec = file.0[&id].0.clone();
        let actor = self.actor.clone();
        let op = if race {
            *rng.pick(&[9, 9, 10, 10, 10, 10, 11, 12, 13, 14])
        } else {
            rng.below(17)
        };
        let title = *rng.pick(TITLES);
        let note = *rng.pick(NOTES);
        let label = *rng.pick(LABELS);
        let kind = *rng.pick(KINDS);
        let target = rng.pick(&ids).clone();
        let prio = rng.below(5) as i64;
        let reason = rng.chance(50);
        let changed = match op {
            0 => self.write(rng, &mut rec, |r, _| {
                if r.str("title").as_deref() == Some(title) {
                    return vec![];
                }
                r.set("title", title);
                vec!["title"]
            }),
            1 => self.write(rng, &mut rec, |r, _| {
                r.set("notes", note);
                vec!["notes"]
            }),
            2 => self.write(rng, &mut rec, |r, _| {
                r.set("priority", &prio);
                vec!["priority"]
            }),
            3 => self.write(rng, &mut rec, |r, _| {
                // An unknown key and metadata: same meaning, other bytes.
                let (k, v) = match prio {
                    0 => ("zeta", r#"1.50"#),
                    1 => ("zeta", r#"{"b":1,"a":[1,2]}"#),
                    2 => ("metadata", r#"{"a":[1,2],"b":1}"#),
                    3 => ("metadata", r#"{"b":1, "a":[1,2]}"#),
                    _ => ("zeta", r#""x""#),
                };
                r.set_raw(
                    k,
                    serde_json::value::RawValue::from_string(v.into()).unwrap(),
                );
                vec![if k == "zeta" { "zeta" } else { "metadata" }]
            }),
            4 => self.write(rng, &mut rec, |r, _| {
                if r.add_label(label) {
                    vec!["labels"]
                } else {
                    vec![]
                }
            }),
            5 => self.write(rng, &mut rec, |r, _| {
                let have = r.labels();
                match have.first() {
                    Some(l) if r.remove_label(&l.clone()) => vec!["labels"],
                    _ => vec![],
                }
            }),
            6 => self.write(rng, &mut rec, |r, now| {
                if target == id {
                    return vec![];
                }
                let d = Dep {
                    issue_id: id.clone(),
                    depends_on_id: target.clone(),
                    kind: kind.into(),
                    created_at: Some(time::format(now)),
                    created_by: Some(actor.clone()),
                    metadata: None,
                };
                if r.add_dep(&d) {
                    vec!["dependencies"]
                } else {
                    vec![]
                }
            }),
            7 => self.write(rng, &mut rec, |r, _| {
                let deps = r.deps();
                let Some(d) = deps.iter().find(|d| d.kind != "parent-child") else {
                    return vec![];
                };
                if r.remove_dep(&d.depends_on_id.clone(), Some(&d.kind.clone())) > 0 {
                    vec!["dependencies"]
                } else {
                    vec![]
                }
            }),
            8 => self.write(rng, &mut rec, |r, now| {
                let at = time::format(now);
                let text = format!("{note} from {actor}");
                r.add_comment(&Comment {
                    id: comment_id(&id, &actor, &at, &text).into(),
                    issue_id: id.clone(),
                    author: actor.clone(),
                    text,
                    created_at: at,
                });
                vec!["comments"]
            }),
            9 | 15 => {
                // claim (ops::edit::claim): refused while the machine's
                // ledger says another holds it; the epoch passes the ledger's
                let seen = self.newer_entry(&rec);
                let open = rec.status() == "open"
                    && seen
                        .as_ref()
                        .is_none_or(|e| e.holder.as_ref().is_none_or(|h| h == &actor));
                let classic = self.classic && !rec.has("_stamps");
                let floor = seen.as_ref().map_or(0, |e| e.epoch);
                let mut when = 0;
                let changed = self.write(rng, &mut rec, |r, now| {
                    if !open {
                        return vec![];
                    }
                    when = now;
                    r.set("assignee", &actor);
                    r.set("status", "in_progress");
                    r.set("started_at", &time::format(now));
                    r.remove("defer_until");
                    if !classic {
                        r.bump_claim_epoch();
                        if r.claim_epoch() <= floor {
                            let mut st = r.stamps();
                            st.insert("claim_epoch".into(), (floor + 1).into());
                            r.set("_stamps", &st);
                        }
                    }
                    vec!["assignee", "status", "defer_until"]
                });
                if changed && !classic {
                    self.ledger_claim(&mut rec, when, seen);
                }
                changed
            }
            10 | 16 => {
                // unclaim, or a recovery by another agent
                let classic = self.classic && !rec.has("_stamps");
                let mut when = 0;
                let changed = self.write(rng, &mut rec, |r, now| {
                    if r.status() != "in_progress" {
                        return vec![];
                    }
                    when = now;
                    if r.nonempty("assignee").as_deref() != Some(actor.as_str()) && reason {
                        r.set("assignee", &actor);
                        r.set("started_at", &time::format(now));
                    } else {
                        r.remove("assignee");
                        r.remove("started_at");
                        r.set("status", "open");
                    }
                    if !classic {
                        r.bump_claim_epoch();
                    }
                    vec!["assignee", "status"]
                });
                if changed && !classic {
                    let seen = self.newer_entry(&rec);
                    self.ledger_claim(&mut rec, when, seen);
                }
                changed
            }
            11 if reason && prio < 2 => self.write(rng, &mut rec, |r, _| {
                // another status: blocked or deferred (a status-only write)
                let s = r.status();
                if s == "closed" || s == "tombstone" {
                    return vec![];
                }
                r.set("status", if prio == 0 { "blocked" } else { "deferred" });
                vec!["status"]
            }),
            11 => self.write(rng, &mut rec, |r, now| {
                let s = r.status();
                if s == "closed" || s == "tombstone" {
                    return vec![];
                }
                r.set("status", "closed");
                r.set("closed_at", &time::format(now));
                if reason {
                    r.set("close_reason", "done");
                } else {
                    r.remove("close_reason");
                }
                vec!["status"]
            }),
            12 => self.write(rng, &mut rec, |r, _| {
                if r.status() != "closed" {
                    return vec![];
                }
                r.set("status", "open");
                r.remove("closed_at");
                r.remove("close_reason");
                vec!["status"]
            }),
            13 => self.write(rng, &mut rec, |r, now| {
                if r.status() == "tombstone" {
                    return vec![];
                }
                let ty = r.issue_type();
                r.set("status", "tombstone");
                r.set("deleted_at", &time::format(now));
                r.set("deleted_by", &actor);
                r.set("original_type", &ty);
                r.remove("closed_at");
                r.remove("close_reason");
                vec!["status", "deleted_at"]
            }),
            _ => self.write(rng, &mut rec, |r, _| {
                if r.status() != "tombstone" {
                    return vec![];
                }
                if let Some(t) = r.nonempty("original_type") {
                    r.set("issue_type", &t);
                }
                r.set("status", "open");
                for k in ["deleted_at", "deleted_by", "delete_reason", "original_type"] {
                    r.remove(k);
                }
                vec!["status", "deleted_at", "issue_type"]
            }),
        };
        if changed {
            file.put(rec);
        }
    }
}

/// A starting file: stamped records and classic ones (offsets, escapes, no `_stamps`).
pub(crate) fn initial(rng: &mut Rng, n: usize, classic: bool) -> Vec<u8> {
    let mut f = File(BTreeMap::new());
    for i in 0..n {
        let id = format!("bd-i{i}");
        let line = if classic || rng.chance(40) {
            format!(
                r#"{{"id":"{id}","title":"a \u003c b {i}","status":"open","priority":2,"issue_type":"task","created_at":"2025-11-02T21:58:07.29505{i}-08:00","updated_at":"2025-11-03T20:56:22.700641-08:00","labels":["bug"]}}"#
            )
        } else {
            format!(
                r#"{{"id":"{id}","title":"t{i}","status":"open","priority":2,"issue_type":"task","created_at":"2025-12-01T00:00:0{}.000000000Z","created_by":"seed","updated_at":"2025-12-01T00:00:09.000000000Z","_stamps":{{}}}}"#,
                i % 10
            )
        };
        let r = Record::parse(&line).unwrap();
        f.0.insert(id, (r, line));
    }
    f.bytes()
}
