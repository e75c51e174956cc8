//! Single sign-on through an OpenID Connect provider, against a local provider served by the test
//! (discovery, published keys, the authorization endpoint, the token endpoint checking PKCE and
//! handing out each code once) that signs its ID tokens with ES256. What a user depends on:
//! signing in works; anything off about the token (signature, audience, nonce, expiry, an
//! unsigned token), a replayed code, a sign-in begun elsewhere, and unknown users are refused
//! with a reason, and none of them opens a session.

use axum::extract::{Form, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use palisade_app::oidc::OidcConfig;
use palisade_core::AccountRole;
use palisade_test_support::TestServer;
use reqwest::StatusCode;
use reqwest::header::{LOCATION, SET_COOKIE};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

#[derive(Clone, Copy, PartialEq, Debug)]
enum Tamper {
    None,
    OtherAudience,
    OtherNonce,
    Expired,
    OtherKey,
    Unsigned,
    OtherIssuer,
}

struct Pending {
    challenge: String,
    nonce: String,
    redirect_uri: String,
}

struct ProviderState {
    url: String,
    key: EncodingKey,
    other_key: EncodingKey,
    jwk: Value,
    codes: HashMap<String, Pending>,
    user: String,
    tamper: Tamper,
}

#[derive(Clone)]
struct Provider(Arc<Mutex<ProviderState>>);

fn b64(b: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

fn p256() -> (EncodingKey, Value) {
    let kp = rcgen::KeyPair::generate().unwrap();
    let raw = kp.public_key_raw();
    assert_eq!(raw.len(), 65, "an uncompressed P-256 point");
    let key = EncodingKey::from_ec_der(&kp.serialize_der());
    let jwk = json!({"kty": "EC", "crv": "P-256", "x": b64(&raw[1..33]), "y": b64(&raw[33..]), "kid": "k1", "alg": "ES256", "use": "sig"});
    (key, jwk)
}

impl Provider {
    async fn start() -> Provider {
        let (key, jwk) = p256();
        let (other_key, _) = p256();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let p = Provider(Arc::new(Mutex::new(ProviderState {
            url,
            key,
            other_key,
            jwk,
            codes: HashMap::new(),
            user: "dana".into(),
            tamper: Tamper::None,
        })));
        let app = Router::new()
            .route("/.well-known/openid-configuration", get(discovery))
            .route("/jwks", get(jwks))
            .route("/authorize", get(authorize))
            .route("/token", post(token))
            .with_state(p.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        p
    }
    fn url(&self) -> String {
        self.0.lock().unwrap().url.clone()
    }
    fn set(&self, user: &str, tamper: Tamper) {
        let mut s = self.0.lock().unwrap();
        s.user = user.into();
        s.tamper = tamper;
    }
}

async fn discovery(State(p): State<Provider>) -> Json<Value> {
    let url = p.url();
    Json(json!({
        "issuer": url,
        "authorization_endpoint": format!("{url}/authorize"),
        "token_endpoint": format!("{url}/token"),
        "jwks_uri": format!("{url}/jwks"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["ES256"],
    }))
}

async fn jwks(State(p): State<Provider>) -> Json<Value> {
    Json(json!({"keys": [p.0.lock().unwrap().jwk.clone()]}))
}

async fn authorize(
    State(p): State<Provider>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    assert_eq!(q["response_type"], "code");
    assert_eq!(q["client_id"], "palisade");
    assert_eq!(q["code_challenge_method"], "S256");
    assert!(q["scope"].split(' ').any(|s| s == "openid"));
    let code = b64(uuid::Uuid::new_v4().as_bytes());
    p.0.lock().unwrap().codes.insert(
        code.clone(),
        Pending {
            challenge: q["code_challenge"].clone(),
            nonce: q["nonce"].clone(),
            redirect_uri: q["redirect_uri"].clone(),
        },
    );
    let to = format!("{}?code={code}&state={}", q["redirect_uri"], q["state"]);
    Redirect::to(&to).into_response()
}

async fn token(
    State(p): State<Provider>,
    headers: axum::http::HeaderMap,
    Form(f): Form<HashMap<String, String>>,
) -> Response {
    let mut s = p.0.lock().unwrap();
    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("palisade:s3cret")
    );
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(basic.as_str()) {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"error": "invalid_client"})),
        )
            .into_response();
    }
    // Each code once.
    let Some(pending) = s.codes.remove(&f["code"]) else {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": "invalid_grant"})),
        )
            .into_response();
    };
    let challenge = b64(&Sha256::digest(f["code_verifier"].as_bytes()));
    if challenge != pending.challenge || f["redirect_uri"] != pending.redirect_uri {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": "invalid_grant"})),
        )
            .into_response();
    }
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let mut claims = json!({
        "iss": s.url, "aud": "palisade", "sub": format!("id-{}", s.user),
        "preferred_username": s.user, "nonce": pending.nonce, "iat": now, "exp": now + 300,
    });
    match s.tamper {
        Tamper::OtherAudience => claims["aud"] = json!("someone-else"),
        Tamper::OtherNonce => claims["nonce"] = json!("replayed"),
        Tamper::Expired => {
            claims["iat"] = json!(now - 7200);
            claims["exp"] = json!(now - 3600);
        }
        Tamper::OtherIssuer => claims["iss"] = json!("https://evil.example"),
        _ => {}
    }
    let mut header = Header::new(Algorithm::ES256);
    header.kid = Some("k1".into());
    let id_token = match s.tamper {
        Tamper::OtherKey => jsonwebtoken::encode(&header, &claims, &s.other_key).unwrap(),
        Tamper::Unsigned => format!(
            "{}.{}.",
            b64(br#"{"alg":"none","typ":"JWT"}"#),
            b64(claims.to_string().as_bytes())
        ),
        _ => jsonwebtoken::encode(&header, &claims, &s.key).unwrap(),
    };
    s.tamper = Tamper::None;
    Json(json!({"access_token": "at", "token_type": "Bearer", "id_token": id_token}))
        .into_response()
}

fn config(provider: &Provider, create: Option<AccountRole>) -> OidcConfig {
    OidcConfig {
        issuer: provider.url(),
        client_id: "palisade".into(),
        client_secret: Some("s3cret".into()),
        public_url: "http://palisade.test".into(),
        username_claim: "preferred_username".into(),
        create_users_as: create,
        label: "Test IdP".into(),
    }
}

/// The browser: no automatic redirects, cookies by name.
struct Browser {
    http: reqwest::Client,
    cookies: HashMap<String, String>,
}

impl Browser {
    fn new() -> Browser {
        Browser {
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            cookies: HashMap::new(),
        }
    }
    async fn get(&mut self, url: &str) -> (StatusCode, String, String) {
        let cookie = self
            .cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        let r = self
            .http
            .get(url)
            .header("cookie", cookie)
            .send()
            .await
            .unwrap();
        for set in r.headers().get_all(SET_COOKIE) {
            let (kv, _) = set.to_str().unwrap().split_once(';').unwrap();
            let (k, v) = kv.split_once('=').unwrap();
            if v.is_empty() {
                self.cookies.remove(k);
            } else {
                self.cookies.insert(k.into(), v.into());
            }
        }
        let location = r
            .headers()
            .get(LOCATION)
            .map(|l| l.to_str().unwrap().to_string())
            .unwrap_or_default();
        (r.status(), location, r.text().await.unwrap())
    }

    /// From Palisade to the provider and back: the callback's answer.
    async fn sign_in(&mut self, s: &TestServer) -> (StatusCode, String) {
        let (status, to_provider, _) = self
            .get(&format!("{}/login/oidc?next=%2Fincidents", s.url))
            .await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        assert!(self.cookies.contains_key("palisade_oidc"));
        let (status, back, _) = self.get(&to_provider).await;
        assert_eq!(status, StatusCode::SEE_OTHER);
        let callback = back
            .strip_prefix("http://palisade.test")
            .expect("the registered redirect URI");
        let (status, _, text) = self.get(&format!("{}{callback}", s.url)).await;
        (status, text)
    }
}

#[tokio::test]
async fn a_user_signs_in_through_the_provider_with_pkce_state_and_nonce() {
    let provider = Provider::start().await;
    let s = TestServer::spawn_with(|c| c.oidc = Some(config(&provider, None))).await;
    s.token("dana", "responder").await;
    let mut b = Browser::new();
    let (_, _, login) = b.get(&format!("{}/login", s.url)).await;
    assert!(login.contains("Sign in with Test IdP"));

    let (status, to_provider, _) = b
        .get(&format!(
            "{}/login/oidc?next=%2Fincidents%3Fmine%3D1",
            s.url
        ))
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let url = reqwest::Url::parse(&to_provider).unwrap();
    let q: HashMap<_, _> = url.query_pairs().into_owned().collect();
    assert_eq!(
        q["redirect_uri"],
        "http://palisade.test/login/oidc/callback"
    );
    assert_eq!(
        q["code_challenge"].len(),
        43,
        "S256 of the verifier, base64url"
    );
    assert!(q["state"].len() >= 22 && q["nonce"].len() >= 22);
    let (_, back, _) = b.get(&to_provider).await;
    let (status, _, page) = b
        .get(&format!(
            "{}{}",
            s.url,
            back.strip_prefix("http://palisade.test").unwrap()
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    // A page that moves on (a same-site navigation carries the Strict cookie), not a redirect.
    assert!(
        page.contains("http-equiv=\"refresh\" content=\"0;url=/incidents?mine=1\""),
        "{page}"
    );
    assert!(b.cookies.contains_key("palisade_session"));
    assert!(
        !b.cookies.contains_key("palisade_oidc"),
        "the pending sign-in is cleared"
    );
    let (status, _, list) = b.get(&format!("{}/incidents", s.url)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(list.contains("dana (responder)"));
    let (_, _, account) = b.get(&format!("{}/account", s.url)).await;
    assert!(
        account.contains("with a oidc"),
        "the session says how it was opened"
    );

    // The same code again (a replay from the browser history) is refused by the provider.
    let (status, page) = {
        b.cookies.remove("palisade_session");
        let (_, to_provider, _) = b.get(&format!("{}/login/oidc", s.url)).await;
        let _ = to_provider;
        let (status, _, page) = b
            .get(&format!(
                "{}{}",
                s.url,
                back.strip_prefix("http://palisade.test").unwrap()
            ))
            .await;
        (status, page)
    };
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{page}");
    assert!(!b.cookies.contains_key("palisade_session"));
}

#[tokio::test]
async fn tokens_that_are_not_right_open_no_session_and_say_why() {
    let provider = Provider::start().await;
    let s = TestServer::spawn_with(|c| c.oidc = Some(config(&provider, None))).await;
    s.token("dana", "responder").await;
    for (tamper, says) in [
        (Tamper::OtherAudience, "the ID token did not verify"),
        (Tamper::OtherIssuer, "the ID token did not verify"),
        (Tamper::Expired, "the ID token did not verify"),
        (Tamper::OtherKey, "the ID token did not verify"),
        (Tamper::OtherNonce, "not issued for this sign-in"),
        (Tamper::Unsigned, "the ID token is malformed"),
    ] {
        provider.set("dana", tamper);
        let mut b = Browser::new();
        let (status, page) = b.sign_in(&s).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{tamper:?}: {page}");
        assert!(page.contains(says), "{tamper:?}: {page}");
        assert!(!b.cookies.contains_key("palisade_session"), "{tamper:?}");
    }
    // A callback with a state this browser did not start.
    provider.set("dana", Tamper::None);
    let mut b = Browser::new();
    let (_, to_provider, _) = b.get(&format!("{}/login/oidc", s.url)).await;
    let (_, back, _) = b.get(&to_provider).await;
    let forged = back.replace("state=", "state=x");
    let (status, _, page) = b
        .get(&format!(
            "{}{}",
            s.url,
            forged.strip_prefix("http://palisade.test").unwrap()
        ))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(page.contains("not begun in this browser"), "{page}");
    // Without the pending-sign-in cookie (another browser's link).
    let mut other = Browser::new();
    let (status, _, _) = other
        .get(&format!(
            "{}{}",
            s.url,
            back.strip_prefix("http://palisade.test").unwrap()
        ))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // The provider's own refusal is shown.
    let (status, _, page) = other
        .get(&format!(
            "{}/login/oidc/callback?error=access_denied&error_description=MFA+required",
            s.url
        ))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(page.contains("MFA required"));
}

#[tokio::test]
async fn an_unknown_user_is_refused_unless_the_configuration_creates_users() {
    let provider = Provider::start().await;
    provider.set("newcomer", Tamper::None);
    let strict = TestServer::spawn_with(|c| c.oidc = Some(config(&provider, None))).await;
    let mut b = Browser::new();
    let (status, page) = b.sign_in(&strict).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(
        page.contains("there is no Palisade user newcomer"),
        "{page}"
    );

    let open =
        TestServer::spawn_with(|c| c.oidc = Some(config(&provider, Some(AccountRole::Viewer))))
            .await;
    let mut b = Browser::new();
    let (status, _) = b.sign_in(&open).await;
    assert_eq!(status, StatusCode::OK);
    let (_, _, list) = b.get(&format!("{}/incidents", open.url)).await;
    assert!(list.contains("newcomer (viewer)"));

    // Without [oidc], there is no button and no way in.
    let plain = TestServer::spawn().await;
    let mut b = Browser::new();
    let (_, _, login) = b.get(&format!("{}/login", plain.url)).await;
    assert!(!login.contains("/login/oidc"), "{login}");
    let (status, _, page) = b.get(&format!("{}/login/oidc", plain.url)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(page.contains("single sign-on is not configured"));
}
