//! `check(input, expect)`: a file in, its findings out as `line:column RULE message` lines
//! (suppressed ones marked with their reason). Cases the rules' own examples do not cover:
//! suppressions of every form, Helm output, Lists, compose merge keys, positions.

use palisade_config::{InputKind, check_text, render_for_tests};

fn check(kind: InputKind, input: &str, expect: &str) {
    let got = render_for_tests(input, kind);
    assert_eq!(got.trim(), expect.trim(), "\n--- got:\n{got}");
}

/// Only the findings of the rules named (the others are covered elsewhere).
fn check_rules(kind: InputKind, input: &str, rules: &[&str], expect: &str) {
    let got: String = render_for_tests(input, kind)
        .lines()
        .filter(|l| rules.iter().any(|r| l.contains(&format!(" {r} "))) || l.starts_with("issue"))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(got.trim(), expect.trim(), "\n--- got:\n{got}");
}

const HARDENED: &str = "      securityContext: {allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true, capabilities: {drop: [ALL]}}\n      resources: {limits: {cpu: 100m, memory: 64Mi}}\n      livenessProbe: {exec: {command: [true]}}\n      readinessProbe: {exec: {command: [true]}}\n";

#[test]
fn a_hardened_pod_has_no_findings() {
    let input = format!(
        "apiVersion: v1\nkind: Pod\nmetadata: {{name: ok}}\nspec:\n  automountServiceAccountToken: false\n  containers:\n    - name: app\n      image: nginx:1.27@sha256:aa\n{HARDENED}"
    );
    check(InputKind::Yaml, &input, "");
}

#[test]
fn dockerfile_comment_suppressions_need_a_reason_and_the_right_line() {
    check(
        InputKind::Dockerfile,
        "FROM alpine:3.20@sha256:aa\n\
         # palisade:ignore PAL-DF-005 reason: a public test token, rotated daily\n\
         # (another comment in between)\n\
         ENV API_TOKEN=public-test-value\n\
         # palisade:ignore PAL-DF-002\n\
         USER root\n",
        "4:1 PAL-DF-005 environment variable API_TOKEN has a literal value: it is in every container's environment and the image config [suppressed: a public test token, rotated daily]\n\
         5:1 PAL-CFG-001 # palisade:ignore comment for PAL-DF-002 has no reason, so it is not applied (write `reason: …`)\n\
         6:1 PAL-DF-002 the final stage's last USER is root: the container runs as root",
    );
    // Above the final FROM: covers "no USER" too; a comment two instructions up does not.
    check(
        InputKind::Dockerfile,
        "# palisade:ignore PAL-DF-001 reason: the entrypoint drops privileges with gosu\nFROM alpine:3.20@sha256:aa\n# palisade:ignore PAL-DF-003 reason: wrong place\nRUN true\nCOPY --from=busybox /bin/sh /sh\n",
        "2:1 PAL-DF-001 the final stage sets no USER: the container runs as alpine:3.20@sha256:aa's default user (root in most images) [suppressed: the entrypoint drops privileges with gosu]\n\
         5:1 PAL-DF-003 COPY --from image busybox is not pinned to a version (no tag, or `latest`)",
    );
}

#[test]
fn kubernetes_annotations_comments_and_template_annotations_suppress() {
    let input = "\
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: cni
  annotations:
    palisade.dev/ignore: \"PAL-K8S-005: the CNI plugin configures the node's network; PAL-K8S-008,PAL-K8S-099: reads /etc/cni\"
spec:
  template:
    metadata:
      annotations:
        palisade.dev/ignore: \"PAL-K8S-006: needs the node's processes\"
    spec:
      hostNetwork: true
      hostPID: true
      hostIPC: true
      volumes:
        - name: cni
          hostPath: {path: /etc/cni}
      containers:
        # palisade:ignore PAL-K8S-001 reason: installs the CNI binaries on the node
        - name: install
          securityContext: {privileged: true}
";
    check_rules(
        InputKind::Yaml,
        input,
        &["PAL-K8S-001", "PAL-K8S-005", "PAL-K8S-006", "PAL-K8S-007", "PAL-K8S-008", "PAL-CFG-002"],
        "\
6:26 PAL-CFG-002 palisade.dev/ignore annotation names \"PAL-K8S-099\", which is not a rule
13:7 PAL-K8S-005 hostNetwork: true: the pod shares the host's network namespace [suppressed: the CNI plugin configures the node's network]
14:7 PAL-K8S-006 hostPID: true: the pod shares the host's process namespace [suppressed: needs the node's processes]
15:7 PAL-K8S-007 hostIPC: true: the pod shares the host's IPC namespace
18:11 PAL-K8S-008 volume cni mounts the host path /etc/cni [suppressed: reads /etc/cni]
22:29 PAL-K8S-001 privileged: true: the container has every capability and the host's devices [suppressed: installs the CNI binaries on the node]",
    );
}

#[test]
fn helm_output_keeps_each_documents_template() {
    let input = "\
---
# Source: shop/templates/service.yaml
apiVersion: v1
kind: Service
metadata: {name: shop}
spec: {type: NodePort}
---
# Source: shop/templates/cronjob.yaml
apiVersion: batch/v1
kind: CronJob
metadata: {name: shop-cleanup}
spec:
  jobTemplate:
    spec:
      template:
        spec:
          hostPID: true
          containers: []
";
    let o = check_text("rendered.yaml", input, InputKind::Yaml);
    let got: Vec<(String, usize, Option<String>)> = o
        .findings
        .iter()
        .filter(|f| f.rule_id == "PAL-K8S-017" || f.rule_id == "PAL-K8S-006")
        .map(|f| (f.rule_id.clone(), f.line, f.source.clone()))
        .collect();
    assert_eq!(
        got,
        [
            (
                "PAL-K8S-017".to_string(),
                6,
                Some("shop/templates/service.yaml".to_string())
            ),
            (
                "PAL-K8S-006".to_string(),
                17,
                Some("shop/templates/cronjob.yaml".to_string())
            ),
        ]
    );
    assert_eq!(o.stats.kubernetes_objects, 2);
}

#[test]
fn lists_hold_objects_and_other_yaml_is_left_alone() {
    let input = "\
apiVersion: v1
kind: List
items:
  - apiVersion: v1
    kind: Pod
    metadata: {name: a}
    spec:
      hostIPC: true
      containers: []
---
name: CI
on: [push]
jobs: {build: {runs-on: ubuntu-latest}}
";
    let o = check_text("all.yaml", input, InputKind::Yaml);
    assert_eq!(o.stats.kubernetes_objects, 1);
    assert!(
        o.findings
            .iter()
            .any(|f| f.rule_id == "PAL-K8S-007" && f.line == 8 && f.object == "Pod/a"),
        "{:#?}",
        o.findings
    );
    assert!(o.findings.iter().all(|f| f.line < 10), "{:#?}", o.findings);
}

#[test]
fn compose_merge_keys_labels_and_long_volume_syntax() {
    let input = "\
x-common: &common
  privileged: true
  image: example/base:1.0@sha256:aa
services:
  agent:
    <<: *common
    labels:
      palisade.dev/ignore: \"PAL-DC-001: runs docker-in-docker for CI, isolated VM\"
    volumes:
      - type: bind
        source: /var/run/docker.sock
        target: /var/run/docker.sock
  web:
    <<: *common
    privileged: false
    user: root
    environment:
      - DB_PASSWORD=${DB_PASSWORD}
      - API_TOKEN=literal-value-here
";
    check(
        InputKind::Compose,
        input,
        "\
2:3 PAL-DC-001 privileged: true: the container has every capability and the host's devices [suppressed: runs docker-in-docker for CI, isolated VM]
10:9 PAL-DC-005 the container runtime socket /var/run/docker.sock is mounted: whoever runs in the container controls the host
16:5 PAL-DC-009 user: root: the container runs as root
19:9 PAL-DC-010 environment variable API_TOKEN has a literal value in the compose file (use secrets: or an env_file kept out of the repository)",
    );
}

#[test]
fn compose_files_are_recognised_by_content_in_any_yaml() {
    let o = check_text(
        "deploy/stack.yml",
        "services:\n  db:\n    image: postgres\n",
        InputKind::Yaml,
    );
    assert_eq!(o.stats.compose_files, 1);
    assert_eq!(o.findings.len(), 1, "{:#?}", o.findings);
    assert_eq!(o.findings[0].rule_id, "PAL-DC-007");
}

#[test]
fn positions_point_at_the_key_of_the_setting_or_the_container() {
    // Missing settings are reported at the container (its list item) or its securityContext.
    let input = "\
apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  automountServiceAccountToken: false
  containers:
    - name: app
      image: nginx:1.27@sha256:aa
      resources: {limits: {cpu: 1, memory: 1Gi}}
      livenessProbe: {exec: {command: [true]}}
      readinessProbe: {exec: {command: [true]}}
";
    check(
        InputKind::Yaml,
        input,
        "\
7:7 PAL-K8S-002 allowPrivilegeEscalation is not set to false
7:7 PAL-K8S-004 capabilities are not dropped (drop: [ALL])
7:7 PAL-K8S-009 readOnlyRootFilesystem is not set to true
7:7 PAL-K8S-010 neither runAsNonRoot: true nor a non-zero runAsUser: the container may run as root",
    );
}

#[test]
fn fingerprints_do_not_move_with_lines() {
    let a = check_text(
        "d/Dockerfile",
        "FROM ubuntu\nUSER 1\n",
        InputKind::Dockerfile,
    );
    let b = check_text(
        "d/Dockerfile",
        "\n\n# moved\nFROM ubuntu\nUSER 1\n",
        InputKind::Dockerfile,
    );
    assert_eq!(a.findings.len(), 1);
    assert_eq!(a.findings[0].line + 3, b.findings[0].line);
    assert_eq!(a.findings[0].fingerprint, b.findings[0].fingerprint);
    let c = check_text(
        "other/Dockerfile",
        "FROM ubuntu\nUSER 1\n",
        InputKind::Dockerfile,
    );
    assert_ne!(a.findings[0].fingerprint, c.findings[0].fingerprint);
}

#[test]
fn malformed_inputs_are_issues_with_positions() {
    check(
        InputKind::Dockerfile,
        "FROM alpine:3.20\nRUNN echo\n",
        "issue test:2:1: not a valid Dockerfile: unknown instruction: RUNN",
    );
    let got = render_for_tests("a: [1, 2\nb: 3\n", InputKind::Yaml);
    assert!(
        got.starts_with("issue test:") && got.contains("not valid YAML"),
        "{got}"
    );
    let got = render_for_tests(
        "{{- if .Values.enabled }}\napiVersion: v1\nkind: Pod\nmetadata:\n  name: {{ include \"x.fullname\" . }}\n{{- end }}\n",
        InputKind::Yaml,
    );
    assert!(got.contains("looks like a template"), "{got}");
    let o = check_text("t.yaml", "a: {{ x }}\n", InputKind::Yaml);
    assert!(
        !o.has_errors() && !o.has_skips(),
        "a Helm template is a warning: {:?}",
        o.issues
    );
}
