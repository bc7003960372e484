//! Sealing secrets at rest with AES-256-GCM.
//!
//! A sealed value is `version (1) | key id (4) | nonce (12) | ciphertext and tag`. The key id
//! is derived from the key itself, so a host configured with the new key first and the old
//! keys after it can still open everything sealed before a rotation, and knows which values
//! still need re-sealing. Every value is bound to its context (associated data such as
//! `tenant_secrets/bot_token/<tenant id>`): a sealed value copied into another row or another
//! store does not open.
//!
//! Duplicate fingerprints (of stock items) use a [`FingerprintKey`] of their own that never
//! changes: were it derived from the sealing key, a rotation would change every fingerprint and
//! an item sold before the rotation could be imported and sold again after it. The host keeps
//! that key sealed in the database (`ops::keys::load_fingerprint_key`), so rotation re-seals it
//! like any other value and the fingerprints stay comparable forever.

use aes_gcm::{
    Aes256Gcm, Key, KeyInit, Nonce,
    aead::{Aead, AeadCore, OsRng, Payload},
};
use anyhow::{Context, bail};
use base64::{Engine, engine::general_purpose::STANDARD as BASE64};
use sha2::{Digest, Sha256};

use crate::secret::Secret;

const VERSION: u8 = 1;
pub const KEY_ID_LEN: usize = 4;
pub const NONCE_LEN: usize = 12;
const HEADER_LEN: usize = 1 + KEY_ID_LEN + NONCE_LEN;

/// One 256-bit master key and its id.
#[derive(Clone, Debug)]
pub struct MasterKey {
    id: [u8; KEY_ID_LEN],
    key: Secret<[u8; 32]>,
}

impl MasterKey {
    pub fn new(key: [u8; 32]) -> Self {
        let digest = Sha256::new_with_prefix(b"tokobot key id")
            .chain_update(key)
            .finalize();
        let mut id = [0u8; KEY_ID_LEN];
        id.copy_from_slice(&digest[..KEY_ID_LEN]);
        Self {
            id,
            key: Secret::new(key),
        }
    }

    /// Parses the base64 of exactly 32 bytes, the format of `TOKOBOT_MASTER_KEY`.
    pub fn from_base64(encoded: &str) -> anyhow::Result<Self> {
        let bytes = BASE64
            .decode(encoded.trim())
            .context("the master key is not valid base64")?;
        let key: [u8; 32] = bytes.try_into().map_err(|b: Vec<u8>| {
            anyhow::anyhow!("the master key must be 32 bytes, not {}", b.len())
        })?;
        Ok(Self::new(key))
    }

    /// The key id as hex, for logs and operator tools.
    pub fn id_hex(&self) -> String {
        self.id.iter().map(|b| format!("{b:02x}")).collect()
    }

    fn cipher(&self) -> Aes256Gcm {
        Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(self.key.expose()))
    }
}

/// The HMAC key of duplicate fingerprints, fixed for the life of the host's data.
#[derive(Clone, Debug)]
pub struct FingerprintKey(Secret<[u8; 32]>);

impl FingerprintKey {
    pub fn from_bytes(key: [u8; 32]) -> Self {
        Self(Secret::new(key))
    }

    /// The key that fingerprints were derived with before the host stored one of its own: a
    /// host that upgrades seeds its stored key with this, so the fingerprints it already has
    /// keep matching.
    pub fn derived_from(master: &MasterKey) -> Self {
        let digest = Sha256::new_with_prefix(b"tokobot fingerprint key")
            .chain_update(master.key.expose())
            .finalize();
        Self::from_bytes(digest.into())
    }

    pub fn expose(&self) -> &[u8; 32] {
        self.0.expose()
    }
}

/// Seals with the current key and opens with any configured key.
#[derive(Clone, Debug)]
pub struct Sealer {
    /// The first key seals; all of them open.
    keys: Vec<MasterKey>,
    fingerprint: FingerprintKey,
}

impl Sealer {
    pub fn new(keys: Vec<MasterKey>, fingerprint: FingerprintKey) -> anyhow::Result<Self> {
        if keys.is_empty() {
            bail!("at least one master key is needed");
        }
        Ok(Self { keys, fingerprint })
    }

    /// The id of the key that seals, as stored in bytes 1..5 of every sealed value.
    pub fn current_key_id(&self) -> [u8; KEY_ID_LEN] {
        self.keys[0].id
    }

    /// The id of the key that seals, as hex.
    pub fn current_key_hex(&self) -> String {
        self.keys[0].id_hex()
    }

    /// Encrypts `plain`, bound to `context`.
    pub fn seal(&self, plain: &[u8], context: &str) -> Vec<u8> {
        let key = &self.keys[0];
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let ciphertext = key
            .cipher()
            .encrypt(
                &nonce,
                Payload {
                    msg: plain,
                    aad: context.as_bytes(),
                },
            )
            // AES-GCM encryption fails only for inputs of many gigabytes, which never reach here.
            .expect("AES-GCM encryption of a small value cannot fail");
        let mut out = Vec::with_capacity(HEADER_LEN + ciphertext.len());
        out.push(VERSION);
        out.extend_from_slice(&key.id);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ciphertext);
        out
    }

    /// Seals a secret string.
    pub fn seal_str(&self, plain: &Secret, context: &str) -> Vec<u8> {
        self.seal(plain.expose().as_bytes(), context)
    }

    /// Decrypts a value sealed by [`Sealer::seal`] with the same `context`.
    pub fn open(&self, sealed: &[u8], context: &str) -> anyhow::Result<Secret<Vec<u8>>> {
        if sealed.len() < HEADER_LEN + 16 || sealed[0] != VERSION {
            bail!("sealed value for {context} is malformed");
        }
        let (id, rest) = sealed[1..].split_at(KEY_ID_LEN);
        let (nonce, ciphertext) = rest.split_at(NONCE_LEN);
        let key = self.keys.iter().find(|k| k.id == id).with_context(|| {
            format!("sealed value for {context} uses a master key that is not configured")
        })?;
        key.cipher()
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: context.as_bytes(),
                },
            )
            .map(Secret::new)
            .map_err(|_| {
                anyhow::anyhow!("sealed value for {context} does not open (wrong key or context)")
            })
    }

    /// Decrypts a sealed UTF-8 string.
    pub fn open_str(&self, sealed: &[u8], context: &str) -> anyhow::Result<Secret> {
        let bytes = self.open(sealed, context)?.into_inner();
        String::from_utf8(bytes)
            .map(Secret::new)
            .map_err(|_| anyhow::anyhow!("sealed value for {context} is not UTF-8"))
    }

    /// A keyed fingerprint of `plain` in `context`, for finding duplicates (stock items)
    /// without opening every sealed value. Its key is the host's [`FingerprintKey`], which a
    /// rotation of the master key does not change.
    pub fn fingerprint(&self, plain: &[u8], context: &str) -> [u8; 32] {
        use hmac::{Hmac, Mac};
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(self.fingerprint.expose())
            .expect("HMAC takes keys of any length");
        mac.update(context.as_bytes());
        mac.update(&[0]);
        mac.update(plain);
        mac.finalize().into_bytes().into()
    }

    /// Encrypts one piece of a larger stream (a backup) with the sealing key. The caller makes
    /// `nonce` unique for the key and binds the piece's place in the stream through `aad`.
    pub fn seal_piece(&self, nonce: &[u8; NONCE_LEN], plain: &[u8], aad: &[u8]) -> Vec<u8> {
        self.keys[0]
            .cipher()
            .encrypt(Nonce::from_slice(nonce), Payload { msg: plain, aad })
            .expect("AES-GCM encryption of a bounded piece cannot fail")
    }

    /// Decrypts a piece sealed by [`Sealer::seal_piece`] under the key with id `key_id`.
    pub fn open_piece(
        &self,
        key_id: &[u8; KEY_ID_LEN],
        nonce: &[u8; NONCE_LEN],
        ciphertext: &[u8],
        aad: &[u8],
    ) -> anyhow::Result<Vec<u8>> {
        let key = self
            .key(key_id)
            .context("the master key this was sealed with is not configured")?;
        key.cipher()
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad,
                },
            )
            .map_err(|_| anyhow::anyhow!("a sealed piece does not open (corrupt or tampered)"))
    }

    /// Whether a key with this id is configured.
    pub fn has_key(&self, key_id: &[u8; KEY_ID_LEN]) -> bool {
        self.key(key_id).is_some()
    }

    fn key(&self, key_id: &[u8]) -> Option<&MasterKey> {
        self.keys.iter().find(|k| k.id == key_id)
    }

    /// Whether `sealed` was sealed with an older key and should be re-sealed.
    pub fn needs_reseal(&self, sealed: &[u8]) -> bool {
        sealed.get(1..1 + KEY_ID_LEN) != Some(&self.keys[0].id[..])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sealer(keys: &[u8]) -> Sealer {
        let fingerprint = FingerprintKey::from_bytes([7; 32]);
        Sealer::new(
            keys.iter().map(|b| MasterKey::new([*b; 32])).collect(),
            fingerprint,
        )
        .unwrap()
    }

    #[test]
    fn fingerprints_do_not_change_when_the_master_key_rotates() {
        let before = sealer(&[1]).fingerprint(b"voucher", "ctx");
        assert_eq!(sealer(&[2, 1]).fingerprint(b"voucher", "ctx"), before);
        assert_ne!(sealer(&[1]).fingerprint(b"voucher", "other"), before);
    }

    #[test]
    fn sealed_values_open_only_with_their_context() {
        let sealer = sealer(&[1]);
        let sealed = sealer.seal(b"123:token", "bot_token/a");
        assert_ne!(&sealed[HEADER_LEN..], b"123:token");
        assert_eq!(
            sealer.open(&sealed, "bot_token/a").unwrap().expose(),
            b"123:token"
        );
        assert!(sealer.open(&sealed, "bot_token/b").is_err());
    }

    #[test]
    fn a_rotated_key_still_opens_old_values() {
        let old = sealer(&[1]);
        let sealed = old.seal(b"voucher", "ctx");
        let rotated = sealer(&[2, 1]);
        assert!(rotated.needs_reseal(&sealed));
        assert_eq!(rotated.open(&sealed, "ctx").unwrap().expose(), b"voucher");
        assert!(!rotated.needs_reseal(&rotated.seal(b"x", "ctx")));
        assert!(sealer(&[2]).open(&sealed, "ctx").is_err());
    }

    #[test]
    fn tampered_or_truncated_values_are_refused() {
        let sealer = sealer(&[3]);
        let mut sealed = sealer.seal(b"secret", "ctx");
        let last = sealed.len() - 1;
        sealed[last] ^= 1;
        assert!(sealer.open(&sealed, "ctx").is_err());
        assert!(sealer.open(&sealed[..10], "ctx").is_err());
    }

    #[test]
    fn master_keys_parse_from_base64_of_32_bytes() {
        assert!(MasterKey::from_base64(&BASE64.encode([9u8; 32])).is_ok());
        assert!(MasterKey::from_base64(&BASE64.encode([9u8; 16])).is_err());
        assert!(MasterKey::from_base64("not base64!").is_err());
    }
}
