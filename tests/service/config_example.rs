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

#[test]
fn the_province_and_external_certifier_examples_parse() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy");
    let read = |f: &str| std::fs::read_to_string(dir.join(f)).unwrap();
    let province = Config::parse(&read("saoy.province-pkcs11.example.toml"), "province").unwrap();
    assert_eq!(province.agencies.len(), 2);
    for a in &province.agencies {
        assert!(
            a.signer.pkcs11.is_some(),
            "{}: the organisation key on the HSM",
            a.code
        );
        assert!(a.certifiers.iter().all(|c| c.pkcs11.is_some()));
        a.signer
            .pkcs11
            .as_ref()
            .unwrap()
            .validate()
            .expect("spec is consistent");
    }
    let external =
        Config::parse(&read("saoy.external-certifier.example.toml"), "external").unwrap();
    let certifier = &external.agencies[0].certifiers[0];
    assert!(certifier.external && certifier.key_file.as_os_str().is_empty());
    assert_eq!(external.pending.timeout_secs, 86400);
}

#[test]
fn the_single_agency_form_of_earlier_releases_is_read_as_one_agency() {
    let text = "[agency]\ncode = \"H72.99.01\"\nname = \"UBND xã Thử\"\nlocation = \"Tây Ninh\"\n\
                [signers.agency]\nkey_file = \"k.pem\"\nchain_file = \"c.pem\"\n\
                [signers.certifier]\nkey_file = \"k2.pem\"\nchain_file = \"c2.pem\"\nname = \"A\"\n";
    let config = Config::parse(text, "old.toml").unwrap();
    assert_eq!(config.agencies.len(), 1);
    let a = &config.agencies[0];
    assert_eq!(
        (a.code.as_str(), a.book_code.as_str()),
        ("H72.99.01", "SCT/BS")
    );
    assert_eq!(a.signer.name, "UBND xã Thử");
    assert_eq!(a.certifiers.len(), 1);
    let both = format!("{text}[[agencies]]\ncode = \"H72.99.02\"\n");
    let err = Config::parse(&both, "both.toml").unwrap_err().to_string();
    assert!(
        err.contains("[[agencies]]") && err.contains("`agency`"),
        "{err}"
    );
}
