//! Seeded, reproducible fault injection. Every Genesys request draws the same three numbers from
//! one seeded generator, so a fixed seed and config give the same fault sequence on every run.
//! Scripted faults ("the next N requests to P answer S") are checked first and draw nothing extra.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

/// Probabilities per request (each in `[0, 1]`; the exclusive outcomes together at most 1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct FaultRates {
    pub status_500: f64,
    pub status_502: f64,
    pub status_503: f64,
    pub status_504: f64,
    /// Drop the connection without a response.
    pub connection_reset: f64,
    /// Declare the full Content-Length, send half the body, close.
    pub truncated_body: f64,
    /// A daily-limit style 429 with `Retry-After: long_retry_after_secs`.
    pub long_retry_after_429: f64,
    pub long_retry_after_secs: u64,
    /// Delay the reply by `slow_delay_ms` (independent of the outcomes above).
    pub slow: f64,
    pub slow_delay_ms: u64,
    /// Revoke every live token before handling the request.
    pub revoke_tokens: f64,
    /// Also revoke every live token each this many seconds (real time).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revoke_tokens_every_secs: Option<u64>,
}

impl Default for FaultRates {
    fn default() -> Self {
        Self {
            status_500: 0.0,
            status_502: 0.0,
            status_503: 0.0,
            status_504: 0.0,
            connection_reset: 0.0,
            truncated_body: 0.0,
            long_retry_after_429: 0.0,
            long_retry_after_secs: 3_600,
            slow: 0.0,
            slow_delay_ms: 2_000,
            revoke_tokens: 0.0,
            revoke_tokens_every_secs: None,
        }
    }
}

impl FaultRates {
    /// Spreads one 5xx rate evenly over 500, 502, 503 and 504.
    pub fn with_5xx_rate(mut self, rate: f64) -> Self {
        let each = rate / 4.0;
        (
            self.status_500,
            self.status_502,
            self.status_503,
            self.status_504,
        ) = (each, each, each, each);
        self
    }

    fn exclusive(&self) -> [(f64, Outcome); 7] {
        [
            (self.status_500, Outcome::Status(500)),
            (self.status_502, Outcome::Status(502)),
            (self.status_503, Outcome::Status(503)),
            (self.status_504, Outcome::Status(504)),
            (self.connection_reset, Outcome::Reset),
            (self.truncated_body, Outcome::Truncate),
            (self.long_retry_after_429, Outcome::Status(429)),
        ]
    }

    pub fn validate(&self) -> Result<(), String> {
        let named = [
            ("status500", self.status_500),
            ("status502", self.status_502),
            ("status503", self.status_503),
            ("status504", self.status_504),
            ("connectionReset", self.connection_reset),
            ("truncatedBody", self.truncated_body),
            ("longRetryAfter429", self.long_retry_after_429),
            ("slow", self.slow),
            ("revokeTokens", self.revoke_tokens),
        ];
        if let Some((name, value)) = named.iter().find(|(_, v)| !(0.0..=1.0).contains(v)) {
            return Err(format!(
                "fault rate `{name}` is {value}; rates are probabilities in [0, 1]"
            ));
        }
        let total: f64 = self.exclusive().iter().map(|(p, _)| p).sum();
        if total > 1.0 + 1e-9 {
            return Err(format!(
                "the 5xx, reset, truncation and long-429 rates add up to {total}; at most 1"
            ));
        }
        if self.revoke_tokens_every_secs == Some(0) {
            return Err("revokeTokensEverySecs must be at least 1".into());
        }
        Ok(())
    }
}

/// "The next `count` requests to `path` answer `status`" (or suffer `effect` instead); a
/// trailing `*` in `path` matches a prefix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ScriptedFault {
    pub path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effect: Option<ScriptedEffect>,
    pub count: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_secs: Option<u64>,
}

/// A scripted fault that is not an error status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ScriptedEffect {
    /// Drop the connection without a response.
    Reset,
    /// Send half the body under the full Content-Length.
    Truncate,
    /// Revoke every live token before handling the request (which then gets its 401).
    RevokeTokens,
}

impl ScriptedFault {
    pub fn status(path: &str, status: u16, count: u32) -> Self {
        Self {
            path: path.to_string(),
            status: Some(status),
            effect: None,
            count,
            retry_after_secs: None,
        }
    }

    fn validate(&self) -> Result<(), String> {
        match (self.status, self.effect) {
            (Some(status), None) if (100..=599).contains(&status) => Ok(()),
            (Some(status), None) => Err(format!(
                "scripted fault for `{}` has status {status}, not an HTTP status",
                self.path
            )),
            (None, Some(_)) => Ok(()),
            _ => Err(format!(
                "scripted fault for `{}` needs exactly one of `status` and `effect`",
                self.path
            )),
        }
    }

    /// The fault to serve; `None` for a token revocation, which is no fault of the reply.
    fn fault(&self) -> Option<Fault> {
        Some(match (self.effect, self.status) {
            (Some(ScriptedEffect::Reset), _) => Fault::Reset,
            (Some(ScriptedEffect::Truncate), _) => Fault::Truncate,
            (Some(ScriptedEffect::RevokeTokens), _) => return None,
            (None, status) => {
                let status = status.unwrap_or(500);
                let retry_after_secs = self.retry_after_secs.or((status == 429).then_some(1));
                Fault::Status {
                    status,
                    retry_after_secs,
                    scripted: true,
                }
            }
        })
    }

    fn matches(&self, path: &str) -> bool {
        match self.path.strip_suffix('*') {
            Some(prefix) => path.starts_with(prefix),
            None => path == self.path,
        }
    }
}

/// The whole fault configuration, as the admin API reads and writes it.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct FaultConfig {
    pub rates: FaultRates,
    pub scripted: Vec<ScriptedFault>,
}

impl FaultConfig {
    pub fn validate(&self) -> Result<(), String> {
        self.rates.validate()?;
        self.scripted.iter().try_for_each(ScriptedFault::validate)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Status(u16),
    Reset,
    Truncate,
}

/// What to do to one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    Status {
        status: u16,
        retry_after_secs: Option<u64>,
        scripted: bool,
    },
    Reset,
    Truncate,
}

impl Fault {
    pub fn kind(&self) -> &'static str {
        match self {
            Fault::Status { scripted: true, .. } => "scripted_status",
            Fault::Status { status: 429, .. } => "long_retry_after_429",
            Fault::Status { .. } => "status",
            Fault::Reset => "connection_reset",
            Fault::Truncate => "truncated_body",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Decision {
    pub fault: Option<Fault>,
    pub delay: Option<Duration>,
    pub revoke_tokens: bool,
}

#[derive(Debug)]
pub struct FaultInjector {
    inner: Mutex<Inner>,
}

#[derive(Debug)]
struct Inner {
    config: FaultConfig,
    rng: fastrand::Rng,
    last_periodic_revoke: Instant,
}

impl FaultInjector {
    pub fn new(seed: u64, config: FaultConfig) -> Self {
        let inner = Inner {
            config,
            rng: fastrand::Rng::with_seed(seed),
            last_periodic_revoke: Instant::now(),
        };
        Self {
            inner: Mutex::new(inner),
        }
    }

    pub fn config(&self) -> FaultConfig {
        self.lock().config.clone()
    }

    /// Replaces the configuration; `reseed` restarts the random sequence.
    pub fn set_config(&self, config: FaultConfig, reseed: Option<u64>) {
        let mut inner = self.lock();
        inner.config = config;
        inner.last_periodic_revoke = Instant::now();
        if let Some(seed) = reseed {
            inner.rng = fastrand::Rng::with_seed(seed);
        }
    }

    pub fn decide(&self, path: &str, now: Instant) -> Decision {
        let mut inner = self.lock();
        let draws = [inner.rng.f64(), inner.rng.f64(), inner.rng.f64()];
        let rates = inner.config.rates.clone();
        let periodic = rates.revoke_tokens_every_secs.is_some_and(|secs| {
            now.duration_since(inner.last_periodic_revoke) >= Duration::from_secs(secs)
        });
        if periodic {
            inner.last_periodic_revoke = now;
        }
        let (fault, scripted_revoke) = match inner.take_scripted(path) {
            Some(Some(fault)) => (Some(fault), false),
            Some(None) => (None, true),
            None => (random_fault(&rates, draws[0]), false),
        };
        Decision {
            fault,
            delay: (draws[1] < rates.slow).then(|| Duration::from_millis(rates.slow_delay_ms)),
            revoke_tokens: scripted_revoke || periodic || draws[2] < rates.revoke_tokens,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Inner {
    /// The next scripted fault for `path` (`Some(None)`: a scripted token revocation).
    fn take_scripted(&mut self, path: &str) -> Option<Option<Fault>> {
        let index = self
            .config
            .scripted
            .iter()
            .position(|s| s.count > 0 && s.matches(path))?;
        let script = &mut self.config.scripted[index];
        script.count -= 1;
        let fault = script.fault();
        if script.count == 0 {
            self.config.scripted.remove(index);
        }
        Some(fault)
    }
}

fn random_fault(rates: &FaultRates, draw: f64) -> Option<Fault> {
    let mut cumulative = 0.0;
    for (p, outcome) in rates.exclusive() {
        cumulative += p;
        if draw < cumulative {
            return Some(match outcome {
                Outcome::Status(429) => Fault::Status {
                    status: 429,
                    retry_after_secs: Some(rates.long_retry_after_secs),
                    scripted: false,
                },
                Outcome::Status(status) => Fault::Status {
                    status,
                    retry_after_secs: None,
                    scripted: false,
                },
                Outcome::Reset => Fault::Reset,
                Outcome::Truncate => Fault::Truncate,
            });
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sequence(seed: u64, rates: FaultRates, n: usize) -> Vec<Option<Fault>> {
        let injector = FaultInjector::new(
            seed,
            FaultConfig {
                rates,
                scripted: Vec::new(),
            },
        );
        (0..n)
            .map(|_| injector.decide("/x", Instant::now()).fault)
            .collect()
    }

    #[test]
    fn scripted_faults_hit_exactly_n_matching_requests() {
        let scripted = vec![ScriptedFault::status("/a*", 503, 2)];
        let injector = FaultInjector::new(
            1,
            FaultConfig {
                rates: FaultRates::default(),
                scripted,
            },
        );
        let now = Instant::now();
        assert_eq!(injector.decide("/b", now).fault, None);
        assert!(matches!(
            injector.decide("/a/1", now).fault,
            Some(Fault::Status { status: 503, .. })
        ));
        assert!(matches!(
            injector.decide("/a", now).fault,
            Some(Fault::Status { status: 503, .. })
        ));
        assert_eq!(injector.decide("/a", now).fault, None);
        assert!(injector.config().scripted.is_empty());
    }

    #[test]
    fn a_scripted_revocation_revokes_and_serves_no_fault() {
        let revoke = ScriptedFault {
            effect: Some(ScriptedEffect::RevokeTokens),
            status: None,
            ..ScriptedFault::status("/a", 0, 1)
        };
        assert!(revoke.validate().is_ok());
        let injector = FaultInjector::new(
            1,
            FaultConfig {
                rates: FaultRates::default(),
                scripted: vec![revoke],
            },
        );
        let now = Instant::now();
        let first = injector.decide("/a", now);
        assert_eq!((first.fault, first.revoke_tokens), (None, true));
        assert!(!injector.decide("/a", now).revoke_tokens);
    }

    #[test]
    fn rates_out_of_range_are_refused() {
        assert!(
            FaultRates {
                status_500: 1.5,
                ..FaultRates::default()
            }
            .validate()
            .is_err()
        );
        assert!(FaultRates::default().with_5xx_rate(0.8).validate().is_ok());
        assert!(
            FaultRates {
                connection_reset: 0.6,
                truncated_body: 0.6,
                ..FaultRates::default()
            }
            .validate()
            .is_err()
        );
    }

    proptest! {
        #[test]
        fn same_seed_same_sequence(seed in any::<u64>(), rate in 0.0f64..1.0) {
            let rates = FaultRates::default().with_5xx_rate(rate);
            prop_assert_eq!(sequence(seed, rates.clone(), 64), sequence(seed, rates, 64));
        }

        #[test]
        fn observed_rate_follows_config(seed in any::<u64>()) {
            let faults = sequence(seed, FaultRates::default().with_5xx_rate(0.5), 2_000);
            let hits = faults.iter().filter(|f| f.is_some()).count();
            prop_assert!((800..1_200).contains(&hits), "{hits} faults in 2000 at rate 0.5");
        }
    }
}
