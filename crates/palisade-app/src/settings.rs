//! One configuration for every command: what the command line and environment say (the binary
//! parses them, flags first), then `palisade.toml` in the data directory, then the defaults.
//! Relative paths in `palisade.toml` are relative to the data directory.

use crate::AppConfig;
use crate::notify::NotifyConfig;
use palisade_core::comms::CommsPolicy;
use palisade_store::{DataDir, StoreConfig};
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// Where the server listens when nothing says otherwise.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:7878";

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Lines for people (with colour unless `NO_COLOR` is set).
    #[default]
    Text,
    /// One JSON object per line, for log shippers.
    Json,
}

impl std::str::FromStr for LogFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "text" => Ok(LogFormat::Text),
            "json" => Ok(LogFormat::Json),
            other => Err(format!("log format {other:?} is not text or json")),
        }
    }
}

/// `palisade.toml`: every setting but the data directory itself (which locates the file) and
/// the secrets kept out of files by choice (`PALISADE_SIGNING_KEY`, `PALISADE_EVIDENCE_KEY`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileSettings {
    pub listen: Option<String>,
    pub database_url: Option<String>,
    pub playbooks: Option<PathBuf>,
    pub witness_url: Option<String>,
    pub evidence_store: Option<String>,
    pub evidence_max_bytes: Option<u64>,
    pub notify_url: Option<String>,
    pub notify_secret: Option<String>,
    /// Email notifications through this SMTP server: `smtp://host:25`,
    /// `smtp://host:587?tls=required`, `smtps://user:password@host:465`.
    pub smtp_url: Option<String>,
    /// The sender of email notifications, e.g. `Palisade <palisade@example.com>`.
    pub smtp_from: Option<String>,
    /// Serve HTTPS with this PEM certificate chain (and `tls_key`); relative to the data
    /// directory.
    pub tls_cert: Option<PathBuf>,
    /// The certificate's PEM private key.
    pub tls_key: Option<PathBuf>,
    /// A tracing filter, e.g. `info` or `palisade_app=debug,info`.
    pub log: Option<String>,
    pub log_format: Option<LogFormat>,
    /// Update cadences, notification deadlines, phrases to avoid (docs/communications.md).
    #[serde(default)]
    pub comms: Option<CommsPolicy>,
    /// Alert intake (`[alerts]`).
    #[serde(default)]
    pub alerts: Option<AlertSettings>,
    /// Single sign-on for the web UI (`[oidc]`; the client secret may come from
    /// `PALISADE_OIDC_CLIENT_SECRET` instead).
    #[serde(default)]
    pub oidc: Option<crate::oidc::OidcConfig>,
    /// Findings (`[findings]`): days to fix by severity.
    #[serde(default)]
    pub findings: Option<FindingSettings>,
}

/// `[findings]` in `palisade.toml`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FindingSettings {
    /// Days to fix a finding by severity (`[findings.sla]`: critical, high, medium, low, info);
    /// default 7, 30, 90 and 120 days, none for informational findings.
    #[serde(default)]
    pub sla: palisade_core::finding::SlaDays,
}

/// `[alerts]` in `palisade.toml`.
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertSettings {
    /// Events accepted per routing key per minute before the Events API answers 429
    /// (default [`crate::alerts::DEFAULT_EVENTS_PER_KEY_PER_MINUTE`]; 0 turns the limit off).
    pub events_per_key_per_minute: Option<u32>,
    /// The least seconds between two pages to one Slack webhook (default 1; 0: no throttle).
    /// Pages for one person and service that wait are sent together as one message.
    pub page_throttle_slack_seconds: Option<u64>,
    /// The least seconds between two page emails to one address (default 60; 0: no throttle).
    pub page_throttle_email_seconds: Option<u64>,
}

/// What the command line and the environment gave (flags win over the environment; the binary
/// merges the two). `None`: not given.
#[derive(Debug, Default, Clone)]
pub struct Given {
    pub listen: Option<String>,
    pub database_url: Option<String>,
    pub playbooks: Option<PathBuf>,
    pub witness_url: Option<String>,
    pub evidence_store: Option<String>,
    pub evidence_max_bytes: Option<u64>,
    pub notify_url: Option<String>,
    pub notify_secret: Option<String>,
    pub smtp_url: Option<String>,
    pub smtp_from: Option<String>,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    pub log: Option<String>,
    pub log_format: Option<LogFormat>,
}

/// Why the settings cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("reading {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Parse { path: String, message: String },
    #[error("{0}")]
    Invalid(String),
}

/// The settings every command reads.
#[derive(Debug, Clone)]
pub struct Settings {
    pub data_dir: DataDir,
    pub listen: String,
    pub database_url: Option<String>,
    pub playbooks: Option<PathBuf>,
    pub witness_url: Option<String>,
    pub evidence_store: Option<String>,
    pub evidence_max_bytes: Option<u64>,
    pub notify: Option<NotifyConfig>,
    /// HTTPS: the certificate chain and key (both or neither).
    pub tls: Option<(PathBuf, PathBuf)>,
    pub log: String,
    pub log_format: LogFormat,
    pub comms: CommsPolicy,
    pub alerts: AlertSettings,
    pub oidc: Option<crate::oidc::OidcConfig>,
    pub findings: FindingSettings,
    /// Whether a `palisade.toml` was read.
    pub from_file: bool,
}

impl Settings {
    /// Read `palisade.toml` in `data_dir` (if there is one) under what was `given`.
    pub fn load(data_dir: DataDir, given: Given) -> Result<Settings, SettingsError> {
        let path = data_dir.config_file();
        let (file, from_file) = match std::fs::read_to_string(&path) {
            Ok(text) => (
                toml::from_str::<FileSettings>(&text).map_err(|e| SettingsError::Parse {
                    path: path.display().to_string(),
                    message: e.to_string(),
                })?,
                true,
            ),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => (FileSettings::default(), false),
            Err(source) => {
                return Err(SettingsError::Read {
                    path: path.display().to_string(),
                    source,
                });
            }
        };
        Settings::merge(data_dir, given, file, from_file)
    }

    /// `given` over `file` over the defaults.
    pub fn merge(
        data_dir: DataDir,
        given: Given,
        file: FileSettings,
        from_file: bool,
    ) -> Result<Settings, SettingsError> {
        let relative = |p: PathBuf| -> PathBuf {
            if p.is_relative() {
                data_dir.path().join(p)
            } else {
                p
            }
        };
        let smtp = match (
            given.smtp_url.or(file.smtp_url),
            given.smtp_from.or(file.smtp_from),
        ) {
            (Some(url), Some(from)) => Some(crate::notify::SmtpConfig { url, from }),
            (None, None) => None,
            _ => {
                return Err(SettingsError::Invalid(
                    "email needs both an SMTP server and a sender: set smtp_url and smtp_from (PALISADE_SMTP_URL and PALISADE_SMTP_FROM)".into(),
                ));
            }
        };
        let mut notify = match (
            given.notify_url.or(file.notify_url),
            given.notify_secret.or(file.notify_secret),
        ) {
            (Some(url), Some(secret)) => Some(NotifyConfig::new(url, secret)),
            (Some(_), None) => {
                return Err(SettingsError::Invalid(
                    "notify_url is set but no notify_secret to sign notifications with; set PALISADE_NOTIFY_SECRET or notify_secret in palisade.toml".into(),
                ));
            }
            (None, Some(_)) => {
                return Err(SettingsError::Invalid(
                    "notify_secret is set but no notify_url to deliver notifications to; set PALISADE_NOTIFY_URL or notify_url in palisade.toml".into(),
                ));
            }
            // Email alone: messages for the webhook wait until one is configured.
            (None, None) if smtp.is_some() => Some(NotifyConfig::new(String::new(), String::new())),
            (None, None) => None,
        };
        if let Some(n) = notify.as_mut() {
            n.smtp = smtp;
            let alerts = file.alerts.clone().unwrap_or_default();
            if let Some(s) = alerts.page_throttle_slack_seconds {
                n.throttle.slack = std::time::Duration::from_secs(s);
            }
            if let Some(s) = alerts.page_throttle_email_seconds {
                n.throttle.email = std::time::Duration::from_secs(s);
            }
        }
        let tls = match (
            given.tls_cert.or(file.tls_cert.map(relative)),
            given.tls_key.or(file.tls_key.map(relative)),
        ) {
            (Some(cert), Some(key)) => Some((cert, key)),
            (None, None) => None,
            _ => {
                return Err(SettingsError::Invalid(
                    "HTTPS needs both a certificate and its key: set tls_cert and tls_key (PALISADE_TLS_CERT and PALISADE_TLS_KEY, or --tls-cert and --tls-key)".into(),
                ));
            }
        };
        Ok(Settings {
            listen: given
                .listen
                .or(file.listen)
                .unwrap_or_else(|| DEFAULT_LISTEN.to_string()),
            database_url: given.database_url.or(file.database_url),
            playbooks: given.playbooks.or(file.playbooks.map(relative)),
            witness_url: given.witness_url.or(file.witness_url),
            evidence_store: given.evidence_store.or(file.evidence_store),
            evidence_max_bytes: given.evidence_max_bytes.or(file.evidence_max_bytes),
            notify,
            tls,
            log: given.log.or(file.log).unwrap_or_else(|| "info".to_string()),
            log_format: given.log_format.or(file.log_format).unwrap_or_default(),
            comms: file.comms.unwrap_or_default(),
            alerts: file.alerts.unwrap_or_default(),
            oidc: file.oidc.map(|mut o| {
                if let Ok(secret) = std::env::var("PALISADE_OIDC_CLIENT_SECRET")
                    && !secret.is_empty()
                {
                    o.client_secret = Some(secret);
                }
                o
            }),
            findings: file.findings.unwrap_or_default(),
            data_dir,
            from_file,
        })
    }

    /// The store these settings select.
    pub fn store(&self) -> StoreConfig {
        StoreConfig {
            data_dir: self.data_dir.path().to_path_buf(),
            database_url: self.database_url.clone(),
        }
    }

    /// The application configuration.
    pub fn app_config(&self) -> AppConfig {
        AppConfig {
            store: self.store(),
            playbooks_dir: self.playbooks.clone(),
            witness_url: self.witness_url.clone(),
            evidence_store: self.evidence_store.clone(),
            evidence_max_bytes: self.evidence_max_bytes,
            notify: self.notify.clone(),
            comms: self.comms.clone(),
            events_per_key_per_minute: self.alerts.events_per_key_per_minute,
            manual_timers: false,
            timer_poll: None,
            ledger_recheck_secs: None,
            oidc: self.oidc.clone(),
            finding_sla: self.findings.sla,
        }
    }
}

/// The data directory the command line or environment names, else the default.
pub fn data_dir_or_default(given: Option<&Path>) -> DataDir {
    DataDir::new(given.unwrap_or(Path::new(DataDir::DEFAULT)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir() -> (tempfile::TempDir, DataDir) {
        let t = tempfile::tempdir().unwrap();
        let d = DataDir::new(t.path());
        (t, d)
    }

    #[test]
    fn flags_and_environment_win_over_the_file_which_wins_over_defaults() {
        let (_t, d) = dir();
        std::fs::write(
            d.config_file(),
            "listen = \"0.0.0.0:9000\"\nplaybooks = \"books\"\nlog_format = \"json\"\n[comms]\n",
        )
        .unwrap();
        let from_file = Settings::load(d.clone(), Given::default()).unwrap();
        assert!(from_file.from_file);
        assert_eq!(from_file.listen, "0.0.0.0:9000");
        assert_eq!(from_file.playbooks, Some(d.path().join("books")));
        assert_eq!(from_file.log_format, LogFormat::Json);
        let given = Given {
            listen: Some("127.0.0.1:1".into()),
            log_format: Some(LogFormat::Text),
            ..Default::default()
        };
        let flags = Settings::load(d.clone(), given).unwrap();
        assert_eq!(flags.listen, "127.0.0.1:1");
        assert_eq!(flags.log_format, LogFormat::Text);
        let (_t2, empty) = dir();
        let defaults = Settings::load(empty, Given::default()).unwrap();
        assert!(!defaults.from_file);
        assert_eq!(defaults.listen, DEFAULT_LISTEN);
        assert_eq!(defaults.log, "info");
    }

    #[test]
    fn email_and_https_settings_come_in_pairs_and_email_alone_starts_the_worker() {
        let (_t, d) = dir();
        std::fs::write(
            d.config_file(),
            "smtp_url = \"smtps://mail.example.com\"\nsmtp_from = \"palisade@example.com\"\ntls_cert = \"cert.pem\"\ntls_key = \"key.pem\"\n[alerts]\nevents_per_key_per_minute = 0\npage_throttle_email_seconds = 300\n",
        )
        .unwrap();
        let s = Settings::load(d.clone(), Given::default()).unwrap();
        let n = s
            .notify
            .clone()
            .expect("email alone starts the notification worker");
        assert_eq!(n.url, "", "no webhook configured");
        assert_eq!(n.throttle.email, std::time::Duration::from_secs(300));
        assert_eq!(
            n.throttle.slack,
            std::time::Duration::from_secs(1),
            "the default"
        );
        assert_eq!(n.smtp.unwrap().url, "smtps://mail.example.com");
        assert_eq!(
            s.tls,
            Some((d.path().join("cert.pem"), d.path().join("key.pem")))
        );
        assert_eq!(s.app_config().events_per_key_per_minute, Some(0));
        for (given, says) in [
            (
                Given {
                    smtp_url: Some("smtp://x".into()),
                    ..Default::default()
                },
                "smtp_from",
            ),
            (
                Given {
                    tls_key: Some("k.pem".into()),
                    ..Default::default()
                },
                "tls_cert",
            ),
        ] {
            let (_t, empty) = dir();
            let e = Settings::load(empty, given).unwrap_err().to_string();
            assert!(e.contains(says), "{e}");
        }
    }

    #[test]
    fn a_bad_file_names_itself_and_half_a_notification_setting_is_refused() {
        let (_t, d) = dir();
        std::fs::write(d.config_file(), "listne = \"x\"\n").unwrap();
        let e = Settings::load(d.clone(), Given::default()).unwrap_err();
        assert!(e.to_string().contains("palisade.toml"), "{e}");
        assert!(e.to_string().contains("listne"), "{e}");
        std::fs::write(d.config_file(), "notify_url = \"http://x\"\n").unwrap();
        let e = Settings::load(d, Given::default()).unwrap_err();
        assert!(e.to_string().contains("notify_secret"), "{e}");
    }
}
