//! The library API: one function per verb, options in, a report out.
