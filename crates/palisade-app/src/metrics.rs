//! Prometheus metrics in the text exposition format. Labels never carry incident ids, codenames
//! or user names: only routes (as templates), methods, status codes and rule ids.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// (method, route template, status) → (count, total seconds)
type HttpCounters = BTreeMap<(String, String, u16), (u64, f64)>;

#[derive(Default)]
pub struct Metrics {
    http: Mutex<HttpCounters>,
    refused: Mutex<BTreeMap<String, u64>>,
    events_appended: AtomicU64,
    incidents_declared: AtomicU64,
    /// Alert events taken, by what became of them (opened, deduplicated, …).
    alert_events: Mutex<BTreeMap<String, u64>>,
    /// Deliveries by (kind, channel, outcome): pages and notices sent, failed, given up.
    deliveries: Mutex<BTreeMap<(String, &'static str, &'static str), u64>>,
    /// Seconds from an alert's trigger to its first page: bucket counts, sum, count.
    to_first_page: Mutex<(Vec<u64>, f64, u64)>,
}

/// Upper bounds (seconds) of the trigger-to-first-page histogram's buckets.
pub const PAGE_BUCKETS: &[f64] = &[0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0];

impl Metrics {
    pub fn request(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let mut m = self.http.lock().unwrap_or_else(|p| p.into_inner());
        let e = m
            .entry((method.to_string(), route.to_string(), status))
            .or_default();
        e.0 += 1;
        e.1 += seconds;
    }
    pub fn refused(&self, rule: &str) {
        *self
            .refused
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(rule.to_string())
            .or_default() += 1;
    }
    /// `n` events appended to a stream; `counted` is false for streams whose existence is not
    /// everyone's to know (restricted incidents): a count that moves when one is declared or
    /// changed would tell a non-member it exists.
    pub fn appended(&self, counted: bool, n: u64) {
        if counted {
            self.events_appended.fetch_add(n, Ordering::Relaxed);
        }
    }
    /// An incident declared (open ones only, as for `appended`).
    pub fn declared(&self, counted: bool) {
        if counted {
            self.incidents_declared.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// An alert event taken and placed.
    pub fn alert_event(&self, placed: crate::alerts::Placed) {
        let outcome = serde_json::to_value(placed)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        *self
            .alert_events
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(outcome)
            .or_default() += 1;
    }

    /// A delivery attempt of a message of `kind` through `channel`: `sent`, `failed` (to be
    /// retried) or `dead` (given up).
    pub fn delivery(&self, kind: &str, channel: &'static str, outcome: &'static str) {
        *self
            .deliveries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry((kind.to_string(), channel, outcome))
            .or_default() += 1;
    }

    /// An alert's first page went out `seconds` after its trigger was recorded.
    pub fn first_page(&self, seconds: f64) {
        let mut h = self.to_first_page.lock().unwrap_or_else(|p| p.into_inner());
        if h.0.is_empty() {
            h.0 = vec![0; PAGE_BUCKETS.len()];
        }
        for (i, le) in PAGE_BUCKETS.iter().enumerate() {
            if seconds <= *le {
                h.0[i] += 1;
            }
        }
        h.1 += seconds;
        h.2 += 1;
    }

    pub fn render(&self, backend: &str) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "# HELP palisade_build_info Build and storage backend.");
        let _ = writeln!(out, "# TYPE palisade_build_info gauge");
        let _ = writeln!(
            out,
            "palisade_build_info{{version=\"{}\",backend=\"{backend}\"}} 1",
            env!("CARGO_PKG_VERSION")
        );
        let _ = writeln!(
            out,
            "# HELP palisade_http_requests_total HTTP requests by route template and status."
        );
        let _ = writeln!(out, "# TYPE palisade_http_requests_total counter");
        let http = self.http.lock().unwrap_or_else(|p| p.into_inner());
        for ((method, route, status), (n, _)) in http.iter() {
            let _ = writeln!(
                out,
                "palisade_http_requests_total{{method=\"{method}\",route=\"{route}\",status=\"{status}\"}} {n}"
            );
        }
        let _ = writeln!(
            out,
            "# HELP palisade_http_request_duration_seconds_sum Time spent serving requests."
        );
        let _ = writeln!(
            out,
            "# TYPE palisade_http_request_duration_seconds_sum counter"
        );
        for ((method, route, status), (_, secs)) in http.iter() {
            let _ = writeln!(
                out,
                "palisade_http_request_duration_seconds_sum{{method=\"{method}\",route=\"{route}\",status=\"{status}\"}} {secs:.6}"
            );
        }
        drop(http);
        let _ = writeln!(
            out,
            "# HELP palisade_commands_refused_total Commands refused by a process rule."
        );
        let _ = writeln!(out, "# TYPE palisade_commands_refused_total counter");
        for (rule, n) in self
            .refused
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
        {
            let _ = writeln!(
                out,
                "palisade_commands_refused_total{{rule=\"{rule}\"}} {n}"
            );
        }
        let _ = writeln!(
            out,
            "# HELP palisade_ledger_events_appended_total Ledger events appended by this process to streams every account may see (restricted incidents are left out)."
        );
        let _ = writeln!(out, "# TYPE palisade_ledger_events_appended_total counter");
        let _ = writeln!(
            out,
            "palisade_ledger_events_appended_total {}",
            self.events_appended.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP palisade_incidents_declared_total Open (unrestricted) incidents declared through this process."
        );
        let _ = writeln!(out, "# TYPE palisade_incidents_declared_total counter");
        let _ = writeln!(
            out,
            "palisade_incidents_declared_total {}",
            self.incidents_declared.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP palisade_alert_events_total Alert events taken through integrations, by outcome (opened, deduplicated, acknowledged, resolved, dropped)."
        );
        let _ = writeln!(out, "# TYPE palisade_alert_events_total counter");
        for (outcome, n) in self
            .alert_events
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
        {
            let _ = writeln!(
                out,
                "palisade_alert_events_total{{outcome=\"{outcome}\"}} {n}"
            );
        }
        let _ = writeln!(
            out,
            "# HELP palisade_deliveries_total Delivery attempts of pages and notices, by kind, channel (default, webhook, slack, email) and outcome (sent, failed, dead)."
        );
        let _ = writeln!(out, "# TYPE palisade_deliveries_total counter");
        for ((kind, channel, outcome), n) in self
            .deliveries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
        {
            let _ = writeln!(
                out,
                "palisade_deliveries_total{{kind=\"{kind}\",channel=\"{channel}\",outcome=\"{outcome}\"}} {n}"
            );
        }
        let _ = writeln!(
            out,
            "# HELP palisade_alert_first_page_seconds From an alert's trigger to its first page (the escalation step that paged someone)."
        );
        let _ = writeln!(out, "# TYPE palisade_alert_first_page_seconds histogram");
        let h = self.to_first_page.lock().unwrap_or_else(|p| p.into_inner());
        for (i, le) in PAGE_BUCKETS.iter().enumerate() {
            let _ = writeln!(
                out,
                "palisade_alert_first_page_seconds_bucket{{le=\"{le}\"}} {}",
                h.0.get(i).copied().unwrap_or(0)
            );
        }
        let _ = writeln!(
            out,
            "palisade_alert_first_page_seconds_bucket{{le=\"+Inf\"}} {}",
            h.2
        );
        let _ = writeln!(out, "palisade_alert_first_page_seconds_sum {:.6}", h.1);
        let _ = writeln!(out, "palisade_alert_first_page_seconds_count {}", h.2);
        out
    }
}
