//! The server's Ed25519 ledger signing key: created at first start in the data directory with
//! 0600 permissions, or given through `PALISADE_SIGNING_KEY` (hex) for deployments whose
//! instances share one key.

use crate::{Result, StoreError};
use palisade_core::chain::{LedgerSigner, key_id};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::DataDir;

fn io(context: String) -> impl FnOnce(std::io::Error) -> StoreError {
    move |source| StoreError::Io { context, source }
}

fn parse_secret(text: &str, origin: &str) -> Result<[u8; 32]> {
    let mut secret = [0u8; 32];
    hex::decode_to_slice(text.trim(), &mut secret).map_err(|_| {
        StoreError::Corrupt(format!(
            "{origin} must hold 64 hex characters (an Ed25519 secret key)"
        ))
    })?;
    Ok(secret)
}

/// Create `path` with owner-only permissions (0600) holding `bytes`, fsynced. Fails if it exists.
pub(crate) fn write_secret_file(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut opts = fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts
        .open(path)
        .map_err(io(format!("creating {}", path.display())))?;
    f.write_all(bytes)
        .and_then(|_| f.sync_all())
        .map_err(io(format!("writing {}", path.display())))
}

/// Load the signing key, creating it on first start. Returns the signer and whether it was created.
pub fn load_or_create(data_dir: &DataDir) -> Result<(LedgerSigner, bool)> {
    if let Ok(hexkey) = std::env::var("PALISADE_SIGNING_KEY") {
        let signer = LedgerSigner::from_secret(parse_secret(&hexkey, "PALISADE_SIGNING_KEY")?);
        // The public half beside the data, as with a key file: verify and auditors need it.
        ensure_public(data_dir, &signer)?;
        return Ok((signer, false));
    }
    let path = data_dir.signing_key();
    match fs::read_to_string(&path) {
        Ok(text) => {
            check_permissions(&path)?;
            let signer =
                LedgerSigner::from_secret(parse_secret(&text, &path.display().to_string())?);
            Ok((signer, false))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut secret = [0u8; 32];
            getrandom::fill(&mut secret).map_err(|e| StoreError::Io {
                context: "reading the operating system's random number generator".into(),
                source: std::io::Error::other(e.to_string()),
            })?;
            let mut opts = fs::OpenOptions::new();
            opts.write(true).create_new(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                opts.mode(0o600);
            }
            let mut f = opts
                .open(&path)
                .map_err(io(format!("creating {}", path.display())))?;
            f.write_all(hex::encode(secret).as_bytes())
                .and_then(|_| f.sync_all())
                .map_err(io(format!("writing {}", path.display())))?;
            let signer = LedgerSigner::from_secret(secret);
            write_public(data_dir, &signer)?;
            Ok((signer, true))
        }
        Err(e) => Err(StoreError::Io {
            context: format!("reading {}", path.display()),
            source: e,
        }),
    }
}

/// Write the public key file unless it holds this key already; a file holding another key is
/// an error (the data directory belongs to another deployment).
fn ensure_public(data_dir: &DataDir, signer: &LedgerSigner) -> Result<()> {
    let path = data_dir.public_key();
    let want = hex::encode(signer.verifying_key().as_bytes());
    match fs::read_to_string(&path) {
        Ok(text) if text.trim() == want => Ok(()),
        Ok(_) => Err(StoreError::Corrupt(format!(
            "{} holds another public key than PALISADE_SIGNING_KEY's; this data directory was signed with another key",
            path.display()
        ))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            fs::create_dir_all(data_dir.path())
                .map_err(io(format!("creating {}", data_dir.path().display())))?;
            write_public(data_dir, signer)
        }
        Err(e) => Err(io(format!("reading {}", path.display()))(e)),
    }
}

fn write_public(data_dir: &DataDir, signer: &LedgerSigner) -> Result<()> {
    let path = data_dir.public_key();
    let text = format!("{}\n", hex::encode(signer.verifying_key().as_bytes()));
    fs::write(&path, text).map_err(io(format!("writing {}", path.display())))
}

#[cfg(unix)]
pub(crate) fn check_permissions(path: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mode = fs::metadata(path)
        .map_err(io(format!("reading {}", path.display())))?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        return Err(StoreError::Corrupt(format!(
            "{} is readable by other users (mode {:o}); run `chmod 600 {}`",
            path.display(),
            mode & 0o777,
            path.display()
        )));
    }
    Ok(())
}
#[cfg(not(unix))]
pub(crate) fn check_permissions(_: &Path) -> Result<()> {
    Ok(())
}

/// Read a trusted public key: a file holding 64 hex characters, or the hex itself.
/// The public key of this deployment: `PALISADE_SIGNING_KEY`'s when set, else the key file's
/// (never creating one).
pub fn public_key_of(data_dir: &DataDir) -> Result<ed25519_dalek::VerifyingKey> {
    if let Ok(hexkey) = std::env::var("PALISADE_SIGNING_KEY") {
        return Ok(
            LedgerSigner::from_secret(parse_secret(&hexkey, "PALISADE_SIGNING_KEY")?)
                .verifying_key(),
        );
    }
    let path = data_dir.public_key();
    if path.exists() {
        return read_public_key(&path.display().to_string());
    }
    let secret = data_dir.signing_key();
    let text = fs::read_to_string(&secret).map_err(io(format!(
        "no public key: neither PALISADE_SIGNING_KEY nor {} nor {}",
        path.display(),
        secret.display()
    )))?;
    Ok(
        LedgerSigner::from_secret(parse_secret(&text, &secret.display().to_string())?)
            .verifying_key(),
    )
}

pub fn read_public_key(spec: &str) -> Result<ed25519_dalek::VerifyingKey> {
    let text = if Path::new(spec).exists() {
        fs::read_to_string(spec).map_err(io(format!("reading {spec}")))?
    } else {
        spec.to_string()
    };
    let mut bytes = [0u8; 32];
    hex::decode_to_slice(text.trim(), &mut bytes)
        .ok()
        .and_then(|_| ed25519_dalek::VerifyingKey::from_bytes(&bytes).ok())
        .ok_or_else(|| {
            StoreError::Corrupt(format!(
                "{spec}: not an Ed25519 public key (expected 64 hex characters)"
            ))
        })
}

/// The public key file of a data directory.
pub fn public_key_path(data_dir: &Path) -> PathBuf {
    DataDir::new(data_dir).public_key()
}

/// Key id of a public key, as checkpoints name it.
pub fn describe(key: &ed25519_dalek::VerifyingKey) -> String {
    key_id(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_is_created_once_with_owner_only_permissions() {
        let dir = tempfile::tempdir().unwrap();
        let (a, created) = load_or_create(&DataDir::new(dir.path())).unwrap();
        assert!(created);
        let (b, created_again) = load_or_create(&DataDir::new(dir.path())).unwrap();
        assert!(!created_again);
        assert_eq!(a.verifying_key(), b.verifying_key());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(DataDir::new(dir.path()).signing_key())
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
            fs::set_permissions(
                DataDir::new(dir.path()).signing_key(),
                fs::Permissions::from_mode(0o644),
            )
            .unwrap();
            let err = load_or_create(&DataDir::new(dir.path()))
                .err()
                .unwrap()
                .to_string();
            assert!(err.contains("chmod 600"), "{err}");
        }
        let public = read_public_key(public_key_path(dir.path()).to_str().unwrap()).unwrap();
        assert_eq!(public, a.verifying_key());
    }
}
