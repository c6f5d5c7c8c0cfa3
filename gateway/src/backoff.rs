//! Capped exponential backoff with jitter, as a pure function of the attempt number.

use std::time::Duration;

/// The delay before reconnect attempt `attempt` (0 = first retry): `min * 2^attempt`, capped at
/// `max`, then scaled by a jitter factor in `[0.5, 1.0]` so that many gateways do not hammer a
/// restarted PBX in lockstep. `jitter` is a uniform random number in `[0, 1)`.
pub fn delay(attempt: u32, min: Duration, max: Duration, jitter: f64) -> Duration {
    let factor = 2u32.saturating_pow(attempt.min(31));
    let base = min.saturating_mul(factor).min(max);
    base.mul_f64(0.5 + 0.5 * jitter.clamp(0.0, 1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_doubles_and_caps() {
        let min = Duration::from_secs(1);
        let max = Duration::from_secs(60);
        assert_eq!(delay(0, min, max, 1.0), Duration::from_secs(1));
        assert_eq!(delay(3, min, max, 1.0), Duration::from_secs(8));
        assert_eq!(delay(10, min, max, 1.0), Duration::from_secs(60));
        assert_eq!(delay(u32::MAX, min, max, 1.0), Duration::from_secs(60));
    }

    #[test]
    fn jitter_scales_between_half_and_full() {
        let min = Duration::from_secs(4);
        let max = Duration::from_secs(60);
        assert_eq!(delay(0, min, max, 0.0), Duration::from_secs(2));
        assert_eq!(delay(0, min, max, 0.5), Duration::from_secs(3));
        assert_eq!(
            delay(0, min, max, 7.0),
            Duration::from_secs(4),
            "out-of-range jitter is clamped"
        );
    }
}
