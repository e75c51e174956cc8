//! docker-compose file checks (the Compose Specification's `services`), over
//! [`crate::yaml`] documents: privileges, host namespaces, capabilities, host paths (the
//! Docker socket above all), image pinning, the user, secrets in `environment` and disabled
//! confinement. Merge keys and `x-` extension anchors are honoured. Pure.

use crate::finding::{Hit, SuppressionKind};
use crate::image::{self, Pin};
use crate::suppress::{self, Suppressions};
use crate::yaml::Node;

/// Host paths whose bind mount gives a container the host (or a good part of it).
const SENSITIVE_PATHS: &[&str] = &[
    "/",
    "/etc",
    "/proc",
    "/sys",
    "/dev",
    "/boot",
    "/root",
    "/home",
    "/run",
    "/var/run",
    "/var/lib/docker",
    "/var/lib/kubelet",
    "/usr",
    "/lib",
    "/bin",
    "/sbin",
];

/// Does this document look like a compose file: a `services` mapping whose entries have an
/// `image` or a `build`?
pub fn is_compose(root: &Node) -> bool {
    root.get("services").is_some_and(|s| {
        s.is_map()
            && s.all_entries()
                .iter()
                .any(|(_, v)| v.get("image").is_some() || v.get("build").is_some())
    })
}

/// Check a compose document.
pub fn check_document(root: &Node, sup: &mut Suppressions, out: &mut Vec<Hit>) {
    let Some(services) = root.get("services") else {
        return;
    };
    for (k, svc) in services.all_entries() {
        let Some(name) = k.str() else { continue };
        if !svc.is_map() {
            continue;
        }
        let scopes = label_scope(svc, sup).into_iter().collect();
        let ctx = Service {
            object: format!("service {name}"),
            anchors: vec![k.line],
            scopes,
        };
        ctx.check(svc, out);
    }
}

/// The `palisade.dev/ignore` label of a service (`labels` as a mapping or a `KEY=VALUE` list).
fn label_scope(svc: &Node, sup: &mut Suppressions) -> Option<usize> {
    let labels = svc.get("labels")?;
    let (text, at): (String, &Node) = match labels.get(suppress::ANNOTATION) {
        Some(v) => (v.str()?.to_string(), v),
        None => labels.seq().iter().find_map(|n| {
            let s = n.str()?;
            let (k, v) = s.split_once('=')?;
            (k.trim() == suppress::ANNOTATION).then(|| (v.to_string(), n.as_ref()))
        })?,
    };
    Some(sup.add_scope(suppress::parse_annotation(
        &text,
        at.line,
        at.column,
        SuppressionKind::Label,
    )))
}

struct Service {
    object: String,
    anchors: Vec<usize>,
    scopes: Vec<usize>,
}

impl Service {
    fn hit(&self, out: &mut Vec<Hit>, rule: &'static str, at: &Node, message: String) {
        let mut h = Hit::new(rule, at.line, at.column, message);
        h.object = self.object.clone();
        h.anchors = self.anchors.clone();
        h.scopes = self.scopes.clone();
        out.push(h);
    }

    fn check(&self, svc: &Node, out: &mut Vec<Hit>) {
        if let Some((k, v)) = svc.entry("privileged")
            && v.is_true()
        {
            self.hit(
                out,
                "PAL-DC-001",
                k,
                "privileged: true: the container has every capability and the host's devices"
                    .into(),
            );
        }
        if let Some((k, v)) = svc.entry("network_mode")
            && v.str() == Some("host")
        {
            self.hit(
                out,
                "PAL-DC-002",
                k,
                "network_mode: host: the container shares the host's network namespace".into(),
            );
        }
        for key in ["pid", "ipc"] {
            if let Some((k, v)) = svc.entry(key)
                && v.str() == Some("host")
            {
                self.hit(
                    out,
                    "PAL-DC-003",
                    k,
                    format!(
                        "{key}: host: the container shares the host's {} namespace",
                        key.to_uppercase()
                    ),
                );
            }
        }
        if let Some((k, v)) = svc.entry("cap_add") {
            let added: Vec<&str> = v
                .seq()
                .iter()
                .filter_map(|n| n.str())
                .filter(|c| {
                    !c.trim_start_matches("CAP_")
                        .eq_ignore_ascii_case("NET_BIND_SERVICE")
                })
                .collect();
            if !added.is_empty() {
                self.hit(
                    out,
                    "PAL-DC-004",
                    k,
                    format!("capabilities added: {}", added.join(", ")),
                );
            }
        }
        if let Some(vols) = svc.get("volumes") {
            for v in vols.seq() {
                let source = match v.str() {
                    Some(s) => short_source(s),
                    None => match v.get("type").and_then(|n| n.str()) {
                        Some("bind") | None => {
                            v.get("source").and_then(|n| n.str()).map(String::from)
                        }
                        _ => None,
                    },
                };
                let Some(src) = source else { continue };
                let norm = src.trim_end_matches('/');
                let norm = if norm.is_empty() { "/" } else { norm };
                if norm.ends_with("docker.sock")
                    || norm.ends_with("containerd.sock")
                    || norm.ends_with("podman.sock")
                {
                    self.hit(out, "PAL-DC-005", v, format!("the container runtime socket {src} is mounted: whoever runs in the container controls the host"));
                } else if SENSITIVE_PATHS.contains(&norm) {
                    self.hit(
                        out,
                        "PAL-DC-006",
                        v,
                        format!("the host directory {src} is mounted"),
                    );
                }
            }
        }
        if svc.get("build").is_none()
            && let Some((k, img)) = svc.entry("image")
            && let Some(reference) = img.str().filter(|r| !r.contains("${"))
        {
            match image::pin(reference) {
                Pin::Latest => self.hit(
                    out,
                    "PAL-DC-007",
                    k,
                    format!("image {reference} is not pinned to a version (no tag, or `latest`)"),
                ),
                Pin::Tag(tag) => self.hit(
                    out,
                    "PAL-DC-008",
                    k,
                    format!("image {reference} is pinned by the tag {tag}, not by a digest"),
                ),
                Pin::Digest => {}
            }
        }
        if let Some((k, u)) = svc.entry("user") {
            let user = u
                .str()
                .map(String::from)
                .or_else(|| u.int().map(|i| i.to_string()));
            if let Some(user) = user {
                let who = user.split(':').next().unwrap_or("");
                if who == "root" || who == "0" {
                    self.hit(
                        out,
                        "PAL-DC-009",
                        k,
                        format!("user: {user}: the container runs as root"),
                    );
                }
            }
        }
        if let Some(env) = svc.get("environment") {
            let mut pairs: Vec<(String, String, &Node)> = Vec::new();
            if env.is_map() {
                for (k, v) in env.all_entries() {
                    if let (Some(n), Some(val)) = (k.str(), v.str()) {
                        pairs.push((n.to_string(), val.to_string(), k));
                    }
                }
            } else {
                for n in env.seq() {
                    if let Some((k, v)) = n.str().and_then(|s| s.split_once('=')) {
                        pairs.push((k.to_string(), v.to_string(), n));
                    }
                }
            }
            for (name, value, at) in pairs {
                if image::secret_name(&name)
                    && image::literal_secret_value(&value)
                    && !value.contains("${")
                {
                    self.hit(out, "PAL-DC-010", at, format!("environment variable {name} has a literal value in the compose file (use secrets: or an env_file kept out of the repository)"));
                }
            }
        }
        if let Some(opts) = svc.get("security_opt") {
            for o in opts.seq() {
                let Some(s) = o.str() else { continue };
                let norm = s.replace('=', ":").to_ascii_lowercase();
                if matches!(
                    norm.as_str(),
                    "seccomp:unconfined"
                        | "apparmor:unconfined"
                        | "label:disable"
                        | "no-new-privileges:false"
                ) {
                    self.hit(
                        out,
                        "PAL-DC-011",
                        o,
                        format!("security_opt {s} turns a confinement off"),
                    );
                }
            }
        }
    }
}

/// The host side of a short-syntax volume (`SRC:DST[:MODE]`), when it is a path (a named volume
/// is not).
fn short_source(spec: &str) -> Option<String> {
    let (src, _) = spec.split_once(':')?;
    (src.starts_with('/') || src.starts_with('.') || src.starts_with('~') || src.starts_with('$'))
        .then(|| src.to_string())
}
