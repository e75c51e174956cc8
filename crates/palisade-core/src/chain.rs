//! The hash chain and signed checkpoints (ledger format v1, `docs/ledger-format.md`).
//!
//! `hash(n) = SHA-256("palisade/ledger/event/v1" ‖ 0x00 ‖ hash(n−1) ‖ canonical(event n))`, with
//! `hash(0)` = 32 zero bytes. A checkpoint commits to an incident's head `(seq, hash)` and to the
//! previous checkpoint of the same incident (`prev`, the link hash of that checkpoint), so the
//! checkpoints form a second chain; its signature is Ed25519 over
//! `"palisade/ledger/checkpoint/v1" ‖ 0x00 ‖ canonical(checkpoint body)`. The link hash of a
//! checkpoint is `SHA-256("palisade/ledger/checkpoint-link/v1" ‖ 0x00 ‖ message ‖ signature)`.
//! Verifying the newest checkpoint's signature therefore vouches for every earlier checkpoint,
//! signature included, through the links.

use crate::canonical::{CanonicalError, to_canonical_from};
use crate::event::{Event, Timestamp};
use crate::stream::{StreamId, StreamKind};
use ed25519_dalek::{Signature, Signer as _, SigningKey, Verifier, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

pub const EVENT_TAG: &[u8] = b"palisade/ledger/event/v1\0";
pub const CHECKPOINT_TAG: &[u8] = b"palisade/ledger/checkpoint/v1\0";
pub const CHECKPOINT_LINK_TAG: &[u8] = b"palisade/ledger/checkpoint-link/v1\0";
/// The `prev_hash` of an incident's first event.
pub const GENESIS: [u8; 32] = [0u8; 32];

pub type Hash = [u8; 32];

/// Chain hash of an event given its canonical body and the previous event's hash.
pub fn event_hash(prev: &Hash, canonical_body: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update(EVENT_TAG);
    h.update(prev);
    h.update(canonical_body);
    h.finalize().into()
}

/// Canonical body of an event (the bytes that are stored and hashed).
pub fn canonical_event<P: Serialize>(event: &Event<P>) -> Result<String, CanonicalError> {
    to_canonical_from(event)
}

/// Parse a hex hash.
pub fn parse_hash(s: &str) -> Option<Hash> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(s, &mut out).ok()?;
    Some(out)
}

/// Version of the checkpoint body format written now (`format` member): 2 names the stream
/// (`stream`, `kind/uuid`); format 1 (incidents only) named it `incident`. Both verify.
pub const CHECKPOINT_FORMAT: u32 = 2;

/// What a checkpoint commits to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckpointBody {
    /// 1 or [`CHECKPOINT_FORMAT`].
    pub format: u32,
    pub stream: StreamId,
    pub seq: u64,
    /// Hex SHA-256 chain hash of event `seq`.
    pub head: String,
    /// Hex link hash of the stream's previous checkpoint (64 zeros for the first).
    pub prev: String,
    pub signed_at: Timestamp,
    /// Identifies the signing key: hex of the first 8 bytes of SHA-256(public key).
    pub key_id: String,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct CheckpointWire {
    format: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    incident: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    stream: Option<StreamId>,
    seq: u64,
    head: String,
    prev: String,
    signed_at: Timestamp,
    key_id: String,
}

impl Serialize for CheckpointBody {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let (incident, stream) = match self.format {
            1 if self.stream.kind == StreamKind::Incident => (Some(self.stream.id), None),
            1 => {
                return Err(serde::ser::Error::custom(
                    "format 1 checkpoints belong to incidents only",
                ));
            }
            _ => (None, Some(self.stream)),
        };
        CheckpointWire {
            format: self.format,
            incident,
            stream,
            seq: self.seq,
            head: self.head.clone(),
            prev: self.prev.clone(),
            signed_at: self.signed_at,
            key_id: self.key_id.clone(),
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for CheckpointBody {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let w = CheckpointWire::deserialize(d)?;
        let stream = match (w.format, w.incident, w.stream) {
            (1, Some(id), None) => StreamId::incident(id),
            (CHECKPOINT_FORMAT, None, Some(s)) => s,
            (1 | CHECKPOINT_FORMAT, _, _) => {
                return Err(D::Error::custom(
                    "a checkpoint names its stream once: `incident` (format 1) or `stream` (format 2)",
                ));
            }
            (f, _, _) => {
                return Err(D::Error::custom(format!(
                    "unknown checkpoint format {f}; this palisade reads formats 1 and {CHECKPOINT_FORMAT}"
                )));
            }
        };
        Ok(CheckpointBody {
            format: w.format,
            stream,
            seq: w.seq,
            head: w.head,
            prev: w.prev,
            signed_at: w.signed_at,
            key_id: w.key_id,
        })
    }
}

/// A signed checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    #[serde(flatten)]
    pub body: CheckpointBody,
    /// Hex Ed25519 signature.
    pub signature: String,
}

impl Checkpoint {
    /// The link hash the next checkpoint of the incident commits to.
    pub fn link_hash(&self) -> Hash {
        let canonical = to_canonical_from(&self.body)
            .expect("checkpoint bodies hold only strings and small integers");
        link_hash(&canonical, &self.signature)
    }
}

impl CheckpointBody {
    pub fn message(&self) -> Vec<u8> {
        let canonical = to_canonical_from(self)
            .expect("checkpoint bodies hold only strings and small integers");
        let mut m = Vec::with_capacity(CHECKPOINT_TAG.len() + canonical.len());
        m.extend_from_slice(CHECKPOINT_TAG);
        m.extend_from_slice(canonical.as_bytes());
        m
    }
}

/// Link hash of a checkpoint from its stored form: canonical body text and hex signature.
pub fn link_hash(canonical_body: &str, signature_hex: &str) -> Hash {
    let mut sig = [0u8; 64];
    // An undecodable signature still hashes deterministically (as its text).
    if hex::decode_to_slice(signature_hex, &mut sig).is_ok() {
        link_hash_raw(canonical_body, &sig)
    } else {
        let mut h = link_hasher(canonical_body);
        h.update(signature_hex.as_bytes());
        h.finalize().into()
    }
}

/// Link hash of a checkpoint whose signature is already decoded (the same value as
/// [`link_hash`] with its hex form).
pub fn link_hash_raw(canonical_body: &str, signature: &[u8; 64]) -> Hash {
    let mut h = link_hasher(canonical_body);
    h.update(signature);
    h.finalize().into()
}

fn link_hasher(canonical_body: &str) -> Sha256 {
    let mut h = Sha256::new();
    h.update(CHECKPOINT_LINK_TAG);
    h.update(CHECKPOINT_TAG);
    h.update(canonical_body.as_bytes());
    h
}

/// Check a signature over a checkpoint's stored canonical body.
pub fn verify_checkpoint_raw(
    key: &VerifyingKey,
    canonical_body: &str,
    signature_hex: &str,
) -> bool {
    let mut sig = [0u8; 64];
    if hex::decode_to_slice(signature_hex, &mut sig).is_err() {
        return false;
    }
    verify_checkpoint_sig(key, canonical_body, &sig)
}

/// The signed message of a checkpoint: the domain tag, then its canonical body.
pub fn checkpoint_message(canonical_body: &str) -> Vec<u8> {
    let mut m = Vec::with_capacity(CHECKPOINT_TAG.len() + canonical_body.len());
    m.extend_from_slice(CHECKPOINT_TAG);
    m.extend_from_slice(canonical_body.as_bytes());
    m
}

/// [`verify_checkpoint_raw`] with the signature already decoded.
pub fn verify_checkpoint_sig(key: &VerifyingKey, canonical_body: &str, sig: &[u8; 64]) -> bool {
    key.verify(
        &checkpoint_message(canonical_body),
        &Signature::from_bytes(sig),
    )
    .is_ok()
}

/// Key identifier for a public key.
pub fn key_id(key: &VerifyingKey) -> String {
    let digest = Sha256::digest(key.as_bytes());
    hex::encode(&digest[..8])
}

/// The server's signing key.
pub struct LedgerSigner {
    key: SigningKey,
    key_id: String,
}

impl LedgerSigner {
    pub fn from_secret(secret: [u8; 32]) -> LedgerSigner {
        let key = SigningKey::from_bytes(&secret);
        let key_id = key_id(&key.verifying_key());
        LedgerSigner { key, key_id }
    }
    pub fn verifying_key(&self) -> VerifyingKey {
        self.key.verifying_key()
    }
    pub fn key_id(&self) -> &str {
        &self.key_id
    }
    /// Sign a checkpoint of `stream`'s head (format [`CHECKPOINT_FORMAT`]).
    pub fn sign(
        &self,
        stream: StreamId,
        seq: u64,
        head: &Hash,
        prev: &Hash,
        signed_at: Timestamp,
    ) -> Checkpoint {
        let body = CheckpointBody {
            format: CHECKPOINT_FORMAT,
            stream,
            seq,
            head: hex::encode(head),
            prev: hex::encode(prev),
            signed_at,
            key_id: self.key_id.clone(),
        };
        let signature = self.key.sign(&body.message());
        Checkpoint {
            body,
            signature: hex::encode(signature.to_bytes()),
        }
    }
}

/// Check a checkpoint's signature against a trusted public key.
pub fn verify_checkpoint(key: &VerifyingKey, cp: &Checkpoint) -> bool {
    let mut sig = [0u8; 64];
    if hex::decode_to_slice(&cp.signature, &mut sig).is_err() {
        return false;
    }
    key.verify(&cp.body.message(), &Signature::from_bytes(&sig))
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_depends_on_prev_and_body() {
        let a = event_hash(&GENESIS, b"{}");
        assert_ne!(a, event_hash(&GENESIS, b"{ }"));
        assert_ne!(a, event_hash(&a, b"{}"));
        // Domain separation: the tag is part of the input.
        let plain: Hash = Sha256::digest([&GENESIS[..], b"{}"].concat()).into();
        assert_ne!(a, plain);
    }

    #[test]
    fn checkpoints_verify_only_with_the_right_key_and_body() {
        let signer = LedgerSigner::from_secret([7u8; 32]);
        let other = LedgerSigner::from_secret([8u8; 32]);
        let at = Timestamp::parse("2026-11-26T10:00:00Z").unwrap();
        let cp = signer.sign(StreamId::incident(Uuid::nil()), 3, &[1u8; 32], &GENESIS, at);
        let next = signer.sign(
            StreamId::incident(Uuid::nil()),
            4,
            &[2u8; 32],
            &cp.link_hash(),
            at,
        );
        assert_eq!(next.body.prev, hex::encode(cp.link_hash()));
        let mut forged = cp.clone();
        forged.signature = hex::encode([0u8; 64]);
        assert_ne!(
            forged.link_hash(),
            cp.link_hash(),
            "the link covers the signature"
        );
        assert!(verify_checkpoint(&signer.verifying_key(), &cp));
        assert!(!verify_checkpoint(&other.verifying_key(), &cp));
        let mut moved = cp.clone();
        moved.body.seq = 2;
        assert!(!verify_checkpoint(&signer.verifying_key(), &moved));
        let mut garbage = cp;
        garbage.signature = "zz".into();
        assert!(!verify_checkpoint(&signer.verifying_key(), &garbage));
    }
}
