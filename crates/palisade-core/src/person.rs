//! The person aggregate: how to reach a user when they are paged — contact methods (a webhook,
//! a Slack-compatible webhook, an email address) and notification rules (which contact method,
//! how many minutes after a page). One stream per user, unique by user name. Only the user
//! themself or an admin changes them.
//!
//! Addresses are secrets (a Slack or webhook URL carries its own credential) and personal data,
//! and the ledger is kept for years and exported in bundles: an address is recorded *sealed*
//! (age-encrypted to the deployment's master key by the application layer, which alone holds
//! it) beside a keyed digest that finds duplicates without it. Events recorded before sealing
//! still fold, with their address in clear.

use crate::Actor;
use crate::aggregate::{Aggregate, Context, FoldError, HistoryEntry, check_first, check_next};
use crate::event::{Event, Timestamp};
use crate::rule::{Refusal, refuse};
use crate::stream::{StreamId, StreamKind};
use crate::types::{AccountRole, UserName};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The person's rules.
pub mod rules {
    use crate::rule::{RefusalKind::*, Rule};

    /// Only the user themself or an admin changes how they are reached.
    pub const PERSON_SELF_ONLY: Rule = Rule::new(
        "person-self-only",
        Permission,
        "only the user themself or an admin changes their contact methods and notification rules",
    );
    /// A contact method's address is valid for its type.
    pub const CONTACT_ADDRESS: Rule = Rule::new(
        "contact-address",
        InvalidInput,
        "a webhook or Slack-compatible webhook is an https URL (at most 2,000 characters); an email address is local@domain (at most 254 characters); each listed once, at most 10",
    );
    /// A contact method or rule named by number exists; a contact method in use by a rule stays.
    pub const CONTACT_UNKNOWN: Rule = Rule::new(
        "contact-unknown",
        InvalidInput,
        "the contact method or notification rule exists (a contact method a rule uses is removed after the rule)",
    );
    /// Notification rules: 0–1,440 minutes, at most 20, each once.
    pub const NOTIFICATION_RULE: Rule = Rule::new(
        "notification-rule",
        InvalidInput,
        "a notification rule names a contact method and 0–1440 minutes; at most 20 rules, each once",
    );

    /// Every person rule.
    pub const ALL: &[Rule] = &[
        PERSON_SELF_ONLY,
        CONTACT_ADDRESS,
        CONTACT_UNKNOWN,
        NOTIFICATION_RULE,
    ];
}

/// The namespace of people's user names among stream keys.
pub const PERSON_KEY: &str = "person-user";
/// Most contact methods of a person.
pub const MAX_CONTACTS: usize = 10;
/// Most notification rules of a person.
pub const MAX_RULES: usize = 20;
/// The latest a rule may notify, in minutes after the page.
pub const MAX_AFTER_MINUTES: u32 = 1_440;

/// How a contact method is reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ContactKind {
    /// A signed webhook (POST, JSON).
    Webhook,
    /// A Slack-compatible incoming webhook.
    Slack,
    Email,
}

impl ContactKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ContactKind::Webhook => "webhook",
            ContactKind::Slack => "slack",
            ContactKind::Email => "email",
        }
    }
}

/// An address as the ledger keeps it: sealed to the deployment's master key, with a keyed
/// digest of its kind and text for finding duplicates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SealedAddress {
    /// HMAC-SHA-256 (hex) of `kind \0 address` under the deployment's key.
    pub digest: String,
    /// The address, age-encrypted to the master key, base64.
    pub sealed: String,
}

/// Where a contact method goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Address {
    /// In clear: opened by the application layer, or recorded before addresses were sealed.
    Clear(String),
    /// As recorded: only the application layer opens it.
    Sealed(SealedAddress),
}

/// A contact method.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    pub n: u32,
    pub kind: ContactKind,
    pub address: Address,
    pub label: Option<String>,
}

impl Contact {
    /// The address, when it is in clear.
    pub fn clear(&self) -> Option<&str> {
        match &self.address {
            Address::Clear(a) => Some(a),
            Address::Sealed(_) => None,
        }
    }
}

/// A notification rule: contact method `contact` is used `after_minutes` after a page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NotificationRule {
    #[cfg_attr(feature = "openapi", schema(minimum = 1))]
    pub n: u32,
    #[cfg_attr(feature = "openapi", schema(minimum = 1))]
    pub contact: u32,
    #[cfg_attr(feature = "openapi", schema(minimum = 0, maximum = 1440))]
    pub after_minutes: u32,
}

/// What happened to a person's settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum PersonPayload {
    Created {
        user: UserName,
    },
    ContactAdded {
        n: u32,
        kind: ContactKind,
        /// Only on events recorded before addresses were sealed.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        address: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        label: Option<String>,
        /// Every address recorded now (exactly one of `address` and `sealed` is present).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sealed: Option<SealedAddress>,
    },
    ContactRemoved {
        n: u32,
    },
    RuleAdded {
        n: u32,
        contact: u32,
        after_minutes: u32,
    },
    RuleRemoved {
        n: u32,
    },
}

impl PersonPayload {
    pub fn kind(&self) -> &'static str {
        match self {
            PersonPayload::Created { .. } => "created",
            PersonPayload::ContactAdded { .. } => "contact_added",
            PersonPayload::ContactRemoved { .. } => "contact_removed",
            PersonPayload::RuleAdded { .. } => "rule_added",
            PersonPayload::RuleRemoved { .. } => "rule_removed",
        }
    }
    /// Without addresses: history lines are shown to everyone.
    pub fn describe(&self) -> String {
        match self {
            PersonPayload::Created { user } => format!("Contact settings of {user} started"),
            PersonPayload::ContactAdded { n, kind, .. } => {
                format!("Contact method {n} ({}) added", kind.as_str())
            }
            PersonPayload::ContactRemoved { n } => format!("Contact method {n} removed"),
            PersonPayload::RuleAdded {
                n,
                contact,
                after_minutes,
            } => format!("Rule {n}: contact method {contact} after {after_minutes} min"),
            PersonPayload::RuleRemoved { n } => format!("Rule {n} removed"),
        }
    }
}

/// Starting a person's stream.
#[derive(Debug, Clone, PartialEq)]
pub struct CreatePerson {
    pub user: UserName,
}

/// A change to a person's settings.
#[derive(Debug, Clone, PartialEq)]
pub enum PersonCommand {
    AddContact {
        kind: ContactKind,
        address: String,
        label: Option<String>,
        /// `address` sealed, filled in by the application layer (which holds the key); a
        /// command without it is refused, so no address is ever recorded in clear.
        sealed: Option<SealedAddress>,
    },
    RemoveContact {
        n: u32,
    },
    AddRule {
        contact: u32,
        after_minutes: u32,
    },
    RemoveRule {
        n: u32,
    },
}

/// A person's settings: a fold of their stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PersonState {
    pub id: Uuid,
    pub user: UserName,
    pub contacts: Vec<Contact>,
    pub rules: Vec<NotificationRule>,
    pub next_contact: u32,
    pub next_rule: u32,
    pub updated_at: Timestamp,
    pub history: Vec<HistoryEntry>,
    pub last_seq: u64,
}

fn self_or_admin(actor: &Actor, user: &UserName) -> Result<(), Refusal> {
    if actor.user != *user && actor.account_role != AccountRole::Admin {
        return refuse(
            rules::PERSON_SELF_ONLY,
            format!("only {user} or an admin changes how {user} is reached"),
        );
    }
    Ok(())
}

/// Whether `address` is valid for `kind`; the address as kept.
pub fn check_address(kind: ContactKind, address: &str) -> Result<String, Refusal> {
    let a = address.trim();
    let bad = |why: &str| {
        refuse(
            rules::CONTACT_ADDRESS,
            format!("{:?} is not a valid {}: {why}", a, kind.as_str()),
        )
    };
    if a.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return bad("it contains spaces or control characters");
    }
    match kind {
        ContactKind::Webhook | ContactKind::Slack => {
            if a.len() > 2_000 {
                return bad("it is longer than 2,000 characters");
            }
            let Some(rest) = a
                .get(..8)
                .filter(|p| p.eq_ignore_ascii_case("https://"))
                .map(|_| &a[8..])
            else {
                return bad("it must be an https:// URL");
            };
            let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
            let host = host.rsplit('@').next().unwrap_or_default();
            if host.is_empty() || host.starts_with(':') || host.contains('@') {
                return bad("it has no host");
            }
        }
        ContactKind::Email => {
            if a.len() > 254 {
                return bad("it is longer than 254 characters");
            }
            let Some((local, domain)) = a.rsplit_once('@') else {
                return bad("it has no @");
            };
            let labels: Vec<&str> = domain.split('.').collect();
            if local.is_empty()
                || local.len() > 64
                || local.contains('@')
                || labels.len() < 2
                || labels.iter().any(|l| {
                    l.is_empty()
                        || l.len() > 63
                        || l.starts_with('-')
                        || l.ends_with('-')
                        || !l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                })
            {
                return bad("it must be local@domain.tld");
            }
        }
    }
    Ok(a.to_string())
}

impl PersonState {
    fn record(&mut self, e: &Event<PersonPayload>) {
        self.history
            .push(HistoryEntry::of(e, e.data.kind(), e.data.describe()));
        self.last_seq = e.seq;
        self.updated_at = e.recorded_at;
    }
}

impl Aggregate for PersonState {
    const KIND: StreamKind = StreamKind::Person;
    type Payload = PersonPayload;
    type Command = PersonCommand;
    type Create = CreatePerson;
    type Policy = ();

    fn stream(&self) -> StreamId {
        StreamId::new(StreamKind::Person, self.id)
    }
    fn last_seq(&self) -> u64 {
        self.last_seq
    }

    fn from_first(e: &Event<PersonPayload>) -> Result<Self, FoldError> {
        check_first(StreamKind::Person, e)?;
        let PersonPayload::Created { user } = &e.data else {
            return Err(FoldError::NotCreatedFirst {
                seq: e.seq,
                expected: "created",
                found: e.data.kind(),
            });
        };
        let mut st = PersonState {
            id: e.stream.id,
            user: user.clone(),
            contacts: Vec::new(),
            rules: Vec::new(),
            next_contact: 1,
            next_rule: 1,
            updated_at: e.recorded_at,
            history: Vec::new(),
            last_seq: 0,
        };
        st.record(e);
        Ok(st)
    }

    fn apply(&mut self, e: &Event<PersonPayload>) -> Result<(), FoldError> {
        check_next(self.stream(), self.last_seq, e)?;
        let order = |what: &str, n: u32, expected: u32| {
            if n == expected {
                Ok(())
            } else {
                Err(FoldError::Inconsistent {
                    seq: e.seq,
                    message: format!("{what} {n} out of order (expected {expected})"),
                })
            }
        };
        match &e.data {
            PersonPayload::Created { .. } => {
                return Err(FoldError::CreatedAgain {
                    seq: e.seq,
                    what: "created",
                });
            }
            PersonPayload::ContactAdded {
                n,
                kind,
                address,
                label,
                sealed,
            } => {
                order("contact method", *n, self.next_contact)?;
                let address = match (address, sealed) {
                    (Some(a), None) => Address::Clear(a.clone()),
                    (None, Some(s)) => Address::Sealed(s.clone()),
                    _ => {
                        return Err(FoldError::Inconsistent {
                            seq: e.seq,
                            message: format!(
                                "contact method {n} has not exactly one of an address and a sealed address"
                            ),
                        });
                    }
                };
                self.next_contact += 1;
                self.contacts.push(Contact {
                    n: *n,
                    kind: *kind,
                    address,
                    label: label.clone(),
                });
            }
            PersonPayload::ContactRemoved { n } => self.contacts.retain(|c| c.n != *n),
            PersonPayload::RuleAdded {
                n,
                contact,
                after_minutes,
            } => {
                order("rule", *n, self.next_rule)?;
                self.next_rule += 1;
                self.rules.push(NotificationRule {
                    n: *n,
                    contact: *contact,
                    after_minutes: *after_minutes,
                });
            }
            PersonPayload::RuleRemoved { n } => self.rules.retain(|r| r.n != *n),
        }
        self.record(e);
        Ok(())
    }

    /// Every account may start its own; admins anyone's (checked in `decide_create`).
    fn create_role(_: &CreatePerson) -> AccountRole {
        AccountRole::Viewer
    }

    fn decide_create(
        actor: &Actor,
        c: &CreatePerson,
        _: &Context<'_, ()>,
    ) -> Result<Vec<PersonPayload>, Refusal> {
        self_or_admin(actor, &c.user)?;
        Ok(vec![PersonPayload::Created {
            user: c.user.clone(),
        }])
    }

    /// Viewers are people too: they set how they are reached (checked in `decide`).
    fn required_role(_: &PersonCommand) -> AccountRole {
        AccountRole::Viewer
    }

    /// Everyone sees how a colleague is reached (the API redacts webhook URLs for others).
    fn visible_to(&self, _: &Actor, _: Option<&PersonCommand>, _: Timestamp) -> bool {
        true
    }

    fn decide(
        &self,
        actor: &Actor,
        cmd: &PersonCommand,
        _: &Context<'_, ()>,
    ) -> Result<Vec<PersonPayload>, Refusal> {
        self_or_admin(actor, &self.user)?;
        match cmd {
            PersonCommand::AddContact {
                kind,
                address,
                label,
                sealed,
            } => {
                let address = check_address(*kind, address)?;
                let Some(sealed) = sealed else {
                    return refuse(
                        rules::CONTACT_ADDRESS,
                        "an address is recorded sealed, and this one was not",
                    );
                };
                if self.contacts.iter().any(|c| {
                    c.kind == *kind
                        && match &c.address {
                            Address::Clear(a) => *a == address,
                            Address::Sealed(s) => s.digest == sealed.digest,
                        }
                }) {
                    return refuse(
                        rules::CONTACT_ADDRESS,
                        "that contact method is listed already",
                    );
                }
                if self.contacts.len() >= MAX_CONTACTS {
                    return refuse(
                        rules::CONTACT_ADDRESS,
                        format!(
                            "{} has {MAX_CONTACTS} contact methods; remove one first",
                            self.user
                        ),
                    );
                }
                let label = label.as_deref().map(str::trim).filter(|l| !l.is_empty());
                if label.is_some_and(|l| l.chars().count() > 100) {
                    return refuse(rules::CONTACT_ADDRESS, "a label is at most 100 characters");
                }
                Ok(vec![PersonPayload::ContactAdded {
                    n: self.next_contact,
                    kind: *kind,
                    address: None,
                    label: label.map(str::to_string),
                    sealed: Some(sealed.clone()),
                }])
            }
            PersonCommand::RemoveContact { n } => {
                if !self.contacts.iter().any(|c| c.n == *n) {
                    return refuse(
                        rules::CONTACT_UNKNOWN,
                        format!("{} has no contact method {n}", self.user),
                    );
                }
                if let Some(r) = self.rules.iter().find(|r| r.contact == *n) {
                    return refuse(
                        rules::CONTACT_UNKNOWN,
                        format!(
                            "rule {} uses contact method {n}; remove the rule first",
                            r.n
                        ),
                    );
                }
                Ok(vec![PersonPayload::ContactRemoved { n: *n }])
            }
            PersonCommand::AddRule {
                contact,
                after_minutes,
            } => {
                if !self.contacts.iter().any(|c| c.n == *contact) {
                    return refuse(
                        rules::CONTACT_UNKNOWN,
                        format!("{} has no contact method {contact}", self.user),
                    );
                }
                if *after_minutes > MAX_AFTER_MINUTES {
                    return refuse(
                        rules::NOTIFICATION_RULE,
                        format!("{after_minutes} minutes is more than {MAX_AFTER_MINUTES}"),
                    );
                }
                if self
                    .rules
                    .iter()
                    .any(|r| r.contact == *contact && r.after_minutes == *after_minutes)
                {
                    return refuse(rules::NOTIFICATION_RULE, "that rule exists already");
                }
                if self.rules.len() >= MAX_RULES {
                    return refuse(
                        rules::NOTIFICATION_RULE,
                        format!("{} has {MAX_RULES} rules; remove one first", self.user),
                    );
                }
                Ok(vec![PersonPayload::RuleAdded {
                    n: self.next_rule,
                    contact: *contact,
                    after_minutes: *after_minutes,
                }])
            }
            PersonCommand::RemoveRule { n } => {
                if !self.rules.iter().any(|r| r.n == *n) {
                    return refuse(
                        rules::CONTACT_UNKNOWN,
                        format!("{} has no notification rule {n}", self.user),
                    );
                }
                Ok(vec![PersonPayload::RuleRemoved { n: *n }])
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::numbered;

    fn actor(user: &str, role: AccountRole) -> Actor {
        Actor {
            user: UserName::parse(user).unwrap(),
            account_role: role,
        }
    }
    fn ctx() -> Context<'static, ()> {
        Context {
            now: Timestamp::parse("2026-12-06T10:00:00Z").unwrap(),
            policy: &(),
        }
    }
    fn created() -> PersonState {
        let a = actor("ana", AccountRole::Responder);
        let p = PersonState::decide_create(
            &a,
            &CreatePerson {
                user: a.user.clone(),
            },
            &ctx(),
        )
        .unwrap();
        PersonState::fold(&numbered(
            StreamId::new(StreamKind::Person, Uuid::nil()),
            0,
            &a.user,
            ctx().now,
            None,
            p,
        ))
        .unwrap()
    }
    /// Adding a contact, sealed as the application layer seals it (here: a stand-in seal and an
    /// unkeyed digest; the aggregate only compares digests).
    fn add(kind: ContactKind, address: &str, label: Option<String>) -> PersonCommand {
        PersonCommand::AddContact {
            kind,
            address: address.into(),
            label,
            sealed: Some(stand_in(kind, address.trim())),
        }
    }
    fn stand_in(kind: ContactKind, address: &str) -> SealedAddress {
        use sha2::{Digest, Sha256};
        let digest = hex::encode(Sha256::digest(format!("{}\0{address}", kind.as_str())));
        SealedAddress {
            sealed: format!("sealed-{}", &digest[..16]),
            digest,
        }
    }
    fn run(st: &mut PersonState, who: &Actor, cmd: PersonCommand) -> Result<(), Refusal> {
        let p = st.decide(who, &cmd, &ctx())?;
        for e in numbered(st.stream(), st.last_seq, &who.user, ctx().now, None, p) {
            st.apply(&e).unwrap();
        }
        Ok(())
    }

    #[test]
    fn contacts_and_rules_are_added_and_removed_by_the_user_or_an_admin() {
        let mut st = created();
        let ana = actor("ana", AccountRole::Viewer);
        let admin = actor("root", AccountRole::Admin);
        run(
            &mut st,
            &ana,
            add(ContactKind::Email, " ana@example.com ", None),
        )
        .unwrap();
        run(
            &mut st,
            &admin,
            add(
                ContactKind::Slack,
                "https://hooks.slack.example/services/T0/B0/x",
                Some("team channel".into()),
            ),
        )
        .unwrap();
        run(
            &mut st,
            &ana,
            PersonCommand::AddRule {
                contact: 2,
                after_minutes: 0,
            },
        )
        .unwrap();
        run(
            &mut st,
            &ana,
            PersonCommand::AddRule {
                contact: 1,
                after_minutes: 5,
            },
        )
        .unwrap();
        assert_eq!(
            st.contacts[0].address,
            Address::Sealed(stand_in(ContactKind::Email, "ana@example.com")),
            "the trimmed address, sealed"
        );
        assert_eq!(st.contacts[0].clear(), None);
        assert_eq!(st.rules.len(), 2);
        let r = run(&mut st, &ana, PersonCommand::RemoveContact { n: 2 }).unwrap_err();
        assert_eq!(r.rule, rules::CONTACT_UNKNOWN, "in use by rule 1");
        run(&mut st, &ana, PersonCommand::RemoveRule { n: 1 }).unwrap();
        run(&mut st, &ana, PersonCommand::RemoveContact { n: 2 }).unwrap();
        assert_eq!(st.contacts.len(), 1);
        assert_eq!(st.history[2].description, "Contact method 2 (slack) added");

        let ben = actor("ben", AccountRole::Responder);
        let r = run(&mut st, &ben, PersonCommand::RemoveRule { n: 2 }).unwrap_err();
        assert_eq!(r.rule, rules::PERSON_SELF_ONLY);
        let r = PersonState::decide_create(
            &ben,
            &CreatePerson {
                user: UserName::parse("ana").unwrap(),
            },
            &ctx(),
        )
        .unwrap_err();
        assert_eq!(r.rule, rules::PERSON_SELF_ONLY);
    }

    #[test]
    fn no_address_is_recorded_in_clear_and_older_clear_ones_still_fold_and_count() {
        let mut st = created();
        let ana = actor("ana", AccountRole::Viewer);
        let url = "https://hooks.slack.example/services/T0/B0/secret";
        let unsealed = PersonCommand::AddContact {
            kind: ContactKind::Slack,
            address: url.into(),
            label: None,
            sealed: None,
        };
        let r = st.decide(&ana, &unsealed, &ctx()).unwrap_err();
        assert_eq!(r.rule, rules::CONTACT_ADDRESS);
        let p = st
            .decide(&ana, &add(ContactKind::Slack, url, None), &ctx())
            .unwrap();
        let json = serde_json::to_string(&p).unwrap();
        assert!(!json.contains("secret"), "{json}");

        // An event recorded before sealing: its address in clear, which is still a duplicate.
        let legacy: PersonPayload = serde_json::from_str(&format!(
            r#"{{"type":"contact_added","n":1,"kind":"slack","address":"{url}"}}"#
        ))
        .unwrap();
        for e in numbered(
            st.stream(),
            st.last_seq,
            &ana.user,
            ctx().now,
            None,
            vec![legacy],
        ) {
            st.apply(&e).unwrap();
        }
        assert_eq!(st.contacts[0].clear(), Some(url));
        let r = run(&mut st, &ana, add(ContactKind::Slack, url, None)).unwrap_err();
        assert_eq!(r.rule, rules::CONTACT_ADDRESS, "listed already, in clear");
        run(&mut st, &ana, add(ContactKind::Webhook, url, None)).unwrap();
        let r = run(&mut st, &ana, add(ContactKind::Webhook, url, None)).unwrap_err();
        assert_eq!(r.rule, rules::CONTACT_ADDRESS, "listed already, sealed");

        // Neither, or both: the stream is inconsistent.
        for body in [
            r#"{"type":"contact_added","n":3,"kind":"email"}"#,
            r#"{"type":"contact_added","n":3,"kind":"email","address":"a@b.example","sealed":{"digest":"d","sealed":"s"}}"#,
        ] {
            let p: PersonPayload = serde_json::from_str(body).unwrap();
            let e = numbered(
                st.stream(),
                st.last_seq,
                &ana.user,
                ctx().now,
                None,
                vec![p],
            );
            let mut copy = st.clone();
            assert!(
                matches!(copy.apply(&e[0]), Err(FoldError::Inconsistent { .. })),
                "{body}"
            );
        }
    }

    #[test]
    fn addresses_are_validated_for_their_kind() {
        use ContactKind::*;
        for (kind, address) in [
            (Webhook, "https://hooks.example/page"),
            (Slack, "HTTPS://hooks.slack.com/services/T/B/x"),
            (Email, "ana.smith+oncall@mail.example.co"),
        ] {
            assert!(check_address(kind, address).is_ok(), "{address}");
        }
        for (kind, address) in [
            (Webhook, "http://hooks.example/page"),
            (Webhook, "https://"),
            (Webhook, "https:///path"),
            (Webhook, "javascript:alert(1)"),
            (Webhook, "https://a.example/x y"),
            (Slack, "file:///etc/passwd"),
            (Email, "ana"),
            (Email, "@example.com"),
            (Email, "ana@localhost"),
            (Email, "ana@exa mple.com"),
            (Email, "ana@-example.com"),
            (Email, "ana@example..com"),
            (Email, "ana@example.com\r\nBcc: mallory@evil.example"),
        ] {
            let r = check_address(kind, address).unwrap_err();
            assert_eq!(r.rule, rules::CONTACT_ADDRESS, "{address:?}");
        }
        let long = format!("{}@example.com", "a".repeat(250));
        assert_eq!(
            check_address(Email, &long).unwrap_err().rule,
            rules::CONTACT_ADDRESS
        );
    }

    #[test]
    fn rules_are_bounded_and_name_existing_contacts() {
        let mut st = created();
        let ana = actor("ana", AccountRole::Responder);
        let r = run(
            &mut st,
            &ana,
            PersonCommand::AddRule {
                contact: 1,
                after_minutes: 0,
            },
        )
        .unwrap_err();
        assert_eq!(r.rule, rules::CONTACT_UNKNOWN);
        run(
            &mut st,
            &ana,
            add(ContactKind::Webhook, "https://hooks.example/ana", None),
        )
        .unwrap();
        let r = run(
            &mut st,
            &ana,
            PersonCommand::AddRule {
                contact: 1,
                after_minutes: 1441,
            },
        )
        .unwrap_err();
        assert_eq!(r.rule, rules::NOTIFICATION_RULE);
        for m in 0..MAX_RULES as u32 {
            run(
                &mut st,
                &ana,
                PersonCommand::AddRule {
                    contact: 1,
                    after_minutes: m,
                },
            )
            .unwrap();
        }
        let r = run(
            &mut st,
            &ana,
            PersonCommand::AddRule {
                contact: 1,
                after_minutes: 100,
            },
        )
        .unwrap_err();
        assert_eq!(r.rule, rules::NOTIFICATION_RULE);
    }
}
