//! The one content hash saoy names things by: SHA-256 in lower-case hex (copies,
//! originals, certificates, trust anchors, request ids). Imports nothing of saoy.

/// Hex SHA-256 (lower case).
pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(ring::digest::digest(&ring::digest::SHA256, data))
}

#[cfg(test)]
mod tests {
    #[test]
    fn empty_input() {
        assert_eq!(
            super::sha256_hex(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
