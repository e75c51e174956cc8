//! STRIDE threat models as code.
//!
//! A model ([`model`]) is YAML: data assets, elements (external entities, processes, data stores)
//! with attributes, data flows between them, nested trust boundaries and the status of each
//! threat. Rules ([`rules`]) are data — TOML or YAML files whose conditions are written in a small
//! language ([`cond`]) over element and flow attributes; no host code is ever evaluated. The
//! analysis ([`engine`]) applies every rule to every element or flow it targets and gives threats
//! with stable ids (rule + element or flow id), the attributes that matched, a severity from
//! likelihood × impact, and their status from the model. [`docs`] renders a rule set as the
//! Markdown reference `docs/threat-rules.md`.
//!
//! [`diagram`] draws the data-flow diagram, as SVG laid out here or as Graphviz DOT.
//!
//! Models travel: [`model::to_yaml`] writes one back as a model file, [`otm`] imports and exports
//! the Open Threat Model format, [`threagile`] imports Threagile models, and [`schema`] gives the
//! JSON Schema editors use to check a model file as it is written.
//!
//! Pure: the only I/O is [`model::load`] reading a model and its includes, and [`rules::load_file`]
//! reading a rules file. Time is passed in.

pub mod cond;
pub mod diagram;
pub mod diff;
pub mod docs;
pub mod engine;
mod import;
pub mod model;
pub mod otm;
pub mod report;
pub mod rules;
pub mod schema;
#[doc(hidden)]
pub mod synthetic;
pub mod threagile;
mod write;

pub use engine::{Analysis, Threat, ThreatStatus, analyse};
pub use import::Imported;
pub use model::{Model, ModelError};
pub use rules::{Rule, RuleSet, Stride};
#[doc(hidden)]
pub use synthetic::synthetic_model_yaml;
