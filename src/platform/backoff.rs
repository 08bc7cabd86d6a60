//! Delay before the next attempt (pure, so it is table-tested).
use std::time::Duration;

use cicero_jobs::Backoff;

/// Delay after failed attempt number `attempt` (1-based): `base * 2^(attempt-1)` capped at
/// `max`, then moved by up to ±`jitter` of itself. `unit` is a random number in [0, 1).
pub fn delay(b: &Backoff, attempt: i32, unit: f64) -> Duration {
    let exp = attempt.saturating_sub(1).clamp(0, 30) as u32;
    let raw = b.base_ms.saturating_mul(1u64 << exp).min(b.max_ms) as f64;
    let spread = raw * b.jitter.clamp(0.0, 1.0) * (2.0 * unit.clamp(0.0, 1.0) - 1.0);
    Duration::from_millis((raw + spread).max(0.0).round() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    const B: Backoff = Backoff {
        base_ms: 1_000,
        max_ms: 60_000,
        jitter: 0.2,
    };

    #[test]
    fn grows_then_caps_with_bounded_jitter() {
        // (attempt, unit, expected ms)
        let cases = [
            (1, 0.5, 1_000),
            (2, 0.5, 2_000),
            (3, 0.5, 4_000),
            (7, 0.5, 60_000),
            (40, 0.5, 60_000),
            (1, 0.0, 800),
            (1, 1.0, 1_200),
            (3, 0.0, 3_200),
            (0, 0.5, 1_000),
        ];
        for (attempt, unit, ms) in cases {
            assert_eq!(
                delay(&B, attempt, unit),
                Duration::from_millis(ms),
                "attempt {attempt} unit {unit}"
            );
        }
    }

    #[test]
    fn no_jitter_is_exact() {
        let b = Backoff { jitter: 0.0, ..B };
        assert_eq!(delay(&b, 2, 0.9), Duration::from_millis(2_000));
    }
}
