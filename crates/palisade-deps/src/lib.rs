//! Dependency vulnerability scanning against an offline OSV index.
//!
//! Layers, from pure to I/O:
//! - [`version`], [`matcher`], [`cvss`]: pure logic (no I/O), tested data-driven.
//! - [`osv`]: the OSV record model and its JSON/YAML parsing.
//! - [`lockfile`]: lockfile parsers (text in, packages with line numbers out).
//! - [`index`]: the local SQLite index (import, status, lookup).
//! - [`scan`], [`report`]: glue that matches lockfile packages against the index and renders results.

pub mod cvss;
pub mod error;
pub mod image;
pub mod index;
pub mod lockfile;
pub mod matcher;
pub mod osv;
pub mod report;
pub mod sbom;
pub mod scan;
pub mod scanrec;
pub mod update;
pub mod version;

pub use error::{Error, Result};
