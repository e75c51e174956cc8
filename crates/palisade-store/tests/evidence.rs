//! The evidence vault (filesystem always; S3 when `PALISADE_TEST_S3_URL` points at an
//! S3-compatible server, required under `CI=true`) and export bundles with their offline
//! verification, including tampering.

use palisade_core::custody::{EvidenceCommand, EvidenceName};
use palisade_core::incident::{Command, Declaration, declare, events_for};
use palisade_core::{
    AccountRole, Actor, IncidentState, Kind, Payload, Playbook, Role, Severity, Timestamp, UserName,
};
use palisade_store::bundle::{self, BundleHeader, BundleWriter};
use palisade_store::evidence::{StageError, StageItem, Vault, VaultError};
use palisade_store::{AppendRequest, Store, StoreConfig};
use sha2::{Digest, Sha256};
use std::io::Read;
use std::sync::Arc;
use uuid::Uuid;

fn user(s: &str) -> UserName {
    UserName::parse(s).unwrap()
}

fn dana() -> Actor {
    Actor {
        user: user("dana"),
        account_role: AccountRole::Responder,
    }
}

fn t(secs: i64) -> Timestamp {
    Timestamp(time::OffsetDateTime::from_unix_timestamp(1_795_000_000 + secs).unwrap())
}

struct Fixture {
    store: Store,
    key: ed25519_dalek::VerifyingKey,
    dir: tempfile::TempDir,
}

async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let opened = Store::open(&StoreConfig {
        data_dir: dir.path().to_path_buf(),
        database_url: None,
    })
    .await
    .unwrap();
    Fixture {
        store: opened.store,
        key: opened.signer.verifying_key(),
        dir,
    }
}

async fn append(store: &Store, st: &mut IncidentState, payloads: Vec<Payload>, at: i64) {
    let before = st.last_seq;
    let events = events_for(st.id, before, &dana().user, t(at), None, payloads);
    for e in &events {
        st.apply(e).unwrap();
    }
    store
        .append(AppendRequest::for_incident(st, before, &events).unwrap())
        .await
        .unwrap();
}

async fn declared(store: &Store, codename: &str) -> IncidentState {
    let id = Uuid::new_v4();
    let d = declare(
        Declaration {
            title: "Leaked deploy key".into(),
            kind: Kind::Security,
            severity: Severity::SEV1,
            restricted: None,
            summary: None,
            playbook: Playbook::builtin_security(),
        },
        codename.into(),
    )
    .unwrap();
    let events = events_for(id, 0, &dana().user, t(0), None, vec![d]);
    let st = IncidentState::fold(&events).unwrap();
    store
        .append(AppendRequest::for_incident(&st, 0, &events).unwrap())
        .await
        .unwrap();
    st
}

fn data(len: usize, seed: u8) -> Vec<u8> {
    // Deterministic, incompressible-looking content.
    let mut out = Vec::with_capacity(len);
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15 ^ u64::from(seed);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}

fn sha(b: &[u8]) -> String {
    hex::encode(Sha256::digest(b))
}

/// A reader that yields `good` bytes, then fails: a client that died mid-upload.
struct Dying {
    left: usize,
}
impl Read for Dying {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.left == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::ConnectionReset,
                "client went away",
            ));
        }
        let n = buf.len().min(self.left);
        buf[..n].fill(7);
        self.left -= n;
        Ok(n)
    }
}

fn files_under(dir: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            if e.path().is_dir() {
                out.extend(files_under(&e.path()));
            } else {
                out.push(e.path().display().to_string());
            }
        }
    }
    out
}

/// Run the vault's blocking API off the async threads, as the server does.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f).await.unwrap()
}

/// The checks every backend must pass.
async fn vault_contract(
    f: &Fixture,
    vault: Arc<Vault>,
    raw_path: impl Fn(Uuid, &str) -> Option<std::path::PathBuf>,
) {
    let st = declared(&f.store, "amber-vault").await;
    let id = st.id;
    let key = vault.incident_key(&f.store, id).await.unwrap();
    // The key is created once and then reused.
    let again = vault.incident_key(&f.store, id).await.unwrap();
    let _ = again;
    let wrapped = f
        .store
        .incident_key(id)
        .await
        .unwrap()
        .expect("stored wrapped");
    assert!(
        !wrapped.contains("AGE-SECRET-KEY"),
        "the incident key is stored wrapped, never in the clear"
    );

    // Round trip, with the hash measured on the way in and re-checked on the way out.
    let content = data(3 * 1024 * 1024 + 17, 1);
    let (v, k, c) = (vault.clone(), key.clone(), content.clone());
    let stored = blocking(move || v.put(&k, id, &c[..], u64::MAX))
        .await
        .unwrap();
    assert_eq!(stored.sha256, sha(&content));
    assert_eq!(stored.size, content.len() as u64);
    let (v, k, s) = (vault.clone(), key.clone(), stored.sha256.clone());
    let back = blocking(move || {
        let mut r = v.open(&k, id, &s).unwrap();
        let mut out = Vec::new();
        r.read_to_end(&mut out).unwrap();
        r.finish().map(|b| (out, b))
    })
    .await
    .unwrap();
    assert_eq!(back.0, content, "decrypts to what went in");
    assert_eq!(back.1, stored);

    // Storing the same content again is idempotent.
    let (v, k, c) = (vault.clone(), key.clone(), content.clone());
    assert_eq!(
        blocking(move || v.put(&k, id, &c[..], u64::MAX))
            .await
            .unwrap(),
        stored
    );

    // Over the limit: refused, nothing stored.
    let (v, k) = (vault.clone(), key.clone());
    let big = data(5000, 2);
    let big_sha = sha(&big);
    let r = blocking(move || v.put(&k, id, &big[..], 4096)).await;
    assert!(
        matches!(r, Err(VaultError::TooLarge { limit: 4096 })),
        "{r:?}"
    );
    let (v, k) = (vault.clone(), key.clone());
    assert!(matches!(
        blocking(move || v.recheck(&k, id, &big_sha)).await,
        Err(VaultError::Missing { .. })
    ));

    // A client that dies mid-upload: an error, and nothing at any content address.
    let (v, k) = (vault.clone(), key.clone());
    let r = blocking(move || v.put(&k, id, Dying { left: 2 << 20 }, u64::MAX)).await;
    assert!(matches!(r, Err(VaultError::Source(_))), "{r:?}");
    let partial_sha = sha(&vec![7u8; 2 << 20]);
    let (v, k) = (vault.clone(), key.clone());
    assert!(matches!(
        blocking(move || v.recheck(&k, id, &partial_sha)).await,
        Err(VaultError::Missing { .. })
    ));

    // Staged for an export: read back and checked, then read from the stage, item after item;
    // the stage holds no plaintext and leaves nothing behind. What does not read back as
    // recorded names its evidence.
    let item = |evidence: u32, sha256: &str, size: u64| StageItem {
        evidence,
        sha256: sha256.to_string(),
        size,
    };
    let (v, k) = (vault.clone(), key.clone());
    let items = vec![
        item(1, &stored.sha256, stored.size),
        item(2, &stored.sha256, stored.size),
    ];
    let spool = f.dir.path().join("spool");
    let both = blocking(move || {
        let staged = v.stage(&k, id, &items).unwrap();
        let listed: Vec<_> = std::fs::read_dir(&spool).unwrap().collect();
        assert!(listed.is_empty(), "the stage has no name: {listed:?}");
        let mut out = Vec::new();
        staged.into_reader().unwrap().read_to_end(&mut out).unwrap();
        out
    })
    .await;
    assert_eq!(both.len(), 2 * content.len());
    assert!(both[..content.len()] == content[..] && both[content.len()..] == content[..]);
    for (bad, expect) in [
        (item(3, &stored.sha256, stored.size - 1), "bytes"),
        (item(4, &"0".repeat(64), 1), "missing"),
    ] {
        let (v, k) = (vault.clone(), key.clone());
        let items = vec![item(1, &stored.sha256, stored.size), bad.clone()];
        let err = blocking(move || v.stage(&k, id, &items).unwrap_err()).await;
        assert!(
            matches!(&err, StageError::Evidence { evidence, .. } if *evidence == bad.evidence),
            "{err:?}"
        );
        assert!(err.to_string().contains(expect), "{err}");
    }

    // At rest it is an age file, not the plaintext.
    if let Some(p) = raw_path(id, &stored.sha256) {
        let raw = std::fs::read(&p).unwrap();
        assert!(
            raw.starts_with(b"age-encryption.org/v1\n"),
            "stored in the age format"
        );
        assert!(
            !raw.windows(64).any(|w| w == &content[1000..1064]),
            "no plaintext at rest"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn filesystem_vault_stores_encrypted_content_addressed_evidence() {
    let f = fixture().await;
    let vault = Arc::new(Vault::filesystem(f.dir.path()).unwrap());
    let root = f.dir.path().join("evidence");
    let r2 = root.clone();
    vault_contract(&f, vault.clone(), move |id, sha| {
        Some(r2.join(id.to_string()).join(format!("{sha}.age")))
    })
    .await;
    // The killed upload left no temporary file behind either.
    assert!(
        files_under(&root.join("tmp")).is_empty(),
        "{:?}",
        files_under(&root.join("tmp"))
    );
    // The master key file is owner-only.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(f.dir.path().join("evidence-master.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn altered_or_swapped_blobs_are_detected_never_served_silently() {
    let f = fixture().await;
    let vault = Arc::new(Vault::filesystem(f.dir.path()).unwrap());
    let st = declared(&f.store, "crimson-lock").await;
    let id = st.id;
    let key = vault.incident_key(&f.store, id).await.unwrap();
    let (a, b) = (data(300_000, 3), data(200_000, 4));
    let (v, k, a2, b2) = (vault.clone(), key.clone(), a.clone(), b.clone());
    let (sa, sb) = blocking(move || {
        (
            v.put(&k, id, &a2[..], u64::MAX).unwrap(),
            v.put(&k, id, &b2[..], u64::MAX).unwrap(),
        )
    })
    .await;
    let dir = f.dir.path().join("evidence").join(id.to_string());
    let pa = dir.join(format!("{}.age", sa.sha256));
    let pb = dir.join(format!("{}.age", sb.sha256));

    // Swapped: B's (valid) ciphertext placed at A's address → hash mismatch.
    let original = std::fs::read(&pa).unwrap();
    std::fs::copy(&pb, &pa).unwrap();
    let (v, k, s) = (vault.clone(), key.clone(), sa.sha256.clone());
    match blocking(move || v.recheck(&k, id, &s)).await {
        Err(VaultError::Mismatch { expected, found }) => {
            assert_eq!((expected, found), (sa.sha256.clone(), sb.sha256.clone()));
        }
        other => panic!("expected a mismatch, got {other:?}"),
    }
    // One flipped byte in the ciphertext → the AEAD refuses it.
    let mut flipped = original.clone();
    let mid = flipped.len() / 2;
    flipped[mid] ^= 1;
    std::fs::write(&pa, &flipped).unwrap();
    let (v, k, s) = (vault.clone(), key.clone(), sa.sha256.clone());
    let r = blocking(move || v.recheck(&k, id, &s)).await;
    assert!(matches!(r, Err(VaultError::Undecryptable(_))), "{r:?}");
    // Truncated ciphertext → refused too (age authenticates the last chunk).
    std::fs::write(&pa, &original[..original.len() - 100]).unwrap();
    let (v, k, s) = (vault.clone(), key.clone(), sa.sha256.clone());
    let r = blocking(move || v.recheck(&k, id, &s)).await;
    assert!(matches!(r, Err(VaultError::Undecryptable(_))), "{r:?}");
    // Another incident's key cannot read it.
    let other = declared(&f.store, "other-case").await;
    let other_key = vault.incident_key(&f.store, other.id).await.unwrap();
    std::fs::write(&pa, &original).unwrap();
    let (v, s) = (vault.clone(), sa.sha256.clone());
    let r = blocking(move || v.recheck(&other_key, id, &s)).await;
    assert!(matches!(r, Err(VaultError::Undecryptable(_))), "{r:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_vault_with_another_master_key_cannot_open_the_incident_keys() {
    let f = fixture().await;
    let vault = Vault::filesystem(f.dir.path()).unwrap();
    let st = declared(&f.store, "dusky-gate").await;
    vault.incident_key(&f.store, st.id).await.unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    let stranger = Vault::filesystem(elsewhere.path()).unwrap();
    let err = stranger
        .incident_key(&f.store, st.id)
        .await
        .err()
        .expect("another master key cannot unwrap it")
        .to_string();
    assert!(err.contains("master key"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn stale_partial_uploads_are_swept() {
    let f = fixture().await;
    let vault = Vault::filesystem(f.dir.path()).unwrap();
    let tmp = f.dir.path().join("evidence").join("tmp");
    std::fs::write(tmp.join("dead.part"), b"half an upload").unwrap();
    assert_eq!(
        vault
            .sweep_tmp(std::time::Duration::from_secs(3600))
            .unwrap(),
        0,
        "fresh files stay (an upload may be running)"
    );
    assert_eq!(vault.sweep_tmp(std::time::Duration::ZERO).unwrap(), 1);
    assert!(files_under(&tmp).is_empty());
}

/// Decrypt a stored blob with the standard `age` tool: unwrap the incident key with the master
/// key, then the blob with the incident key. Required under CI=true (installed by .ci/run).
#[tokio::test(flavor = "multi_thread")]
async fn the_standard_age_tool_decrypts_stored_evidence() {
    let age_ok = std::process::Command::new("age")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !age_ok {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("CI=true but the `age` tool is not installed (.ci/run installs it)");
        }
        eprintln!(
            "SKIP age interoperability: the `age` tool is not installed (apt-get install age)"
        );
        return;
    }
    use base64::Engine;
    let f = fixture().await;
    let vault = Arc::new(Vault::filesystem(f.dir.path()).unwrap());
    let st = declared(&f.store, "plain-tools").await;
    let id = st.id;
    let key = vault.incident_key(&f.store, id).await.unwrap();
    let content = data(150_000, 9);
    let (v, c) = (vault.clone(), content.clone());
    let stored = blocking(move || v.put(&key, id, &c[..], u64::MAX))
        .await
        .unwrap();
    let work = tempfile::tempdir().unwrap();
    let wrapped = f.store.incident_key(id).await.unwrap().unwrap();
    std::fs::write(
        work.path().join("wrapped.age"),
        base64::engine::general_purpose::STANDARD
            .decode(wrapped)
            .unwrap(),
    )
    .unwrap();
    let unwrap = std::process::Command::new("age")
        .args(["-d", "-i"])
        .arg(f.dir.path().join("evidence-master.key"))
        .arg("-o")
        .arg(work.path().join("incident.key"))
        .arg(work.path().join("wrapped.age"))
        .output()
        .unwrap();
    assert!(
        unwrap.status.success(),
        "{}",
        String::from_utf8_lossy(&unwrap.stderr)
    );
    let blob = f
        .dir
        .path()
        .join("evidence")
        .join(id.to_string())
        .join(format!("{}.age", stored.sha256));
    let out = std::process::Command::new("age")
        .args(["-d", "-i"])
        .arg(work.path().join("incident.key"))
        .arg(&blob)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.stdout, content);
}

fn s3_url() -> Option<String> {
    match std::env::var("PALISADE_TEST_S3_URL") {
        Ok(u) if !u.is_empty() => Some(u),
        _ => {
            if std::env::var("CI").as_deref() == Ok("true") {
                panic!(
                    "CI=true but PALISADE_TEST_S3_URL is not set: the S3 evidence store is required in CI (.ci/run starts a local S3 server)"
                );
            }
            eprintln!("SKIP S3 evidence store: PALISADE_TEST_S3_URL is not set (filesystem only)");
            None
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn s3_vault_keeps_the_same_contract() {
    let Some(url) = s3_url() else { return };
    let bucket = format!("palisade-{}", Uuid::new_v4().simple());
    let created = reqwest::Client::new()
        .put(format!("{}/{bucket}", url.trim_end_matches('/')))
        .send()
        .await
        .expect("reach the S3 server");
    assert!(
        created.status().is_success(),
        "create bucket: {}",
        created.status()
    );
    let s3 = object_store::aws::AmazonS3Builder::new()
        .with_endpoint(url.trim_end_matches('/'))
        .with_bucket_name(&bucket)
        .with_region("us-east-1")
        .with_access_key_id("palisade-test")
        .with_secret_access_key("palisade-test")
        .with_allow_http(true)
        .with_virtual_hosted_style_request(false)
        .build()
        .unwrap();
    let s3: Arc<dyn object_store::ObjectStore> = Arc::new(s3);
    let f = fixture().await;
    let vault = Arc::new(Vault::object_store(f.dir.path(), s3.clone()).unwrap());
    vault_contract(&f, vault.clone(), |_, _| None).await;
    // Only complete uploads exist outside tmp/: one object, at its content address.
    use futures_util::StreamExt;
    let objects: Vec<String> = s3
        .list(None)
        .map(|m| m.unwrap().location.to_string())
        .collect()
        .await;
    let outside_tmp: Vec<&String> = objects.iter().filter(|o| !o.starts_with("tmp/")).collect();
    assert_eq!(outside_tmp.len(), 1, "{objects:?}");
    assert!(outside_tmp[0].ends_with(".age"));
    let v = vault.clone();
    let swept = blocking(move || v.sweep_tmp(std::time::Duration::ZERO))
        .await
        .unwrap();
    let left: Vec<String> = s3
        .list(Some(&object_store::path::Path::from("tmp")))
        .map(|m| m.unwrap().location.to_string())
        .collect()
        .await;
    assert!(left.is_empty(), "swept {swept}, left {left:?}");
}

// ---- export bundles ----

struct Exported {
    bytes: Vec<u8>,
    key: ed25519_dalek::VerifyingKey,
    evidence: Vec<u8>,
}

/// A real ledger with evidence, exported the way the server does it.
async fn exported_bundle() -> Exported {
    let f = fixture().await;
    let vault = Arc::new(Vault::filesystem(f.dir.path()).unwrap());
    let mut st = declared(&f.store, "lucid-anchor").await;
    let p = st
        .decide(
            &dana(),
            &Command::AssignRole {
                user: user("dana"),
                role: Role::IncidentCommander,
            },
            &ctx(),
        )
        .unwrap();
    append(&f.store, &mut st, p, 1).await;
    let id = st.id;
    let key = vault.incident_key(&f.store, id).await.unwrap();
    let content = data(123_457, 5);
    let (v, k, c) = (vault.clone(), key.clone(), content.clone());
    let stored = blocking(move || v.put(&k, id, &c[..], u64::MAX))
        .await
        .unwrap();
    let p = st
        .decide(
            &dana(),
            &Command::Evidence(EvidenceCommand::Acquire {
                name: EvidenceName::parse("web-01 memory.lime").unwrap(),
                sha256: stored.sha256.clone(),
                size: stored.size,
                source: "web-01".into(),
                tool: "LiME 1.9".into(),
                original_sha256: Some(stored.sha256.clone()),
                note: None,
            }),
            &ctx(),
        )
        .unwrap();
    append(&f.store, &mut st, p, 2).await;
    let mut out = st
        .decide(
            &dana(),
            &Command::Evidence(EvidenceCommand::Export {
                evidence: 1,
                purpose: "counsel".into(),
                verified_sha256: stored.sha256.clone(),
            }),
            &ctx(),
        )
        .unwrap();
    out.push(Payload::Exported {
        purpose: "counsel".into(),
        with_evidence: true,
    });
    append(&f.store, &mut st, out, 3).await;
    let rows = f.store.stored_events(id).await.unwrap();
    let cps = f.store.stored_checkpoints(id).await.unwrap();
    let header = BundleHeader {
        format: bundle::BUNDLE_FORMAT.into(),
        incident: id,
        codename: st.codename.clone(),
        exported_at: t(3).to_string(),
        exported_by: "dana".into(),
        purpose: "counsel".into(),
        public_key: hex::encode(f.key.as_bytes()),
        events: rows.len() as u64,
        with_evidence: true,
    };
    let manifest = bundle::manifest(&st);
    let mut w = BundleWriter::new(Vec::new());
    w.write_header(&header, &rows, &cps, &manifest).unwrap();
    for e in &manifest.evidence {
        let mut r = vault.open(&key, id, &e.sha256).unwrap();
        w.write_evidence(e, &mut r).unwrap();
        r.finish().unwrap();
    }
    w.finish().unwrap();
    let bytes = std::mem::take(w.get_mut());
    Exported {
        bytes,
        key: f.key,
        evidence: content,
    }
}

/// A ledger recorded before evidence names had to be portable file names, holding one stored
/// content under each of `names` (events appended as they were then, past today's rules), and
/// its bundle, exported the way the server does it.
async fn bundle_of_old_names(names: &[&str], with_evidence: bool) -> Exported {
    let f = fixture().await;
    let vault = Arc::new(Vault::filesystem(f.dir.path()).unwrap());
    let mut st = declared(&f.store, "dotted-heron").await;
    let id = st.id;
    let key = vault.incident_key(&f.store, id).await.unwrap();
    let content = data(70_001, 9);
    let (v, k, c) = (vault.clone(), key.clone(), content.clone());
    let stored = blocking(move || v.put(&k, id, &c[..], u64::MAX))
        .await
        .unwrap();
    let acquired = names
        .iter()
        .enumerate()
        .map(|(i, name)| Payload::EvidenceAcquired {
            evidence: i as u32 + 1,
            name: name.to_string(),
            sha256: stored.sha256.clone(),
            size: stored.size,
            source: "web-01".into(),
            tool: "dd".into(),
            original_sha256: None,
            note: None,
        })
        .collect();
    append(&f.store, &mut st, acquired, 1).await;
    let mut out: Vec<Payload> = Vec::new();
    if with_evidence {
        for n in 1..=names.len() as u32 {
            out.push(Payload::EvidenceExported {
                evidence: n,
                purpose: "counsel".into(),
                verified_sha256: stored.sha256.clone(),
            });
        }
    }
    out.push(Payload::Exported {
        purpose: "counsel".into(),
        with_evidence,
    });
    append(&f.store, &mut st, out, 2).await;
    let rows = f.store.stored_events(id).await.unwrap();
    let cps = f.store.stored_checkpoints(id).await.unwrap();
    let header = BundleHeader {
        format: bundle::BUNDLE_FORMAT.into(),
        incident: id,
        codename: st.codename.clone(),
        exported_at: t(3).to_string(),
        exported_by: "dana".into(),
        purpose: "counsel".into(),
        public_key: hex::encode(f.key.as_bytes()),
        events: rows.len() as u64,
        with_evidence,
    };
    let manifest = bundle::manifest(&st);
    let mut w = BundleWriter::new(Vec::new());
    w.write_header(&header, &rows, &cps, &manifest).unwrap();
    if with_evidence {
        for e in &manifest.evidence {
            let mut r = vault.open(&key, id, &e.sha256).unwrap();
            w.write_evidence(e, &mut r).unwrap();
            r.finish().unwrap();
        }
    }
    w.finish().unwrap();
    Exported {
        bytes: std::mem::take(w.get_mut()),
        key: f.key,
        evidence: content,
    }
}

/// The paths of a bundle's entries.
fn entry_paths(bytes: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    rewrite(bytes, |p, b| {
        out.push(p.to_string());
        Some(b)
    });
    out
}

/// `docs/verify_ledger.py` on a bundle: its exit code and output, or `None` without python3
/// (a skip, which fails under `CI=true`).
fn python_verify(bytes: &[u8], key: Option<&ed25519_dalek::VerifyingKey>) -> Option<(i32, String)> {
    let has_python = std::process::Command::new("python3")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_python {
        return palisade_test_support::skip_or_fail(
            "the independent bundle verifier",
            "python3 is not installed",
        );
    }
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/verify_ledger.py");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bundle.tar");
    std::fs::write(&path, bytes).unwrap();
    let mut cmd = std::process::Command::new("python3");
    cmd.arg(script).arg(&path);
    if let Some(k) = key {
        cmd.arg(hex::encode(k.as_bytes()));
    }
    let out = cmd.output().unwrap();
    Some((
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    ))
}

#[tokio::test(flavor = "multi_thread")]
async fn evidence_named_dot_or_dot_dot_before_names_were_checked_exports_into_a_valid_bundle() {
    let b = bundle_of_old_names(&["..", ".", "ok.img"], true).await;
    let paths = entry_paths(&b.bytes);
    for want in ["evidence/E1/__", "evidence/E2/_", "evidence/E3/ok.img"] {
        assert!(paths.iter().any(|p| p == want), "{paths:?}");
    }
    let m: bundle::Manifest = {
        let mut m = None;
        rewrite(&b.bytes, |p, bytes| {
            if p == bundle::MANIFEST_ENTRY {
                m = Some(serde_json::from_slice(&bytes).unwrap());
            }
            Some(bytes)
        });
        m.unwrap()
    };
    let names: Vec<&str> = m.evidence.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(
        names,
        ["..", ".", "ok.img"],
        "the manifest keeps the recorded names"
    );
    let r = verify(&b.bytes, Some(b.key));
    assert!(r.ok(), "{:?}", r.failures);
    assert_eq!((r.evidence_listed, r.evidence_files_verified), (3, 3));
    // Every file is the content, byte for byte.
    rewrite(&b.bytes, |p, bytes| {
        if p.starts_with("evidence/E") {
            assert_eq!(bytes, b.evidence, "{p}");
        }
        Some(bytes)
    });
    if let Some((code, text)) = python_verify(&b.bytes, Some(&b.key)) {
        assert_eq!(code, 0, "{text}");
        assert!(text.contains("3 evidence files"), "{text}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bundle_made_before_dots_were_written_as_underscores_still_verifies() {
    // Without evidence content, such a bundle was valid then; its manifest listed the names'
    // paths unchanged.
    let b = bundle_of_old_names(&["..", ".", "ok.img"], false).await;
    let legacy = |path: &str| path.replace("E1/__", "E1/..").replace("E2/_", "E2/.");
    let old = rewrite(&b.bytes, |p, bytes| {
        if p == bundle::MANIFEST_ENTRY {
            Some(legacy(&String::from_utf8(bytes).unwrap()).into_bytes())
        } else {
            Some(bytes)
        }
    });
    assert_ne!(old, b.bytes);
    for bytes in [&b.bytes, &old] {
        let r = verify(bytes, Some(b.key));
        assert!(r.ok(), "{:?}", r.failures);
        if let Some((code, text)) = python_verify(bytes, Some(&b.key)) {
            assert_eq!(code, 0, "{text}");
        }
    }
    // Any other path is still a manifest that does not match the ledger.
    let wrong = rewrite(&b.bytes, |p, bytes| {
        if p == bundle::MANIFEST_ENTRY {
            Some(
                String::from_utf8(bytes)
                    .unwrap()
                    .replace("E1/__", "E1/x")
                    .into_bytes(),
            )
        } else {
            Some(bytes)
        }
    });
    let r = verify(&wrong, Some(b.key));
    assert!(
        first_failure(&r).contains("manifest entry E1"),
        "{:?}",
        r.failures
    );
    if let Some((code, text)) = python_verify(&wrong, Some(&b.key)) {
        assert_eq!(code, 1, "{text}");
        assert!(text.contains("manifest does not match"), "{text}");
    }
}

/// Rewrite a bundle, changing entries through `edit(path, bytes)`; `None` drops the entry.
fn rewrite(bundle: &[u8], mut edit: impl FnMut(&str, Vec<u8>) -> Option<Vec<u8>>) -> Vec<u8> {
    let mut ar = tar::Archive::new(bundle);
    let mut out = tar::Builder::new(Vec::new());
    for e in ar.entries().unwrap() {
        let mut e = e.unwrap();
        let path = e.path().unwrap().to_string_lossy().into_owned();
        let mut bytes = Vec::new();
        e.read_to_end(&mut bytes).unwrap();
        if let Some(b) = edit(&path, bytes) {
            let mut h = tar::Header::new_gnu();
            h.set_size(b.len() as u64);
            h.set_mode(0o644);
            h.set_cksum();
            out.append_data(&mut h, &path, &b[..]).unwrap();
        }
    }
    out.into_inner().unwrap()
}

fn verify(bytes: &[u8], key: Option<ed25519_dalek::VerifyingKey>) -> bundle::BundleReport {
    bundle::verify_bundle(bytes, key).unwrap()
}

fn first_failure(r: &bundle::BundleReport) -> String {
    r.failures
        .first()
        .map(|f| f.what.clone())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_exported_bundle_verifies_offline() {
    let b = exported_bundle().await;
    let r = verify(&b.bytes, Some(b.key));
    assert!(r.ok(), "{:?}", r.failures);
    assert_eq!(
        (r.events, r.evidence_listed, r.evidence_files_verified),
        (5, 1, 1)
    );
    assert_eq!(r.signatures_verified, r.checkpoints);
    assert_eq!(r.codename.as_deref(), Some("lucid-anchor"));
    // The evidence inside is the content, byte for byte.
    let mut found = None;
    rewrite(&b.bytes, |p, bytes| {
        if p.starts_with("evidence/E1/") {
            found = Some(bytes.clone());
        }
        Some(bytes)
    });
    assert_eq!(found.as_deref(), Some(&b.evidence[..]));
    // Without a trusted key the bundle's own key is used and named.
    let own = verify(&b.bytes, None);
    assert!(own.ok());
    assert_eq!(own.key_id, Some(palisade_core::chain::key_id(&b.key)));
}

#[tokio::test(flavor = "multi_thread")]
async fn tampering_with_an_event_is_detected() {
    let b = exported_bundle().await;
    let bad = rewrite(&b.bytes, |p, bytes| {
        if p == bundle::EVENTS_ENTRY {
            let text = String::from_utf8(bytes)
                .unwrap()
                .replace("LiME 1.9", "LiME 2.0");
            Some(text.into_bytes())
        } else {
            Some(bytes)
        }
    });
    let r = verify(&bad, Some(b.key));
    assert!(!r.ok());
    assert_eq!(r.failures[0].seq, Some(3), "{:?}", r.failures);
}

#[tokio::test(flavor = "multi_thread")]
async fn tampering_with_the_manifest_hash_is_detected() {
    let b = exported_bundle().await;
    let bad = rewrite(&b.bytes, |p, bytes| {
        if p == bundle::MANIFEST_ENTRY {
            let mut m: bundle::Manifest = serde_json::from_slice(&bytes).unwrap();
            m.evidence[0].sha256 = "0".repeat(64);
            Some(serde_json::to_vec(&m).unwrap())
        } else {
            Some(bytes)
        }
    });
    let r = verify(&bad, Some(b.key));
    assert!(
        first_failure(&r).contains("manifest entry E1"),
        "{:?}",
        r.failures
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn tampering_with_an_evidence_file_is_detected() {
    let b = exported_bundle().await;
    let bad = rewrite(&b.bytes, |p, mut bytes| {
        if p.starts_with("evidence/E1/") {
            bytes[100] ^= 0x20;
        }
        Some(bytes)
    });
    let r = verify(&bad, Some(b.key));
    assert!(
        first_failure(&r).contains("does not match the ledger"),
        "{:?}",
        r.failures
    );
    // A missing evidence file in a with-evidence bundle is reported too.
    let dropped = rewrite(&b.bytes, |p, bytes| {
        (!p.starts_with("evidence/E1/")).then_some(bytes)
    });
    let r = verify(&dropped, Some(b.key));
    assert!(
        first_failure(&r).contains("missing from the bundle"),
        "{:?}",
        r.failures
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn tampering_with_a_signature_is_detected() {
    let b = exported_bundle().await;
    let bad = rewrite(&b.bytes, |p, bytes| {
        if p == bundle::CHECKPOINTS_ENTRY {
            let text = String::from_utf8(bytes).unwrap();
            let mut lines: Vec<serde_json::Value> = text
                .lines()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect();
            let sig = lines[1]["signature"].as_str().unwrap().to_string();
            let (first, rest) = sig.split_at(1);
            let flipped = format!("{}{rest}", if first == "0" { "1" } else { "0" });
            lines[1]["signature"] = serde_json::Value::String(flipped);
            let mut out = String::new();
            for l in lines {
                out.push_str(&l.to_string());
                out.push('\n');
            }
            Some(out.into_bytes())
        } else {
            Some(bytes)
        }
    });
    let r = verify(&bad, Some(b.key));
    assert!(!r.ok());
    assert!(
        first_failure(&r).to_lowercase().contains("signature"),
        "{:?}",
        r.failures
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bundle_cut_short_or_signed_by_another_key_is_detected() {
    let b = exported_bundle().await;
    // Drop the last event and its checkpoint: consistent, but no longer ends with its export.
    let cut = rewrite(&b.bytes, |p, bytes| {
        if p == bundle::EVENTS_ENTRY || p == bundle::CHECKPOINTS_ENTRY {
            let text = String::from_utf8(bytes).unwrap();
            let lines: Vec<&str> = text.lines().collect();
            let keep = if p == bundle::EVENTS_ENTRY {
                lines.len() - 2
            } else {
                lines.len() - 1
            };
            Some((lines[..keep].join("\n") + "\n").into_bytes())
        } else if p == bundle::HEADER_ENTRY {
            let mut h: BundleHeader = serde_json::from_slice(&bytes).unwrap();
            h.events -= 2;
            Some(serde_json::to_vec(&h).unwrap())
        } else {
            Some(bytes)
        }
    });
    let r = verify(&cut, Some(b.key));
    assert!(
        r.failures
            .iter()
            .any(|f| f.what.contains("does not end with this export")),
        "{:?}",
        r.failures
    );
    // A trusted key that did not sign it.
    let stranger = ed25519_dalek::SigningKey::from_bytes(&[7u8; 32]).verifying_key();
    let r = verify(&b.bytes, Some(stranger));
    assert!(!r.ok());
    // Not a bundle at all: an error that says so.
    let err = bundle::verify_bundle(&[b'x'; 1024][..], None)
        .unwrap_err()
        .to_string();
    assert!(err.contains("archive"), "{err}");
}

#[test]
fn garbage_and_hostile_bundles_are_reported_not_trusted() {
    // An empty tar, a header-only bundle, and entries with unexpected paths.
    let empty = tar::Builder::new(Vec::new()).into_inner().unwrap();
    let r = verify(&empty, None);
    assert!(
        first_failure(&r).contains("not a Palisade bundle"),
        "{:?}",
        r.failures
    );
    let mut b = tar::Builder::new(Vec::new());
    let mut add = |path: &str, data: &[u8]| {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        b.append_data(&mut h, path, data).unwrap();
    };
    add(bundle::HEADER_ENTRY, b"{\"format\": 7}");
    add("ledger/extra.jsonl", b"{}");
    let bytes = b.into_inner().unwrap();
    let r = verify(&bytes, None);
    assert!(!r.ok());
    assert!(
        r.failures
            .iter()
            .any(|f| f.what.contains("unexpected entry")),
        "{:?}",
        r.failures
    );
}

/// The bundle format is documented precisely enough for the independent Python verifier
/// (docs/verify_ledger.py) to accept a real bundle and reject a tampered one.
#[tokio::test(flavor = "multi_thread")]
async fn the_python_verifier_agrees_on_bundles() {
    let has_python = std::process::Command::new("python3")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_python {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true but python3 is missing"
        );
        eprintln!("SKIP independent bundle verifier: python3 is not installed");
        return;
    }
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/verify_ledger.py");
    let b = exported_bundle().await;
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.tar");
    std::fs::write(&good, &b.bytes).unwrap();
    let key = hex::encode(b.key.as_bytes());
    let out = std::process::Command::new("python3")
        .arg(script)
        .arg(&good)
        .arg(&key)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.starts_with("OK bundle of lucid-anchor: 5 events, 1 evidence files"),
        "{text}"
    );
    let bad = dir.path().join("bad.tar");
    std::fs::write(
        &bad,
        rewrite(&b.bytes, |p, mut bytes| {
            if p.starts_with("evidence/E1/") {
                bytes[7] ^= 1;
            }
            Some(bytes)
        }),
    )
    .unwrap();
    let out = std::process::Command::new("python3")
        .arg(script)
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("does not match the ledger"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// What decisions read besides the state: the time now and the default policy.
fn ctx() -> palisade_core::Context<'static, palisade_core::comms::CommsPolicy> {
    static POLICY: std::sync::OnceLock<palisade_core::comms::CommsPolicy> =
        std::sync::OnceLock::new();
    palisade_core::Context {
        now: palisade_core::Timestamp::from_datetime(time::OffsetDateTime::now_utc()),
        policy: POLICY.get_or_init(Default::default),
    }
}
