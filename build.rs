//! Compiles every proto under proto/saoy/v1 with a vendored protoc, so no system protoc is
//! needed.
fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut protos: Vec<std::path::PathBuf> = std::fs::read_dir("proto/saoy/v1")?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "proto"))
        .collect();
    protos.sort();
    let mut config = tonic_prost_build::Config::new();
    config.protoc_executable(protoc_bin_vendored::protoc_bin_path()?);
    let out_dir = std::path::PathBuf::from(std::env::var("OUT_DIR")?);
    tonic_prost_build::configure()
        .file_descriptor_set_path(out_dir.join("saoy_descriptor.bin"))
        .compile_with_config(config, &protos, &[std::path::PathBuf::from("proto")])?;
    println!("cargo:rerun-if-changed=proto");
    Ok(())
}
