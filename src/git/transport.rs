//! The one place that runs the git binary: network and working-tree merges.
