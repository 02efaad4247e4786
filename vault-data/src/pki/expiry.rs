//! The one expiry rule: when a certificate (or CA) counts as "expiring" and how many days it has
//! left. Findings, `cert list --expiring-within`, `cert renew --expiring-within`, the CLI's tables
//! and the desktop (through those calls) all use these functions, so they agree.
//!
//! A certificate is expiring in the last third of its lifetime (cert-manager's default renewal
//! point) or within the warning window, whichever comes later — the shorter of the two spans
//! before `not_after`. A 30-day certificate under a 30-day window is therefore expiring only in
//! its last 10 days, not from the day it is issued, and renewing it (a new full lifetime) ends the
//! warning instead of renewing it again on every run.

use time::{Duration, OffsetDateTime};

/// The warning window when none is configured, in days.
pub const DEFAULT_WINDOW_DAYS: u32 = 30;

/// The default warning window.
pub fn default_window() -> Duration {
    Duration::days(i64::from(DEFAULT_WINDOW_DAYS))
}

/// A window of `days` days.
pub fn window_days(days: u32) -> Duration {
    Duration::days(i64::from(days))
}

/// The moment from which a certificate valid `not_before..not_after` is expiring under `window`.
pub fn renewal_point(not_before: OffsetDateTime, not_after: OffsetDateTime, window: Duration) -> OffsetDateTime {
    let lifetime = (not_after - not_before).max(Duration::ZERO);
    not_after - window.min(lifetime / 3)
}

/// Whether a certificate valid `not_before..not_after` is expiring at `now` (not yet expired).
pub fn is_expiring(
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
    now: OffsetDateTime,
    window: Duration,
) -> bool {
    now < not_after && now >= renewal_point(not_before, not_after, window)
}

/// Whole days left until `not_after`, a started day counting as one (a 90-day certificate issued
/// now has 90); 0 or negative once expired.
pub fn days_left(not_after: OffsetDateTime, now: OffsetDateTime) -> i64 {
    let left = not_after - now;
    if left <= Duration::ZERO {
        return left.whole_days();
    }
    let whole = left.whole_days();
    if left > Duration::days(whole) {
        whole + 1
    } else {
        whole
    }
}

/// The expiry rule for a stored certificate (DER), parsing its start of validity only when it is
/// inside the window at all, so scans over many certificates stay cheap.
pub fn der_is_expiring(der: &[u8], not_after: OffsetDateTime, now: OffsetDateTime, window: Duration) -> bool {
    if now >= not_after || not_after - now > window {
        return false;
    }
    match crate::pki::inspect::parse(der) {
        Ok(c) => is_expiring(c.validity().not_before.to_datetime(), not_after, now, window),
        // A certificate the vault cannot parse is flagged rather than silently ignored.
        Err(_) => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_30_day_certificate_expires_only_in_its_last_third() {
        let start = OffsetDateTime::UNIX_EPOCH + Duration::days(20_000);
        let end = start + Duration::days(30);
        let w = default_window();
        assert!(!is_expiring(start, end, start + Duration::hours(1), w), "not on day one");
        assert!(!is_expiring(start, end, start + Duration::days(19), w));
        assert!(is_expiring(start, end, start + Duration::days(21), w));
        assert!(!is_expiring(start, end, end, w), "expired is not expiring");
        // A year-long certificate: the window is shorter than a third.
        let end = start + Duration::days(365);
        assert!(!is_expiring(start, end, end - Duration::days(31), w));
        assert!(is_expiring(start, end, end - Duration::days(29), w));
    }

    #[test]
    fn days_left_counts_a_started_day() {
        let now = OffsetDateTime::UNIX_EPOCH + Duration::days(20_000);
        assert_eq!(days_left(now + Duration::days(90), now), 90);
        assert_eq!(days_left(now + Duration::days(89) + Duration::hours(1), now), 90);
        assert_eq!(days_left(now + Duration::hours(1), now), 1);
        assert_eq!(days_left(now - Duration::days(2), now), -2);
    }
}
