//! Live verification as data: which request checks a finding, and what its answer means.
//!
//! I/O-free: [`Verifiers::request`] builds the request for a finding and [`Verifiers::judge`]
//! reads the answer; the binary sends the request (`--verify`). The verifiers are data
//! (`rules/verifiers.toml`), and every endpoint can be replaced (`with_endpoint`), so tests run
//! against local mock servers and never against a provider.

use crate::scanner::Finding;
use serde::{Deserialize, Serialize};

const BUILTIN: &str = include_str!("../rules/verifiers.toml");

/// One provider's check.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerifierSpec {
    pub provider: String,
    /// Rule ids whose findings this check applies to.
    pub rules: Vec<String>,
    /// `GET` or `POST`.
    pub method: String,
    pub url: String,
    pub header: String,
    /// The header's value; `{secret}` is replaced by the secret.
    pub value: String,
    pub live_status: Vec<u16>,
    #[serde(default)]
    pub live_body: Option<String>,
    #[serde(default)]
    pub dead_status: Vec<u16>,
    #[serde(default)]
    pub dead_body: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    verifier: Vec<VerifierSpec>,
}

/// The request that checks one secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub provider: String,
    pub post: bool,
    pub url: String,
    pub header: String,
    pub value: String,
}

/// What a check found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum VerifyStatus {
    /// The provider accepted the credential: it is live.
    Verified,
    /// The provider refused it (revoked, expired or never valid).
    Unverified,
    /// The check could not tell (network error, an answer it does not know).
    Unknown,
}

impl VerifyStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            VerifyStatus::Verified => "verified",
            VerifyStatus::Unverified => "unverified",
            VerifyStatus::Unknown => "unknown",
        }
    }
}

/// The result of a check, with the reason a person can read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verification {
    pub status: VerifyStatus,
    pub provider: String,
    pub reason: String,
}

/// The verifiers in use.
#[derive(Debug, Clone)]
pub struct Verifiers {
    specs: Vec<VerifierSpec>,
}

impl Verifiers {
    /// The built-in verifiers (`rules/verifiers.toml`).
    pub fn builtin() -> Verifiers {
        let file: File = toml::from_str(BUILTIN).expect("the built-in verifiers parse");
        Verifiers {
            specs: file.verifier,
        }
    }

    /// The providers known, in file order.
    pub fn providers(&self) -> Vec<&str> {
        self.specs.iter().map(|s| s.provider.as_str()).collect()
    }

    /// Send `provider`'s checks to `url` instead of its public endpoint.
    pub fn with_endpoint(&mut self, provider: &str, url: &str) -> Result<(), String> {
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(format!(
                "endpoint for {provider} must be an http:// or https:// URL, not {url:?}"
            ));
        }
        match self.specs.iter_mut().find(|s| s.provider == provider) {
            Some(s) => {
                s.url = url.to_string();
                Ok(())
            }
            None => Err(format!(
                "no verifier for provider {provider:?} (known: {})",
                self.providers().join(", ")
            )),
        }
    }

    /// The request that checks `finding`, if a verifier covers its rule.
    pub fn request(&self, finding: &Finding) -> Option<Request> {
        let spec = self
            .specs
            .iter()
            .find(|s| s.rules.contains(&finding.rule_id))?;
        Some(Request {
            provider: spec.provider.clone(),
            post: spec.method.eq_ignore_ascii_case("POST"),
            url: spec.url.clone(),
            header: spec.header.clone(),
            value: spec.value.replace("{secret}", &finding.secret),
        })
    }

    /// What `provider`'s answer (status and body) means.
    pub fn judge(&self, provider: &str, status: u16, body: &str) -> Verification {
        let v = |status, reason: String| Verification {
            status,
            provider: provider.to_string(),
            reason,
        };
        let Some(spec) = self.specs.iter().find(|s| s.provider == provider) else {
            return v(VerifyStatus::Unknown, format!("no verifier for {provider}"));
        };
        let dead = spec.dead_status.contains(&status)
            || spec.dead_body.as_deref().is_some_and(|b| body.contains(b));
        if dead {
            return v(
                VerifyStatus::Unverified,
                format!("{provider} refused the credential (HTTP {status})"),
            );
        }
        let live = spec.live_status.contains(&status)
            && spec.live_body.as_deref().is_none_or(|b| body.contains(b));
        if live {
            return v(
                VerifyStatus::Verified,
                format!("{provider} accepted the credential (HTTP {status}): it is live"),
            );
        }
        v(
            VerifyStatus::Unknown,
            format!("{provider} answered HTTP {status}, which does not say whether it is live"),
        )
    }

    /// The result for a check whose request failed before an answer came.
    pub fn unreachable(provider: &str, error: &str) -> Verification {
        Verification {
            status: VerifyStatus::Unknown,
            provider: provider.to_string(),
            reason: format!("could not reach {provider}: {error}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_verifier_names_rules_that_exist() {
        let rules = crate::RuleSet::builtin();
        for spec in Verifiers::builtin().specs {
            assert!(!spec.rules.is_empty(), "{}", spec.provider);
            for r in &spec.rules {
                assert!(
                    rules.rules.iter().any(|x| x.id == *r),
                    "{}: no rule {r}",
                    spec.provider
                );
            }
            assert!(spec.url.starts_with("https://"), "{}", spec.provider);
            assert!(spec.value.contains("{secret}"), "{}", spec.provider);
        }
    }

    #[test]
    fn answers_are_judged_by_status_and_body() {
        let v = Verifiers::builtin();
        assert_eq!(v.judge("github", 200, "{}").status, VerifyStatus::Verified);
        assert_eq!(v.judge("github", 401, "").status, VerifyStatus::Unverified);
        assert_eq!(v.judge("github", 503, "").status, VerifyStatus::Unknown);
        // Slack answers 200 both ways.
        assert_eq!(
            v.judge("slack", 200, r#"{"ok":true,"user":"x"}"#).status,
            VerifyStatus::Verified
        );
        assert_eq!(
            v.judge("slack", 200, r#"{"ok":false,"error":"invalid_auth"}"#)
                .status,
            VerifyStatus::Unverified
        );
        assert_eq!(v.judge("nobody", 200, "").status, VerifyStatus::Unknown);
    }

    #[test]
    fn endpoints_can_be_replaced_but_only_with_http_urls_of_known_providers() {
        let mut v = Verifiers::builtin();
        let finding = Finding {
            rule_id: "github-pat".into(),
            description: String::new(),
            severity: crate::Severity::Critical,
            path: "a.env".into(),
            line: 1,
            column: 1,
            end_line: 1,
            secret: "ghp_x".into(),
            fingerprint: String::new(),
            confidence: crate::Confidence::High,
            flags: Vec::new(),
            commit: None,
            verification: None,
        };
        assert_eq!(
            v.request(&finding).map(|r| r.url),
            Some("https://api.github.com/user".to_string())
        );
        v.with_endpoint("github", "http://127.0.0.1:9/user")
            .expect("an http URL for a known provider");
        let req = v.request(&finding).expect("github-pat is covered");
        assert_eq!(req.url, "http://127.0.0.1:9/user");
        assert_eq!(
            (req.header.as_str(), req.value.as_str()),
            ("Authorization", "token ghp_x")
        );
        assert!(v.with_endpoint("github", "file:///etc/passwd").is_err());
        let err = v.with_endpoint("gihtub", "http://x").unwrap_err();
        assert!(err.contains("known: github"), "{err}");
    }
}
