//! SARIF 2.1.0 (OASIS), the part of it Palisade's scanners write, in one place: the model (serde)
//! and its writer. A scanner builds one [`Run`] — the tool driver with its rules (descriptions,
//! help text, severity properties), the results located in artifacts with `partialFingerprints`,
//! and the scan's issues as tool execution notifications of the run's invocation — and renders
//! it with [`Log`]. Every scanner's SARIF therefore has the same shape, the same URI encoding and
//! the same level names, and one schema test covers them all.
//!
//! Pure: no I/O. Field names follow the specification (camelCase in the output); optional
//! members are left out when empty.

use std::collections::{BTreeMap, HashMap};

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde::Serialize;
use serde_json::{Map, Value};

/// The `$schema` every log names (the schema's well-known copy).
pub const SCHEMA_URI: &str = "https://json.schemastore.org/sarif-2.1.0.json";
/// The SARIF version written.
pub const VERSION: &str = "2.1.0";

/// A SARIF log (§3.13): `$schema`, `version`, and its runs.
#[derive(Debug, Clone, Serialize)]
pub struct Log {
    #[serde(rename = "$schema")]
    schema: &'static str,
    version: &'static str,
    pub runs: Vec<Run>,
}

impl Log {
    /// A log of one run.
    pub fn new(run: Run) -> Log {
        Log {
            schema: SCHEMA_URI,
            version: VERSION,
            runs: vec![run],
        }
    }

    /// The log as a JSON value.
    pub fn to_value(&self) -> Value {
        // The model holds strings, numbers and maps with string keys only: it always serializes.
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    /// The log as indented JSON text.
    pub fn to_json_pretty(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|_| "{}".to_string())
    }
}

/// A run's identity (§3.17): `id` is `category/run-id`; Palisade writes the category only
/// (`palisade/secrets/`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AutomationDetails {
    pub id: String,
}

impl AutomationDetails {
    /// The analysis `category` (written with its trailing `/`).
    pub fn category(category: &str) -> AutomationDetails {
        AutomationDetails {
            id: format!("{}/", category.trim_end_matches('/')),
        }
    }
}

/// One run of one tool (§3.14).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Run {
    pub tool: Tool,
    /// Which analysis this run is (§3.17; GitHub's `category`): uploads of the same analysis
    /// are compared with each other, not with another analysis by the same tool.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub automation_details: Option<AutomationDetails>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub invocations: Vec<Invocation>,
    pub results: Vec<SarifResult>,
    /// Rule id → index in `tool.driver.rules`.
    #[serde(skip)]
    rule_ids: HashMap<String, usize>,
}

impl Run {
    /// A run of `driver` with no rules, results or invocations yet.
    pub fn new(driver: Driver) -> Run {
        let mut run = Run {
            tool: Tool {
                driver: Driver {
                    rules: Vec::new(),
                    ..driver
                },
            },
            automation_details: None,
            invocations: Vec::new(),
            results: Vec::new(),
            rule_ids: HashMap::new(),
        };
        for rule in driver.rules {
            run.add_rule(rule);
        }
        run
    }

    /// Add `rule` unless a rule with its id is already there; the index of the rule with that id.
    pub fn add_rule(&mut self, rule: Rule) -> usize {
        let rules = &mut self.tool.driver.rules;
        *self.rule_ids.entry(rule.id.clone()).or_insert_with(|| {
            rules.push(rule);
            rules.len() - 1
        })
    }

    /// The index of the rule `id`, adding the rule `make` builds when there is none yet.
    pub fn rule_index_or_add(&mut self, id: &str, make: impl FnOnce() -> Rule) -> usize {
        match self.rule_index(id) {
            Some(i) => i,
            None => self.add_rule(make()),
        }
    }

    /// The index of the rule `id` in `tool.driver.rules`.
    pub fn rule_index(&self, id: &str) -> Option<usize> {
        self.rule_ids.get(id).copied()
    }
}

/// The analysis tool (§3.18): Palisade is the driver; there are no extensions.
#[derive(Debug, Clone, Serialize)]
pub struct Tool {
    pub driver: Driver,
}

/// The tool component that ran (§3.19).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Driver {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub semantic_version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub information_uri: Option<String>,
    pub rules: Vec<Rule>,
}

impl Driver {
    /// The `palisade` driver at `version` (given both as `version` and `semanticVersion`).
    pub fn palisade(version: &str) -> Driver {
        Driver {
            name: "palisade".to_string(),
            version: Some(version.to_string()),
            semantic_version: Some(version.to_string()),
            information_uri: None,
            rules: Vec::new(),
        }
    }
}

/// A message (§3.11); Palisade writes plain text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Message {
    pub text: String,
}

impl Message {
    pub fn text(text: impl Into<String>) -> Message {
        Message { text: text.into() }
    }
}

/// `level` of a result, a rule's default configuration or a notification (§3.27.10).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    None,
    Note,
    Warning,
    Error,
}

/// A rule (a `reportingDescriptor`, §3.49).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Rule {
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub short_description: Message,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub full_description: Option<Message>,
    /// What the finding means and what to do about it (shown by code-scanning UIs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub help: Option<Message>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub help_uri: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_configuration: Option<Configuration>,
    /// `tags`, `security-severity` and other properties (§3.8).
    #[serde(skip_serializing_if = "Map::is_empty")]
    pub properties: Map<String, Value>,
}

impl Rule {
    /// A rule with an id and a short description, nothing else.
    pub fn new(id: impl Into<String>, short_description: impl Into<String>) -> Rule {
        Rule {
            id: id.into(),
            name: None,
            short_description: Message::text(short_description),
            full_description: None,
            help: None,
            help_uri: None,
            default_configuration: None,
            properties: Map::new(),
        }
    }
}

/// A rule's default configuration (§3.50).
#[derive(Debug, Clone, Serialize)]
pub struct Configuration {
    pub level: Level,
}

/// A result (§3.27): one finding of one rule.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SarifResult {
    pub rule_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule_index: Option<usize>,
    pub level: Level,
    pub message: Message,
    pub locations: Vec<Location>,
    /// Stable identities that do not move with line numbers (§3.27.17), keyed `name/vN`.
    pub partial_fingerprints: BTreeMap<String, String>,
    /// Why the result is not to be acted on (§3.27.23): an inline suppression with its reason.
    /// A suppressed result is still a result, so code-scanning UIs can show it as dismissed.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub suppressions: Vec<Suppression>,
    #[serde(skip_serializing_if = "Map::is_empty")]
    pub properties: Map<String, Value>,
}

/// A suppression of a result (§3.34).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Suppression {
    pub kind: SuppressionKind,
    /// The reason given with the suppression.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub justification: Option<String>,
}

/// Where a suppression is kept (§3.34.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum SuppressionKind {
    /// In the analysed file itself (a comment, an annotation).
    InSource,
    /// Outside it (a baseline, a waiver).
    External,
}

/// A location (§3.28); Palisade's are all physical.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Location {
    pub physical_location: PhysicalLocation,
}

impl Location {
    /// A location in the file at `path` (a relative or absolute file path, see
    /// [`artifact_uri`]), optionally in one region of it.
    pub fn file(path: &str, region: Option<Region>) -> Location {
        Location {
            physical_location: PhysicalLocation {
                artifact_location: ArtifactLocation {
                    uri: artifact_uri(path),
                },
                region,
            },
        }
    }
}

/// A physical location (§3.29).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PhysicalLocation {
    pub artifact_location: ArtifactLocation,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<Region>,
}

/// An artifact location (§3.4): a URI reference.
#[derive(Debug, Clone, Serialize)]
pub struct ArtifactLocation {
    pub uri: String,
}

/// A region of a text file (§3.30): 1-based lines and columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Region {
    pub start_line: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_column: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_line: Option<usize>,
}

impl Region {
    /// The line `line`; 0 (unknown) becomes 1, SARIF's lowest line number.
    pub fn line(line: usize) -> Region {
        Region {
            start_line: line.max(1),
            start_column: None,
            end_line: None,
        }
    }
}

/// One run of the tool (§3.20), with what went wrong along the way.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Invocation {
    /// False when an error-level notification says some input could not be analysed (the
    /// scanners then exit 2 even without findings).
    pub execution_successful: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tool_execution_notifications: Vec<Notification>,
}

impl Invocation {
    /// An invocation with these notifications; successful unless one of them is an error.
    pub fn new(notifications: Vec<Notification>) -> Invocation {
        Invocation {
            execution_successful: !notifications.iter().any(|n| n.level == Level::Error),
            tool_execution_notifications: notifications,
        }
    }
}

/// A problem the tool met while running, not a finding (§3.58).
#[derive(Debug, Clone, Serialize)]
pub struct Notification {
    pub level: Level,
    pub message: Message,
}

impl Notification {
    pub fn new(level: Level, text: impl Into<String>) -> Notification {
        Notification {
            level,
            message: Message::text(text),
        }
    }
}

/// What [`artifact_uri`] escapes: everything but RFC 3986's unreserved characters and `/`.
const URI_PATH: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'/');

/// A file path as a SARIF artifact URI reference: on systems whose separator is `\`, separators
/// become `/`; RFC 3986 unreserved characters and `/` are kept, every other UTF-8 byte is
/// percent-encoded (`a dir/é.txt` → `a%20dir/%C3%A9.txt`).
pub fn artifact_uri(path: &str) -> String {
    if std::path::MAIN_SEPARATOR == '\\' {
        utf8_percent_encode(&path.replace('\\', "/"), URI_PATH).to_string()
    } else {
        utf8_percent_encode(path, URI_PATH).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uri_encoding_keeps_slashes_and_escapes_spaces() {
        assert_eq!(artifact_uri("a dir/é.txt"), "a%20dir/%C3%A9.txt");
        assert_eq!(
            artifact_uri("A-z_0.9~/%#?[]@!$&'()*+,;=:\t"),
            "A-z_0.9~/%25%23%3F%5B%5D%40%21%24%26%27%28%29%2A%2B%2C%3B%3D%3A%09"
        );
        let backslash = artifact_uri("a\\b");
        if cfg!(windows) {
            assert_eq!(backslash, "a/b");
        } else {
            assert_eq!(
                backslash, "a%5Cb",
                "a backslash is part of a Unix file name"
            );
        }
    }

    #[test]
    fn rules_are_added_once_per_id_and_keep_their_index() {
        let mut driver = Driver::palisade("1.2.3");
        driver.rules.push(Rule::new("A", "first"));
        driver.rules.push(Rule::new("A", "duplicate, dropped"));
        let mut run = Run::new(driver);
        assert_eq!(run.rule_index("A"), Some(0));
        assert_eq!(run.add_rule(Rule::new("B", "second")), 1);
        assert_eq!(run.add_rule(Rule::new("A", "again")), 0);
        assert_eq!(run.rule_index_or_add("C", || Rule::new("C", "third")), 2);
        assert_eq!(run.rule_index_or_add("B", || unreachable!("B exists")), 1);
        let ids: Vec<&str> = run
            .tool
            .driver
            .rules
            .iter()
            .map(|r| r.id.as_str())
            .collect();
        assert_eq!(ids, ["A", "B", "C"]);
        assert_eq!(run.tool.driver.rules[0].short_description.text, "first");
        assert_eq!(run.rule_index("D"), None);
    }

    #[test]
    fn an_error_notification_makes_the_invocation_unsuccessful() {
        assert!(Invocation::new(vec![]).execution_successful);
        assert!(
            Invocation::new(vec![Notification::new(Level::Warning, "skipped")])
                .execution_successful
        );
        assert!(
            !Invocation::new(vec![
                Notification::new(Level::Warning, "skipped"),
                Notification::new(Level::Error, "unreadable"),
            ])
            .execution_successful
        );
    }

    #[test]
    fn empty_optional_members_are_left_out_and_names_are_camel_case() {
        let mut run = Run::new(Driver::palisade("0.1.0"));
        run.add_rule(Rule::new("R1", "a rule"));
        run.results.push(SarifResult {
            rule_id: "R1".into(),
            rule_index: Some(0),
            level: Level::Warning,
            message: Message::text("found"),
            locations: vec![Location::file("src/a b.rs", Some(Region::line(0)))],
            partial_fingerprints: BTreeMap::from([("x/v1".to_string(), "f".to_string())]),
            suppressions: Vec::new(),
            properties: Map::new(),
        });
        let v = Log::new(run).to_value();
        assert_eq!(
            v,
            serde_json::json!({
                "$schema": SCHEMA_URI,
                "version": "2.1.0",
                "runs": [{
                    "tool": {"driver": {
                        "name": "palisade",
                        "version": "0.1.0",
                        "semanticVersion": "0.1.0",
                        "rules": [{"id": "R1", "shortDescription": {"text": "a rule"}}],
                    }},
                    "results": [{
                        "ruleId": "R1",
                        "ruleIndex": 0,
                        "level": "warning",
                        "message": {"text": "found"},
                        "locations": [{"physicalLocation": {
                            "artifactLocation": {"uri": "src/a%20b.rs"},
                            "region": {"startLine": 1},
                        }}],
                        "partialFingerprints": {"x/v1": "f"},
                    }],
                }],
            })
        );
    }
}
