//! The encrypted backup file.
//!
//! ```text
//! header   magic "TOKOBKUP" | version (1) | created, unix seconds (8, BE) | key id (4) | nonce prefix (8)
//! pieces   ciphertext length (4, BE) | AES-256-GCM ciphertext and tag      (repeated)
//! trailer  SHA-256 of everything before it (32)
//! ```
//!
//! The dump is cut into pieces of at most [`PIECE`] bytes, each sealed with the master key
//! named in the header. A piece's nonce is the file's random prefix and the piece's index, and
//! its associated data is the header, the index and whether it is the last piece: pieces cannot
//! be reordered, dropped or taken from another file, and a file cut at a piece boundary lacks
//! its last piece. The trailing checksum lets a damaged file be named as such before any key
//! is tried. Reading verifies everything before handing out a single byte of the dump.

use std::io::{self, Read, Write};

use anyhow::{Context, bail};
use rand::RngCore;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::crypto::{KEY_ID_LEN, NONCE_LEN, Sealer};

const MAGIC: &[u8; 8] = b"TOKOBKUP";
const VERSION: u8 = 1;
const HEADER_LEN: usize = 8 + 1 + 8 + KEY_ID_LEN + 8;
const TAG_LEN: usize = 16;
const CHECKSUM_LEN: usize = 32;
/// Plaintext bytes per piece.
pub const PIECE: usize = 1 << 20;

/// What a backup file's header says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    pub created: OffsetDateTime,
    pub key_id: [u8; KEY_ID_LEN],
    nonce_prefix: [u8; 8],
}

impl Header {
    pub fn key_hex(&self) -> String {
        self.key_id.iter().map(|b| format!("{b:02x}")).collect()
    }

    fn to_bytes(&self) -> [u8; HEADER_LEN] {
        let mut out = [0u8; HEADER_LEN];
        out[..8].copy_from_slice(MAGIC);
        out[8] = VERSION;
        out[9..17].copy_from_slice(&self.created.unix_timestamp().to_be_bytes());
        out[17..21].copy_from_slice(&self.key_id);
        out[21..].copy_from_slice(&self.nonce_prefix);
        out
    }

    fn parse(bytes: &[u8]) -> anyhow::Result<Self> {
        if bytes.len() < HEADER_LEN || &bytes[..8] != MAGIC {
            bail!("this is not a tokobot backup file");
        }
        if bytes[8] != VERSION {
            bail!(
                "this backup has format version {}, which this tokobot cannot read",
                bytes[8]
            );
        }
        let seconds = i64::from_be_bytes(bytes[9..17].try_into().expect("8 bytes"));
        Ok(Self {
            created: OffsetDateTime::from_unix_timestamp(seconds)
                .context("the backup's creation time is invalid")?,
            key_id: bytes[17..21].try_into().expect("4 bytes"),
            nonce_prefix: bytes[21..HEADER_LEN].try_into().expect("8 bytes"),
        })
    }

    fn nonce(&self, index: u32) -> [u8; NONCE_LEN] {
        let mut nonce = [0u8; NONCE_LEN];
        nonce[..8].copy_from_slice(&self.nonce_prefix);
        nonce[8..].copy_from_slice(&index.to_be_bytes());
        nonce
    }

    fn aad(&self, index: u32, last: bool) -> Vec<u8> {
        let mut aad = self.to_bytes().to_vec();
        aad.extend_from_slice(&index.to_be_bytes());
        aad.push(u8::from(last));
        aad
    }
}

/// A writer that hashes what passes through it.
struct Hashing<W> {
    inner: W,
    hash: Sha256,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hash.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Reads until `buf` is full or the input ends; returns how many bytes were read.
fn read_full(input: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match input.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// Encrypts everything `plain` yields into `out` as a backup file; returns its header.
pub fn write(sealer: &Sealer, mut plain: impl Read, out: impl Write) -> anyhow::Result<Header> {
    let mut prefix = [0u8; 8];
    rand::rng().fill_bytes(&mut prefix);
    let header = Header {
        created: OffsetDateTime::now_utc(),
        key_id: sealer.current_key_id(),
        nonce_prefix: prefix,
    };
    let mut out = Hashing {
        inner: out,
        hash: Sha256::new(),
    };
    out.write_all(&header.to_bytes())?;
    // One piece is read ahead, so that the last one is known to be last when it is sealed.
    let mut current = vec![0u8; PIECE];
    let mut len = read_full(&mut plain, &mut current).context("cannot read the dump")?;
    let mut next = vec![0u8; PIECE];
    let mut index: u32 = 0;
    loop {
        let next_len = if len == PIECE {
            read_full(&mut plain, &mut next).context("cannot read the dump")?
        } else {
            0
        };
        let last = next_len == 0;
        let sealed = sealer.seal_piece(
            &header.nonce(index),
            &current[..len],
            &header.aad(index, last),
        );
        let sealed_len = u32::try_from(sealed.len()).expect("a piece is far below 4 GiB");
        out.write_all(&sealed_len.to_be_bytes())?;
        out.write_all(&sealed)?;
        if last {
            break;
        }
        std::mem::swap(&mut current, &mut next);
        len = next_len;
        index = index
            .checked_add(1)
            .context("the dump is too large for one backup file")?;
    }
    let checksum = out.hash.finalize_reset();
    out.inner.write_all(&checksum)?;
    out.inner.flush()?;
    Ok(header)
}

/// Checks a whole backup file held in `file` (its checksum, header, key and every piece) and
/// returns its header and the dump it holds, or says exactly what is wrong with it.
pub fn read(sealer: &Sealer, file: &[u8]) -> anyhow::Result<(Header, Vec<u8>)> {
    let mut dump = Vec::new();
    let header = read_into(sealer, file, &mut dump)?;
    Ok((header, dump))
}

/// Like [`read`], but writes the dump to `out` piece by piece once the file has been checked.
pub fn read_into(sealer: &Sealer, file: &[u8], mut out: impl Write) -> anyhow::Result<Header> {
    let header = check(sealer, file)?;
    for piece in pieces(sealer, &header, file) {
        out.write_all(&piece?)?;
    }
    out.flush()?;
    Ok(header)
}

/// Verifies the file without keeping its contents: the checksum, the key and every piece.
pub fn check(sealer: &Sealer, file: &[u8]) -> anyhow::Result<Header> {
    let header = Header::parse(file)?;
    if file.len() < HEADER_LEN + 4 + TAG_LEN + CHECKSUM_LEN {
        bail!("the backup file is truncated");
    }
    let (body, checksum) = file.split_at(file.len() - CHECKSUM_LEN);
    if Sha256::digest(body).as_slice() != checksum {
        bail!("the backup file is truncated or corrupt (its checksum does not match)");
    }
    if !sealer.has_key(&header.key_id) {
        bail!(
            "this backup was encrypted with master key {}, which is not configured here \
             (a backup of another host, or a key removed since): set TOKOBOT_MASTER_KEY or \
             TOKOBOT_MASTER_KEY_PREVIOUS to that key",
            header.key_hex()
        );
    }
    for piece in pieces(sealer, &header, file) {
        piece?;
    }
    Ok(header)
}

/// The file's pieces, decrypted in order; the last one must be marked last and end the body.
fn pieces<'a>(
    sealer: &'a Sealer,
    header: &'a Header,
    file: &'a [u8],
) -> impl Iterator<Item = anyhow::Result<Vec<u8>>> + 'a {
    let body = &file[HEADER_LEN..file.len() - CHECKSUM_LEN];
    let mut at = 0usize;
    let mut index: u32 = 0;
    let mut finished = false;
    std::iter::from_fn(move || {
        if finished {
            return None;
        }
        let result = (|| {
            let len_bytes = body
                .get(at..at + 4)
                .context("the backup file is truncated (a piece is missing)")?;
            let len = u32::from_be_bytes(len_bytes.try_into().expect("4 bytes")) as usize;
            let sealed = body
                .get(at + 4..at + 4 + len)
                .context("the backup file is truncated (a piece is cut short)")?;
            at += 4 + len;
            let last = at == body.len();
            let plain = sealer
                .open_piece(
                    &header.key_id,
                    &header.nonce(index),
                    sealed,
                    &header.aad(index, last),
                )
                .context("the backup file is corrupt or was not written by this key")?;
            index += 1;
            if last {
                finished = true;
            }
            Ok(plain)
        })();
        if result.is_err() {
            finished = true;
        }
        Some(result)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::{FingerprintKey, MasterKey};

    fn sealer(key: u8) -> Sealer {
        Sealer::new(
            vec![MasterKey::new([key; 32])],
            FingerprintKey::from_bytes([0; 32]),
        )
        .unwrap()
    }

    fn backup(sealer: &Sealer, dump: &[u8]) -> Vec<u8> {
        let mut file = Vec::new();
        write(sealer, dump, &mut file).unwrap();
        file
    }

    #[test]
    fn a_dump_of_several_pieces_comes_back_whole() {
        let dump: Vec<u8> = (0..PIECE * 2 + 123).map(|i| (i % 251) as u8).collect();
        let file = backup(&sealer(1), &dump);
        let (header, back) = read(&sealer(1), &file).unwrap();
        assert_eq!(back, dump);
        assert_eq!(header.key_id, sealer(1).current_key_id());
        // An exact multiple of the piece size and an empty dump work too.
        for dump in [vec![7u8; PIECE], Vec::new()] {
            assert_eq!(
                read(&sealer(1), &backup(&sealer(1), &dump)).unwrap().1,
                dump
            );
        }
    }

    #[test]
    fn damaged_files_and_foreign_keys_are_refused_with_their_reason() {
        let dump = vec![3u8; PIECE + 10];
        let file = backup(&sealer(1), &dump);
        let message = |result: anyhow::Result<Header>| format!("{:#}", result.unwrap_err());

        assert!(message(check(&sealer(1), &file[..file.len() - 100])).contains("truncated"));
        let mut flipped = file.clone();
        flipped[HEADER_LEN + 50] ^= 1;
        assert!(message(check(&sealer(1), &flipped)).contains("corrupt"));
        assert!(message(check(&sealer(2), &file)).contains("not configured"));
        assert!(message(check(&sealer(1), b"hello, world")).contains("not a tokobot backup"));

        // A file cut at a piece boundary, with a checksum made to match, still lacks its end.
        let first_piece_end = HEADER_LEN + 4 + PIECE + TAG_LEN;
        let mut cut = file[..first_piece_end].to_vec();
        cut.extend_from_slice(&Sha256::digest(&cut));
        assert!(message(check(&sealer(1), &cut)).contains("corrupt"));
    }
}
