//! Incidents: lookups and listing from their projection, and their evidence keys.

use crate::{IncidentSummary, ListFilter, Result, Store, dispatch};
use uuid::Uuid;

impl Store {
    /// Find an incident by id or codename.
    pub async fn resolve_incident(&self, reference: &str) -> Result<Option<Uuid>> {
        if let Ok(id) = Uuid::parse_str(reference) {
            return Ok(self.incident_summary(id).await?.map(|s| s.id));
        }
        dispatch!(self, s => s.incident_by_codename(reference).await)
    }
    /// The listing row of an incident (visibility is the caller's concern).
    pub async fn incident_summary(&self, incident: Uuid) -> Result<Option<IncidentSummary>> {
        dispatch!(self, s => s.incident_summary(incident).await)
    }
    /// Incidents visible to `filter.viewer`, newest activity first.
    pub async fn list_incidents(&self, filter: &ListFilter) -> Result<Vec<IncidentSummary>> {
        dispatch!(self, s => s.list_incidents(filter).await)
    }
    /// The wrapped evidence key of an incident, if one was created.
    pub async fn incident_key(&self, incident: Uuid) -> Result<Option<String>> {
        dispatch!(self, s => s.incident_key(incident).await)
    }
    /// Store an incident's wrapped evidence key unless one exists; returns the stored one (the
    /// first writer wins, so concurrent first uploads agree on one key).
    pub async fn put_incident_key(
        &self,
        incident: Uuid,
        wrapped: &str,
        at: &str,
    ) -> Result<String> {
        dispatch!(self, s => s.put_incident_key(incident, wrapped, at).await)
    }
}
