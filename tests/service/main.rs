//! Integration tests of one area in one binary (fewer links on 2 cores): each module was a
//! test binary of its own; the helpers are one tree, tests/support/.

#[path = "../support/mod.rs"]
mod support;

mod access;
mod agencies;
mod audit_trail;
mod books_life;
mod certify_bad_input;
mod certify_e2e;
mod cli_certify;
mod config_example;
mod deploy_files;
mod health;
mod hsm_keys;
mod load;
mod observability;
mod python_client;
mod records_book;
mod refusals;
mod reuse_records;
mod trust_dir;
mod tsa;
mod web;
mod web_browser;
