//! Deterministic ids and seeds: every id and every random stream derives from the org seed, so
//! any part of the synthetic contact centre can be rebuilt on demand, in any order.

/// SplitMix64 finaliser: a cheap, well-mixed 64-bit hash step.
#[inline]
pub fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Hash of a sequence of words; order matters.
#[inline]
pub fn hash(words: &[u64]) -> u64 {
    words
        .iter()
        .fold(0x243F_6A88_85A3_08D3, |acc, w| mix(acc ^ mix(*w)))
}

/// Domains keep ids of different kinds apart even when their indices coincide.
#[derive(Debug, Clone, Copy)]
#[repr(u64)]
pub enum IdKind {
    Division = 1,
    Queue = 2,
    User = 3,
    Team = 4,
    Wrapup = 5,
    Conversation = 6,
    Participant = 7,
    Session = 8,
    Presence = 9,
    Edge = 10,
    Flow = 11,
}

/// A version-4-shaped UUID derived from the seed, a kind and two indices.
pub fn uuid(seed: u64, kind: IdKind, a: u64, b: u64) -> uuid::Uuid {
    let hi = hash(&[seed, kind as u64, a, b]);
    let lo = hash(&[seed, kind as u64, a, b, 0x5EED]);
    let raw = ((hi as u128) << 64) | lo as u128;
    // Set version 4 and the RFC 4122 variant so the ids look like the real ones.
    let raw = (raw & !(0xF000u128 << 64)) | (0x4000u128 << 64);
    let raw = (raw & !(0xC000_0000_0000_0000u128)) | 0x8000_0000_0000_0000u128;
    uuid::Uuid::from_u128(raw)
}

pub fn uuid_string(seed: u64, kind: IdKind, a: u64, b: u64) -> String {
    uuid(seed, kind, a, b).hyphenated().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_stable_and_distinct() {
        assert_eq!(uuid(1, IdKind::Queue, 3, 0), uuid(1, IdKind::Queue, 3, 0));
        assert_ne!(uuid(1, IdKind::Queue, 3, 0), uuid(1, IdKind::User, 3, 0));
        assert_ne!(uuid(1, IdKind::Queue, 3, 0), uuid(2, IdKind::Queue, 3, 0));
        assert_eq!(uuid(7, IdKind::Conversation, 1, 2).get_version_num(), 4);
    }
}
