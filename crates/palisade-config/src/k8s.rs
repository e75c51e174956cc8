//! Kubernetes manifest checks over [`crate::yaml`] documents: workloads (the pod spec at its
//! path per kind), `List`s of objects, Services. A document without `apiVersion` and `kind` is
//! not a Kubernetes object and is left alone. Pure.
//!
//! | kind | pod spec |
//! |---|---|
//! | Pod | `spec` |
//! | Deployment, StatefulSet, DaemonSet, ReplicaSet, ReplicationController, Job | `spec.template.spec` |
//! | CronJob | `spec.jobTemplate.spec.template.spec` |

use std::collections::HashSet;
use std::rc::Rc;

use crate::finding::{Hit, SuppressionKind};
use crate::image::{self, Pin};
use crate::suppress::{self, Suppressions};
use crate::yaml::Node;

/// The annotation that explains why a Service is reachable from outside the cluster.
pub const EXPOSURE_ANNOTATION: &str = "palisade.dev/exposure-reason";

/// Capabilities the Pod Security Standards' "restricted" profile allows adding.
const ALLOWED_CAPABILITIES: &[&str] = &["NET_BIND_SERVICE"];

/// Is this document a Kubernetes object (or a list of them)?
pub fn is_object(root: &Node) -> bool {
    root.get("apiVersion").and_then(|n| n.str()).is_some()
        && root.get("kind").and_then(|n| n.str()).is_some()
}

/// Names of the ServiceAccounts among `roots` (lists included) that turn token mounting off.
pub fn service_accounts_without_token(roots: &[&Node]) -> HashSet<String> {
    let mut out = HashSet::new();
    for root in roots {
        for obj in objects(root) {
            if obj.get("kind").and_then(|n| n.str()) == Some("ServiceAccount")
                && obj
                    .get("automountServiceAccountToken")
                    .is_some_and(|n| n.is_false())
                && let Some(name) = obj.path(&["metadata", "name"]).and_then(|n| n.str())
            {
                out.insert(name.to_string());
            }
        }
    }
    out
}

/// The objects of a document: itself, or the items of a `List` (`kind: List`, `…List`).
fn objects(root: &Node) -> Vec<&Node> {
    let kind = root.get("kind").and_then(|n| n.str()).unwrap_or("");
    if kind.ends_with("List")
        && let Some(items) = root.get("items")
    {
        return items
            .seq()
            .iter()
            .map(|n| n.as_ref())
            .filter(|n| is_object(n))
            .collect();
    }
    vec![root]
}

/// Check one document; returns how many objects it held.
pub fn check_document(
    root: &Node,
    no_token_accounts: &HashSet<String>,
    sup: &mut Suppressions,
    out: &mut Vec<Hit>,
) -> u64 {
    let objs = objects(root);
    for obj in &objs {
        check_object(obj, no_token_accounts, sup, out);
    }
    objs.len() as u64
}

/// The scope of an object's `palisade.dev/ignore` annotation, if it has one.
fn annotation_scope(meta: Option<&Rc<Node>>, sup: &mut Suppressions) -> Option<usize> {
    let v = meta?.path(&["annotations", suppress::ANNOTATION])?;
    let text = v.str()?;
    Some(sup.add_scope(suppress::parse_annotation(
        text,
        v.line,
        v.column,
        SuppressionKind::Annotation,
    )))
}

/// Where a rule's hit is reported and what can suppress it.
struct Ctx {
    object: String,
    anchors: Vec<usize>,
    scopes: Vec<usize>,
}

impl Ctx {
    fn hit(&self, out: &mut Vec<Hit>, rule: &'static str, at: &Node, message: String) {
        let mut h = Hit::new(rule, at.line, at.column, message);
        h.object = self.object.clone();
        h.anchors = self.anchors.clone();
        h.scopes = self.scopes.clone();
        out.push(h);
    }

    fn with(&self, object: String, anchor: usize) -> Ctx {
        let mut anchors = self.anchors.clone();
        anchors.push(anchor);
        Ctx {
            object,
            anchors,
            scopes: self.scopes.clone(),
        }
    }
}

fn check_object(
    obj: &Node,
    no_token_accounts: &HashSet<String>,
    sup: &mut Suppressions,
    out: &mut Vec<Hit>,
) {
    let kind = obj.get("kind").and_then(|n| n.str()).unwrap_or("");
    let meta = obj.get("metadata");
    let name = meta
        .and_then(|m| m.get("name"))
        .and_then(|n| n.str())
        .unwrap_or("(unnamed)");
    let mut ctx = Ctx {
        object: format!("{kind}/{name}"),
        anchors: vec![obj.line],
        scopes: annotation_scope(meta, sup).into_iter().collect(),
    };
    let template_path: &[&str] = match kind {
        "Pod" => &[],
        "Deployment"
        | "StatefulSet"
        | "DaemonSet"
        | "ReplicaSet"
        | "ReplicationController"
        | "Job" => &["spec", "template"],
        "CronJob" => &["spec", "jobTemplate", "spec", "template"],
        "Service" => {
            check_service(obj, &ctx, out);
            return;
        }
        _ => return,
    };
    // The pod: the object itself (Pod) or its template.
    let pod: &Node = if template_path.is_empty() {
        obj
    } else {
        match obj.path(template_path) {
            Some(t) => t,
            None => return,
        }
    };
    if !template_path.is_empty() {
        ctx.scopes
            .extend(annotation_scope(pod.get("metadata"), sup));
    }
    let Some((spec_key, spec)) = pod.entry("spec") else {
        return;
    };
    // Probes matter for what runs until stopped: not Jobs, CronJobs, or one-shot pods
    // (`restartPolicy: Never` or `OnFailure`, such as Helm test hooks).
    let one_shot = spec
        .get("restartPolicy")
        .and_then(|n| n.str())
        .is_some_and(|p| p == "Never" || p == "OnFailure");
    let long_running = !matches!(kind, "Job" | "CronJob") && !one_shot;
    check_pod(spec_key, spec, &ctx, long_running, no_token_accounts, out);
}

fn check_pod(
    spec_key: &Node,
    spec: &Node,
    ctx: &Ctx,
    long_running: bool,
    no_token_accounts: &HashSet<String>,
    out: &mut Vec<Hit>,
) {
    for (key, rule, what) in [
        ("hostNetwork", "PAL-K8S-005", "the host's network namespace"),
        ("hostPID", "PAL-K8S-006", "the host's process namespace"),
        ("hostIPC", "PAL-K8S-007", "the host's IPC namespace"),
    ] {
        if let Some((k, v)) = spec.entry(key)
            && v.is_true()
        {
            ctx.hit(out, rule, k, format!("{key}: true: the pod shares {what}"));
        }
    }
    if let Some(volumes) = spec.get("volumes") {
        for v in volumes.seq() {
            if let Some((k, hp)) = v.entry("hostPath") {
                let path = hp.get("path").and_then(|n| n.str()).unwrap_or("?");
                let vname = v.get("name").and_then(|n| n.str()).unwrap_or("?");
                ctx.hit(
                    out,
                    "PAL-K8S-008",
                    k,
                    format!("volume {vname} mounts the host path {path}"),
                );
            }
        }
    }
    // Service account token.
    match spec.entry("automountServiceAccountToken") {
        Some((_, v)) if v.is_false() => {}
        Some((k, _)) => ctx.hit(
            out,
            "PAL-K8S-014",
            k,
            "automountServiceAccountToken is not false: the API token is mounted in every container".into(),
        ),
        None => {
            let account = spec
                .get("serviceAccountName")
                .or_else(|| spec.get("serviceAccount"))
                .and_then(|n| n.str())
                .unwrap_or("default");
            if !no_token_accounts.contains(account) {
                ctx.hit(
                    out,
                    "PAL-K8S-014",
                    spec_key,
                    format!(
                        "the service account token ({account}) is mounted: automountServiceAccountToken is not set to false"
                    ),
                );
            }
        }
    }
    let pod_sc = spec.get("securityContext");
    for (field, regular) in [("containers", true), ("initContainers", false)] {
        let Some(list) = spec.get(field) else {
            continue;
        };
        for c in list.seq() {
            let cname = c.get("name").and_then(|n| n.str()).unwrap_or("?");
            let cctx = ctx.with(format!("{} container {cname}", ctx.object), c.line);
            check_container(c, &cctx, pod_sc, regular && long_running, out);
        }
    }
}

fn check_container(
    c: &Node,
    ctx: &Ctx,
    pod_sc: Option<&Rc<Node>>,
    probes: bool,
    out: &mut Vec<Hit>,
) {
    let sc_entry = c.entry("securityContext");
    let sc = sc_entry.map(|(_, v)| v);
    // Where to report a setting that is missing: the securityContext key, else the container.
    let missing_at: &Node = sc_entry.map_or(c, |(k, _)| k);
    let get = |key: &str| sc.and_then(|s| s.entry(key));

    if let Some((k, v)) = get("privileged")
        && v.is_true()
    {
        ctx.hit(
            out,
            "PAL-K8S-001",
            k,
            "privileged: true: the container has every capability and the host's devices".into(),
        );
    }
    match get("allowPrivilegeEscalation") {
        Some((_, v)) if v.is_false() => {}
        Some((k, _)) => ctx.hit(
            out,
            "PAL-K8S-002",
            k,
            "allowPrivilegeEscalation is not false".into(),
        ),
        None => ctx.hit(
            out,
            "PAL-K8S-002",
            missing_at,
            "allowPrivilegeEscalation is not set to false".into(),
        ),
    }
    let caps = sc.and_then(|s| s.entry("capabilities"));
    if let Some((k, add)) = caps.and_then(|(_, c)| c.entry("add")) {
        let added: Vec<&str> = add
            .seq()
            .iter()
            .filter_map(|n| n.str())
            .filter(|c| {
                let c = c.trim_start_matches("CAP_").to_ascii_uppercase();
                !ALLOWED_CAPABILITIES.contains(&c.as_str())
            })
            .collect();
        if !added.is_empty() {
            ctx.hit(
                out,
                "PAL-K8S-003",
                k,
                format!("capabilities added: {}", added.join(", ")),
            );
        }
    }
    let drops_all = caps.and_then(|(_, c)| c.get("drop")).is_some_and(|d| {
        d.seq()
            .iter()
            .any(|n| n.str().is_some_and(|s| s.eq_ignore_ascii_case("ALL")))
    });
    if !drops_all {
        let at: &Node = caps.map_or(missing_at, |(k, _)| k);
        ctx.hit(
            out,
            "PAL-K8S-004",
            at,
            "capabilities are not dropped (drop: [ALL])".into(),
        );
    }
    match get("readOnlyRootFilesystem") {
        Some((_, v)) if v.is_true() => {}
        Some((k, _)) => ctx.hit(
            out,
            "PAL-K8S-009",
            k,
            "readOnlyRootFilesystem is not true".into(),
        ),
        None => ctx.hit(
            out,
            "PAL-K8S-009",
            missing_at,
            "readOnlyRootFilesystem is not set to true".into(),
        ),
    }
    // Root: the container's settings override the pod's.
    let setting = |key: &str| get(key).or_else(|| pod_sc.and_then(|s| s.entry(key)));
    match (setting("runAsUser"), setting("runAsNonRoot")) {
        (Some((k, v)), _) if v.int() == Some(0) => ctx.hit(
            out,
            "PAL-K8S-010",
            k,
            "runAsUser: 0: the container runs as root".into(),
        ),
        (Some((_, v)), _) if v.int().is_some_and(|u| u > 0) => {}
        (_, Some((_, v))) if v.is_true() => {}
        (_, Some((k, _))) => ctx.hit(
            out,
            "PAL-K8S-010",
            k,
            "runAsNonRoot is not true and no non-zero runAsUser: the container may run as root"
                .into(),
        ),
        _ => ctx.hit(
            out,
            "PAL-K8S-010",
            missing_at,
            "neither runAsNonRoot: true nor a non-zero runAsUser: the container may run as root"
                .into(),
        ),
    }
    // Resource limits.
    let res = c.entry("resources");
    let limits = res.and_then(|(_, r)| r.get("limits"));
    let missing: Vec<&str> = ["cpu", "memory"]
        .into_iter()
        .filter(|k| limits.and_then(|l| l.get(k)).is_none_or(|v| v.is_null()))
        .collect();
    if !missing.is_empty() {
        let at: &Node = res.map_or(c, |(k, _)| k);
        ctx.hit(
            out,
            "PAL-K8S-011",
            at,
            format!("no {} limit", missing.join(" or ")),
        );
    }
    if probes {
        for (key, rule) in [
            ("livenessProbe", "PAL-K8S-012"),
            ("readinessProbe", "PAL-K8S-013"),
        ] {
            if c.get(key).is_none_or(|v| v.is_null()) {
                ctx.hit(out, rule, c, format!("no {key}"));
            }
        }
    }
    if let Some((k, img)) = c.entry("image")
        && let Some(reference) = img.str()
    {
        match image::pin(reference) {
            Pin::Latest => ctx.hit(
                out,
                "PAL-K8S-015",
                k,
                format!("image {reference} is not pinned to a version (no tag, or `latest`)"),
            ),
            Pin::Tag(tag) => ctx.hit(
                out,
                "PAL-K8S-016",
                k,
                format!("image {reference} is pinned by the tag {tag}, not by a digest"),
            ),
            Pin::Digest => {}
        }
    }
    if let Some(env) = c.get("env") {
        for e in env.seq() {
            let (Some(name), Some((_, v))) =
                (e.get("name").and_then(|n| n.str()), e.entry("value"))
            else {
                continue;
            };
            if image::secret_name(name) && v.str().is_some_and(image::literal_secret_value) {
                ctx.hit(
                    out,
                    "PAL-K8S-018",
                    e,
                    format!(
                        "environment variable {name} has a literal value in the manifest (use a Secret: valueFrom.secretKeyRef)"
                    ),
                );
            }
        }
    }
}

fn check_service(svc: &Node, ctx: &Ctx, out: &mut Vec<Hit>) {
    let Some((k, t)) = svc.path(&["spec"]).and_then(|s| s.entry("type")) else {
        return;
    };
    let Some(kind @ ("NodePort" | "LoadBalancer")) = t.str() else {
        return;
    };
    let explained = svc
        .path(&["metadata", "annotations", EXPOSURE_ANNOTATION])
        .and_then(|n| n.str())
        .is_some_and(|s| !s.trim().is_empty());
    if !explained {
        ctx.hit(
            out,
            "PAL-K8S-017",
            k,
            format!(
                "Service of type {kind} is reachable from outside the cluster, with no {EXPOSURE_ANNOTATION} annotation saying why"
            ),
        );
    }
}
