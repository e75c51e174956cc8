//! Drills on the incident's own ledger: the marker a drill incident is declared with (which
//! scenario, who takes part) and the injections released to it. A drill runs through the same
//! playbook, rules and pipeline as a real incident; what differs is decided from this marker:
//! it is kept out of real metrics, and its notices reach only its participants.

use crate::types::UserName;
use serde::{Deserialize, Serialize};

/// Most participants one drill may name.
pub const MAX_PARTICIPANTS: usize = 100;
/// Largest custom scenario file a drill keeps on its ledger.
pub const MAX_SOURCE_BYTES: usize = 256 * 1024;

/// What makes an incident a drill, recorded on its `declared` event (absent on real ones, so
/// their encoding is unchanged).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DrillMarker {
    /// The scenario's id (`leaked-cloud-key`).
    pub scenario: String,
    /// Who takes part: members of the incident from its declaration, and the only people its
    /// notices may reach.
    pub participants: Vec<UserName>,
    /// A custom scenario's file (YAML) as the drill was started with it, so that its ticks and
    /// its debrief read the same scenario; absent for a shipped one, named by `scenario`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

impl DrillMarker {
    pub fn includes(&self, user: &UserName) -> bool {
        self.participants.contains(user)
    }
}

/// An injection released to a drill, as the incident folds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Injected {
    /// The injection's id in the scenario.
    pub injection: String,
    /// `alert`, `evidence`, `status` or `discovery`.
    pub kind: String,
    /// When it fell due.
    pub due_at: crate::Timestamp,
    /// When it was released (recorded).
    pub released_at: crate::Timestamp,
    /// What the team is told.
    pub text: String,
}
