//! Signing in to the web UI through an OpenID Connect provider (Keycloak, Okta, Entra ID,
//! Google, Dex…): the authorization code flow with PKCE (S256), a `state` against login CSRF and
//! a `nonce` against replayed ID tokens. The ID token's signature is checked against the
//! provider's published keys (RS256/384/512, PS256/384/512, ES256/384 or EdDSA: never `none` or an
//! HMAC), and its issuer, audience, expiry and nonce are checked. The name claim must name an
//! existing Palisade user unless the configuration creates users with a role. No HTTP server
//! details here: the web edge keeps the pending sign-in in a cookie and redirects.

use crate::App;
use crate::error::{AppError, Result};
use crate::signin::SignedIn;
use base64::Engine;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use palisade_core::{AccountRole, UserName};
use serde::Deserialize;
use sha2::{Digest, Sha256};

/// The OpenID Connect provider and how its users become Palisade users (`[oidc]` in
/// `palisade.toml`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OidcConfig {
    /// The provider's issuer URL (its discovery document is `<issuer>/.well-known/openid-configuration`).
    pub issuer: String,
    pub client_id: String,
    /// For a confidential client (sent with HTTP Basic). Prefer `PALISADE_OIDC_CLIENT_SECRET`.
    #[serde(default)]
    pub client_secret: Option<String>,
    /// Palisade's public base URL as the browser sees it (`https://palisade.example.com`); the
    /// redirect URI registered with the provider is `<public_url>/login/oidc/callback`.
    pub public_url: String,
    /// The ID token claim that holds the Palisade user name (default `preferred_username`).
    #[serde(default = "default_claim")]
    pub username_claim: String,
    /// Create a user who signs in for the first time with this role; without it only existing
    /// users may sign in (an admin creates them with `palisade token password-link` or
    /// `palisade token create`).
    #[serde(default)]
    pub create_users_as: Option<AccountRole>,
    /// What the sign-in button says: "Sign in with <label>" (default "single sign-on").
    #[serde(default = "default_label")]
    pub label: String,
}

fn default_claim() -> String {
    "preferred_username".into()
}

fn default_label() -> String {
    "single sign-on".into()
}

impl OidcConfig {
    pub fn redirect_uri(&self) -> String {
        format!(
            "{}/login/oidc/callback",
            self.public_url.trim_end_matches('/')
        )
    }
}

#[derive(Debug, Deserialize)]
struct Discovery {
    issuer: String,
    authorization_endpoint: String,
    token_endpoint: String,
    jwks_uri: String,
}

#[derive(Debug, Deserialize)]
struct TokenResponse {
    id_token: Option<String>,
}

/// A sign-in begun: where to send the browser, and what to keep (in a cookie) until it returns.
#[derive(Debug, Clone)]
pub struct OidcStart {
    pub authorize_url: String,
    /// `state.nonce.verifier.next`, each part base64url: opaque to the browser.
    pub pending: String,
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn random(n: usize) -> Result<String> {
    let mut bytes = vec![0u8; n];
    getrandom::fill(&mut bytes)
        .map_err(|e| AppError::internal("the random number generator failed", e))?;
    Ok(b64(&bytes))
}

/// Refused, with a reason safe to show; the details go to the log.
fn refused(why: &str, detail: impl std::fmt::Display) -> AppError {
    tracing::warn!(error = %detail, "single sign-on refused: {why}");
    AppError::Unauthenticated(format!("single sign-on did not complete: {why}; try again"))
}

const ALGORITHMS: &[Algorithm] = &[
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

impl App {
    /// The sign-in button's label, when single sign-on is configured.
    pub fn oidc_label(&self) -> Option<&str> {
        self.inner.oidc.as_ref().map(|c| c.label.as_str())
    }

    fn oidc(&self) -> Result<&OidcConfig> {
        self.inner.oidc.as_ref().ok_or_else(|| {
            AppError::NotFound(
                "single sign-on is not configured on this server ([oidc] in palisade.toml)".into(),
            )
        })
    }

    async fn discover(&self, cfg: &OidcConfig) -> Result<Discovery> {
        let url = format!(
            "{}/.well-known/openid-configuration",
            cfg.issuer.trim_end_matches('/')
        );
        let d: Discovery = self
            .inner
            .http
            .get(&url)
            .send()
            .await
            .and_then(|r| r.error_for_status())
            .map_err(|e| refused("the provider could not be reached", e))?
            .json()
            .await
            .map_err(|e| refused("the provider's discovery document is not valid", e))?;
        if d.issuer.trim_end_matches('/') != cfg.issuer.trim_end_matches('/') {
            return Err(refused(
                "the provider names another issuer than the one configured",
                &d.issuer,
            ));
        }
        Ok(d)
    }

    /// Begin signing in: the provider's authorization URL (with PKCE, state and nonce) and the
    /// pending sign-in to keep until the browser comes back. `next` is where to go afterwards.
    pub async fn oidc_begin(&self, next: &str) -> Result<OidcStart> {
        let cfg = self.oidc()?;
        let d = self.discover(cfg).await?;
        let (state, nonce, verifier) = (random(16)?, random(16)?, random(32)?);
        let challenge = b64(&Sha256::digest(verifier.as_bytes()));
        let mut url = reqwest::Url::parse(&d.authorization_endpoint)
            .map_err(|e| refused("the provider's authorization endpoint is not a URL", e))?;
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", &cfg.client_id)
            .append_pair("redirect_uri", &cfg.redirect_uri())
            .append_pair("scope", "openid profile email")
            .append_pair("state", &state)
            .append_pair("nonce", &nonce)
            .append_pair("code_challenge", &challenge)
            .append_pair("code_challenge_method", "S256");
        Ok(OidcStart {
            authorize_url: url.to_string(),
            pending: format!("{state}.{nonce}.{verifier}.{}", b64(next.as_bytes())),
        })
    }

    /// Finish signing in: the provider sent the browser back with `code` and `state`; `pending`
    /// is what [`App::oidc_begin`] gave. A web session for the user the ID token names, and
    /// where to go next.
    pub async fn oidc_finish(
        &self,
        code: &str,
        state: &str,
        pending: &str,
        user_agent: &str,
    ) -> Result<(SignedIn, String)> {
        let cfg = self.oidc()?;
        let parts: Vec<&str> = pending.split('.').collect();
        let [want_state, nonce, verifier, next] = parts[..] else {
            return Err(refused(
                "the sign-in was not begun in this browser",
                "no pending sign-in",
            ));
        };
        if want_state.is_empty() || !crate::signin::same_secret(want_state, state) {
            return Err(refused(
                "the sign-in was not begun in this browser",
                "state mismatch",
            ));
        }
        let next = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(next)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .unwrap_or_else(|| "/incidents".into());
        let d = self.discover(cfg).await?;
        let mut req = self.inner.http.post(&d.token_endpoint).form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", &cfg.redirect_uri()),
            ("client_id", &cfg.client_id),
            ("code_verifier", verifier),
        ]);
        if let Some(secret) = &cfg.client_secret {
            req = req.basic_auth(&cfg.client_id, Some(secret));
        }
        let tokens: TokenResponse = req
            .send()
            .await
            .and_then(|r| r.error_for_status())
            .map_err(|e| refused("the provider did not accept the sign-in code", e))?
            .json()
            .await
            .map_err(|e| refused("the provider's token answer is not valid", e))?;
        let id_token = tokens
            .id_token
            .ok_or_else(|| refused("the provider sent no ID token", "no id_token"))?;
        let header = jsonwebtoken::decode_header(&id_token)
            .map_err(|e| refused("the ID token is malformed", e))?;
        if !ALGORITHMS.contains(&header.alg) {
            return Err(refused(
                "the ID token is signed with an algorithm Palisade does not accept",
                format!("{:?}", header.alg),
            ));
        }
        let jwks: JwkSet = self
            .inner
            .http
            .get(&d.jwks_uri)
            .send()
            .await
            .and_then(|r| r.error_for_status())
            .map_err(|e| refused("the provider's signing keys could not be read", e))?
            .json()
            .await
            .map_err(|e| refused("the provider's signing keys are not valid", e))?;
        let jwk = match &header.kid {
            Some(kid) => jwks.find(kid),
            None if jwks.keys.len() == 1 => jwks.keys.first(),
            None => None,
        }
        .ok_or_else(|| {
            refused(
                "the ID token is signed with a key the provider does not publish",
                "unknown kid",
            )
        })?;
        let key = DecodingKey::from_jwk(jwk)
            .map_err(|e| refused("the provider's signing key is not usable", e))?;
        let mut validation = Validation::new(header.alg);
        validation.set_issuer(&[d.issuer.as_str()]);
        validation.set_audience(&[cfg.client_id.as_str()]);
        validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
        validation.leeway = 60;
        let claims = jsonwebtoken::decode::<serde_json::Value>(&id_token, &key, &validation)
            .map_err(|e| refused("the ID token did not verify", e))?
            .claims;
        if claims.get("nonce").and_then(|n| n.as_str()) != Some(nonce) {
            return Err(refused(
                "the ID token was not issued for this sign-in",
                "nonce mismatch",
            ));
        }
        let name = claims
            .get(&cfg.username_claim)
            .and_then(|v| v.as_str())
            .ok_or_else(|| {
                AppError::Unauthenticated(format!(
                    "the provider's ID token has no `{}` claim to name a Palisade user; set `username_claim` in [oidc]",
                    cfg.username_claim
                ))
            })?;
        let user = UserName::parse(name).map_err(|e| {
            AppError::Unauthenticated(format!(
                "the provider names the user {name:?}, which is not a valid Palisade user name ({e})"
            ))
        })?;
        if self.inner.store.user(&user).await?.is_none() {
            match cfg.create_users_as {
                Some(role) => match self.inner.store.create_user(&user, role).await {
                    Ok(_) | Err(palisade_store::StoreError::AlreadyExists(_)) => {}
                    Err(e) => return Err(e.into()),
                },
                None => {
                    return Err(AppError::Unauthenticated(format!(
                        "there is no Palisade user {user}; an admin creates one (`palisade token password-link --user {user} --role responder`)"
                    )));
                }
            }
        }
        let signed = self.open_web_session(user, "oidc", user_agent).await?;
        Ok((signed, next))
    }
}
