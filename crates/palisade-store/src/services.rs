//! Services: lookups and listing from their projection.

use crate::{Result, ServiceSummary, Store, dispatch};
use uuid::Uuid;

impl Store {
    /// Find a service by id or name.
    pub async fn resolve_service(&self, reference: &str) -> Result<Option<Uuid>> {
        if let Ok(id) = Uuid::parse_str(reference) {
            return Ok(self.service_summary(id).await?.map(|s| s.id));
        }
        dispatch!(self, s => s.service_by_name(reference).await)
    }
    pub async fn service_summary(&self, id: Uuid) -> Result<Option<ServiceSummary>> {
        dispatch!(self, s => s.service_summary(id).await)
    }
    /// Services by name, at most `limit`.
    pub async fn list_services(&self, limit: u32) -> Result<Vec<ServiceSummary>> {
        dispatch!(self, s => s.list_services(limit).await)
    }
}
