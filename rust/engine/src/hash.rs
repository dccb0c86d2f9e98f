//! Hashing for the per-event tables: fingerprints, the dedup window and the
//! field index of a matched event.
//!
//! The standard library's `DefaultHasher` (SipHash) is built to resist
//! hash-flooding by a chosen key, which its fixed-key form used for
//! fingerprints never had; it cost a fifth of a fingerprint. [`FoldHasher`]
//! mixes 8 bytes per 64×64→128-bit multiply, the scheme of wyhash and
//! foldhash: a fraction of the instructions and still good avalanche, so its
//! values can key a `HashMap` directly ([`IdentityHasher`]).

use std::hash::{BuildHasherDefault, Hasher};

const SEED: u64 = 0x243F_6A88_85A3_08D3;
const MIX: u64 = 0x9E37_79B9_7F4A_7C15;
const FINISH: u64 = 0xA076_1D64_78BD_642F;

/// The high and low halves of `a × b` folded together.
#[inline(always)]
fn fold_mul(a: u64, b: u64) -> u64 {
    let product = u128::from(a) * u128::from(b);
    (product as u64) ^ ((product >> 64) as u64)
}

/// A fast 64-bit hasher; its values are stable for a given input in every
/// process (no random seed).
#[derive(Clone, Copy, Debug)]
pub struct FoldHasher {
    state: u64,
}

impl Default for FoldHasher {
    fn default() -> FoldHasher {
        FoldHasher { state: SEED }
    }
}

impl Hasher for FoldHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let word = u64::from_le_bytes(chunk.try_into().expect("8 bytes"));
            self.state = fold_mul(self.state ^ word, MIX);
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0u8; 8];
            word[..rest.len()].copy_from_slice(rest);
            // The length keeps "ab" and "ab\0" apart.
            let word = u64::from_le_bytes(word) ^ ((rest.len() as u64) << 59);
            self.state = fold_mul(self.state ^ word, MIX);
        }
    }

    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.write_u64(u64::from(i) | 0x100);
    }

    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.state = fold_mul(self.state ^ i, MIX);
    }

    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.write_u64(i as u64);
    }

    #[inline]
    fn finish(&self) -> u64 {
        fold_mul(self.state, FINISH)
    }
}

/// Builds [`FoldHasher`]s, for maps keyed by text.
pub type FoldBuildHasher = BuildHasherDefault<FoldHasher>;

/// For maps keyed by a [`FoldHasher`] value (a fingerprint hash): the key is
/// already well mixed, so it is its own hash.
#[derive(Clone, Copy, Debug, Default)]
pub struct IdentityHasher {
    hash: u64,
}

impl Hasher for IdentityHasher {
    fn write(&mut self, bytes: &[u8]) {
        // Only `u64` keys are expected; anything else still hashes soundly.
        let mut h = FoldHasher { state: self.hash };
        h.write(bytes);
        self.hash = h.finish();
    }

    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.hash = i;
    }

    #[inline]
    fn finish(&self) -> u64 {
        self.hash
    }
}

/// Builds [`IdentityHasher`]s, for maps keyed by fingerprint hashes.
pub type IdentityBuildHasher = BuildHasherDefault<IdentityHasher>;

/// The [`FoldHasher`] value of a string: a stable key for small sets of
/// names (an incident's hosts), also for a flatline group's incident id.
pub fn hash_str(s: &str) -> u64 {
    let mut h = FoldHasher::default();
    h.write(s.as_bytes());
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;
    use std::hash::{BuildHasher, Hash};

    const PINNED: u64 = 0x473e_587a_bf8f_4f0b;

    fn hash<T: Hash + ?Sized>(value: &T) -> u64 {
        FoldBuildHasher::default().hash_one(value)
    }

    #[test]
    fn same_input_same_hash_in_every_process() {
        // No random seed: a fingerprint is the same in every process.
        let mut h = FoldHasher::default();
        h.write(b"timeout after <n> ms");
        assert_eq!(h.finish(), PINNED);
    }

    #[test]
    fn nearby_inputs_differ_in_about_half_their_bits() {
        let mut seen = HashSet::new();
        let base = hash("ERROR app.db: connection refused to db-<n>");
        let mut flipped = 0u32;
        let mut n = 0u32;
        for i in 0..10_000 {
            let h = hash(&format!("ERROR app.db: connection refused to db-{i}"));
            assert!(seen.insert(h), "collision at {i}");
            flipped += (h ^ base).count_ones();
            n += 1;
        }
        let average = f64::from(flipped) / f64::from(n);
        assert!(
            (28.0..36.0).contains(&average),
            "{average} bits flipped on average"
        );
    }

    #[test]
    fn lengths_and_boundaries_are_part_of_the_hash() {
        assert_ne!(hash("ab"), hash("ab\0"));
        assert_ne!(hash(&("ab", "c")), hash(&("a", "bc")));
        for len in 0..40 {
            let text = "x".repeat(len);
            assert_ne!(
                hash(text.as_str()),
                hash(format!("{text}x").as_str()),
                "{len}"
            );
        }
    }
}
