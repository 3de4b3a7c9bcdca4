//! Committing `.beads/` paths with gix, leaving the user's other changes alone.
