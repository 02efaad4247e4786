//! A growing delay after wrong passphrases, so guessing at the unlock screen gets slow fast.

use std::time::{Duration, Instant};

/// Counts consecutive failed unlocks and says how long the next attempt must wait.
#[derive(Debug, Default)]
pub struct Throttle {
    failures: u32,
    not_before: Option<Instant>,
}

/// The first miss is free (typos happen); after that the wait doubles from one second, up to a minute.
fn delay_after(failures: u32) -> Duration {
    match failures {
        0 | 1 => Duration::ZERO,
        n => Duration::from_secs((1u64 << (n - 2).min(6)).min(60)),
    }
}

impl Throttle {
    /// How long until the next attempt is allowed (zero when it is allowed now).
    pub fn wait(&self, now: Instant) -> Duration {
        self.not_before.map_or(Duration::ZERO, |t| t.saturating_duration_since(now))
    }

    /// Records a wrong passphrase.
    pub fn failed(&mut self, now: Instant) {
        self.failures = self.failures.saturating_add(1);
        self.not_before = Some(now + delay_after(self.failures));
    }

    /// Forgets the failures after a successful unlock.
    pub fn succeeded(&mut self) {
        *self = Throttle::default();
    }

    /// Consecutive failures so far.
    pub fn failures(&self) -> u32 {
        self.failures
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delay_grows_then_resets() {
        let now = Instant::now();
        let mut t = Throttle::default();
        t.failed(now);
        assert_eq!(t.wait(now), Duration::ZERO);
        t.failed(now);
        assert_eq!(t.wait(now), Duration::from_secs(1));
        t.failed(now);
        assert_eq!(t.wait(now), Duration::from_secs(2));
        for _ in 0..20 {
            t.failed(now);
        }
        assert_eq!(t.wait(now), Duration::from_secs(60));
        assert_eq!(t.wait(now + Duration::from_secs(61)), Duration::ZERO);
        t.succeeded();
        assert_eq!(t.failures(), 0);
        assert_eq!(t.wait(now), Duration::ZERO);
    }
}
