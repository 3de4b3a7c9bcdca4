//! Timestamps: parsing the RFC 3339 text found in files (any offset) into
//! instants, and formatting the UTC nanosecond text that `bd` writes.

use chrono::{DateTime, SecondsFormat, TimeZone, Utc};

/// Nanoseconds since the Unix epoch.
pub type Nanos = i64;

/// Parse RFC 3339 text (`2025-11-02T21:58:07.295058-08:00`, `...Z`) into nanoseconds.
pub fn parse(text: &str) -> Option<Nanos> {
    let dt = DateTime::parse_from_rfc3339(text.trim()).ok()?;
    dt.timestamp_nanos_opt()
}

/// Why a user-given date was not taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateProblem {
    /// Not in any form `bd` reads.
    Unreadable,
    /// A date, but outside what `bd` can keep (nanoseconds since 1970 in
    /// 64 bits: 1677-09-21 to 2262-04-11).
    OutOfRange,
}

/// Parse a user-given date: RFC 3339, `YYYY-MM-DD` (midnight UTC), a day
/// in words (`tomorrow`, `next monday`: [`day_word`]), or a relative
/// offset from `now` such as `+2d`, `3h`, `30m`, `1w`.
pub fn parse_user(text: &str, now: Nanos) -> Option<Nanos> {
    parse_user_checked(text, now).ok()
}

/// [`parse_user`], saying why a date was not taken.
pub fn parse_user_checked(text: &str, now: Nanos) -> Result<Nanos, DateProblem> {
    let t = text.trim();
    let in_range = |n: Option<Nanos>| n.ok_or(DateProblem::OutOfRange);
    if let Ok(dt) = DateTime::parse_from_rfc3339(t) {
        return in_range(dt.timestamp_nanos_opt());
    }
    if let Ok(d) = chrono::NaiveDate::parse_from_str(t, "%Y-%m-%d") {
        let dt = d.and_hms_opt(0, 0, 0).ok_or(DateProblem::Unreadable)?;
        return in_range(Utc.from_utc_datetime(&dt).timestamp_nanos_opt());
    }
    if let Ok(dt) = chrono::NaiveDateTime::parse_from_str(t, "%Y-%m-%dT%H:%M:%S") {
        return in_range(Utc.from_utc_datetime(&dt).timestamp_nanos_opt());
    }
    if let Some(n) = day_word(t, now) {
        return Ok(n);
    }
    let body = t.strip_prefix('+').unwrap_or(t);
    if body.len() < 2 {
        return Err(DateProblem::Unreadable);
    }
    let (num, unit) = body.split_at(body.len() - 1);
    let n: i64 = num.parse().map_err(|_| DateProblem::Unreadable)?;
    if n < 0 {
        return Err(DateProblem::Unreadable);
    }
    let secs = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        _ => return Err(DateProblem::Unreadable),
    };
    in_range(
        n.checked_mul(secs)
            .and_then(|s| s.checked_mul(1_000_000_000))
            .and_then(|d| d.checked_add(now)),
    )
}

/// A day in words, as classic `bd` reads them: `now`; `today`, `tomorrow`,
/// `yesterday` (midnight UTC of that day); a weekday or `next <weekday>`
/// (midnight UTC of the next such day after today).
fn day_word(t: &str, now: Nanos) -> Option<Nanos> {
    use chrono::Datelike;
    let w = t.to_ascii_lowercase();
    if w == "now" {
        return Some(now);
    }
    let today = Utc.timestamp_nanos(now).date_naive();
    let day = match w.as_str() {
        "today" => today,
        "tomorrow" => today.succ_opt()?,
        "yesterday" => today.pred_opt()?,
        _ => {
            let name = w.strip_prefix("next ").unwrap_or(&w).trim();
            let want: chrono::Weekday = name.parse().ok()?;
            let ahead = (7 + want.num_days_from_monday() as i64
                - today.weekday().num_days_from_monday() as i64)
                % 7;
            today + chrono::Days::new(if ahead == 0 { 7 } else { ahead as u64 })
        }
    };
    Utc.from_utc_datetime(&day.and_hms_opt(0, 0, 0)?)
        .timestamp_nanos_opt()
}

/// The text `bd` writes: UTC, `Z`, nine fractional digits.
pub fn format(n: Nanos) -> String {
    Utc.timestamp_nanos(n)
        .to_rfc3339_opts(SecondsFormat::Nanos, true)
}

/// Two texts denote the same instant (to the microsecond).
pub fn same_instant(a: &str, b: &str) -> bool {
    match (parse(a), parse(b)) {
        (Some(x), Some(y)) => x / 1000 == y / 1000,
        _ => a == b,
    }
}

/// A short human age such as `3d ago`, `5h ago`, `just now`.
pub fn age(from: Nanos, now: Nanos) -> String {
    let s = (now - from) / 1_000_000_000;
    if s < 60 {
        "just now".into()
    } else if s < 3600 {
        format!("{}m ago", s / 60)
    } else if s < 86_400 {
        format!("{}h ago", s / 3600)
    } else {
        format!("{}d ago", s / 86_400)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_offsets_and_formats_utc_nanos() {
        let a = parse("2025-11-02T21:58:07.295058-08:00").unwrap();
        let b = parse("2025-11-03T05:58:07.295058Z").unwrap();
        assert_eq!(a, b);
        assert_eq!(format(b), "2025-11-03T05:58:07.295058000Z");
        assert!(same_instant(
            "2025-11-03T05:58:07.295058Z",
            "2025-11-03T05:58:07.295058400Z"
        ));
    }

    #[test]
    fn user_dates() {
        let now = parse("2026-01-01T00:00:00Z").unwrap();
        assert_eq!(parse_user("+1d", now), Some(now + 86_400_000_000_000));
        assert_eq!(
            parse_user("2026-01-02", now),
            Some(now + 86_400_000_000_000)
        );
        assert_eq!(parse_user("-1d", now), None);
        assert_eq!(parse_user("soon", now), None);
        // A date bd cannot keep is told apart from one it cannot read.
        for far in [
            "9999-12-31",
            "9999-12-31T00:00:00Z",
            "1500-01-01",
            "+999999w",
        ] {
            assert_eq!(
                parse_user_checked(far, now),
                Err(DateProblem::OutOfRange),
                "{far}"
            );
        }
        assert_eq!(
            parse_user_checked("2026-13-01", now),
            Err(DateProblem::Unreadable)
        );
        assert!(parse_user_checked("2262-04-11", now).is_ok());
        assert!(parse_user_checked("1677-09-22", now).is_ok());
    }
}
