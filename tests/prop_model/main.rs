//! Property tests for the model, at library level: issue and comment IDs and
//! ID resolution (`model::id`, SPEC §3 "IDs", "Comment IDs"), the JSONL record
//! round trip (`model::record`, SPEC §3: canonical key order, raw bytes of
//! untouched values kept, one edit changes one key), bad-line reporting of
//! `store::jsonl::parse` (SPEC §8), and the budget roll-up
//! (`model::budget`). Expectations are computed by reference
//! code written here from the spec, not by calling the module under test.

#[path = "../common/mod.rs"]
mod common;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use common::Rng;
use proptest::prelude::*;
use proptest::test_runner::Config as PtConfig;
use serde_json::Value;
use strand::model::id::{
    Resolved, base36, comment_id, id_length, is_valid, issue_hash, issue_id, resolve,
};
use strand::model::record::{KEY_ORDER, Record, STAMPS};
use strand::store::jsonl;

/// Proptest settings: no regression files written into the tree.
fn cfg(cases: u32) -> PtConfig {
    PtConfig {
        cases,
        failure_persistence: None,
        ..PtConfig::default()
    }
}

mod budget;
mod ids;
mod jsonl_files;
mod records;
