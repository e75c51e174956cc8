//! A JSON Schema of the model file, for editors: completion of keys and attribute words, the
//! attribute docs on hover, and misspellings marked as they are typed.
//!
//! Generated from the loader's structure and the [`ATTRIBUTES`] table, so it cannot drift from
//! what the loader accepts; `docs/threat-model.schema.json` is this schema, kept current by a
//! test. With the YAML language server (VS Code's YAML extension, Neovim, Helix…), a model file
//! names it on its first line:
//!
//! ```yaml
//! # yaml-language-server: $schema=../docs/threat-model.schema.json
//! ```
//!
//! What a schema cannot say is left to the loader: that references name existing ids, that
//! boundaries do not nest in themselves, that a flow joins two different elements.

use serde_json::{Map, Value, json};

use crate::model::{ATTRIBUTES, AttrType, Attribute, ElementKind, Level, On};

/// The pattern of ids (assets, boundaries, elements, flows).
const ID_PATTERN: &str = "^[A-Za-z0-9._-]{1,128}$";

/// The JSON Schema (draft 2020-12) of a Palisade model file.
pub fn json_schema() -> Value {
    let text = |d: &str| json!({ "type": ["string", "null"], "description": d });
    let texts =
        |d: &str| json!({ "type": "array", "items": { "type": "string" }, "description": d });
    let ids = |def: &str, d: &str| {
        json!({
            "type": "object",
            "description": d,
            "propertyNames": { "pattern": ID_PATTERN },
            "additionalProperties": { "$ref": format!("#/$defs/{def}") },
        })
    };
    // An asset's level may be written empty (unclassified).
    let levels: Vec<Value> = Level::ALL
        .iter()
        .map(|l| Value::from(l.as_str()))
        .chain([Value::Null])
        .collect();
    let level = |d: &str| json!({ "enum": levels.clone(), "description": d });
    let custom = json!({
        "type": "object",
        "description": "Custom attributes, for custom rules: any name, any value.",
    });

    let asset = json!({
        "type": "object",
        "description": "A data asset and how it is classified.",
        "additionalProperties": false,
        "properties": {
            "name": text("Its display name."),
            "description": text("What it is."),
            "confidentiality": level("How bad disclosure would be: low, medium, high, critical."),
            "integrity": level("How bad unnoticed change would be."),
            "availability": level("How bad loss or unavailability would be."),
            "pii": { "type": "boolean", "description": "Personal data." },
            "credentials": { "type": "boolean", "description": "Secrets: keys, passwords, tokens." },
        },
    });

    let boundary = json!({
        "type": "object",
        "description": "A trust boundary.",
        "additionalProperties": false,
        "properties": {
            "name": text("Its display name."),
            "description": text("What it is."),
            "parent": text("The id of the boundary it is inside."),
        },
    });

    let kinds = [
        ElementKind::ExternalEntity,
        ElementKind::Process,
        ElementKind::DataStore,
    ];
    let mut element_props = Map::new();
    element_props.insert(
        "type".into(),
        json!({
            "enum": kinds.iter().map(|k| k.as_str()).collect::<Vec<_>>(),
            "description": "external-entity (a person or system outside the model's control), process, or data-store.",
        }),
    );
    element_props.insert("name".into(), text("Its display name."));
    element_props.insert("description".into(), text("What it is."));
    element_props.insert(
        "boundary".into(),
        text("The id of the innermost trust boundary it is in."),
    );
    element_props.insert(
        "data".into(),
        texts("Ids of the assets it processes or stores."),
    );
    element_props.insert("tags".into(), texts("Free tags."));
    element_props.insert("attributes".into(), custom.clone());
    for a in ATTRIBUTES.iter().filter(|a| a.on.allows_element_any()) {
        element_props.insert(a.name.into(), attribute_schema(a));
    }
    // Per kind, the attributes of other kinds are refused.
    let per_kind: Vec<Value> = kinds
        .iter()
        .filter_map(|&k| {
            let refused: Map<String, Value> = ATTRIBUTES
                .iter()
                .filter(|a| a.on.allows_element_any() && !a.on.allows_element(k))
                .map(|a| {
                    (
                        a.name.to_string(),
                        json!({
                            "not": {},
                            "description": format!("`{}` is an attribute of {}, not of a {}.", a.name, a.on.describe(), k.as_str()),
                        }),
                    )
                })
                .collect();
            (!refused.is_empty()).then(|| {
                json!({
                    "if": { "properties": { "type": { "const": k.as_str() } }, "required": ["type"] },
                    "then": { "properties": refused },
                })
            })
        })
        .collect();
    let element = json!({
        "type": "object",
        "description": "An external entity, process or data store, with attributes from Palisade's table (custom ones go under `attributes`).",
        "required": ["type"],
        "additionalProperties": false,
        "properties": element_props,
        "allOf": per_kind,
    });

    let mut flow_props = Map::new();
    flow_props.insert(
        "from".into(),
        json!({ "type": "string", "description": "The id of the element the data comes from." }),
    );
    flow_props.insert(
        "to".into(),
        json!({ "type": "string", "description": "The id of the element it goes to." }),
    );
    flow_props.insert("name".into(), text("Its display name."));
    flow_props.insert("description".into(), text("What it carries and why."));
    flow_props.insert(
        "protocol".into(),
        text("https, grpc, postgres, amqp, … (an encrypted one — https, tls, ssh, … — implies `encrypted: true`)."),
    );
    flow_props.insert("data".into(), texts("Ids of the assets it carries."));
    flow_props.insert(
        "bidirectional".into(),
        json!({ "type": "boolean", "description": "Data goes both ways (a request and its response)." }),
    );
    flow_props.insert("tags".into(), texts("Free tags."));
    flow_props.insert("attributes".into(), custom);
    for a in ATTRIBUTES.iter().filter(|a| a.on.allows_flow()) {
        flow_props.insert(a.name.into(), attribute_schema(a));
    }
    let flow = json!({
        "type": "object",
        "description": "A data flow from one element to another.",
        "required": ["from", "to"],
        "additionalProperties": false,
        "properties": flow_props,
    });

    let said = |d: &str| json!({ "type": "string", "pattern": "\\S", "description": d });
    let status = json!({
        "type": "object",
        "description": "What the team decided about one threat (its id: RULE@ELEMENT-OR-FLOW).",
        "required": ["status"],
        "additionalProperties": false,
        "properties": {
            "status": {
                "enum": ["open", "mitigated", "accepted", "false-positive"],
                "description": "open, mitigated (say how), accepted (owner, reason, expiry), or false-positive (say why).",
            },
            "mitigation": text("How the threat is mitigated (required when mitigated)."),
            "owner": text("Who accepted the risk (required when accepted)."),
            "reason": text("Why (required when accepted or a false positive)."),
            "expires": {
                "type": ["string", "null"],
                "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$",
                "description": "Last day of an acceptance, YYYY-MM-DD (required when accepted); the threat is open again the day after.",
            },
            "note": text("Anything else worth knowing."),
        },
        "allOf": [
            {
                "if": { "properties": { "status": { "const": "mitigated" } } },
                "then": { "required": ["mitigation"], "properties": { "mitigation": said("How the threat is mitigated.") } },
            },
            {
                "if": { "properties": { "status": { "const": "accepted" } } },
                "then": {
                    "required": ["owner", "reason", "expires"],
                    "properties": {
                        "owner": said("Who accepted the risk."),
                        "reason": said("Why it is accepted."),
                        "expires": { "type": "string" },
                    },
                },
            },
            {
                "if": { "properties": { "status": { "const": "false-positive" } } },
                "then": { "required": ["reason"], "properties": { "reason": said("Why it is not a threat here.") } },
            },
        ],
    });

    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "Palisade threat model",
        "description": "A Palisade threat model file: data assets, trust boundaries, elements (external entities, processes, data stores) with attributes, the data flows between them, and the status of each threat. Generated from Palisade's model loader and attribute table.",
        "type": "object",
        "additionalProperties": false,
        "properties": {
            "version": { "enum": [1], "description": "The format version: 1." },
            "name": text("The system's name."),
            "description": text("What the system is."),
            "include": texts("Other model files joined into this one, relative to this file."),
            "assets": ids("asset", "Data assets by id."),
            "boundaries": ids("boundary", "Trust boundaries by id."),
            "elements": ids("element", "Elements by id: the id is what threats are raised against, so it should not change."),
            "flows": ids("flow", "Data flows by id."),
            "threats": {
                "type": "object",
                "description": "Threat statuses by threat id (RULE@ELEMENT-OR-FLOW).",
                "additionalProperties": { "$ref": "#/$defs/status" },
            },
        },
        "$defs": {
            "asset": asset,
            "boundary": boundary,
            "element": element,
            "flow": flow,
            "status": status,
        },
    })
}

/// The schema of one attribute's value, with its documentation.
fn attribute_schema(a: &Attribute) -> Value {
    let mut s = match a.ty {
        AttrType::Bool => json!({ "type": "boolean" }),
        AttrType::Text => json!({ "type": "string" }),
        AttrType::Int => json!({ "type": "integer" }),
        AttrType::Level => {
            json!({ "enum": Level::ALL.iter().map(|l| l.as_str()).collect::<Vec<_>>() })
        }
        AttrType::OneOf(words) => json!({ "enum": words }),
    };
    s["description"] = Value::String(format!("{} (On {}.)", a.doc, a.on.describe()));
    s
}

impl On {
    /// Whether an element of some kind may carry the attribute.
    fn allows_element_any(self) -> bool {
        [
            ElementKind::ExternalEntity,
            ElementKind::Process,
            ElementKind::DataStore,
        ]
        .into_iter()
        .any(|k| self.allows_element(k))
    }
}

/// A model file's text as the JSON value the schema describes: YAML read as the loader reads it
/// (plain scalars typed by YAML 1.2's core schema). For checking a file against the schema.
pub fn yaml_value(text: &str) -> Result<Value, String> {
    let docs = palisade_yaml::parse_stream(text)
        .map_err(|e| format!("{}:{}: {}", e.line, e.column, e.message))?;
    let Some(doc) = docs.first() else {
        return Ok(Value::Null);
    };
    let mut positions = Default::default();
    crate::model::yaml_to_json(&doc.root, &mut positions)
        .map_err(|(line, column, path, message)| format!("{line}:{column}: {path}: {message}"))
}
