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
    /// `{companion}` is replaced by the companion value (Twilio's account SID).
    pub url: String,
    /// A header that carries the credential, with [`VerifierSpec::value`].
    #[serde(default)]
    pub header: Option<String>,
    /// The header's value; `{secret}` is replaced by the secret, `{companion}` by the companion.
    #[serde(default)]
    pub value: Option<String>,
    /// HTTP basic authentication: user and password templates (`{secret}`, `{companion}`).
    #[serde(default)]
    pub basic_user: Option<String>,
    #[serde(default)]
    pub basic_password: Option<String>,
    /// `aws-sigv4`: the request is signed with AWS Signature Version 4, the companion being the
    /// access key id and the secret the secret access key.
    #[serde(default)]
    pub sign: Option<String>,
    #[serde(default)]
    pub region: Option<String>,
    #[serde(default)]
    pub service: Option<String>,
    /// The request body (for `POST`), and its content type.
    #[serde(default)]
    pub body: Option<String>,
    #[serde(default)]
    pub content_type: Option<String>,
    /// What the companion is called, for the reason given when none was found near the secret.
    #[serde(default)]
    pub companion: Option<String>,
    pub live_status: Vec<u16>,
    #[serde(default)]
    pub live_body: Option<String>,
    #[serde(default)]
    pub dead_status: Vec<u16>,
    #[serde(default)]
    pub dead_body: Option<String>,
}

impl VerifierSpec {
    /// Whether the check needs the finding's companion value.
    fn needs_companion(&self) -> bool {
        self.sign.is_some()
            || [&self.value, &self.basic_user, &self.basic_password]
                .iter()
                .any(|t| t.as_deref().is_some_and(|t| t.contains("{companion}")))
            || self.url.contains("{companion}")
    }
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
    /// Headers to send (credentials, signature, content type), in order.
    pub headers: Vec<(String, String)>,
    pub body: Option<String>,
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

    /// The request that checks `finding` at time `now`, if a verifier covers its rule; an
    /// unknown [`Verification`] when the check needs a companion value (AWS's access key id,
    /// Twilio's account SID) and none was found near the secret.
    pub fn request(
        &self,
        finding: &Finding,
        now: time::OffsetDateTime,
    ) -> Option<Result<Request, Verification>> {
        let spec = self
            .specs
            .iter()
            .find(|s| s.rules.contains(&finding.rule_id))?;
        let companion = match (&finding.companion, spec.needs_companion()) {
            (Some(c), _) => c.as_str(),
            (None, false) => "",
            (None, true) => {
                return Some(Err(Verification {
                    status: VerifyStatus::Unknown,
                    provider: spec.provider.clone(),
                    reason: format!(
                        "no {} within {} lines of the secret; {} cannot check it without one",
                        spec.companion.as_deref().unwrap_or("companion value"),
                        crate::scanner::COMPANION_LINES,
                        spec.provider
                    ),
                }));
            }
        };
        let fill = |t: &str| {
            t.replace("{secret}", &finding.secret)
                .replace("{companion}", companion)
        };
        let post = spec.method.eq_ignore_ascii_case("POST");
        let url = fill(&spec.url);
        let body = spec.body.clone();
        let mut headers = Vec::new();
        if let Some(ct) = &spec.content_type {
            headers.push(("Content-Type".to_string(), ct.clone()));
        }
        if let (Some(h), Some(v)) = (&spec.header, &spec.value) {
            headers.push((h.clone(), fill(v)));
        }
        if let (Some(u), Some(p)) = (&spec.basic_user, &spec.basic_password) {
            headers.push(("Authorization".to_string(), basic_auth(&fill(u), &fill(p))));
        }
        if spec.sign.as_deref() == Some("aws-sigv4") {
            let signed = crate::sigv4::sign(&crate::sigv4::Signing {
                method: if post { "POST" } else { "GET" },
                url: &url,
                body: body.as_deref().unwrap_or("").as_bytes(),
                access_key_id: companion,
                secret_access_key: &finding.secret,
                region: spec.region.as_deref().unwrap_or("us-east-1"),
                service: spec.service.as_deref().unwrap_or("sts"),
                now,
            });
            match signed {
                Ok(h) => headers.extend(h),
                Err(e) => {
                    return Some(Err(Verification {
                        status: VerifyStatus::Unknown,
                        provider: spec.provider.clone(),
                        reason: format!("cannot sign the request to {url}: {e}"),
                    }));
                }
            }
        }
        Some(Ok(Request {
            provider: spec.provider.clone(),
            post,
            url,
            headers,
            body,
        }))
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

/// `Basic base64(user:password)`.
fn basic_auth(user: &str, password: &str) -> String {
    use base64::Engine;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
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
            let sends_secret = spec.sign.is_some()
                || [&spec.value, &spec.basic_password]
                    .iter()
                    .any(|t| t.as_deref().is_some_and(|t| t.contains("{secret}")));
            assert!(sends_secret, "{}: the secret is never sent", spec.provider);
            if spec.needs_companion() {
                let rule = rules.rules.iter().find(|x| spec.rules.contains(&x.id));
                assert!(
                    rule.is_some_and(|r| r.companion.is_some()),
                    "{}: needs a companion its rules do not find",
                    spec.provider
                );
            }
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

    fn finding(rule: &str, secret: &str, companion: Option<&str>) -> Finding {
        Finding {
            rule_id: rule.into(),
            description: String::new(),
            severity: crate::Severity::Critical,
            path: "a.env".into(),
            line: 1,
            column: 1,
            end_line: 1,
            secret: secret.into(),
            fingerprint: String::new(),
            confidence: crate::Confidence::High,
            flags: Vec::new(),
            commit: None,
            verification: None,
            companion: companion.map(String::from),
        }
    }

    /// Key pairs: AWS signs with the access key id found near the secret key, Twilio sends the
    /// account SID and the token as basic auth; without the companion the result is unknown
    /// and says what is missing.
    #[test]
    fn pairs_are_checked_with_their_companion_or_not_at_all() {
        let v = Verifiers::builtin();
        let now = time::OffsetDateTime::UNIX_EPOCH;
        let secret = "6RxrrBR7RZ53l3a/rfzk1J/o82PYnILGwQGvBSBB"; // palisade:allow (synthetic)
        let aws = v
            .request(
                &finding("aws-secret-access-key", secret, Some("AKIDEXAMPLE")),
                now,
            )
            .unwrap()
            .unwrap();
        assert!(aws.post);
        assert_eq!(aws.url, "https://sts.amazonaws.com/");
        assert_eq!(
            aws.body.as_deref(),
            Some("Action=GetCallerIdentity&Version=2011-06-15")
        );
        let auth = &aws
            .headers
            .iter()
            .find(|h| h.0 == "Authorization")
            .unwrap()
            .1;
        assert!(
            auth.starts_with("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/19700101/us-east-1/sts/"),
            "{auth}"
        );
        assert!(!auth.contains(secret));
        let missing = v
            .request(&finding("aws-secret-access-key", secret, None), now)
            .unwrap()
            .unwrap_err();
        assert_eq!(missing.status, VerifyStatus::Unknown);
        assert!(
            missing.reason.contains("no access key id"),
            "{}",
            missing.reason
        );

        let sid = format!("AC{}", "0".repeat(32));
        let tw = v
            .request(&finding("twilio-auth-token", "tok", Some(&sid)), now)
            .unwrap()
            .unwrap();
        assert_eq!(
            tw.url,
            format!("https://api.twilio.com/2010-04-01/Accounts/{sid}.json")
        );
        use base64::Engine;
        let basic = base64::engine::general_purpose::STANDARD.encode(format!("{sid}:tok"));
        assert_eq!(
            tw.headers,
            vec![("Authorization".into(), format!("Basic {basic}"))]
        );
        assert_eq!(
            v.judge("aws", 403, "InvalidClientTokenId").status,
            VerifyStatus::Unverified
        );
        assert_eq!(
            v.judge("aws", 200, "<GetCallerIdentityResult>").status,
            VerifyStatus::Verified
        );
        assert_eq!(v.judge("twilio", 401, "").status, VerifyStatus::Unverified);
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
            companion: None,
        };
        let now = time::OffsetDateTime::UNIX_EPOCH;
        assert_eq!(
            v.request(&finding, now).map(|r| r.unwrap().url),
            Some("https://api.github.com/user".to_string())
        );
        v.with_endpoint("github", "http://127.0.0.1:9/user")
            .expect("an http URL for a known provider");
        let req = v.request(&finding, now).expect("github-pat is covered");
        let req = req.unwrap();
        assert_eq!(req.url, "http://127.0.0.1:9/user");
        assert_eq!(
            req.headers,
            vec![("Authorization".to_string(), "token ghp_x".to_string())]
        );
        assert!(v.with_endpoint("github", "file:///etc/passwd").is_err());
        let err = v.with_endpoint("gihtub", "http://x").unwrap_err();
        assert!(err.contains("known: github"), "{err}");
    }
}
