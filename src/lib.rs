//! Cicero: durable jobs on PostgreSQL for police public-relations units. See
//! `docs/architecture.md` for the shape; `main.rs` is the CLI.
pub mod cli;
pub mod config;
pub mod demo;
pub mod dns;
pub mod domain;
pub mod http;
pub mod ingest;
pub mod otp;
pub mod platform;
pub mod providers;
pub mod whatsapp;
pub mod work;
