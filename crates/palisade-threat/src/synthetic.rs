//! A synthetic but realistic model of any size, as YAML text, for benchmarks and comparisons: an
//! internet, partners and a corporate network outside; a cloud account holding a VPC (public,
//! application and data subnets) and an operations boundary; users and partners calling gateways,
//! services calling services, stores and queues, operations deploying and watching; about one and a
//! half flows per element, attributes mixed so that rules both fire and stay silent. Deterministic:
//! the same size and seed give the same text.

use std::fmt::Write as _;

/// A small deterministic generator (SplitMix64).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number below `n` (n > 0).
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Role {
    User,
    Partner,
    Admin,
    Gateway,
    Service,
    Store,
    Queue,
    Ops,
}

const SERVICES: &[&str] = &[
    "Orders",
    "Payments",
    "Catalog",
    "Search",
    "Accounts",
    "Billing",
    "Inventory",
    "Shipping",
    "Notifications",
    "Recommendations",
    "Reviews",
    "Pricing",
    "Identity",
    "Sessions",
    "Reporting",
    "Media",
    "Cart",
    "Checkout",
    "Loyalty",
    "Fraud scoring",
];
const STORES: &[(&str, &str)] = &[
    ("database", "database"),
    ("cache", "cache"),
    ("object storage", "object-storage"),
    ("search index", "database"),
    ("log store", "log-store"),
];
const AUTH: &[&str] = &[
    "none", "password", "api-key", "token", "session", "sso", "mtls",
];
const AUTHZ: &[&str] = &["none", "authenticated", "role-based", "owner"];

/// A model of `elements` elements (at least 8) as YAML text.
#[doc(hidden)]
pub fn synthetic_model_yaml(elements: usize, seed: u64) -> String {
    let n = elements.max(8);
    let mut rng = Rng(seed ^ 0x5EED_CAFE);
    // Roles: the outside first, a fixed share of each, the rest services.
    let share = |pct: usize| (n * pct / 100).max(1);
    let mut roles = Vec::with_capacity(n);
    roles.extend(std::iter::repeat_n(Role::User, share(4)));
    roles.extend(std::iter::repeat_n(Role::Partner, share(3)));
    roles.extend(std::iter::repeat_n(Role::Admin, share(1)));
    roles.extend(std::iter::repeat_n(Role::Gateway, share(6)));
    roles.extend(std::iter::repeat_n(Role::Store, share(22)));
    roles.extend(std::iter::repeat_n(Role::Queue, share(4)));
    roles.extend(std::iter::repeat_n(Role::Ops, share(5)));
    while roles.len() < n {
        roles.push(Role::Service);
    }
    roles.truncate(n);

    let mut s = String::with_capacity(n * 400);
    let _ = writeln!(
        s,
        "version: 1\nname: \"Synthetic system ({n} elements, seed {seed})\"\ndescription: Generated for benchmarks.\n"
    );
    s.push_str(
        "assets:
  customer-pii: { name: Customer personal data, confidentiality: high, integrity: medium, pii: true }
  payment-cards: { name: Payment card data, confidentiality: critical, integrity: high }
  credentials: { name: Passwords and tokens, confidentiality: critical, integrity: critical, credentials: true }
  orders: { name: Orders, confidentiality: medium, integrity: high, availability: high }
  catalog: { name: Product catalogue, confidentiality: low, integrity: medium, availability: high }
  audit-records: { name: Audit records, confidentiality: medium, integrity: critical }
  metrics: { name: Metrics, confidentiality: low, availability: medium }
  artifacts: { name: Build artifacts, integrity: critical }

boundaries:
  internet: { name: Internet }
  partners: { name: Third parties }
  corp: { name: Corporate network }
  cloud: { name: Cloud account }
  vpc: { name: Production VPC, parent: cloud }
  public-subnet: { name: Public subnet, parent: vpc }
  app-subnet: { name: Application subnet, parent: vpc }
  data-subnet: { name: Data subnet, parent: vpc }
  ops: { name: Operations, parent: cloud }

elements:
",
    );
    let assets = [
        "customer-pii",
        "payment-cards",
        "credentials",
        "orders",
        "catalog",
    ];
    let mut ids = Vec::with_capacity(n);
    for (i, role) in roles.iter().enumerate() {
        let id = format!("e{i:04}");
        let bool_attr = |rng: &mut Rng, s: &mut String, name: &str, pct: u64| {
            if rng.chance(60) {
                let _ = writeln!(s, "    {name}: {}", rng.chance(pct));
            }
        };
        let _ = writeln!(s, "  {id}:");
        match role {
            Role::User => {
                let _ = writeln!(
                    s,
                    "    type: external-entity\n    name: \"{} {i}\"\n    boundary: internet\n    human: true\n    technology: {}",
                    rng.pick(&["Customer", "Visitor", "Merchant", "Mobile user"]),
                    rng.pick(&["browser", "mobile-app"])
                );
            }
            Role::Partner => {
                let _ = writeln!(
                    s,
                    "    type: external-entity\n    name: \"{} {i}\"\n    boundary: partners\n    third_party: true",
                    rng.pick(&[
                        "Payment provider",
                        "Email service",
                        "Shipping partner",
                        "Analytics vendor"
                    ])
                );
            }
            Role::Admin => {
                let _ = writeln!(
                    s,
                    "    type: external-entity\n    name: \"Administrator {i}\"\n    boundary: corp\n    human: true"
                );
            }
            Role::Gateway => {
                let _ = writeln!(
                    s,
                    "    type: process\n    name: \"{} {i}\"\n    boundary: public-subnet\n    technology: {}\n    internet_facing: true\n    authentication: {}",
                    rng.pick(&[
                        "API gateway",
                        "Web front end",
                        "Load balancer",
                        "Edge proxy"
                    ]),
                    rng.pick(&["api", "web-application"]),
                    rng.pick(AUTH)
                );
                bool_attr(&mut rng, &mut s, "waf", 60);
                bool_attr(&mut rng, &mut s, "rate_limiting", 50);
                bool_attr(&mut rng, &mut s, "input_validation", 70);
                bool_attr(&mut rng, &mut s, "audit_log", 50);
            }
            Role::Service => {
                let _ = writeln!(
                    s,
                    "    type: process\n    name: \"{} service {i}\"\n    boundary: app-subnet\n    technology: api\n    authentication: {}\n    authorization: {}",
                    rng.pick(SERVICES),
                    rng.pick(AUTH),
                    rng.pick(AUTHZ)
                );
                bool_attr(&mut rng, &mut s, "input_validation", 70);
                bool_attr(&mut rng, &mut s, "parameterized_queries", 80);
                bool_attr(&mut rng, &mut s, "audit_log", 50);
                bool_attr(&mut rng, &mut s, "timeouts", 60);
                bool_attr(&mut rng, &mut s, "least_privilege", 50);
                if rng.chance(30) {
                    let _ = writeln!(s, "    data: [{}]", rng.pick(&assets));
                }
            }
            Role::Store => {
                let (what, tech) = *rng.pick(STORES);
                let _ = writeln!(
                    s,
                    "    type: data-store\n    name: \"{} {what} {i}\"\n    boundary: data-subnet\n    technology: {tech}\n    data: [{}]",
                    rng.pick(SERVICES),
                    rng.pick(&assets)
                );
                bool_attr(&mut rng, &mut s, "encryption_at_rest", 70);
                bool_attr(&mut rng, &mut s, "backups", 70);
                bool_attr(&mut rng, &mut s, "access_logging", 40);
            }
            Role::Queue => {
                let _ = writeln!(
                    s,
                    "    type: data-store\n    name: \"{} events {i}\"\n    boundary: app-subnet\n    technology: message-queue\n    data: [orders]",
                    rng.pick(SERVICES)
                );
                bool_attr(&mut rng, &mut s, "encryption_at_rest", 50);
            }
            Role::Ops => {
                let (name, tech) = *rng.pick(&[
                    ("CI/CD pipeline", "ci-cd"),
                    ("Monitoring", "monitoring"),
                    ("Secrets vault", "secrets-vault"),
                    ("Log shipper", "log-shipper"),
                ]);
                let _ = writeln!(
                    s,
                    "    type: process\n    name: \"{name} {i}\"\n    boundary: ops\n    technology: {tech}\n    authentication: {}",
                    rng.pick(&["sso", "mfa", "token"])
                );
                bool_attr(&mut rng, &mut s, "privileged", 50);
                bool_attr(&mut rng, &mut s, "signed_artifacts", 50);
            }
        }
        ids.push(id);
    }
    let of = |r: Role| -> Vec<usize> { (0..n).filter(|&i| roles[i] == r).collect() };
    let (users, partners, admins, gateways, services, stores, queues, ops) = (
        of(Role::User),
        of(Role::Partner),
        of(Role::Admin),
        of(Role::Gateway),
        of(Role::Service),
        of(Role::Store),
        of(Role::Queue),
        of(Role::Ops),
    );
    // Services fall back to gateways in a tiny model.
    let services = if services.is_empty() {
        gateways.clone()
    } else {
        services
    };
    let mut flows: Vec<(usize, usize, &str, bool)> = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    let mut add = |flows: &mut Vec<_>, a: usize, b: usize, proto: &'static str, both: bool| {
        if a != b && seen.insert((a, b)) {
            flows.push((a, b, proto, both));
        }
    };
    for &u in &users {
        add(&mut flows, u, *rng.pick(&gateways), "https", true);
    }
    for &a in &admins {
        add(&mut flows, a, *rng.pick(&gateways), "https", true);
        add(&mut flows, a, *rng.pick(&ops), "ssh", true);
    }
    for &gw in &gateways {
        for _ in 0..3 {
            add(&mut flows, gw, *rng.pick(&services), "grpcs", true);
        }
    }
    for &st in &stores {
        let proto = if rng.chance(75) {
            "postgres+tls"
        } else {
            "tcp"
        };
        add(&mut flows, *rng.pick(&services), st, proto, true);
    }
    for &q in &queues {
        add(&mut flows, *rng.pick(&services), q, "amqps", false);
        add(&mut flows, q, *rng.pick(&services), "amqps", false);
    }
    for &p in &partners {
        add(&mut flows, *rng.pick(&services), p, "https", true);
        if rng.chance(50) {
            add(&mut flows, p, *rng.pick(&gateways), "https", false);
        }
    }
    for &o in &ops {
        add(&mut flows, o, *rng.pick(&services), "https", false);
    }
    // Service to service until about one and a half flows per element.
    let want = n * 3 / 2;
    let mut tries = 0;
    while flows.len() < want && tries < want * 20 {
        tries += 1;
        let a = *rng.pick(&services);
        let b = if rng.chance(70) {
            *rng.pick(&services)
        } else {
            *rng.pick(&stores)
        };
        let proto = *rng.pick(&["grpcs", "https", "http", "grpc"]);
        add(&mut flows, a, b, proto, rng.chance(60));
    }
    s.push_str("\nflows:\n");
    for (k, &(a, b, proto, both)) in flows.iter().enumerate() {
        let _ = writeln!(
            s,
            "  f{k:04}: {{ from: {}, to: {}, protocol: {proto}{}{} }}",
            ids[a],
            ids[b],
            if both { ", bidirectional: true" } else { "" },
            if rng.chance(40) {
                format!(", data: [{}]", rng.pick(&assets))
            } else {
                String::new()
            }
        );
    }
    // A few decisions already recorded.
    s.push_str("\nthreats:\n");
    for &gw in gateways.iter().take(3) {
        let _ = writeln!(
            s,
            "  PAL-TM-S01@{}: {{ status: mitigated, mitigation: \"Authenticated at the identity provider in front of it\" }}",
            ids[gw]
        );
    }
    s
}
