//! HTTPS served directly: the API over TLS with a certificate from the configuration, and clear
//! errors for certificate and key files that cannot be used.

use palisade_server::tls::{TlsError, server_config};
use palisade_test_support::{TestCerts, TestServer};
use reqwest::StatusCode;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_answers_over_https_and_refuses_plain_http_on_that_port() {
    let dir = tempfile::tempdir().unwrap();
    let certs = TestCerts::write(dir.path());
    let config = server_config(&certs.cert, &certs.key).expect("a usable certificate");
    let srv = TestServer::spawn().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(palisade_server::tls::serve(
        listener,
        palisade_server::router(srv.app.clone()),
        config,
        async {
            let _ = stopped.await;
        },
    ));
    let ca = reqwest::Certificate::from_pem(&std::fs::read(&certs.ca).unwrap()).unwrap();
    let client = reqwest::Client::builder()
        .add_root_certificate(ca)
        .build()
        .unwrap();
    let r = client
        .get(format!("https://{addr}/api/v1/me"))
        .bearer_auth(&srv.admin)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap()["user"],
        "admin"
    );
    // Plain HTTP to the TLS port gets no answer, and the server keeps serving.
    let plain = reqwest::get(format!("http://{addr}/healthz")).await;
    assert!(plain.is_err(), "{plain:?}");
    let r = client
        .get(format!("https://{addr}/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    // A client that does not trust the CA refuses the server.
    assert!(
        reqwest::get(format!("https://{addr}/healthz"))
            .await
            .is_err(),
        "an untrusted certificate was accepted"
    );
    stop.send(()).unwrap();
    serving.await.unwrap();
}

#[test]
fn unusable_certificate_and_key_files_are_named_with_what_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let certs = TestCerts::write(dir.path());
    let other = tempfile::tempdir().unwrap();
    let other = TestCerts::write(other.path());
    let missing = dir.path().join("missing.pem");
    let empty = dir.path().join("empty.pem");
    std::fs::write(&empty, "").unwrap();
    let garbage = dir.path().join("garbage.pem");
    std::fs::write(
        &garbage,
        "-----BEGIN CERTIFICATE-----\n!!!not base64!!!\n-----END CERTIFICATE-----\n",
    )
    .unwrap();

    let e = server_config(&missing, &certs.key).unwrap_err();
    assert!(matches!(e, TlsError::Certificate { .. }), "{e}");
    assert!(e.to_string().contains("missing.pem"), "{e}");
    let e = server_config(&empty, &certs.key).unwrap_err();
    assert!(e.to_string().contains("no certificate"), "{e}");
    let e = server_config(&garbage, &certs.key).unwrap_err();
    assert!(matches!(e, TlsError::Certificate { .. }), "{e}");
    let e = server_config(&certs.cert, &empty).unwrap_err();
    assert!(matches!(e, TlsError::Key { .. }), "{e}");
    assert!(e.to_string().contains("empty.pem"), "{e}");
    // A certificate with someone else's key.
    let e = server_config(&certs.cert, &other.key).unwrap_err();
    assert!(matches!(e, TlsError::Config(_)), "{e}");
}
