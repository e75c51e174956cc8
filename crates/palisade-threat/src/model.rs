//! The threat model: one YAML file per system, or several joined with `include:`.
//!
//! ```yaml
//! name: Shop
//! assets:
//!   card-data: { confidentiality: critical, integrity: high, pii: true }
//! boundaries:
//!   internet: { name: Internet }
//!   dmz: { name: DMZ }
//! elements:
//!   customer: { type: external-entity, boundary: internet }
//!   web: { type: process, boundary: dmz, internet_facing: true, authentication: password }
//! flows:
//!   checkout: { from: customer, to: web, protocol: https, data: [card-data] }
//! threats:
//!   PAL-TM-S01@web: { status: mitigated, mitigation: "MFA for every account" }
//! ```
//!
//! Ids are the mapping keys (`web`, `checkout`): names may change freely, so a threat's id — its
//! rule and the id of its element or flow — survives any edit but a change of that id. Elements
//! and flows carry attributes from one table ([`ATTRIBUTES`]): typed, documented, and checked on
//! load, so a misspelt attribute is an error rather than a control silently missing. Custom
//! attributes go under `attributes:`.
//!
//! Every error names the file, the line and the path of the offending value
//! (`shop.yaml:12:5: elements.web.type: unknown variant ...`), and loading reports every error it
//! finds, not only the first.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use palisade_yaml::Node;
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use crate::write::to_yaml;

/// Largest model file read (the includes each have the same limit).
pub const MAX_FILE_BYTES: u64 = 8 * 1024 * 1024;
/// Most files one model may join through includes.
pub const MAX_FILES: usize = 256;

/// A level of classification, likelihood or impact, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Low,
    Medium,
    High,
    Critical,
}

impl Level {
    pub const ALL: [Level; 4] = [Level::Low, Level::Medium, Level::High, Level::Critical];

    pub fn as_str(self) -> &'static str {
        match self {
            Level::Low => "low",
            Level::Medium => "medium",
            Level::High => "high",
            Level::Critical => "critical",
        }
    }

    pub fn parse(s: &str) -> Option<Level> {
        Level::ALL.into_iter().find(|l| l.as_str() == s)
    }

    /// 1 (low) to 4 (critical).
    pub fn rank(self) -> u8 {
        self as u8 + 1
    }
}

impl std::fmt::Display for Level {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The three kinds of element of a data-flow diagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ElementKind {
    ExternalEntity,
    Process,
    DataStore,
}

impl ElementKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ElementKind::ExternalEntity => "external-entity",
            ElementKind::Process => "process",
            ElementKind::DataStore => "data-store",
        }
    }
}

/// Where a definition was written: file and 1-based line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Origin {
    pub file: PathBuf,
    pub line: usize,
}

/// A data asset and how it is classified.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Asset {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub confidentiality: Option<Level>,
    #[serde(default)]
    pub integrity: Option<Level>,
    #[serde(default)]
    pub availability: Option<Level>,
    /// Personal data.
    #[serde(default)]
    pub pii: bool,
    /// Secrets: keys, passwords, tokens.
    #[serde(default)]
    pub credentials: bool,
    #[serde(skip)]
    pub origin: Option<Origin>,
}

/// A trust boundary; `parent` nests it inside another.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Boundary {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub parent: Option<String>,
    #[serde(skip)]
    pub origin: Option<Origin>,
}

/// An external entity, process or data store.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Element {
    #[serde(rename = "type")]
    pub kind: ElementKind,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub boundary: Option<String>,
    /// Assets this element processes or stores.
    #[serde(default)]
    pub data: Vec<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    /// Custom attributes, for custom rules: any name, scalar or list values.
    #[serde(default)]
    pub attributes: BTreeMap<String, Value>,
    /// The attributes of [`ATTRIBUTES`] written on this element, checked on load.
    #[serde(flatten)]
    pub attrs: BTreeMap<String, Value>,
    #[serde(skip)]
    pub origin: Option<Origin>,
}

/// A data flow from one element to another.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Flow {
    pub from: String,
    pub to: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub protocol: Option<String>,
    /// Assets the flow carries.
    #[serde(default)]
    pub data: Vec<String>,
    /// Data goes both ways (a request and its response).
    #[serde(default)]
    pub bidirectional: bool,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub attributes: BTreeMap<String, Value>,
    #[serde(flatten)]
    pub attrs: BTreeMap<String, Value>,
    #[serde(skip)]
    pub origin: Option<Origin>,
}

/// What the team decided about one threat.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StatusKind {
    Open,
    Mitigated,
    Accepted,
    FalsePositive,
}

/// A threat's recorded status (`threats:` in the model).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusEntry {
    pub status: StatusKind,
    /// How the threat is mitigated (required when mitigated).
    #[serde(default)]
    pub mitigation: Option<String>,
    /// Who accepted the risk (required when accepted).
    #[serde(default)]
    pub owner: Option<String>,
    /// Why (required when accepted or a false positive).
    #[serde(default)]
    pub reason: Option<String>,
    /// Last day of an acceptance (`YYYY-MM-DD`, required when accepted); the threat is open
    /// again the day after.
    #[serde(default)]
    pub expires: Option<String>,
    #[serde(default)]
    pub note: Option<String>,
    #[serde(skip)]
    pub origin: Option<Origin>,
}

/// One file of a model, as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ModelFile {
    #[serde(default)]
    version: Option<u32>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    include: Vec<String>,
    #[serde(default)]
    assets: BTreeMap<String, Asset>,
    #[serde(default)]
    boundaries: BTreeMap<String, Boundary>,
    #[serde(default)]
    elements: BTreeMap<String, Element>,
    #[serde(default)]
    flows: BTreeMap<String, Flow>,
    #[serde(default)]
    threats: BTreeMap<String, StatusEntry>,
}

/// A whole model, its includes joined.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Model {
    pub name: Option<String>,
    pub description: Option<String>,
    /// The file loaded (the root of the includes).
    pub file: PathBuf,
    /// Every file read, the root first.
    pub files: Vec<PathBuf>,
    pub assets: BTreeMap<String, Asset>,
    pub boundaries: BTreeMap<String, Boundary>,
    pub elements: BTreeMap<String, Element>,
    pub flows: BTreeMap<String, Flow>,
    pub threats: BTreeMap<String, StatusEntry>,
}

/// One thing wrong with a model, located.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ModelError {
    pub file: PathBuf,
    pub line: usize,
    pub column: usize,
    /// The offending value's path (`elements.web.type`); empty for the whole file.
    pub path: String,
    pub message: String,
}

impl std::fmt::Display for ModelError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}:{}: ", self.file.display(), self.line, self.column)?;
        if !self.path.is_empty() {
            write!(f, "{}: ", self.path)?;
        }
        f.write_str(&self.message)
    }
}

/// The type of an attribute's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttrType {
    Bool,
    Text,
    Int,
    /// One of these words.
    OneOf(&'static [&'static str]),
    /// A level (low, medium, high, critical).
    Level,
}

impl AttrType {
    pub fn describe(self) -> String {
        match self {
            AttrType::Bool => "true or false".into(),
            AttrType::Text => "text".into(),
            AttrType::Int => "a whole number".into(),
            AttrType::Level => "low, medium, high or critical".into(),
            AttrType::OneOf(words) => words.join(", "),
        }
    }
}

/// What an attribute may be written on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum On {
    /// Any element.
    Element,
    Process,
    DataStore,
    /// Processes and data stores.
    Component,
    Flow,
    /// Elements and flows.
    Any,
}

impl On {
    pub fn allows_element(self, kind: ElementKind) -> bool {
        match self {
            On::Element | On::Any => true,
            On::Process => kind == ElementKind::Process,
            On::DataStore => kind == ElementKind::DataStore,
            On::Component => kind != ElementKind::ExternalEntity,
            On::Flow => false,
        }
    }

    pub fn allows_flow(self) -> bool {
        matches!(self, On::Flow | On::Any)
    }

    pub fn describe(self) -> &'static str {
        match self {
            On::Element => "elements",
            On::Process => "processes",
            On::DataStore => "data stores",
            On::Component => "processes and data stores",
            On::Flow => "flows",
            On::Any => "elements and flows",
        }
    }
}

/// A documented attribute.
#[derive(Debug, Clone, Copy)]
pub struct Attribute {
    pub name: &'static str,
    pub on: On,
    pub ty: AttrType,
    pub doc: &'static str,
}

const AUTHENTICATION: &[&str] = &[
    "none",
    "password",
    "api-key",
    "token",
    "session",
    "sso",
    "mfa",
    "client-certificate",
    "mtls",
];
const AUTHORIZATION: &[&str] = &[
    "none",
    "authenticated",
    "role-based",
    "attribute-based",
    "owner",
];
const SECRETS: &[&str] = &["vault", "kms", "environment", "file", "code", "none"];

macro_rules! attr {
    ($name:literal, $on:ident, $ty:expr, $doc:literal) => {
        Attribute {
            name: $name,
            on: On::$on,
            ty: $ty,
            doc: $doc,
        }
    };
}

/// Every attribute an element or flow may carry, with what it means. Rules read them; unset means
/// "not stated", which a rule reads as false (a control not stated is not assumed).
pub const ATTRIBUTES: &[Attribute] = &[
    attr!(
        "technology",
        Element,
        AttrType::Text,
        "What it is: web-application, api, database, object-storage, message-queue, cache, browser, mobile-app, identity-provider, ci-cd, secrets-vault, log-store, container-platform, function, llm, … (free text; rules match known words)."
    ),
    attr!(
        "internet_facing",
        Element,
        AttrType::Bool,
        "Reachable from the internet."
    ),
    attr!(
        "third_party",
        Element,
        AttrType::Bool,
        "Run by another organisation (a SaaS, a payment provider, a partner)."
    ),
    attr!(
        "human",
        Element,
        AttrType::Bool,
        "An external entity that is a person (a user, an administrator) rather than a system."
    ),
    attr!(
        "authentication",
        Any,
        AttrType::OneOf(AUTHENTICATION),
        "How callers prove who they are: none, password, api-key, token, session, sso, mfa, client-certificate, mtls."
    ),
    attr!(
        "authorization",
        Any,
        AttrType::OneOf(AUTHORIZATION),
        "How access is decided: none, authenticated (any signed-in caller), role-based, attribute-based, owner (each caller only their own data)."
    ),
    attr!(
        "input_validation",
        Component,
        AttrType::Bool,
        "Input is validated against an allow-list or a schema before use."
    ),
    attr!(
        "output_encoding",
        Process,
        AttrType::Bool,
        "Output is encoded for its context (HTML, SQL parameters, shell arguments)."
    ),
    attr!(
        "parameterized_queries",
        Process,
        AttrType::Bool,
        "Database queries are parameterised, never built from strings."
    ),
    attr!(
        "deserializes_untrusted",
        Process,
        AttrType::Bool,
        "Deserialises objects (pickle, Java serialisation, YAML tags) from data a caller controls."
    ),
    attr!(
        "executes_commands",
        Process,
        AttrType::Bool,
        "Runs operating-system commands or interpreters."
    ),
    attr!(
        "fetches_urls",
        Process,
        AttrType::Bool,
        "Fetches URLs a caller can influence (webhooks, link previews, imports)."
    ),
    attr!(
        "file_uploads",
        Process,
        AttrType::Bool,
        "Accepts uploaded files."
    ),
    attr!(
        "renders_html",
        Process,
        AttrType::Bool,
        "Renders HTML pages for browsers."
    ),
    attr!(
        "csrf_protection",
        Process,
        AttrType::Bool,
        "State-changing browser requests need an anti-CSRF token or same-site cookies."
    ),
    attr!(
        "security_headers",
        Process,
        AttrType::Bool,
        "Sends CSP, HSTS, frame-ancestors and the like."
    ),
    attr!(
        "session_management",
        Process,
        AttrType::Bool,
        "Sessions are random, expire, rotate on sign-in and can be revoked."
    ),
    attr!(
        "account_lockout",
        Process,
        AttrType::Bool,
        "Repeated failed sign-ins are slowed or locked out."
    ),
    attr!(
        "rate_limiting",
        Any,
        AttrType::Bool,
        "Requests per caller are limited."
    ),
    attr!(
        "quotas",
        Component,
        AttrType::Bool,
        "Resource use per caller or tenant (storage, jobs, size of requests) is capped."
    ),
    attr!(
        "timeouts",
        Process,
        AttrType::Bool,
        "Calls to other components have timeouts and circuit breakers."
    ),
    attr!(
        "autoscaling",
        Component,
        AttrType::Bool,
        "Capacity grows with load."
    ),
    attr!(
        "redundancy",
        Component,
        AttrType::Bool,
        "More than one instance or replica; survives losing one."
    ),
    attr!(
        "backups",
        DataStore,
        AttrType::Bool,
        "Backed up, and restores are tested."
    ),
    attr!(
        "encryption_at_rest",
        DataStore,
        AttrType::Bool,
        "Data is encrypted on disk."
    ),
    attr!(
        "access_logging",
        DataStore,
        AttrType::Bool,
        "Reads and writes of the store are logged with who made them."
    ),
    attr!(
        "stores_logs",
        DataStore,
        AttrType::Bool,
        "Holds logs or audit records."
    ),
    attr!(
        "stores_credentials",
        DataStore,
        AttrType::Bool,
        "Holds passwords, keys or tokens."
    ),
    attr!(
        "password_hashing",
        Component,
        AttrType::Bool,
        "Passwords are stored with a slow salted hash (argon2, bcrypt, scrypt)."
    ),
    attr!(
        "append_only",
        DataStore,
        AttrType::Bool,
        "Records cannot be changed or deleted once written (WORM, object lock, a hash chain)."
    ),
    attr!(
        "integrity_checks",
        Component,
        AttrType::Bool,
        "Stored data or code is checked against signatures or hashes."
    ),
    attr!(
        "audit_log",
        Element,
        AttrType::Bool,
        "Security-relevant actions are recorded with who, what and when."
    ),
    attr!(
        "log_integrity",
        Component,
        AttrType::Bool,
        "Its logs are shipped off the host or tamper-evident."
    ),
    attr!(
        "time_sync",
        Component,
        AttrType::Bool,
        "Clocks are synchronised (NTP), so log times can be trusted."
    ),
    attr!(
        "monitoring",
        Component,
        AttrType::Bool,
        "Watched with alerts on failures and anomalies."
    ),
    attr!(
        "signed_requests",
        Any,
        AttrType::Bool,
        "Requests are signed by their sender (HMAC, JWS, signed webhooks)."
    ),
    attr!(
        "handles_pii",
        Element,
        AttrType::Bool,
        "Handles personal data (also implied by the assets in `data`)."
    ),
    attr!(
        "handles_secrets",
        Process,
        AttrType::Bool,
        "Handles keys, passwords or tokens (also implied by credential assets)."
    ),
    attr!(
        "secrets_storage",
        Process,
        AttrType::OneOf(SECRETS),
        "Where its own secrets live: vault, kms, environment, file, code, none."
    ),
    attr!(
        "privileged",
        Component,
        AttrType::Bool,
        "Runs with administrator or root rights, or a privileged container."
    ),
    attr!(
        "sandboxed",
        Process,
        AttrType::Bool,
        "Runs isolated (container with a restricted profile, seccomp, separate account)."
    ),
    attr!(
        "hardened",
        Component,
        AttrType::Bool,
        "Follows a hardening baseline (CIS, no default accounts, minimal image)."
    ),
    attr!(
        "admin_interface",
        Component,
        AttrType::Bool,
        "Has an administration interface."
    ),
    attr!(
        "multi_tenant",
        Component,
        AttrType::Bool,
        "Serves several customers or tenants from one instance."
    ),
    attr!(
        "tenant_isolation",
        Component,
        AttrType::Bool,
        "Every query and object is scoped to its tenant, enforced centrally."
    ),
    attr!(
        "dependency_scanning",
        Process,
        AttrType::Bool,
        "Its dependencies are scanned for known vulnerabilities."
    ),
    attr!(
        "signed_artifacts",
        Process,
        AttrType::Bool,
        "Only signed, verified builds or images are deployed."
    ),
    attr!(
        "waf",
        Process,
        AttrType::Bool,
        "Behind a web application firewall."
    ),
    attr!(
        "error_handling",
        Process,
        AttrType::Bool,
        "Errors shown to callers hide internals (stack traces, queries, versions)."
    ),
    attr!(
        "least_privilege",
        Component,
        AttrType::Bool,
        "Its own accounts and roles have only the rights they need."
    ),
    attr!(
        "encrypted",
        Flow,
        AttrType::Bool,
        "Encrypted in transit (implied by https, tls, mtls, ssh, sftp, grpcs, wss, amqps when not written)."
    ),
    attr!(
        "certificate_validation",
        Flow,
        AttrType::Bool,
        "Write false when the client does not check the server's certificate (self-signed, verification turned off)."
    ),
    attr!(
        "integrity_protected",
        Flow,
        AttrType::Bool,
        "Messages carry a signature or MAC (TLS alone also counts when written)."
    ),
    attr!(
        "replay_protection",
        Flow,
        AttrType::Bool,
        "Messages carry a nonce or timestamp that is checked."
    ),
    attr!(
        "logged",
        Flow,
        AttrType::Bool,
        "Requests over this flow are logged with their caller."
    ),
    attr!(
        "vpn",
        Flow,
        AttrType::Bool,
        "Runs over a VPN or private link."
    ),
    attr!(
        "asynchronous",
        Flow,
        AttrType::Bool,
        "Carried by a queue or event bus rather than a direct call."
    ),
    attr!(
        "validates_input",
        Flow,
        AttrType::Bool,
        "The receiving side validates what arrives over this flow against a schema."
    ),
];

/// The attribute named `name`.
pub fn attribute(name: &str) -> Option<&'static Attribute> {
    ATTRIBUTES.iter().find(|a| a.name == name)
}

/// Protocols that are encrypted in transit.
pub const ENCRYPTED_PROTOCOLS: &[&str] = &[
    "https",
    "tls",
    "mtls",
    "ssh",
    "sftp",
    "ftps",
    "grpcs",
    "wss",
    "amqps",
    "mqtts",
    "ldaps",
    "smtps",
    "imaps",
    "rediss",
    "postgres+tls",
    "mysql+tls",
    "ipsec",
    "wireguard",
];

impl Model {
    /// The element's display name (its name, or its id).
    pub fn element_name<'a>(&'a self, id: &'a str) -> &'a str {
        self.elements
            .get(id)
            .and_then(|e| e.name.as_deref())
            .unwrap_or(id)
    }

    /// The flow's display name.
    pub fn flow_name<'a>(&'a self, id: &'a str) -> &'a str {
        self.flows
            .get(id)
            .and_then(|f| f.name.as_deref())
            .unwrap_or(id)
    }

    /// The boundary's display name.
    pub fn boundary_name<'a>(&'a self, id: &'a str) -> &'a str {
        self.boundaries
            .get(id)
            .and_then(|b| b.name.as_deref())
            .unwrap_or(id)
    }

    /// The chain of boundaries around an element, innermost first.
    pub fn boundary_chain(&self, element: &str) -> Vec<&str> {
        let mut out = Vec::new();
        let mut cur = self
            .elements
            .get(element)
            .and_then(|e| e.boundary.as_deref());
        while let Some(b) = cur {
            if out.contains(&b) {
                break;
            }
            out.push(b);
            cur = self.boundaries.get(b).and_then(|x| x.parent.as_deref());
        }
        out
    }

    /// Whether a flow crosses a trust boundary: its two ends are not in the same innermost
    /// boundary.
    pub fn crosses_boundary(&self, flow: &Flow) -> bool {
        let a = self
            .elements
            .get(&flow.from)
            .and_then(|e| e.boundary.as_deref());
        let b = self
            .elements
            .get(&flow.to)
            .and_then(|e| e.boundary.as_deref());
        a != b
    }

    /// The boundary ids in nesting order: parents before their children.
    pub fn boundaries_outside_in(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        let mut depth: Vec<(usize, &str)> = self
            .boundaries
            .keys()
            .map(|id| {
                let mut d = 0;
                let mut cur = self.boundaries.get(id).and_then(|b| b.parent.as_deref());
                while let Some(p) = cur {
                    d += 1;
                    if d > self.boundaries.len() {
                        break;
                    }
                    cur = self.boundaries.get(p).and_then(|b| b.parent.as_deref());
                }
                (d, id.as_str())
            })
            .collect();
        depth.sort();
        out.extend(depth.into_iter().map(|(_, id)| id));
        out
    }
}

/// Read a model from `path`, following its includes (relative to the including file).
pub fn load(path: &Path) -> Result<Model, Vec<ModelError>> {
    load_with(path, &read_limited)
}

/// Read a model through `read` (a file system, or a git revision's tree): `read` gives a file's
/// text or says why it cannot.
pub fn load_with(
    path: &Path,
    read: &dyn Fn(&Path) -> Result<String, String>,
) -> Result<Model, Vec<ModelError>> {
    let mut model = Model {
        file: path.to_path_buf(),
        ..Model::default()
    };
    let mut errors = Vec::new();
    let mut seen: BTreeSet<PathBuf> = BTreeSet::new();
    let mut stack = vec![(path.to_path_buf(), None::<(PathBuf, usize)>)];
    let mut first = true;
    while let Some((file, included_from)) = stack.pop() {
        if !seen.insert(normalize(&file)) {
            continue;
        }
        if seen.len() > MAX_FILES {
            errors.push(ModelError {
                file: file.clone(),
                line: 1,
                column: 1,
                path: String::new(),
                message: format!(
                    "more than {MAX_FILES} files included; is there a loop of includes?"
                ),
            });
            break;
        }
        let text = match read(&file) {
            Ok(t) => t,
            Err(message) => {
                let (f, line) = included_from.unwrap_or((file.clone(), 1));
                errors.push(ModelError {
                    file: f,
                    line,
                    column: 1,
                    path: if first {
                        String::new()
                    } else {
                        "include".into()
                    },
                    message: format!("cannot read {}: {message}", file.display()),
                });
                first = false;
                continue;
            }
        };
        model.files.push(file.clone());
        match parse_file(&file, &text) {
            Ok((part, includes)) => {
                if first {
                    model.name = part.name.clone();
                    model.description = part.description.clone();
                }
                let dir = file.parent().map(Path::to_path_buf).unwrap_or_default();
                for (inc, line) in includes.into_iter().rev() {
                    stack.push((normalize(&dir.join(inc)), Some((file.clone(), line))));
                }
                merge(&mut model, part, &mut errors);
            }
            Err(mut e) => errors.append(&mut e),
        }
        first = false;
    }
    if errors.is_empty() {
        validate(&model, &mut errors);
    }
    if errors.is_empty() {
        Ok(model)
    } else {
        Err(errors)
    }
}

/// Read a model from text, as if it were the file `name` (no includes are followed: an
/// `include:` is an error here).
pub fn from_str(name: &Path, text: &str) -> Result<Model, Vec<ModelError>> {
    let (part, includes) = parse_file(name, text)?;
    let mut errors = Vec::new();
    if let Some((_, line)) = includes.first() {
        errors.push(ModelError {
            file: name.to_path_buf(),
            line: *line,
            column: 1,
            path: "include".into(),
            message: "includes are only followed when a model is read from a file".into(),
        });
    }
    let mut model = Model {
        file: name.to_path_buf(),
        files: vec![name.to_path_buf()],
        name: part.name.clone(),
        description: part.description.clone(),
        ..Model::default()
    };
    merge(&mut model, part, &mut errors);
    if errors.is_empty() {
        validate(&model, &mut errors);
    }
    if errors.is_empty() {
        Ok(model)
    } else {
        Err(errors)
    }
}

/// `a/./b/../c` as `a/c`, without touching the file system (includes are followed in git trees
/// too).
pub fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other),
        }
    }
    out
}

fn read_limited(path: &Path) -> Result<String, String> {
    let meta = std::fs::metadata(path).map_err(|e| e.to_string())?;
    if !meta.is_file() {
        return Err("not a file".into());
    }
    if meta.len() > MAX_FILE_BYTES {
        return Err(format!(
            "{} bytes; a model file may be at most {MAX_FILE_BYTES} bytes",
            meta.len()
        ));
    }
    let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
    String::from_utf8(bytes).map_err(|_| "not UTF-8 text".to_string())
}

/// A parsed file: its parts with origins set, and its includes with their lines.
struct Part {
    name: Option<String>,
    description: Option<String>,
    assets: BTreeMap<String, Asset>,
    boundaries: BTreeMap<String, Boundary>,
    elements: BTreeMap<String, Element>,
    flows: BTreeMap<String, Flow>,
    threats: BTreeMap<String, StatusEntry>,
}

type Positions = palisade_yaml::Positions;

/// A file's parts, and its includes with the lines they are written on.
type Parsed = (Part, Vec<(String, usize)>);

fn parse_file(file: &Path, text: &str) -> Result<Parsed, Vec<ModelError>> {
    let err = |line, column, path: &str, message: String| {
        vec![ModelError {
            file: file.to_path_buf(),
            line,
            column,
            path: path.to_string(),
            message,
        }]
    };
    let docs = palisade_yaml::parse_stream(text).map_err(|e| {
        err(
            e.line,
            e.column,
            "",
            format!("not valid YAML: {}", e.message),
        )
    })?;
    let root = match docs.len() {
        0 => {
            return Err(err(
                1,
                1,
                "",
                "the file is empty; a model needs at least `elements:`".into(),
            ));
        }
        1 => &docs[0].root,
        _ => {
            return Err(err(
                docs[1].start_line,
                1,
                "",
                "a model file holds one YAML document; split models with `include:` instead".into(),
            ));
        }
    };
    if !root.is_map() {
        return Err(err(
            root.line,
            root.column,
            "",
            "a model is a mapping (`name:`, `elements:`, `flows:` …)".into(),
        ));
    }
    let mut positions = Positions::new();
    let value = palisade_yaml::to_json(root, &mut positions)
        .map_err(|e| err(e.line, e.column, &e.path, e.message))?;
    let parsed: ModelFile = serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let (line, column) = locate(&positions, &path);
        err(
            line,
            column,
            if path == "." { "" } else { &path },
            e.into_inner().to_string(),
        )
    })?;
    if let Some(v) = parsed.version
        && v != 1
    {
        let (line, column) = locate(&positions, "version");
        return Err(err(
            line,
            column,
            "version",
            format!("format version {v} is not known; this Palisade reads version 1"),
        ));
    }
    let origin = |path: &str| {
        let (line, _) = locate(&positions, path);
        Some(Origin {
            file: file.to_path_buf(),
            line,
        })
    };
    let mut errors = Vec::new();
    let mut part = Part {
        name: parsed.name,
        description: parsed.description,
        assets: parsed.assets,
        boundaries: parsed.boundaries,
        elements: parsed.elements,
        flows: parsed.flows,
        threats: parsed.threats,
    };
    for (id, a) in part.assets.iter_mut() {
        a.origin = origin(&format!("assets.{id}"));
    }
    for (id, b) in part.boundaries.iter_mut() {
        b.origin = origin(&format!("boundaries.{id}"));
    }
    for (id, e) in part.elements.iter_mut() {
        let base = format!("elements.{id}");
        e.origin = origin(&base);
        check_attrs(
            &e.attrs,
            &base,
            |on| on.allows_element(e.kind),
            e.kind.as_str(),
            file,
            &positions,
            &mut errors,
        );
    }
    for (id, f) in part.flows.iter_mut() {
        let base = format!("flows.{id}");
        f.origin = origin(&base);
        check_attrs(
            &f.attrs,
            &base,
            On::allows_flow,
            "flow",
            file,
            &positions,
            &mut errors,
        );
    }
    for (id, t) in part.threats.iter_mut() {
        t.origin = origin(&format!("threats.{id}"));
    }
    let includes = parsed
        .include
        .into_iter()
        .enumerate()
        .map(|(i, inc)| {
            let (line, _) = locate(&positions, &format!("include[{i}]"));
            (inc, line)
        })
        .collect();
    if errors.is_empty() {
        Ok((part, includes))
    } else {
        Err(errors)
    }
}

#[allow(clippy::too_many_arguments)]
fn check_attrs(
    attrs: &BTreeMap<String, Value>,
    base: &str,
    allowed: impl Fn(On) -> bool,
    what: &str,
    file: &Path,
    positions: &Positions,
    errors: &mut Vec<ModelError>,
) {
    for (name, value) in attrs {
        let path = format!("{base}.{name}");
        let (line, column) = locate(positions, &path);
        let mut push = |message: String| {
            errors.push(ModelError {
                file: file.to_path_buf(),
                line,
                column,
                path: path.clone(),
                message,
            })
        };
        let Some(attr) = attribute(name) else {
            let hint = suggest(name, ATTRIBUTES.iter().map(|a| a.name))
                .map(|s| format!(" (did you mean `{s}`?)"))
                .unwrap_or_default();
            push(format!(
                "unknown attribute `{name}`{hint}; custom attributes go under `attributes:`, and `palisade threat attributes` lists the known ones"
            ));
            continue;
        };
        if !allowed(attr.on) {
            push(format!(
                "`{name}` is an attribute of {}, not of a {what}",
                attr.on.describe()
            ));
            continue;
        }
        let ok = match (attr.ty, value) {
            (AttrType::Bool, Value::Bool(_)) => true,
            (AttrType::Text, Value::String(_)) => true,
            (AttrType::Int, Value::Number(n)) => n.is_i64() || n.is_u64(),
            (AttrType::Level, Value::String(s)) => Level::parse(s).is_some(),
            (AttrType::OneOf(words), Value::String(s)) => words.contains(&s.as_str()),
            _ => false,
        };
        if !ok {
            push(format!(
                "`{name}` is {}, not {}",
                attr.ty.describe(),
                describe_value(value)
            ));
        }
    }
}

fn describe_value(v: &Value) -> String {
    match v {
        Value::Null => "empty".into(),
        Value::String(s) => format!("`{s}`"),
        Value::Array(_) => "a list".into(),
        Value::Object(_) => "a mapping".into(),
        other => format!("`{other}`"),
    }
}

/// The closest of `candidates` to `word`, when close enough to be a typo.
pub fn suggest<'a>(word: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .map(|c| (strsim::levenshtein(word, c), c))
        .filter(|(d, c)| *d <= 2.max(c.len() / 4))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// The position of `path`, or of its nearest ancestor that has one.
fn locate(positions: &Positions, path: &str) -> (usize, usize) {
    palisade_yaml::locate(positions, path)
}

fn merge(model: &mut Model, part: Part, errors: &mut Vec<ModelError>) {
    fn join<T: Clone>(
        into: &mut BTreeMap<String, T>,
        from: BTreeMap<String, T>,
        what: &str,
        origin: impl Fn(&T) -> Option<Origin>,
        errors: &mut Vec<ModelError>,
    ) {
        for (id, v) in from {
            if let Some(existing) = into.get(&id) {
                let here = origin(&v).unwrap_or(Origin {
                    file: PathBuf::new(),
                    line: 1,
                });
                let there = origin(existing)
                    .map(|o| format!("{}:{}", o.file.display(), o.line))
                    .unwrap_or_default();
                errors.push(ModelError {
                    file: here.file,
                    line: here.line,
                    column: 1,
                    path: format!("{what}.{id}"),
                    message: format!("`{id}` is already defined at {there}"),
                });
                continue;
            }
            into.insert(id, v);
        }
    }
    join(
        &mut model.assets,
        part.assets,
        "assets",
        |a| a.origin.clone(),
        errors,
    );
    join(
        &mut model.boundaries,
        part.boundaries,
        "boundaries",
        |a| a.origin.clone(),
        errors,
    );
    join(
        &mut model.elements,
        part.elements,
        "elements",
        |a| a.origin.clone(),
        errors,
    );
    join(
        &mut model.flows,
        part.flows,
        "flows",
        |a| a.origin.clone(),
        errors,
    );
    join(
        &mut model.threats,
        part.threats,
        "threats",
        |a| a.origin.clone(),
        errors,
    );
}

/// Ids are short and safe in every output: letters, digits, `-`, `_`, `.`.
pub fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 128
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

fn validate(model: &Model, errors: &mut Vec<ModelError>) {
    let mut push = |origin: &Option<Origin>, path: String, message: String| {
        let o = origin.clone().unwrap_or(Origin {
            file: model.file.clone(),
            line: 1,
        });
        errors.push(ModelError {
            file: o.file,
            line: o.line,
            column: 1,
            path,
            message,
        });
    };
    let check_id = |id: &str| valid_id(id);
    for (what, ids) in [
        (
            "assets",
            model
                .assets
                .iter()
                .map(|(k, v)| (k, &v.origin))
                .collect::<Vec<_>>(),
        ),
        (
            "boundaries",
            model
                .boundaries
                .iter()
                .map(|(k, v)| (k, &v.origin))
                .collect(),
        ),
        (
            "elements",
            model.elements.iter().map(|(k, v)| (k, &v.origin)).collect(),
        ),
        (
            "flows",
            model.flows.iter().map(|(k, v)| (k, &v.origin)).collect(),
        ),
    ] {
        for (id, origin) in ids {
            if !check_id(id) {
                push(
                    origin,
                    format!("{what}.{id}"),
                    "an id is 1 to 128 letters, digits, `-`, `_` or `.`".into(),
                );
            }
        }
    }
    if model.elements.is_empty() {
        push(
            &None,
            "elements".into(),
            "a model needs at least one element".into(),
        );
    }
    let missing = |kind: &str, id: &str, all: Vec<&String>| {
        let hint = suggest(id, all.iter().map(|s| s.as_str()))
            .map(|s| format!(" (did you mean `{s}`?)"))
            .unwrap_or_default();
        format!("no {kind} `{id}` in the model{hint}")
    };
    for (id, b) in &model.boundaries {
        if let Some(p) = &b.parent {
            if !model.boundaries.contains_key(p) {
                push(
                    &b.origin,
                    format!("boundaries.{id}.parent"),
                    missing("boundary", p, model.boundaries.keys().collect()),
                );
            } else {
                let mut cur = Some(p.as_str());
                let mut steps = 0;
                while let Some(c) = cur {
                    if c == id {
                        push(
                            &b.origin,
                            format!("boundaries.{id}.parent"),
                            format!("boundary `{id}` is inside itself"),
                        );
                        break;
                    }
                    steps += 1;
                    if steps > model.boundaries.len() {
                        break;
                    }
                    cur = model.boundaries.get(c).and_then(|x| x.parent.as_deref());
                }
            }
        }
    }
    for (id, e) in &model.elements {
        if let Some(b) = &e.boundary
            && !model.boundaries.contains_key(b)
        {
            push(
                &e.origin,
                format!("elements.{id}.boundary"),
                missing("boundary", b, model.boundaries.keys().collect()),
            );
        }
        for a in &e.data {
            if !model.assets.contains_key(a) {
                push(
                    &e.origin,
                    format!("elements.{id}.data"),
                    missing("asset", a, model.assets.keys().collect()),
                );
            }
        }
    }
    for (id, f) in &model.flows {
        for (end, el) in [("from", &f.from), ("to", &f.to)] {
            if !model.elements.contains_key(el) {
                push(
                    &f.origin,
                    format!("flows.{id}.{end}"),
                    missing("element", el, model.elements.keys().collect()),
                );
            }
        }
        if f.from == f.to {
            push(
                &f.origin,
                format!("flows.{id}"),
                "a flow goes from one element to another, not to itself".into(),
            );
        }
        for a in &f.data {
            if !model.assets.contains_key(a) {
                push(
                    &f.origin,
                    format!("flows.{id}.data"),
                    missing("asset", a, model.assets.keys().collect()),
                );
            }
        }
    }
    for (id, t) in &model.threats {
        let path = format!("threats.{id}");
        match t.status {
            StatusKind::Mitigated if blank(&t.mitigation) => push(
                &t.origin,
                path,
                "a mitigated threat says how: `mitigation: …`".into(),
            ),
            StatusKind::Accepted => {
                if blank(&t.owner) || blank(&t.reason) {
                    push(
                        &t.origin,
                        path.clone(),
                        "an accepted threat names its `owner:` and its `reason:`".into(),
                    );
                }
                match &t.expires {
                    None => push(&t.origin, path, "an acceptance expires: `expires: YYYY-MM-DD` (at most a year ahead is usual)".into()),
                    Some(d) if parse_date(d).is_none() => {
                        push(&t.origin, format!("{path}.expires"), format!("`{d}` is not a date (YYYY-MM-DD)"))
                    }
                    _ => {}
                }
            }
            StatusKind::FalsePositive if blank(&t.reason) => push(
                &t.origin,
                path,
                "a false positive says why: `reason: …`".into(),
            ),
            _ => {}
        }
    }
}

fn blank(s: &Option<String>) -> bool {
    s.as_deref().is_none_or(|s| s.trim().is_empty())
}

/// A `YYYY-MM-DD` date as (year, month, day), checked for the calendar.
pub fn parse_date(s: &str) -> Option<(i32, u8, u8)> {
    let d = time::Date::parse(s, time::macros::format_description!("[year]-[month]-[day]")).ok()?;
    Some((d.year(), u8::from(d.month()), d.day()))
}

/// A YAML node as JSON with the positions of its values by path (for other files of this crate
/// that read YAML: rules files).
pub(crate) fn yaml_to_json(
    node: &Node,
    positions: &mut HashMap<String, (usize, usize)>,
) -> Result<Value, (usize, usize, String, String)> {
    palisade_yaml::to_json(node, positions).map_err(|e| (e.line, e.column, e.path, e.message))
}

/// The position recorded for `path`, or its nearest ancestor's.
pub(crate) fn position(positions: &HashMap<String, (usize, usize)>, path: &str) -> (usize, usize) {
    locate(positions, path)
}
