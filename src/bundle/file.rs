//! The bundle file container: `BAOXUEB1`, the manifest length (u32 big-endian), the manifest
//! (JSON), the Ed25519 signature (64 bytes) over `baoxue-bundle-v1\0` + manifest, then the
//! encrypted payload whose length and SHA-256 the manifest states. Nothing may follow it.

use super::{codes, err};
use crate::error::Result;
use sha2::{Digest, Sha256};

pub const MAGIC: &[u8; 8] = b"BAOXUEB1";
const SIGN_CONTEXT: &[u8] = b"baoxue-bundle-v1\0";
pub const SIG_LEN: usize = 64;

/// The signed message for a manifest.
pub fn signed_message(manifest: &[u8]) -> Vec<u8> {
    let mut m = Vec::with_capacity(SIGN_CONTEXT.len() + manifest.len());
    m.extend_from_slice(SIGN_CONTEXT);
    m.extend_from_slice(manifest);
    m
}

/// The identity of a bundle: SHA-256 of its manifest bytes (which name the payload hash).
pub fn manifest_hash(manifest: &[u8]) -> String {
    hex::encode(Sha256::digest(manifest))
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Assembles a bundle file.
pub fn assemble(manifest: &[u8], signature: &[u8; 64], payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(MAGIC.len() + 4 + manifest.len() + SIG_LEN + payload.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&(manifest.len() as u32).to_be_bytes());
    out.extend_from_slice(manifest);
    out.extend_from_slice(signature);
    out.extend_from_slice(payload);
    out
}

/// The three parts of a bundle file, not yet checked.
pub struct Parts<'a> {
    pub manifest: &'a [u8],
    pub signature: &'a [u8],
    pub payload: &'a [u8],
}

/// Splits a file into its parts; refuses a file that is not a bundle or is cut short.
pub fn split(bytes: &[u8]) -> Result<Parts<'_>> {
    if bytes.len() < MAGIC.len() || &bytes[..MAGIC.len()] != MAGIC {
        return Err(err(
            codes::MALFORMED,
            "这不是保学数据包文件（文件头不符），请确认拷贝的是 .bxb 数据包",
        ));
    }
    let rest = &bytes[MAGIC.len()..];
    if rest.len() < 4 {
        return Err(truncated());
    }
    let len = u32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
    let rest = &rest[4..];
    if rest.len() < len + SIG_LEN {
        return Err(truncated());
    }
    Ok(Parts {
        manifest: &rest[..len],
        signature: &rest[len..len + SIG_LEN],
        payload: &rest[len + SIG_LEN..],
    })
}

pub fn truncated() -> crate::Error {
    err(
        codes::TRUNCATED,
        "数据包不完整（文件被截断），可能拷贝未完成，请从原单位重新拷贝",
    )
}
