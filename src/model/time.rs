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

/// Parse a user-given date: RFC 3339, `YYYY-MM-DD` (midnight UTC), or a relative
/// offset from `now` such as `+2d`, `3h`, `30m`, `1w`.
pub fn parse_user(text: &str, now: Nanos) -> Option<Nanos> {
    let t = text.trim();
    if let Some(n) = parse(t) {
        return Some(n);
    }
    if let Ok(d) = chrono::NaiveDate::parse_from_str(t, "%Y-%m-%d") {
        let dt = d.and_hms_opt(0, 0, 0)?;
        return Utc.from_utc_datetime(&dt).timestamp_nanos_opt();
    }
    if let Ok(dt) = chrono::NaiveDateTime::parse_from_str(t, "%Y-%m-%dT%H:%M:%S") {
        return Utc.from_utc_datetime(&dt).timestamp_nanos_opt();
    }
    let body = t.strip_prefix('+').unwrap_or(t);
    if body.len() < 2 {
        return None;
    }
    let (num, unit) = body.split_at(body.len() - 1);
    let n: i64 = num.parse().ok()?;
    if n < 0 {
        return None;
    }
    let secs = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        _ => return None,
    };
    n.checked_mul(secs)?
        .checked_mul(1_000_000_000)?
        .checked_add(now)
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
    }
}
