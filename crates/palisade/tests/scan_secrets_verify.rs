//! `palisade scan secrets --verify` against local mock providers (never the real ones): a live
//! credential is verified and listed first, a refused one is unverified, an unreachable
//! provider is unknown with the reason, and each distinct secret is checked once.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};

/// Tokens are assembled at run time so this file holds no secret-shaped literal.
fn github(tail: &str) -> String {
    format!("ghp_{tail}")
}
fn slack(tail: &str) -> String {
    format!("xoxb-216776980307-6753724226471-{tail}")
}

/// The requests a mock saw: (method, path, auth header, body).
type Seen = Arc<Mutex<Vec<(String, String, String, String)>>>;

/// A mock provider on a free port: answers each request with `answer(auth header)` and records
/// the requests (method, path, auth header, body) it saw.
fn mock(answer: impl Fn(&str) -> (u16, String) + Send + 'static) -> (String, Seen) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request_line = String::new();
            if reader.read_line(&mut request_line).is_err() {
                continue;
            }
            let mut auth = String::new();
            let mut length = 0usize;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some((name, value)) = line.split_once(':') {
                    let name = name.to_ascii_lowercase();
                    if name == "authorization" || name == "private-token" {
                        auth = value.trim().to_string();
                    }
                    if name == "content-length" {
                        length = value.trim().parse().unwrap_or(0);
                    }
                }
            }
            let mut body = vec![0u8; length];
            if std::io::Read::read_exact(&mut reader, &mut body).is_err() {
                continue;
            }
            let mut parts = request_line.split_whitespace();
            let method = parts.next().unwrap_or("").to_string();
            let path = parts.next().unwrap_or("").to_string();
            let body = String::from_utf8_lossy(&body).into_owned();
            log.lock().unwrap().push((method, path, auth.clone(), body));
            let (status, body) = answer(&auth);
            let _ = write!(
                stream,
                "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    (url, seen)
}

fn scan(dir: &Path, extra: &[&str]) -> (i32, serde_json::Value, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_palisade"))
        .args(["scan", "secrets", "--no-progress", "--format", "json"])
        .args(extra)
        .arg(dir)
        .output()
        .unwrap();
    let json = serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null);
    (
        out.status.code().unwrap_or(-1),
        json,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn verification(f: &serde_json::Value) -> (&str, &str) {
    (
        f["verification"]["status"].as_str().unwrap_or("none"),
        f["verification"]["reason"].as_str().unwrap_or(""),
    )
}

#[test]
fn verify_marks_live_refused_and_unreachable_credentials_and_lists_live_ones_first() {
    let live = github("cqG8w99CR8wq3hHClXy1NvYCLnBFrLZ2GKtM");
    let dead = github("Zk3pQ9vW2xR7tY5uI1oP4aS8dF6gH0jK2lMn");
    let live_token = live.clone();
    let (gh_url, gh_seen) = mock(move |auth| {
        if auth == format!("token {live_token}") {
            (200, r#"{"login":"octo"}"#.into())
        } else {
            (401, r#"{"message":"Bad credentials"}"#.into())
        }
    });
    // Slack answers 200 either way; the body says whether the token is live.
    let (slack_url, slack_seen) = mock(|_| (200, r#"{"ok":false,"error":"invalid_auth"}"#.into()));
    // A port nothing listens on: bind one, then let it go.
    let closed = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/v1/balance", l.local_addr().unwrap())
    };

    let dir = tempfile::tempdir().unwrap();
    // The dead token comes first in the tree, the live one twice (checked once).
    std::fs::write(dir.path().join("a.env"), format!("GH_TOKEN={dead}\n")).unwrap();
    std::fs::write(
        dir.path().join("b.env"),
        format!(
            "GH_TOKEN={live}\nSLACK_TOKEN={}\nSTRIPE_KEY=sk_live_{}\n",
            slack("dUcW91yvmwsIX0HVY783Hd1R"),
            "4eC39HqLyjWDarjtT1zdp7dc9Xb2Lm"
        ),
    )
    .unwrap();
    std::fs::write(dir.path().join("c.env"), format!("OTHER={live}\n")).unwrap();

    let (code, report, stderr) = scan(
        dir.path(),
        &[
            "--verify",
            "--verify-endpoint",
            &format!("github={gh_url}/user"),
            "--verify-endpoint",
            &format!("slack={slack_url}/api/auth.test"),
            "--verify-endpoint",
            &format!("stripe={closed}"),
        ],
    );
    assert_eq!(code, 1, "findings exit 1: {stderr}");
    let findings = report["findings"].as_array().expect("findings");
    let status_of = |rule: &str, path: &str| {
        findings
            .iter()
            .find(|f| f["rule_id"] == rule && f["path"].as_str().unwrap().ends_with(path))
            .map(verification)
            .unwrap_or_else(|| panic!("no {rule} finding in {path}: {report:#}"))
    };
    assert_eq!(status_of("github-pat", "b.env").0, "verified");
    assert_eq!(status_of("github-pat", "c.env").0, "verified");
    let (s, why) = status_of("github-pat", "a.env");
    assert_eq!((s, why.contains("HTTP 401")), ("unverified", true), "{why}");
    let (s, why) = status_of("slack-bot-token", "b.env");
    assert_eq!(s, "unverified", "{why}");
    let (s, why) = status_of("stripe-secret-key", "b.env");
    assert_eq!(s, "unknown");
    assert!(why.contains("could not reach stripe"), "{why}");
    // Live ones first.
    assert_eq!(verification(&findings[0]).0, "verified", "{report:#}");
    assert_eq!(verification(&findings[1]).0, "verified", "{report:#}");

    // One request per distinct secret, with the provider's method and auth header.
    let gh = gh_seen.lock().unwrap().clone();
    assert_eq!(gh.len(), 2, "{gh:?}");
    assert!(
        gh.iter().all(|(m, p, _, _)| m == "GET" && p == "/user"),
        "{gh:?}"
    );
    let sl = slack_seen.lock().unwrap().clone();
    assert_eq!(sl.len(), 1, "{sl:?}");
    assert_eq!(sl[0].0, "POST");
    assert!(sl[0].2.starts_with("Bearer xoxb-"), "{sl:?}");
}

/// Key pairs: an AWS secret key is checked with the access key id beside it (a signed STS
/// `GetCallerIdentity`), a Twilio auth token with its account SID (basic auth); a secret key
/// with no key id near it is not sent anywhere and says why.
#[test]
fn key_pairs_are_verified_with_the_id_found_beside_the_secret() {
    // Assembled at run time: no key-shaped literal in this file.
    let live_id = format!("AKIA{}", "QYLPMN5HHHFPZAM2");
    let dead_id = format!("AKIA{}", "R7TWZJ3KD2MBXV6Q");
    let secret = format!("{}/{}", "6RxrrBR7RZ53l3a", "rfzk1J/o82PYnILGwQGvBSBB");
    let sid = format!("AC{}", "4f2b9c1d8e7a6b5c4d3e2f1a0b9c8d7e");
    let token = format!("{}{}", "f540e7343d299b2f", "144d04b2476b8c9b");
    let live_cred = format!("Credential={live_id}/");
    let (sts_url, sts_seen) = mock(move |auth| {
        if auth.starts_with("AWS4-HMAC-SHA256 ") && auth.contains(&live_cred) {
            (200, "<GetCallerIdentityResponse><GetCallerIdentityResult><Arn>arn:aws:iam::1:user/x</Arn></GetCallerIdentityResult></GetCallerIdentityResponse>".into())
        } else {
            (
                403,
                "<ErrorResponse><Error><Code>InvalidClientTokenId</Code></Error></ErrorResponse>"
                    .into(),
            )
        }
    });
    use base64::Engine;
    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{sid}:{token}"))
    );
    let (twilio_url, twilio_seen) = mock(move |auth| {
        if auth == basic {
            (200, r#"{"status":"active"}"#.into())
        } else {
            (401, r#"{"code":20003}"#.into())
        }
    });
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("live.ini"),
        format!("[default]\naws_access_key_id = {live_id}\naws_secret_access_key = {secret}\n"),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("dead.ini"),
        format!("[default]\naws_access_key_id = {dead_id}\naws_secret_access_key = {secret}\n"),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("alone.ini"),
        format!("aws_secret_access_key = {secret}\n"),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("twilio.env"),
        format!("TWILIO_ACCOUNT_SID={sid}\nTWILIO_AUTH_TOKEN={token}\n"),
    )
    .unwrap();
    let (code, report, stderr) = scan(
        dir.path(),
        &[
            "--verify",
            "--verify-endpoint",
            &format!("aws={sts_url}/"),
            "--verify-endpoint",
            &format!("twilio={twilio_url}/2010-04-01/Accounts/{{companion}}.json"),
        ],
    );
    assert_eq!(code, 1, "{stderr}");
    let findings = report["findings"].as_array().expect("findings");
    let status_of = |rule: &str, path: &str| {
        findings
            .iter()
            .find(|f| f["rule_id"] == rule && f["path"].as_str().unwrap().ends_with(path))
            .map(verification)
            .unwrap_or_else(|| panic!("no {rule} finding in {path}: {report:#}"))
    };
    assert_eq!(status_of("aws-secret-access-key", "live.ini").0, "verified");
    let (s, why) = status_of("aws-secret-access-key", "dead.ini");
    assert_eq!((s, why.contains("HTTP 403")), ("unverified", true), "{why}");
    let (s, why) = status_of("aws-secret-access-key", "alone.ini");
    assert_eq!(s, "unknown");
    assert!(why.contains("no access key id"), "{why}");
    assert_eq!(status_of("twilio-auth-token", "twilio.env").0, "verified");
    // The key id is never reported as part of the secret's finding.
    assert!(!report.to_string().contains("companion"), "{report:#}");

    // Two signed requests (one per key pair; the lone key is never sent), each a POST of
    // GetCallerIdentity whose signature does not carry the secret.
    let sts = sts_seen.lock().unwrap().clone();
    assert_eq!(sts.len(), 2, "{sts:?}");
    for (method, path, auth, body) in &sts {
        assert_eq!((method.as_str(), path.as_str()), ("POST", "/"));
        assert_eq!(body, "Action=GetCallerIdentity&Version=2011-06-15");
        assert!(auth.contains("/us-east-1/sts/aws4_request"), "{auth}");
        assert!(!auth.contains(&secret), "{auth}");
    }
    let tw = twilio_seen.lock().unwrap().clone();
    assert_eq!(tw.len(), 1, "{tw:?}");
    assert_eq!(
        (tw[0].0.as_str(), tw[0].1.clone()),
        ("GET", format!("/2010-04-01/Accounts/{sid}.json"))
    );
}

#[test]
fn without_verify_no_request_is_made_and_bad_endpoints_are_refused() {
    let (url, seen) = mock(|_| (200, "{}".into()));
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("a.env"),
        format!(
            "GH_TOKEN={}\n",
            github("cqG8w99CR8wq3hHClXy1NvYCLnBFrLZ2GKtM")
        ),
    )
    .unwrap();
    let (code, report, _) = scan(dir.path(), &[]);
    assert_eq!(code, 1);
    assert!(
        report["findings"][0].get("verification").is_none(),
        "{report:#}"
    );
    assert!(seen.lock().unwrap().is_empty());

    for (endpoint, says) in [
        ("gihtub=http://127.0.0.1:9/user", "no verifier for provider"),
        ("github", "PROVIDER=URL"),
        ("github=file:///etc/passwd", "http:// or https://"),
    ] {
        let (code, _, stderr) = scan(dir.path(), &["--verify", "--verify-endpoint", endpoint]);
        assert_eq!(code, 2, "{endpoint}: {stderr}");
        assert!(stderr.contains(says), "{endpoint}: {stderr}");
    }
    assert!(seen.lock().unwrap().is_empty(), "{url}");
}

/// A live secret raises an alert through the Events API of a real server: one alert per secret
/// (a second scan adds an occurrence), critical, and the secret itself is never sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_live_secret_raises_one_alert_and_never_sends_the_secret() {
    let live = github("cqG8w99CR8wq3hHClXy1NvYCLnBFrLZ2GKtM");
    let (gh_url, _) = mock(|_| (200, r#"{"login":"octo"}"#.into()));
    let srv = palisade_test_support::TestServer::spawn().await;
    let r = srv
        .post(
            "/api/v1/services",
            &srv.admin,
            serde_json::json!({"name": "repo-scan"}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let r = srv
        .post(
            "/api/v1/services/repo-scan/integrations",
            &srv.admin,
            serde_json::json!({"name": "scanner"}),
        )
        .await;
    let key = r.body["routing_key"].as_str().unwrap().to_string();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("deploy.env"), format!("GH_TOKEN={live}\n")).unwrap();
    let endpoint = format!("github={gh_url}/user");
    let args = [
        "--verify",
        "--verify-endpoint",
        endpoint.as_str(),
        "--alert",
        key.as_str(),
        "--alert-url",
        srv.url.as_str(),
    ];
    for _ in 0..2 {
        let dir = dir.path().to_path_buf();
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        let (code, _, stderr) = tokio::task::spawn_blocking(move || {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            scan(&dir, &args)
        })
        .await
        .unwrap();
        assert_eq!(code, 1, "{stderr}");
        assert!(
            stderr.contains("raised 1 alert(s) for live secrets"),
            "{stderr}"
        );
    }
    let list = srv
        .get("/api/v1/alerts?service=repo-scan", &srv.admin)
        .await;
    let alerts = list.body["alerts"].as_array().unwrap();
    assert_eq!(alerts.len(), 1, "{}", list.text);
    assert_eq!(alerts[0]["severity"], "critical");
    assert_eq!(alerts[0]["occurrences"], 2);
    assert!(
        alerts[0]["dedup_key"]
            .as_str()
            .unwrap()
            .starts_with("secret/")
    );
    let id = alerts[0]["id"].as_str().unwrap();
    let view = srv.get(&format!("/api/v1/alerts/{id}"), &srv.admin).await;
    assert!(view.text.contains("deploy.env:1"), "{}", view.text);
    assert!(
        !view.text.contains(&live),
        "the secret reached the alert: {}",
        view.text
    );

    // A wrong routing key is an error, not a silent miss.
    let dir2 = dir.path().to_path_buf();
    let url = srv.url.clone();
    let (code, _, stderr) = tokio::task::spawn_blocking(move || {
        scan(
            &dir2,
            &[
                "--verify",
                "--verify-endpoint",
                &endpoint,
                "--alert",
                "0123456789abcdef0123456789abcdef",
                "--alert-url",
                &url,
            ],
        )
    })
    .await
    .unwrap();
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("400"), "{stderr}");
}
