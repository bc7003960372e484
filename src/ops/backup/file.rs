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
//! its last piece. The trailing checksum names a damaged file as such. Both writing and reading
//! go one piece at a time, so a backup never needs the size of the database in memory.

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

/// Checks a whole backup file held in memory and returns its header and the plain text it
/// holds, or says exactly what is wrong with it.
pub fn read(sealer: &Sealer, file: &[u8]) -> anyhow::Result<(Header, Vec<u8>)> {
    let mut plain = Vec::new();
    let header = read_into(sealer, file, &mut plain)?;
    Ok((header, plain))
}

/// Verifies a backup file without keeping its contents: the header, the key, every piece and
/// the checksum, reading one piece at a time.
pub fn check(sealer: &Sealer, input: impl Read) -> anyhow::Result<Header> {
    read_into(sealer, input, io::sink())
}

/// Reads a backup file from `input` one piece at a time and writes each piece's plain text to
/// `out` as soon as it has been opened, so neither the file nor its contents are ever held
/// whole. Each piece is authenticated before it is written, but the file's end (its last piece
/// and checksum) is known only at the end: a caller that must not act on part of a file
/// [`check`]s it first.
pub fn read_into(sealer: &Sealer, input: impl Read, mut out: impl Write) -> anyhow::Result<Header> {
    let mut input = Input::new(input);
    let header = match input
        .take(HEADER_LEN)
        .context("cannot read the backup file")?
    {
        Some(bytes) => Header::parse(&bytes)?,
        None => bail!("this is not a tokobot backup file"),
    };
    if !sealer.has_key(&header.key_id) {
        bail!(
            "this backup was encrypted with master key {}, which is not configured here \
             (a backup of another host, or a key removed since): set TOKOBOT_MASTER_KEY or \
             TOKOBOT_MASTER_KEY_PREVIOUS to that key",
            header.key_hex()
        );
    }
    let mut index: u32 = 0;
    loop {
        let len_bytes = input
            .take(4)?
            .context("the backup file is truncated (a piece is missing)")?;
        let len = u32::from_be_bytes(len_bytes[..].try_into().expect("4 bytes")) as usize;
        // A damaged length must not make us allocate gigabytes before the tag says it is wrong.
        if len > PIECE + TAG_LEN {
            bail!("the backup file is corrupt (a piece has an impossible length)");
        }
        let sealed = input
            .take(len)?
            .context("the backup file is truncated (a piece is cut short)")?;
        // The piece is the last one when only the checksum follows it.
        let after = input.fill(CHECKSUM_LEN + 1)?;
        if after < CHECKSUM_LEN {
            bail!("the backup file is truncated (its checksum is missing)");
        }
        let last = after == CHECKSUM_LEN;
        let plain = sealer
            .open_piece(
                &header.key_id,
                &header.nonce(index),
                &sealed,
                &header.aad(index, last),
            )
            .context("the backup file is corrupt or was not written by this key")?;
        out.write_all(&plain)?;
        if last {
            break;
        }
        index = index
            .checked_add(1)
            .context("the backup file is corrupt (too many pieces)")?;
    }
    if input.hash.finalize().as_slice() != input.ahead.as_slice() {
        bail!("the backup file is truncated or corrupt (its checksum does not match)");
    }
    out.flush()?;
    Ok(header)
}

/// A backup file being read: what was taken so far is hashed, and a little is read ahead so
/// that the checksum at the end is recognised before it would be taken for a piece.
struct Input<R> {
    inner: io::BufReader<R>,
    ahead: Vec<u8>,
    hash: Sha256,
}

impl<R: Read> Input<R> {
    fn new(inner: R) -> Self {
        Self {
            inner: io::BufReader::with_capacity(64 * 1024, inner),
            ahead: Vec::new(),
            hash: Sha256::new(),
        }
    }

    /// Reads ahead until `n` bytes are waiting or the input ends; returns how many wait.
    fn fill(&mut self, n: usize) -> io::Result<usize> {
        let have = self.ahead.len();
        if have < n {
            self.ahead.resize(n, 0);
            let got = read_full(&mut self.inner, &mut self.ahead[have..])?;
            self.ahead.truncate(have + got);
        }
        Ok(self.ahead.len())
    }

    /// The next `n` bytes, or `None` when the input ends before them.
    fn take(&mut self, n: usize) -> io::Result<Option<Vec<u8>>> {
        if self.fill(n)? < n {
            return Ok(None);
        }
        let rest = self.ahead.split_off(n);
        let taken = std::mem::replace(&mut self.ahead, rest);
        self.hash.update(&taken);
        Ok(Some(taken))
    }
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
        assert!(message(check(&sealer(1), &flipped[..])).contains("corrupt"));
        assert!(message(check(&sealer(2), &file[..])).contains("not configured"));
        assert!(message(check(&sealer(1), &b"hello, world"[..])).contains("not a tokobot backup"));

        // A file cut at a piece boundary, with a checksum made to match, still lacks its end.
        let first_piece_end = HEADER_LEN + 4 + PIECE + TAG_LEN;
        let mut cut = file[..first_piece_end].to_vec();
        cut.extend_from_slice(&Sha256::digest(&cut));
        assert!(message(check(&sealer(1), &cut[..])).contains("corrupt"));

        // A damaged piece length is refused before anything of that size is allocated.
        let mut huge = file.clone();
        huge[HEADER_LEN..HEADER_LEN + 4].copy_from_slice(&u32::MAX.to_be_bytes());
        assert!(message(check(&sealer(1), &huge[..])).contains("impossible length"));
    }
}
