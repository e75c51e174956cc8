//! The evidence vault: evidence content stored content-addressed by the SHA-256 of its plaintext,
//! encrypted at rest in the age format (<https://age-encryption.org/v1>, a streaming AEAD:
//! ChaCha20-Poly1305 over 64 KiB chunks) to a per-incident key.
//!
//! Keys: each incident has its own age X25519 identity (its data key), created at its first
//! evidence upload and stored in the database *wrapped*, that is age-encrypted to the master key.
//! The master key is an age identity in `evidence-master.key` in the data directory (0600), or
//! `PALISADE_EVIDENCE_KEY` for deployments. A forensic analyst holding the master key can decrypt
//! a stored blob with the standard `age` tool: unwrap the incident key, then the blob.
//!
//! Blobs live on the filesystem (`<data dir>/evidence/`) by default, or in an S3-compatible object
//! store. Uploads are written to `tmp/` and only moved to their content address once complete
//! and (on the filesystem) fsynced, so a truncated or killed upload never appears as evidence;
//! stale temporary uploads are swept at start.
//!
//! An export bundle's content is staged before the export is recorded ([`Vault::stage`]): read
//! back, checked, and kept in an unnamed temporary file in `spool/` of the data directory,
//! encrypted under a key that exists only in memory, until the bundle is written.
//!
//! Everything here is blocking I/O: call it from `spawn_blocking`. Object-store calls are bridged
//! onto the runtime handle the vault was opened with.

use crate::{Result, Store, StoreError};
use age::secrecy::ExposeSecret;
use base64::Engine;
use object_store::path::Path as ObjPath;
use object_store::{ObjectStore, ObjectStoreExt};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::fs;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use uuid::Uuid;

/// File holding the master key in the data directory.
/// The master key file's name in the data directory.
pub const MASTER_KEY_FILE: &str = crate::DataDir::EVIDENCE_KEY_FILE;
/// Environment variable that gives the master key instead (an `AGE-SECRET-KEY-1…` string).
pub const MASTER_KEY_ENV: &str = "PALISADE_EVIDENCE_KEY";

const CHUNK: usize = 1 << 20;

fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> StoreError {
    let context = context.into();
    move |source| StoreError::Io { context, source }
}

fn obj_err(context: &str) -> impl FnOnce(object_store::Error) -> StoreError + '_ {
    move |e| StoreError::Io {
        context: context.to_string(),
        source: std::io::Error::other(e.to_string()),
    }
}

/// Where blobs live.
enum Blobs {
    Fs {
        root: PathBuf,
    },
    Object {
        store: Arc<dyn ObjectStore>,
        rt: tokio::runtime::Handle,
    },
}

/// An incident's data key, unwrapped.
#[derive(Clone)]
pub struct IncidentKey(age::x25519::Identity);

/// What storing some content measured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredBlob {
    /// Lowercase hex SHA-256 of the plaintext.
    pub sha256: String,
    pub size: u64,
}

/// Why content could not be stored or read back.
#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    #[error("the content is larger than the limit of {limit} bytes")]
    TooLarge { limit: u64 },
    #[error("reading the upload: {0}")]
    Source(std::io::Error),
    #[error("stored evidence {sha256} is missing from the blob store")]
    Missing { sha256: String },
    #[error("stored evidence does not decrypt ({0}); it was altered or is not this incident's")]
    Undecryptable(String),
    #[error("stored evidence hashes to {found}, not its recorded {expected}")]
    Mismatch { expected: String, found: String },
    #[error("the stored content is {found} bytes, but the ledger records {expected} bytes for it")]
    WrongSize { expected: u64, found: u64 },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The evidence vault.
pub struct Vault {
    blobs: Blobs,
    master: age::x25519::Identity,
    keys: Mutex<HashMap<Uuid, IncidentKey>>,
    /// Where content is staged for export bundles (in the data directory, whatever the blobs'
    /// store).
    spool: PathBuf,
}

/// One piece of evidence to stage, as the ledger records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageItem {
    pub evidence: u32,
    pub sha256: String,
    pub size: u64,
}

/// Why content could not be staged.
#[derive(Debug, thiserror::Error)]
pub enum StageError {
    /// This piece of evidence cannot be read back as recorded.
    #[error("E{evidence}: {error}")]
    Evidence { evidence: u32, error: VaultError },
    /// The spool (local disk) failed.
    #[error(transparent)]
    Spool(StoreError),
}

/// Evidence content staged for an export bundle: every item read back from the vault and
/// checked against its recorded hash and size, then kept — encrypted under a key that exists
/// only in this value, in an unnamed temporary file that disappears with it — so the bundle can
/// be completed without reading the vault again. Read it back once, in staging order.
pub struct Staged {
    file: fs::File,
    key: age::x25519::Identity,
    /// What each item measured: (evidence, SHA-256, size).
    pub measured: Vec<(u32, String, u64)>,
}

impl std::fmt::Debug for Staged {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Staged")
            .field("measured", &self.measured)
            .finish_non_exhaustive()
    }
}

impl Staged {
    /// The staged content, item after item, decrypted.
    pub fn into_reader(mut self) -> std::io::Result<Box<dyn Read + Send>> {
        use std::io::Seek;
        self.file.seek(std::io::SeekFrom::Start(0))?;
        let dec = age::Decryptor::new(std::io::BufReader::with_capacity(CHUNK, self.file))
            .map_err(std::io::Error::other)?;
        let r = dec
            .decrypt(std::iter::once(&self.key as &dyn age::Identity))
            .map_err(std::io::Error::other)?;
        Ok(Box::new(r))
    }
}

impl Vault {
    /// The directory holding the content, when it is on a local file system.
    pub fn local_dir(&self) -> Option<&std::path::Path> {
        match &self.blobs {
            Blobs::Fs { root } => Some(root),
            Blobs::Object { .. } => None,
        }
    }
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self.blobs {
            Blobs::Fs { .. } => "Vault(filesystem)",
            Blobs::Object { .. } => "Vault(object store)",
        })
    }
}

/// Load the master key (environment first, then the data directory file), creating the file on
/// first use. Returns the identity and whether it was created.
pub fn load_or_create_master(data_dir: &Path) -> Result<(age::x25519::Identity, bool)> {
    // An age identity file: `#` comment lines (the file written below starts with one), then
    // the identity.
    let parse = |text: &str, origin: &str| {
        // The key file carries a comment line (as age's own key files do); the key is the line
        // that starts with AGE-SECRET-KEY-.
        let line = text
            .lines()
            .map(str::trim)
            .find(|l| l.starts_with("AGE-SECRET-KEY-"))
            .unwrap_or(text.trim());
        age::x25519::Identity::from_str(line).map_err(|_| {
            StoreError::Corrupt(format!(
                "{origin} must hold an age X25519 identity (AGE-SECRET-KEY-1…)"
            ))
        })
    };
    if let Ok(text) = std::env::var(MASTER_KEY_ENV) {
        return Ok((parse(&text, MASTER_KEY_ENV)?, false));
    }
    let path = crate::DataDir::new(data_dir).evidence_key();
    match fs::read_to_string(&path) {
        Ok(text) => {
            crate::keys::check_permissions(&path)?;
            Ok((parse(&text, &path.display().to_string())?, false))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let id = age::x25519::Identity::generate();
            let text = format!(
                "# Palisade evidence master key (age X25519 identity). Public key: {}\n{}\n",
                id.to_public(),
                id.to_string().expose_secret()
            );
            crate::keys::write_secret_file(&path, text.as_bytes())?;
            Ok((id, true))
        }
        Err(e) => Err(StoreError::Io {
            context: format!("reading {}", path.display()),
            source: e,
        }),
    }
}

fn encrypt_to(recipient: &age::x25519::Recipient, plaintext: &[u8]) -> Result<Vec<u8>> {
    let enc = age::Encryptor::with_recipients(std::iter::once(recipient as &dyn age::Recipient))
        .map_err(|e| StoreError::Corrupt(format!("age: {e}")))?;
    let mut out = Vec::new();
    let mut w = enc
        .wrap_output(&mut out)
        .map_err(io("encrypting an incident key"))?;
    w.write_all(plaintext)
        .map_err(io("encrypting an incident key"))?;
    w.finish().map_err(io("encrypting an incident key"))?;
    Ok(out)
}

impl Vault {
    /// A vault on the filesystem under `<data_dir>/evidence`.
    pub fn filesystem(data_dir: &Path) -> Result<Vault> {
        let (master, _) = load_or_create_master(data_dir)?;
        let root = crate::DataDir::new(data_dir).evidence_dir();
        fs::create_dir_all(root.join("tmp")).map_err(io(format!("creating {}", root.display())))?;
        Ok(Vault {
            blobs: Blobs::Fs { root },
            master,
            keys: Mutex::default(),
            spool: crate::DataDir::new(data_dir).spool_dir(),
        })
    }

    /// A vault in an object store (e.g. S3); the master key still comes from the data directory
    /// or the environment. Must be called within a Tokio runtime.
    pub fn object_store(data_dir: &Path, store: Arc<dyn ObjectStore>) -> Result<Vault> {
        let (master, _) = load_or_create_master(data_dir)?;
        Ok(Vault {
            blobs: Blobs::Object {
                store,
                rt: tokio::runtime::Handle::current(),
            },
            master,
            keys: Mutex::default(),
            spool: crate::DataDir::new(data_dir).spool_dir(),
        })
    }

    /// A vault in the S3 bucket named by `url` (`s3://bucket[/prefix]`), configured from the
    /// standard `AWS_*` environment variables (`AWS_ENDPOINT`, `AWS_ACCESS_KEY_ID`,
    /// `AWS_SECRET_ACCESS_KEY`, `AWS_REGION`, `AWS_ALLOW_HTTP`). Must be called within a runtime.
    pub fn s3_from_env(data_dir: &Path, url: &str) -> Result<Vault> {
        let parsed = url.strip_prefix("s3://").ok_or_else(|| {
            StoreError::Corrupt(format!(
                "evidence store {url:?} must be s3://bucket[/prefix]"
            ))
        })?;
        let (bucket, prefix) = parsed.split_once('/').unwrap_or((parsed, ""));
        let s3 = object_store::aws::AmazonS3Builder::from_env()
            .with_bucket_name(bucket)
            .build()
            .map_err(obj_err("configuring the S3 evidence store"))?;
        let store: Arc<dyn ObjectStore> = if prefix.trim_matches('/').is_empty() {
            Arc::new(s3)
        } else {
            Arc::new(object_store::prefix::PrefixStore::new(
                s3,
                prefix.trim_matches('/'),
            ))
        };
        Vault::object_store(data_dir, store)
    }

    /// The incident's data key, creating (and storing, wrapped) it on first use.
    pub async fn incident_key(&self, store: &Store, incident: Uuid) -> Result<IncidentKey> {
        if let Some(k) = self
            .keys
            .lock()
            .ok()
            .and_then(|m| m.get(&incident).cloned())
        {
            return Ok(k);
        }
        let wrapped = match store.incident_key(incident).await? {
            Some(w) => w,
            None => {
                let id = age::x25519::Identity::generate();
                let secret = id.to_string();
                let sealed =
                    encrypt_to(&self.master.to_public(), secret.expose_secret().as_bytes())?;
                let text = base64::engine::general_purpose::STANDARD.encode(sealed);
                let now = crate::now_text();
                store.put_incident_key(incident, &text, &now).await?
            }
        };
        let sealed = base64::engine::general_purpose::STANDARD
            .decode(wrapped.trim())
            .map_err(|e| StoreError::Corrupt(format!("incident {incident} key: {e}")))?;
        let key = IncidentKey(self.unwrap_key(&sealed).map_err(|e| {
            StoreError::Corrupt(format!(
                "incident {incident}: its evidence key does not open with this master key ({e}); is {MASTER_KEY_ENV} or {MASTER_KEY_FILE} the one it was created with?"
            ))
        })?);
        if let Ok(mut m) = self.keys.lock() {
            m.insert(incident, key.clone());
        }
        Ok(key)
    }

    /// Seal a short secret (a contact method's address) to the master key: age, then base64.
    /// Only this deployment opens it ([`Vault::open_text`]); an analyst holding the master key
    /// opens it with `base64 -d | age -d -i evidence-master.key`.
    pub fn seal_text(&self, plaintext: &str) -> Result<String> {
        let sealed = encrypt_to(&self.master.to_public(), plaintext.as_bytes())?;
        Ok(base64::engine::general_purpose::STANDARD.encode(sealed))
    }

    /// The text [`Vault::seal_text`] sealed, or why it does not open (not base64, not age, sealed
    /// to another master key, not UTF-8).
    pub fn open_text(&self, sealed: &str) -> std::result::Result<String, String> {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(sealed.trim())
            .map_err(|e| format!("not base64: {e}"))?;
        let dec = age::Decryptor::new(&bytes[..]).map_err(|e| e.to_string())?;
        let mut r = dec
            .decrypt(std::iter::once(&self.master as &dyn age::Identity))
            .map_err(|e| {
                format!("{e}; is {MASTER_KEY_ENV} or {MASTER_KEY_FILE} the key it was sealed with?")
            })?;
        let mut text = String::new();
        r.read_to_string(&mut text).map_err(|e| e.to_string())?;
        Ok(text)
    }

    /// A keyed digest of `data` for `purpose` (HMAC-SHA-256 under the master key, hex): equal
    /// for equal data under one deployment, so duplicates are found without the data in clear,
    /// and no help to anyone guessing the data without the key.
    pub fn keyed_digest(&self, purpose: &str, data: &[u8]) -> String {
        use hmac::{Hmac, Mac};
        let secret = self.master.to_string();
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.expose_secret().as_bytes())
            .expect("HMAC takes a key of any length");
        mac.update(purpose.as_bytes());
        mac.update(&[0]);
        mac.update(data);
        hex::encode(mac.finalize().into_bytes())
    }

    fn unwrap_key(&self, sealed: &[u8]) -> std::result::Result<age::x25519::Identity, String> {
        let dec = age::Decryptor::new(sealed).map_err(|e| e.to_string())?;
        let mut r = dec
            .decrypt(std::iter::once(&self.master as &dyn age::Identity))
            .map_err(|e| e.to_string())?;
        let mut text = String::new();
        r.read_to_string(&mut text).map_err(|e| e.to_string())?;
        age::x25519::Identity::from_str(text.trim()).map_err(|e| e.to_string())
    }

    fn final_name(incident: Uuid, sha256: &str) -> String {
        format!("{incident}/{sha256}.age")
    }

    /// Encrypt and store everything `source` yields, hashing the plaintext on the way. At most
    /// `limit` bytes are accepted. Nothing is visible at the content address until the whole
    /// content is stored (and, on the filesystem, fsynced).
    pub fn put(
        &self,
        key: &IncidentKey,
        incident: Uuid,
        source: impl Read,
        limit: u64,
    ) -> std::result::Result<StoredBlob, VaultError> {
        self.put_expecting(key, incident, source, limit, None)
    }

    /// [`Vault::put`], but content whose SHA-256 is not `expected` (the hash taken at
    /// acquisition) is discarded before it reaches a content address: [`VaultError::Mismatch`].
    pub fn put_expecting(
        &self,
        key: &IncidentKey,
        incident: Uuid,
        mut source: impl Read,
        limit: u64,
        expected: Option<&str>,
    ) -> std::result::Result<StoredBlob, VaultError> {
        let mismatch = |sha256: &str| {
            expected
                .filter(|e| !e.eq_ignore_ascii_case(sha256))
                .map(|e| VaultError::Mismatch {
                    expected: e.to_ascii_lowercase(),
                    found: sha256.to_string(),
                })
        };
        let tmp_name = format!("tmp/{}.part", Uuid::now_v7());
        let recipient = key.0.to_public();
        let enc =
            age::Encryptor::with_recipients(std::iter::once(&recipient as &dyn age::Recipient))
                .map_err(|e| StoreError::Corrupt(format!("age: {e}")))?;
        let mut hasher = Sha256::new();
        let mut size = 0u64;
        let mut buf = vec![0u8; CHUNK];
        let mut copy = |w: &mut dyn Write| -> std::result::Result<(), VaultError> {
            loop {
                let n = match source.read(&mut buf) {
                    Ok(0) => return Ok(()),
                    Ok(n) => n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(VaultError::Source(e)),
                };
                size += n as u64;
                if size > limit {
                    return Err(VaultError::TooLarge { limit });
                }
                hasher.update(&buf[..n]);
                w.write_all(&buf[..n])
                    .map_err(io("writing encrypted evidence"))?;
            }
        };
        match &self.blobs {
            Blobs::Fs { root } => {
                let tmp = root.join(&tmp_name);
                let file =
                    fs::File::create(&tmp).map_err(io(format!("creating {}", tmp.display())))?;
                let result = (|| {
                    let mut w = enc
                        .wrap_output(BufWriter::with_capacity(CHUNK, file))
                        .map_err(io("starting encryption"))?;
                    copy(&mut w)?;
                    let file = w
                        .finish()
                        .map_err(io("finishing encryption"))?
                        .into_inner()
                        .map_err(|e| io("writing encrypted evidence")(e.into_error()))?;
                    file.sync_all().map_err(io("syncing encrypted evidence"))?;
                    Ok::<_, VaultError>(())
                })();
                if let Err(e) = result {
                    let _ = fs::remove_file(&tmp);
                    return Err(e);
                }
                let sha256 = hex::encode(hasher.finalize());
                if let Some(e) = mismatch(&sha256) {
                    let _ = fs::remove_file(&tmp);
                    return Err(e);
                }
                let dir = root.join(incident.to_string());
                fs::create_dir_all(&dir).map_err(io(format!("creating {}", dir.display())))?;
                let dest = root.join(Self::final_name(incident, &sha256));
                if dest.exists() {
                    // The same content was stored for this incident before.
                    let _ = fs::remove_file(&tmp);
                } else {
                    fs::rename(&tmp, &dest)
                        .map_err(io(format!("moving evidence into {}", dest.display())))?;
                    fs::File::open(&dir)
                        .and_then(|d| d.sync_all())
                        .map_err(io(format!("syncing {}", dir.display())))?;
                }
                Ok(StoredBlob { sha256, size })
            }
            Blobs::Object { store, rt } => {
                let tmp = ObjPath::from(tmp_name);
                let upload = object_store::buffered::BufWriter::with_capacity(
                    store.clone(),
                    tmp.clone(),
                    8 << 20,
                )
                .with_max_concurrency(2);
                let bridge = tokio_util::io::SyncIoBridge::new_with_handle(upload, rt.clone());
                let result = (|| {
                    let mut w = enc
                        .wrap_output(BufWriter::with_capacity(CHUNK, bridge))
                        .map_err(io("starting encryption"))?;
                    copy(&mut w)?;
                    let mut bridge = w
                        .finish()
                        .map_err(io("finishing encryption"))?
                        .into_inner()
                        .map_err(|e| io("uploading encrypted evidence")(e.into_error()))?;
                    bridge
                        .shutdown()
                        .map_err(io("completing the evidence upload"))?;
                    Ok::<_, VaultError>(())
                })();
                if let Err(e) = result {
                    let _ = rt.block_on(store.delete(&tmp));
                    return Err(e);
                }
                let sha256 = hex::encode(hasher.finalize());
                if let Some(e) = mismatch(&sha256) {
                    let _ = rt.block_on(store.delete(&tmp));
                    return Err(e);
                }
                let dest = ObjPath::from(Self::final_name(incident, &sha256));
                let exists = rt.block_on(store.head(&dest)).is_ok();
                if exists {
                    let _ = rt.block_on(store.delete(&tmp));
                } else {
                    rt.block_on(store.rename(&tmp, &dest))
                        .map_err(obj_err("moving evidence to its content address"))?;
                }
                Ok(StoredBlob { sha256, size })
            }
        }
    }

    /// The stored (encrypted) bytes of a blob.
    fn raw(
        &self,
        incident: Uuid,
        sha256: &str,
    ) -> std::result::Result<Box<dyn Read + Send>, VaultError> {
        let name = Self::final_name(incident, sha256);
        match &self.blobs {
            Blobs::Fs { root } => match fs::File::open(root.join(&name)) {
                Ok(f) => Ok(Box::new(std::io::BufReader::with_capacity(CHUNK, f))),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(VaultError::Missing {
                    sha256: sha256.to_string(),
                }),
                Err(e) => Err(io(format!("opening evidence {sha256}"))(e).into()),
            },
            Blobs::Object { store, rt } => {
                let got = match rt.block_on(store.get(&ObjPath::from(name))) {
                    Ok(g) => g,
                    Err(object_store::Error::NotFound { .. }) => {
                        return Err(VaultError::Missing {
                            sha256: sha256.to_string(),
                        });
                    }
                    Err(e) => return Err(obj_err("fetching evidence")(e).into()),
                };
                let stream = futures_util::TryStreamExt::map_err(got.into_stream(), |e| {
                    std::io::Error::other(e.to_string())
                });
                let reader = tokio_util::io::StreamReader::new(stream);
                Ok(Box::new(tokio_util::io::SyncIoBridge::new_with_handle(
                    reader,
                    rt.clone(),
                )))
            }
        }
    }

    /// A reader of the decrypted content. It does not check the hash: use [`HashingReader`].
    pub fn open(
        &self,
        key: &IncidentKey,
        incident: Uuid,
        sha256: &str,
    ) -> std::result::Result<HashingReader<Box<dyn Read + Send>>, VaultError> {
        let raw = self.raw(incident, sha256)?;
        let dec = age::Decryptor::new(raw).map_err(|e| VaultError::Undecryptable(e.to_string()))?;
        let r = dec
            .decrypt(std::iter::once(&key.0 as &dyn age::Identity))
            .map_err(|e| VaultError::Undecryptable(e.to_string()))?;
        Ok(HashingReader {
            inner: Box::new(r),
            hasher: Sha256::new(),
            size: 0,
            expected: sha256.to_string(),
        })
    }

    /// Read the whole content back and check it against `sha256` (the custody re-check).
    pub fn recheck(
        &self,
        key: &IncidentKey,
        incident: Uuid,
        sha256: &str,
    ) -> std::result::Result<StoredBlob, VaultError> {
        let mut r = self.open(key, incident, sha256)?;
        std::io::copy(&mut r, &mut std::io::sink())
            .map_err(|e| VaultError::Undecryptable(e.to_string()))?;
        r.finish()
    }

    /// Read `items` back, check each against its recorded hash and size, and stage them for an
    /// export bundle (see [`Staged`]). The first item that does not read back as recorded stops
    /// it: [`StageError::Evidence`].
    pub fn stage(
        &self,
        key: &IncidentKey,
        incident: Uuid,
        items: &[StageItem],
    ) -> std::result::Result<Staged, StageError> {
        let spool_err =
            |context: String| move |e: std::io::Error| StageError::Spool(io(context)(e));
        fs::create_dir_all(&self.spool)
            .map_err(spool_err(format!("creating {}", self.spool.display())))?;
        let file = tempfile::tempfile_in(&self.spool).map_err(spool_err(format!(
            "creating a file in {}",
            self.spool.display()
        )))?;
        let spool_key = age::x25519::Identity::generate();
        let recipient = spool_key.to_public();
        let enc =
            age::Encryptor::with_recipients(std::iter::once(&recipient as &dyn age::Recipient))
                .map_err(|e| StageError::Spool(StoreError::Corrupt(format!("age: {e}"))))?;
        let writing = || spool_err("staging evidence for an export".to_string());
        let out = file.try_clone().map_err(writing())?;
        let mut w = enc
            .wrap_output(BufWriter::with_capacity(CHUNK, out))
            .map_err(writing())?;
        let mut measured = Vec::with_capacity(items.len());
        let mut buf = vec![0u8; CHUNK];
        for item in items {
            let failed = |error: VaultError| StageError::Evidence {
                evidence: item.evidence,
                error,
            };
            let mut r = self.open(key, incident, &item.sha256).map_err(failed)?;
            loop {
                let n = match r.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(failed(VaultError::Undecryptable(e.to_string()))),
                };
                w.write_all(&buf[..n]).map_err(writing())?;
            }
            let blob = r.finish().map_err(failed)?;
            if blob.size != item.size {
                return Err(failed(VaultError::WrongSize {
                    expected: item.size,
                    found: blob.size,
                }));
            }
            measured.push((item.evidence, blob.sha256, blob.size));
        }
        w.finish()
            .map_err(writing())?
            .into_inner()
            .map_err(|e| writing()(e.into_error()))?;
        Ok(Staged {
            file,
            key: spool_key,
            measured,
        })
    }

    /// Remove temporary uploads older than `age` (left by killed uploads). Returns how many.
    pub fn sweep_tmp(&self, age: std::time::Duration) -> Result<usize> {
        let mut n = 0;
        match &self.blobs {
            Blobs::Fs { root } => {
                let dir = root.join("tmp");
                let entries =
                    fs::read_dir(&dir).map_err(io(format!("listing {}", dir.display())))?;
                for e in entries.flatten() {
                    let old = e
                        .metadata()
                        .and_then(|m| m.modified())
                        .ok()
                        .and_then(|t| t.elapsed().ok())
                        .is_some_and(|el| el >= age);
                    if old && fs::remove_file(e.path()).is_ok() {
                        n += 1;
                    }
                }
            }
            Blobs::Object { store, rt } => {
                use futures_util::StreamExt;
                let cutoff = std::time::SystemTime::now() - age;
                let listed: Vec<_> =
                    rt.block_on(store.list(Some(&ObjPath::from("tmp"))).collect::<Vec<_>>());
                for m in listed.into_iter().flatten() {
                    let modified: std::time::SystemTime = m.last_modified.into();
                    if modified <= cutoff && rt.block_on(store.delete(&m.location)).is_ok() {
                        n += 1;
                    }
                }
            }
        }
        Ok(n)
    }
}

/// Decrypted content with its SHA-256 computed as it is read.
pub struct HashingReader<R> {
    inner: R,
    hasher: Sha256,
    size: u64,
    expected: String,
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.size += n as u64;
        Ok(n)
    }
}

impl<R> HashingReader<R> {
    /// After reading to the end: the measured content, or a mismatch error.
    pub fn finish(self) -> std::result::Result<StoredBlob, VaultError> {
        let found = hex::encode(self.hasher.finalize());
        if found != self.expected {
            return Err(VaultError::Mismatch {
                expected: self.expected,
                found,
            });
        }
        Ok(StoredBlob {
            sha256: found,
            size: self.size,
        })
    }
}
