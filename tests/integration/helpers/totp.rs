//! TOTP (RFC 6238) computed by the tests themselves: HMAC-SHA-1 over the 30-second step and
//! RFC 4226's dynamic truncation, written from the RFCs, so the server's codes are checked
//! against an implementation that is not the server's (and this one against the RFC's own test
//! vectors).

use std::time::{SystemTime, UNIX_EPOCH};

use hmac::{Hmac, Mac};
use sha1::Sha1;

const STEP_SECONDS: u64 = 30;

/// The `digits`-digit code of `secret` at `unix_seconds`.
pub fn code_at(secret: &[u8], unix_seconds: u64, digits: u32) -> String {
    let counter = unix_seconds / STEP_SECONDS;
    let mut mac = Hmac::<Sha1>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(&counter.to_be_bytes());
    let hash = mac.finalize().into_bytes();
    let offset = usize::from(hash[hash.len() - 1] & 0x0f);
    let truncated = u32::from_be_bytes([
        hash[offset] & 0x7f,
        hash[offset + 1],
        hash[offset + 2],
        hash[offset + 3],
    ]);
    format!(
        "{:0width$}",
        truncated % 10u32.pow(digits),
        width = digits as usize
    )
}

/// The 6-digit code an authenticator app shows `steps` steps from now.
pub fn code(secret: &[u8], steps: i64) -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("the clock is after 1970")
        .as_secs();
    code_at(secret, now.saturating_add_signed(steps * 30), 6)
}

/// A secret as authenticator apps are given it: RFC 4648 base32 without padding.
pub fn secret_from_base32(text: &str) -> Vec<u8> {
    base32::decode(base32::Alphabet::Rfc4648 { padding: false }, text)
        .unwrap_or_else(|| panic!("{text} is base32"))
}

#[test]
fn the_tests_totp_gives_rfc_6238s_sha1_test_vectors() {
    // RFC 6238 appendix B: the SHA-1 seed is the ASCII "12345678901234567890", 8 digits.
    let seed = b"12345678901234567890";
    for (time, expected) in [
        (59, "94287082"),
        (1_111_111_109, "07081804"),
        (1_111_111_111, "14050471"),
        (1_234_567_890, "89005924"),
        (2_000_000_000, "69279037"),
        (20_000_000_000, "65353130"),
    ] {
        assert_eq!(code_at(seed, time, 8), expected, "T = {time}");
    }
    // Six digits are the last six of the same value.
    assert_eq!(code_at(seed, 59, 6), "287082");
}
