//! The documented example configuration parses, and validation names the field to fix.

use saoy::config::Config;

#[test]
fn example_config_parses_with_documented_defaults() {
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/saoy.example.toml"),
    )
    .unwrap();
    let config = Config::parse(&text, "deploy/saoy.example.toml").expect("example parses");
    assert_eq!(config.limits.min_dpi, 200);
    assert_eq!(config.agencies.len(), 1);
    assert_eq!(config.agencies[0].book_code, "SCT/BS");
    assert!(
        !config.using_test_pki,
        "the example points at real key paths"
    );
    // Its key files do not exist here: validation must say which field to fix.
    let err = config.validate().unwrap_err().to_string();
    assert!(err.contains("agencies.signer.key_file"), "{err}");
}
