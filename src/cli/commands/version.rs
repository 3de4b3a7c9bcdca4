//! `bd version`: the classic contract strand follows, and strand's own
//! version (`bd version 1.0.5 (strand 0.1.0)`: classic clients read the
//! first as the `bd` they talk to).

use super::common::{Output, out};

pub fn run() -> Output {
    let v = crate::ops::classic::version();
    let text = format!("bd version {} (strand {})", v.version, v.strand);
    out(v, text)
}
