//! Typed views of a record's status and type. Records keep the text they
//! were given (loading is lenient: an unknown status or type round-trips),
//! so these views carry unknown values as `Other` and give the same text
//! back; code asks the view instead of comparing string literals.

use std::fmt;

/// A work item's status: the built-in ones (SPEC §2), or another (a
/// `custom_statuses` entry, or whatever an older tool wrote).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Status {
    Open,
    InProgress,
    Blocked,
    Deferred,
    Closed,
    Tombstone,
    Hooked,
    Pinned,
    Other(String),
}

impl Status {
    /// The built-in statuses, in the order `bd` lists them.
    pub const BUILT_IN: [Status; 8] = [
        Status::Open,
        Status::InProgress,
        Status::Blocked,
        Status::Deferred,
        Status::Closed,
        Status::Tombstone,
        Status::Hooked,
        Status::Pinned,
    ];

    /// The status `text` names (exact, as stored); anything else is `Other`.
    pub fn parse(text: &str) -> Status {
        match text {
            "open" => Status::Open,
            "in_progress" => Status::InProgress,
            "blocked" => Status::Blocked,
            "deferred" => Status::Deferred,
            "closed" => Status::Closed,
            "tombstone" => Status::Tombstone,
            "hooked" => Status::Hooked,
            "pinned" => Status::Pinned,
            other => Status::Other(other.to_string()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Status::Open => "open",
            Status::InProgress => "in_progress",
            Status::Blocked => "blocked",
            Status::Deferred => "deferred",
            Status::Closed => "closed",
            Status::Tombstone => "tombstone",
            Status::Hooked => "hooked",
            Status::Pinned => "pinned",
            Status::Other(s) => s,
        }
    }

    /// `closed` and `tombstone` end work: nothing waits on them. Every other
    /// status, unknown ones included, is still live work.
    pub fn is_done(&self) -> bool {
        matches!(self, Status::Closed | Status::Tombstone)
    }

    /// The statuses in which an agent holds the work (a claim or a hook).
    pub fn is_held(&self) -> bool {
        matches!(self, Status::InProgress | Status::Hooked)
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<str> for Status {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Status {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl serde::Serialize for Status {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// A work item's type: the work types, the coordination types (never ready
/// work, SPEC §2), or another (`custom_types`, or an older tool's).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum IssueType {
    Bug,
    Feature,
    Task,
    Epic,
    Chore,
    /// One of [`crate::model::values::COORDINATION_TYPES`], by name.
    Coordination(String),
    Other(String),
}

impl IssueType {
    pub fn parse(text: &str) -> IssueType {
        match text {
            "bug" => IssueType::Bug,
            "feature" => IssueType::Feature,
            "task" => IssueType::Task,
            "epic" => IssueType::Epic,
            "chore" => IssueType::Chore,
            t if crate::model::values::COORDINATION_TYPES.contains(&t) => {
                IssueType::Coordination(t.to_string())
            }
            other => IssueType::Other(other.to_string()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            IssueType::Bug => "bug",
            IssueType::Feature => "feature",
            IssueType::Task => "task",
            IssueType::Epic => "epic",
            IssueType::Chore => "chore",
            IssueType::Coordination(s) | IssueType::Other(s) => s,
        }
    }

    /// Never ready work: a coordination type, or one of the configured
    /// `non_work_types`.
    pub fn is_coordination(&self, non_work: &[&str]) -> bool {
        crate::model::graph::is_coordination_type(self.as_str(), non_work)
    }
}

impl fmt::Display for IssueType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<str> for IssueType {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for IssueType {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl serde::Serialize for IssueType {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_value_round_trips_its_text() {
        for s in Status::BUILT_IN {
            assert_eq!(Status::parse(s.as_str()), s);
            assert_eq!(s.as_str(), s.to_string());
        }
        for t in ["review", "Closed", "", " open"] {
            assert_eq!(Status::parse(t), Status::Other(t.to_string()));
            assert_eq!(Status::parse(t).as_str(), t);
        }
        for t in [
            "bug", "feature", "task", "epic", "chore", "convoy", "gate", "spike",
        ] {
            assert_eq!(IssueType::parse(t).as_str(), t);
        }
        let names: Vec<&str> = Status::BUILT_IN.iter().map(Status::as_str).collect();
        assert_eq!(crate::model::values::STATUSES, names);
    }

    #[test]
    fn done_held_and_coordination() {
        let done: Vec<bool> = Status::BUILT_IN.iter().map(Status::is_done).collect();
        assert_eq!(done, [false, false, false, false, true, true, false, false]);
        assert!(Status::InProgress.is_held() && Status::Hooked.is_held());
        assert!(!Status::Other("hooked ".into()).is_held());
        assert!(IssueType::parse("gate").is_coordination(&[]));
        assert!(!IssueType::parse("Gate").is_coordination(&[]));
        assert!(IssueType::parse("note").is_coordination(&["note"]));
        assert!(!IssueType::Task.is_coordination(&[]));
        assert_eq!(Status::Closed, "closed");
    }
}
