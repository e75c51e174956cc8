//! The analysis: every rule applied to every element or flow it targets.
//!
//! Each element and flow becomes a JSON object of its attributes — as written, plus what the
//! model implies (the classification of the data involved, whether a flow crosses a boundary,
//! whether an element is reached from outside) — and a rule's condition is evaluated on it. A
//! threat's id is `RULE@TARGET` (the rule's id and the element's or flow's id), so it does not
//! change when anything else in the model changes, and its status is looked up under that id in
//! the model's `threats:`.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::cond::truthy;
use crate::model::{
    ENCRYPTED_PROTOCOLS, Element, Level, Model, Origin, StatusEntry, StatusKind, parse_date,
};
use crate::rules::{Impact, Rule, RuleSet, Stride, Target};

/// A calendar day, for acceptance expiries.
pub type Day = (i32, u8, u8);

/// What a threat is raised against.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TargetRef {
    /// `external-entity`, `process`, `data-store` or `flow`.
    pub kind: String,
    pub id: String,
    pub name: String,
}

/// A threat's status, once acceptances have been checked against the day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum ThreatStatus {
    Open {
        /// An acceptance that has run out: the day it expired.
        #[serde(skip_serializing_if = "Option::is_none")]
        acceptance_expired: Option<String>,
    },
    Mitigated {
        mitigation: String,
    },
    Accepted {
        owner: String,
        reason: String,
        expires: String,
    },
    FalsePositive {
        reason: String,
    },
}

impl ThreatStatus {
    pub fn is_open(&self) -> bool {
        matches!(self, ThreatStatus::Open { .. })
    }

    pub fn name(&self) -> &'static str {
        match self {
            ThreatStatus::Open { .. } => "open",
            ThreatStatus::Mitigated { .. } => "mitigated",
            ThreatStatus::Accepted { .. } => "accepted",
            ThreatStatus::FalsePositive { .. } => "false-positive",
        }
    }
}

/// One threat.
#[derive(Debug, Clone, Serialize)]
pub struct Threat {
    /// `RULE@TARGET`.
    pub id: String,
    pub rule: String,
    pub title: String,
    pub stride: Stride,
    pub target: TargetRef,
    pub severity: Level,
    pub likelihood: Level,
    pub impact: Level,
    pub cwe: Vec<u32>,
    pub capec: Vec<u32>,
    pub rationale: String,
    pub mitigations: Vec<String>,
    /// The rule's condition.
    pub condition: String,
    /// Each attribute the condition read, with its value here.
    pub matched: Vec<Matched>,
    /// Where the element or flow is written.
    pub location: Option<Origin>,
    #[serde(flatten)]
    pub status: ThreatStatus,
    /// The note written with its status.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// An attribute read by a rule's condition, and its value.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Matched {
    pub attribute: String,
    pub value: Value,
}

/// A status written for a threat that no rule raises (the element was removed, or the rule no
/// longer applies): reported so it can be cleaned up.
#[derive(Debug, Clone, Serialize)]
pub struct StaleStatus {
    pub id: String,
    pub location: Option<Origin>,
}

/// The outcome of an analysis.
#[derive(Debug, Clone, Serialize)]
pub struct Analysis {
    pub model: Option<String>,
    pub threats: Vec<Threat>,
    pub stale: Vec<StaleStatus>,
    pub rules: usize,
    pub elements: usize,
    pub flows: usize,
}

impl Analysis {
    pub fn get(&self, id: &str) -> Option<&Threat> {
        self.threats.iter().find(|t| t.id == id)
    }

    /// Open threats per STRIDE category.
    pub fn open_by_stride(&self) -> BTreeMap<Stride, usize> {
        let mut m = BTreeMap::new();
        for t in self.threats.iter().filter(|t| t.status.is_open()) {
            *m.entry(t.stride).or_insert(0) += 1;
        }
        m
    }

    /// The highest severity among open threats at least `min`.
    pub fn open_at_least(&self, min: Level) -> Vec<&Threat> {
        self.threats
            .iter()
            .filter(|t| t.status.is_open() && t.severity >= min)
            .collect()
    }
}

/// Severity from likelihood × impact (each 1 to 4): up to 2 low, up to 5 medium, up to 9 high,
/// 12 and more critical.
pub fn severity(likelihood: Level, impact: Level) -> Level {
    match likelihood.rank() * impact.rank() {
        0..=2 => Level::Low,
        3..=5 => Level::Medium,
        6..=9 => Level::High,
        _ => Level::Critical,
    }
}

/// Contexts of every element and flow, built once per analysis.
pub struct Contexts {
    pub elements: BTreeMap<String, Value>,
    pub flows: BTreeMap<String, Value>,
}

/// The attributes of every element and flow, with what the model implies.
pub fn contexts(model: &Model) -> Contexts {
    let asset_levels = |ids: &mut dyn Iterator<Item = &String>| {
        let mut c = None;
        let mut i = None;
        let mut a = None;
        let mut pii = false;
        let mut cred = false;
        for id in ids {
            if let Some(asset) = model.assets.get(id) {
                c = c.max(asset.confidentiality);
                i = i.max(asset.integrity);
                a = a.max(asset.availability);
                pii |= asset.pii;
                cred |= asset.credentials;
            }
        }
        (c, i, a, pii, cred)
    };
    let mut elements = BTreeMap::new();
    for (id, e) in &model.elements {
        let touching: Vec<_> = model
            .flows
            .values()
            .filter(|f| f.from == *id || f.to == *id)
            .collect();
        let (c, i, a, pii, cred) = asset_levels(
            &mut e
                .data
                .iter()
                .chain(touching.iter().flat_map(|f| f.data.iter())),
        );
        let inbound: Vec<_> = model
            .flows
            .values()
            .filter(|f| f.to == *id || (f.bidirectional && f.from == *id))
            .collect();
        let peer = |f: &&crate::model::Flow| {
            if f.to == *id {
                f.from.clone()
            } else {
                f.to.clone()
            }
        };
        let inbound_from_external = inbound.iter().any(|f| {
            model
                .elements
                .get(&peer(f))
                .is_some_and(|p| p.kind == crate::model::ElementKind::ExternalEntity)
        });
        let inbound_across = inbound.iter().any(|f| model.crosses_boundary(f));
        let mut obj = element_object(id, e);
        let attr_true = |name: &str| obj.get(name).is_some_and(truthy);
        let pii = pii || attr_true("handles_pii");
        let cred = cred || attr_true("handles_secrets") || attr_true("stores_credentials");
        let exposed = attr_true("internet_facing")
            || inbound.iter().any(|f| {
                model.crosses_boundary(f)
                    && model
                        .elements
                        .get(&peer(f))
                        .is_some_and(|p| p.kind == crate::model::ElementKind::ExternalEntity)
            });
        let level = |l: Option<Level>| l.map_or(Value::Null, |l| Value::String(l.as_str().into()));
        obj.insert("confidentiality".into(), level(c));
        obj.insert("integrity".into(), level(i));
        obj.insert("availability".into(), level(a));
        obj.insert("pii".into(), Value::Bool(pii));
        obj.insert("credentials".into(), Value::Bool(cred));
        obj.insert(
            "inbound".into(),
            Value::from(model.flows.values().filter(|f| f.to == *id).count()),
        );
        obj.insert(
            "outbound".into(),
            Value::from(model.flows.values().filter(|f| f.from == *id).count()),
        );
        obj.insert(
            "inbound_from_external".into(),
            Value::Bool(inbound_from_external),
        );
        obj.insert(
            "inbound_across_boundary".into(),
            Value::Bool(inbound_across),
        );
        obj.insert("exposed".into(), Value::Bool(exposed));
        obj.insert(
            "boundaries".into(),
            Value::Array(
                model
                    .boundary_chain(id)
                    .into_iter()
                    .map(|b| Value::String(b.into()))
                    .collect(),
            ),
        );
        elements.insert(id.clone(), Value::Object(obj));
    }
    let mut flows = BTreeMap::new();
    for (id, f) in &model.flows {
        let mut obj = match serde_json::to_value(f) {
            Ok(Value::Object(o)) => o,
            _ => Map::new(),
        };
        obj.insert("id".into(), Value::String(id.clone()));
        if obj.get("encrypted").is_none_or(|v| v.is_null()) {
            let proto = f.protocol.as_deref().unwrap_or("").to_ascii_lowercase();
            obj.insert(
                "encrypted".into(),
                Value::Bool(ENCRYPTED_PROTOCOLS.contains(&proto.as_str())),
            );
        }
        let (c, i, a, pii, cred) = asset_levels(&mut f.data.iter());
        let level = |l: Option<Level>| l.map_or(Value::Null, |l| Value::String(l.as_str().into()));
        obj.insert("confidentiality".into(), level(c));
        obj.insert("integrity".into(), level(i));
        obj.insert("availability".into(), level(a));
        obj.insert("pii".into(), Value::Bool(pii));
        obj.insert("credentials".into(), Value::Bool(cred));
        obj.insert(
            "crosses_boundary".into(),
            Value::Bool(model.crosses_boundary(f)),
        );
        obj.insert(
            "source".into(),
            elements.get(&f.from).cloned().unwrap_or(Value::Null),
        );
        obj.insert(
            "target".into(),
            elements.get(&f.to).cloned().unwrap_or(Value::Null),
        );
        flows.insert(id.clone(), Value::Object(obj));
    }
    Contexts { elements, flows }
}

fn element_object(id: &str, e: &Element) -> Map<String, Value> {
    let mut obj = match serde_json::to_value(e) {
        Ok(Value::Object(o)) => o,
        _ => Map::new(),
    };
    obj.insert("id".into(), Value::String(id.into()));
    obj
}

/// Apply `rules` to `model` on `today`.
pub fn analyse(model: &Model, rules: &RuleSet, today: Day) -> Analysis {
    let ctx = contexts(model);
    let mut threats = Vec::new();
    for rule in &rules.rules {
        if rule.targets_flows() {
            for (id, value) in &ctx.flows {
                let root = Value::Object(Map::from_iter([("flow".to_string(), value.clone())]));
                if let Some(t) = apply(model, rule, "flow", id, &root, value, today) {
                    threats.push(t);
                }
            }
        } else {
            for (id, e) in &model.elements {
                if !rule.targets.iter().any(|t| t.matches(e.kind)) {
                    continue;
                }
                let value = &ctx.elements[id];
                let root = Value::Object(Map::from_iter([("element".to_string(), value.clone())]));
                if let Some(t) = apply(model, rule, e.kind.as_str(), id, &root, value, today) {
                    threats.push(t);
                }
            }
        }
    }
    threats.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then(a.stride.cmp(&b.stride))
            .then(a.id.cmp(&b.id))
    });
    let stale = model
        .threats
        .iter()
        .filter(|(id, _)| !threats.iter().any(|t| &t.id == *id))
        .map(|(id, s)| StaleStatus {
            id: id.clone(),
            location: s.origin.clone(),
        })
        .collect();
    Analysis {
        model: model.name.clone(),
        threats,
        stale,
        rules: rules.rules.len(),
        elements: model.elements.len(),
        flows: model.flows.len(),
    }
}

fn apply(
    model: &Model,
    rule: &Rule,
    kind: &str,
    id: &str,
    root: &Value,
    subject: &Value,
    today: Day,
) -> Option<Threat> {
    let mut trace = Vec::new();
    if !rule.expr.eval(root, &mut trace) {
        return None;
    }
    let impact = match rule.impact {
        Impact::Fixed(l) => l,
        Impact::Data => rule
            .stride
            .data_properties()
            .iter()
            .filter_map(|p| {
                subject
                    .get(*p)
                    .and_then(Value::as_str)
                    .and_then(Level::parse)
            })
            .max()
            .unwrap_or(Level::Medium),
    };
    let threat_id = format!("{}@{}", rule.id, id);
    let (name, location) = if kind == "flow" {
        let f = &model.flows[id];
        (model.flow_name(id).to_string(), f.origin.clone())
    } else {
        (
            model.element_name(id).to_string(),
            model.elements[id].origin.clone(),
        )
    };
    let title = fill(&rule.title, model, kind, id, &name);
    let entry = model.threats.get(&threat_id);
    Some(Threat {
        id: threat_id,
        rule: rule.id.clone(),
        title,
        stride: rule.stride,
        target: TargetRef {
            kind: kind.to_string(),
            id: id.to_string(),
            name,
        },
        severity: severity(rule.likelihood, impact),
        likelihood: rule.likelihood,
        impact,
        cwe: rule.cwe.clone(),
        capec: rule.capec.clone(),
        rationale: rule.rationale.clone(),
        mitigations: rule.mitigations.clone(),
        condition: rule.when.clone(),
        matched: trace
            .into_iter()
            .map(|(attribute, value)| Matched { attribute, value })
            .collect(),
        location,
        status: status_of(entry, today),
        note: entry.and_then(|e| e.note.clone()),
    })
}

/// A rule's title with `{name}`, `{source}` and `{target}` filled in.
fn fill(title: &str, model: &Model, kind: &str, id: &str, name: &str) -> String {
    let mut out = title.replace("{name}", name);
    if kind == "flow" {
        let f = &model.flows[id];
        out = out
            .replace("{source}", model.element_name(&f.from))
            .replace("{target}", model.element_name(&f.to));
    }
    out
}

/// The status a written entry gives on `today`.
pub fn status_of(entry: Option<&StatusEntry>, today: Day) -> ThreatStatus {
    let Some(e) = entry else {
        return ThreatStatus::Open {
            acceptance_expired: None,
        };
    };
    let text = |s: &Option<String>| s.clone().unwrap_or_default();
    match e.status {
        StatusKind::Open => ThreatStatus::Open {
            acceptance_expired: None,
        },
        StatusKind::Mitigated => ThreatStatus::Mitigated {
            mitigation: text(&e.mitigation),
        },
        StatusKind::FalsePositive => ThreatStatus::FalsePositive {
            reason: text(&e.reason),
        },
        StatusKind::Accepted => {
            let expires = text(&e.expires);
            match parse_date(&expires) {
                Some(day) if day >= today => ThreatStatus::Accepted {
                    owner: text(&e.owner),
                    reason: text(&e.reason),
                    expires,
                },
                _ => ThreatStatus::Open {
                    acceptance_expired: Some(expires),
                },
            }
        }
    }
}

/// Which targets a rule could apply to, for documentation.
pub fn describe_targets(targets: &[Target]) -> String {
    targets
        .iter()
        .map(|t| t.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}
