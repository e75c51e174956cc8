//! The API test binaries' shared harness: the application on port 0 (see palisade-test-support).
#![allow(dead_code, unused_imports)] // each test binary uses a different part

pub use palisade_app::AppConfig as ServerConfig;
pub use palisade_test_support::{Resp, TestServer as TestApp, assert_problem};

/// A server with the default configuration.
pub async fn spawn() -> TestApp {
    TestApp::spawn().await
}

/// A server whose configuration `configure` adjusts (the store is always a fresh temp dir).
pub async fn spawn_with(configure: impl FnOnce(&mut ServerConfig)) -> TestApp {
    TestApp::spawn_with(configure).await
}
