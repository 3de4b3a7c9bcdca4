//! Reading `.beads/` files at revisions, for `bd diff` and `bd log`.
