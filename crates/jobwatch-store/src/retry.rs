//! The one retry loop of every compare-and-set writer (the engine's job commits, the
//! notification state of `jobwatch-notify`): after a lost compare-and-set, wait a short random
//! delay that grows with the attempt, so racing writers spread out instead of colliding again,
//! and give up after a bounded number of attempts.

use std::hash::BuildHasher;
use std::time::Duration;

/// Counts the attempts of one compare-and-set and spaces out the retries.
#[derive(Debug)]
pub struct ConflictRetry {
    attempt: usize,
    max_attempts: usize,
}

impl ConflictRetry {
    /// Allows `max_attempts` attempts in all (the first one included).
    pub fn new(max_attempts: usize) -> ConflictRetry {
        ConflictRetry {
            attempt: 0,
            max_attempts,
        }
    }

    /// Call after a lost compare-and-set, before reading the fresh state: waits the backoff
    /// and returns true, or returns false at once when every attempt is used up (the caller
    /// answers "too much contention").
    pub async fn after_conflict(&mut self) -> bool {
        self.attempt += 1;
        if self.attempt >= self.max_attempts {
            return false;
        }
        backoff(self.attempt - 1).await;
        true
    }
}

/// The first retry only yields (the other writer has usually finished); later ones sleep a
/// random delay under a ceiling that doubles per attempt, up to 6.4 ms.
async fn backoff(retry: usize) {
    if retry == 0 {
        tokio::task::yield_now().await;
        return;
    }
    let ceiling_us = 100u64 << retry.min(6);
    let jitter = std::collections::hash_map::RandomState::new().hash_one(retry) % ceiling_us;
    tokio::time::sleep(Duration::from_micros(jitter)).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn allows_the_given_number_of_attempts() {
        let mut retry = ConflictRetry::new(3);
        assert!(retry.after_conflict().await, "second attempt");
        assert!(retry.after_conflict().await, "third attempt");
        assert!(!retry.after_conflict().await, "no fourth attempt");
    }
}
