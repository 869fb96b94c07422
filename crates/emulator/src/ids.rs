//! Random identifiers (tokens, job ids, correlation ids). They come from a thread-local generator,
//! never from the seeded fault generator, so issuing ids cannot shift the fault sequence.

use uuid::Uuid;

pub fn random_uuid() -> Uuid {
    uuid::Builder::from_random_bytes(fastrand::u128(..).to_le_bytes()).into_uuid()
}
