//! A claim as the git remote holds it (issue 14; docs/DESIGN.md
//! "Coordination through the remote"): the body of `claim.json` in a claim
//! commit (or of `claims/<id>.json` in the table branch), and the judgement
//! of what an agent may do given the claim it observed. Pure.

use serde::{Deserialize, Serialize};

use crate::model::time::{self, Nanos};

/// Where a claim stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    Claimed,
    Released,
    Closed,
}

/// The body of a claim commit. Names an agent and times; the workspace and
/// machine are opaque hashes (`ops::remote::opaque_ids`), never a host name
/// or a path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claim {
    pub item: String,
    pub state: State,
    /// Who holds it (claimed), or who released or closed it.
    pub agent: String,
    /// The claim epoch of the tracker write this claim goes with.
    pub epoch: i64,
    /// When this body was written (RFC 3339 UTC).
    pub at: String,
    /// Until when the claim holds without a heartbeat (claimed only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease_until: Option<String>,
    pub workspace: String,
    pub machine: String,
}

impl Claim {
    /// The body as it is committed: one line of JSON and a newline.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut b = serde_json::to_vec(self).unwrap_or_default();
        b.push(b'\n');
        b
    }

    /// Read a body; `None` when it is not a claim (a foreign or damaged
    /// commit is treated as no claim by nobody, never as a holder).
    pub fn parse(bytes: &[u8]) -> Option<Claim> {
        let c: Claim = serde_json::from_slice(bytes).ok()?;
        (!c.agent.trim().is_empty()).then_some(c)
    }

    /// Whether the claim holds at `now`: claimed, and its lease not over.
    pub fn live(&self, now: Nanos) -> bool {
        self.state == State::Claimed && !self.lapsed(now)
    }

    /// A claim whose lease ended (or that has none).
    pub fn lapsed(&self, now: Nanos) -> bool {
        self.lease_until
            .as_deref()
            .and_then(time::parse)
            .is_none_or(|t| t <= now)
    }
}

/// What an agent found on the remote for one item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    /// No claim, or a released one: anyone may claim it.
    Free,
    /// The agent's own live claim (or its own lapsed one nobody took).
    Mine,
    /// Another agent's live claim.
    Held { agent: String, until: String },
    /// Another agent's claim whose lease ended: a steal may take it.
    Lapsed { agent: String, since: String },
    /// Closed (by `agent`), and the close may not have reached this
    /// clone's tracker yet: nobody may claim it until a sync says otherwise.
    Closed { agent: String, at: String },
}

/// Judge `observed` for `agent` at `now`.
pub fn judge(observed: Option<&Claim>, agent: &str, now: Nanos) -> Found {
    let Some(c) = observed else {
        return Found::Free;
    };
    match c.state {
        State::Released => Found::Free,
        State::Closed => Found::Closed {
            agent: c.agent.clone(),
            at: c.at.clone(),
        },
        State::Claimed if c.agent == agent => Found::Mine,
        State::Claimed if c.lapsed(now) => Found::Lapsed {
            agent: c.agent.clone(),
            since: c.lease_until.clone().unwrap_or_else(|| c.at.clone()),
        },
        State::Claimed => Found::Held {
            agent: c.agent.clone(),
            until: c.lease_until.clone().unwrap_or_default(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claim(state: State, agent: &str, until: Option<&str>) -> Claim {
        Claim {
            item: "bd-1".into(),
            state,
            agent: agent.into(),
            epoch: 1,
            at: "2026-01-01T00:00:00Z".into(),
            lease_until: until.map(str::to_string),
            workspace: "w".into(),
            machine: "m".into(),
        }
    }

    #[test]
    fn judgement_of_each_state() {
        let now = time::parse("2026-01-01T00:10:00Z").unwrap();
        let later = Some("2026-01-01T00:15:00Z");
        let earlier = Some("2026-01-01T00:05:00Z");
        assert_eq!(judge(None, "ann", now), Found::Free);
        assert_eq!(
            judge(Some(&claim(State::Released, "bob", None)), "ann", now),
            Found::Free
        );
        assert_eq!(
            judge(Some(&claim(State::Claimed, "ann", earlier)), "ann", now),
            Found::Mine
        );
        assert!(matches!(
            judge(Some(&claim(State::Claimed, "bob", later)), "ann", now),
            Found::Held { agent, .. } if agent == "bob"
        ));
        assert!(matches!(
            judge(Some(&claim(State::Claimed, "bob", earlier)), "ann", now),
            Found::Lapsed { agent, .. } if agent == "bob"
        ));
        // No lease at all: lapsed, never held for ever.
        assert!(matches!(
            judge(Some(&claim(State::Claimed, "bob", None)), "ann", now),
            Found::Lapsed { .. }
        ));
        assert!(matches!(
            judge(Some(&claim(State::Closed, "ann", None)), "ann", now),
            Found::Closed { .. }
        ));
    }

    #[test]
    fn bodies_round_trip_and_foreign_ones_are_no_claim() {
        let c = claim(State::Claimed, "ann", Some("2026-01-01T00:15:00Z"));
        let b = c.to_bytes();
        assert!(b.ends_with(b"}\n"));
        assert_eq!(Claim::parse(&b), Some(c));
        assert_eq!(Claim::parse(b"{\"agent\":\"x\"}"), None);
        assert_eq!(Claim::parse(b"not json"), None);
        let mut blank = claim(State::Claimed, " ", None);
        blank.agent = " ".into();
        assert_eq!(Claim::parse(&blank.to_bytes()), None);
    }
}
