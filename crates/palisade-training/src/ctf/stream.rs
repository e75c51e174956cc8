//! A CTF event as a stream on the ledger (`ctf/…`): the event's settings and challenges are its
//! first event, then every account registered, every flag submitted (right or wrong) and every
//! hint unlocked is an event, decided by [`Ctf`]'s pure rules at the time the pipeline gives.
//! Organisers (admins) set events up, register accounts and freeze the scoreboard; players are
//! any accounts, and submit only for the accounts they are members of.

use super::challenge::Challenge;
use super::event::{Account, Change, Ctf, CtfState, EventConfig, Refusal as CtfRefusal};
use palisade_core::aggregate::{Aggregate, Context, FoldError, check_first, check_next};
use palisade_core::ctf::rules;
use palisade_core::event::{Event, Timestamp};
use palisade_core::rule::{Refusal, refuse};
use palisade_core::stream::{StreamId, StreamKind};
use palisade_core::types::ResourceName;
use palisade_core::{AccountRole, Actor, UserName};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// What happened in an event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum CtfPayload {
    /// The event was set up. Its challenges carry their flags hashed (static flags) or as the
    /// pattern a submission must match (regex flags): the ledger is the organisers' record.
    Created {
        name: ResourceName,
        config: EventConfig,
        challenges: Vec<Challenge>,
        /// The attachments' content as handed out: name, size and SHA-256 of each (the bytes
        /// are kept content-addressed beside the ledger and checked against this on every
        /// read). Events set up before attachments were served have none.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        files: Vec<AttachmentFile>,
    },
    Registered {
        account: Account,
    },
    /// A flag submitted: what a wrong one said is kept for the organisers, never a right one.
    Submitted {
        submission: super::event::Submission,
    },
    HintUnlocked {
        unlock: super::event::Unlock,
    },
    /// The public scoreboard stops at `at` (none: it follows the event live).
    FreezeSet {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        at: Option<Timestamp>,
    },
}

impl CtfPayload {
    pub fn kind(&self) -> &'static str {
        match self {
            CtfPayload::Created { .. } => "created",
            CtfPayload::Registered { .. } => "registered",
            CtfPayload::Submitted { .. } => "submitted",
            CtfPayload::HintUnlocked { .. } => "hint_unlocked",
            CtfPayload::FreezeSet { .. } => "freeze_set",
        }
    }
}

/// Largest attachment (8 MiB): CTF files are logs, captures and small binaries; bigger
/// material belongs on a download server the description points to.
pub const MAX_ATTACHMENT_BYTES: u64 = 8 * 1024 * 1024;
/// Largest total of an event's attachments (32 MiB).
pub const MAX_ATTACHMENTS_BYTES: u64 = 32 * 1024 * 1024;

/// One attachment's content, as the ledger records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttachmentFile {
    /// The challenge's id.
    pub challenge: String,
    /// The name the challenge lists (a relative path).
    pub name: String,
    pub size: u64,
    /// SHA-256 of the content, lowercase hex.
    pub sha256: String,
}

/// Setting an event up.
#[derive(Debug, Clone, PartialEq)]
pub struct CreateCtf {
    pub config: EventConfig,
    pub challenges: Vec<Challenge>,
    /// The content of every attachment the challenges list.
    pub files: Vec<AttachmentFile>,
}

impl CreateCtf {
    /// The checks of a set-up that need nothing but the request: the name, the window, the
    /// challenges ([`Ctf::new`]) and their attachments (each one the challenges list sent
    /// once, none other, within the size limits). Run before anything is kept, so a refused
    /// set-up leaves no content behind; run again when the set-up is decided.
    pub fn check(&self) -> Result<(ResourceName, Ctf), Refusal> {
        let name = ResourceName::parse(self.config.name.trim())
            .map_err(|e| Refusal::new(rules::CTF_SETUP, format!("the event's name: {e}")))?;
        let mut config = self.config.clone();
        config.name = name.to_string();
        let ctf = Ctf::new(config, self.challenges.clone())
            .map_err(|e| Refusal::new(rules::CTF_SETUP, e.0))?;
        if ctf.challenges.is_empty() {
            return refuse(rules::CTF_SETUP, "an event needs at least one challenge");
        }
        check_files(&ctf.challenges, &self.files)?;
        Ok((name, ctf))
    }
}

fn check_files(challenges: &[Challenge], files: &[AttachmentFile]) -> Result<(), Refusal> {
    let mut seen = std::collections::BTreeSet::new();
    let mut total = 0u64;
    for f in files {
        let listed = challenges
            .iter()
            .find(|c| c.id == f.challenge)
            .is_some_and(|c| c.attachments.contains(&f.name));
        if !listed {
            return refuse(
                rules::CTF_SETUP,
                format!(
                    "{:?} is not an attachment challenge {:?} lists",
                    f.name, f.challenge
                ),
            );
        }
        if !seen.insert((f.challenge.as_str(), f.name.as_str())) {
            return refuse(
                rules::CTF_SETUP,
                format!("attachment {:?} of {:?} is sent twice", f.name, f.challenge),
            );
        }
        if f.sha256.len() != 64
            || !f
                .sha256
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return refuse(
                rules::CTF_SETUP,
                format!(
                    "attachment {:?}: its SHA-256 is not 64 lowercase hex digits",
                    f.name
                ),
            );
        }
        if f.size > MAX_ATTACHMENT_BYTES {
            return refuse(
                rules::CTF_SETUP,
                format!(
                    "attachment {:?} of {:?} is {} bytes; an attachment is at most {MAX_ATTACHMENT_BYTES} bytes (link bigger files from the description)",
                    f.name, f.challenge, f.size
                ),
            );
        }
        total += f.size;
    }
    if total > MAX_ATTACHMENTS_BYTES {
        return refuse(
            rules::CTF_SETUP,
            format!(
                "the attachments come to {total} bytes; an event's are at most {MAX_ATTACHMENTS_BYTES} bytes"
            ),
        );
    }
    for c in challenges {
        for a in &c.attachments {
            if !seen.contains(&(c.id.as_str(), a.as_str())) {
                return refuse(
                    rules::CTF_SETUP,
                    format!(
                        "attachment {a:?} of challenge {:?} was not sent: players could not download it",
                        c.id
                    ),
                );
            }
        }
    }
    Ok(())
}

/// Something asked of an event.
#[derive(Debug, Clone, PartialEq)]
pub enum CtfCommand {
    /// Register a team or a player. An admin registers anyone; another account registers only
    /// itself, alone (in individuals mode, with its user name as the account id).
    Register {
        id: String,
        name: String,
        members: Vec<UserName>,
        hidden: bool,
    },
    Submit {
        account: String,
        challenge: String,
        flag: String,
    },
    UnlockHint {
        account: String,
        challenge: String,
        hint: usize,
    },
    /// Freeze the public scoreboard at `at` (now when `None`), or unfreeze it (`unfreeze`).
    Freeze {
        at: Option<Timestamp>,
        unfreeze: bool,
    },
}

/// An event: a fold of its stream.
#[derive(Debug, Clone, PartialEq)]
pub struct CtfEventState {
    pub id: Uuid,
    pub name: ResourceName,
    pub ctf: Ctf,
    pub state: CtfState,
    pub created_by: UserName,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub last_seq: u64,
    /// The attachments' content as recorded when the event was set up.
    pub files: Vec<AttachmentFile>,
}

impl CtfEventState {
    /// The recorded content of `challenge`'s attachment `name`.
    pub fn attachment(&self, challenge: &str, name: &str) -> Option<&AttachmentFile> {
        self.files
            .iter()
            .find(|f| f.challenge == challenge && f.name == name)
    }

    /// The accounts `user` may play for.
    pub fn accounts_of(&self, user: &UserName) -> Vec<&Account> {
        self.state
            .accounts
            .iter()
            .filter(|a| a.members.iter().any(|m| m == user.as_str()))
            .collect()
    }

    /// Whether the event is running at `now`.
    pub fn running(&self, now: Timestamp) -> bool {
        now >= self.ctf.config.start && now < self.ctf.config.end
    }
}

/// The core rule a CTF refusal breaks, with its message.
fn refusal(r: CtfRefusal) -> Refusal {
    let rule = match &r {
        CtfRefusal::NotStarted { .. } | CtfRefusal::Ended { .. } => rules::CTF_NOT_OPEN,
        CtfRefusal::UnknownAccount(_)
        | CtfRefusal::AccountTaken(_)
        | CtfRefusal::InvalidAccount(_) => rules::CTF_ACCOUNT,
        CtfRefusal::NotAMember { .. } => rules::CTF_NOT_A_MEMBER,
        CtfRefusal::UnknownChallenge(_)
        | CtfRefusal::UnknownHint { .. }
        | CtfRefusal::BadSubmission { .. } => rules::CTF_CHALLENGE,
        CtfRefusal::Locked { .. } => rules::CTF_LOCKED,
        CtfRefusal::AlreadySolved { .. } | CtfRefusal::AlreadyUnlocked { .. } => rules::CTF_DONE,
        CtfRefusal::NoAttemptsLeft { .. } => rules::CTF_ATTEMPTS,
        CtfRefusal::RateLimited { .. } => rules::CTF_RATE_LIMIT,
        CtfRefusal::NotEnoughPoints { .. } => rules::CTF_POINTS,
    };
    Refusal::new(rule, r.to_string())
}

fn payload(c: Change) -> CtfPayload {
    match c {
        Change::Registered(account) => CtfPayload::Registered { account },
        Change::Submitted(submission) => CtfPayload::Submitted { submission },
        Change::Unlocked(unlock) => CtfPayload::HintUnlocked { unlock },
    }
}

fn organiser(actor: &Actor, what: &str) -> Result<(), Refusal> {
    if actor.account_role != AccountRole::Admin {
        return refuse(
            rules::CTF_ORGANISERS,
            format!("only admins {what}; ask an organiser"),
        );
    }
    Ok(())
}

impl Aggregate for CtfEventState {
    const KIND: StreamKind = StreamKind::Ctf;
    type Payload = CtfPayload;
    type Command = CtfCommand;
    type Create = CreateCtf;
    type Policy = ();

    fn stream(&self) -> StreamId {
        StreamId::new(StreamKind::Ctf, self.id)
    }
    fn last_seq(&self) -> u64 {
        self.last_seq
    }

    fn from_first(e: &Event<CtfPayload>) -> Result<Self, FoldError> {
        check_first(StreamKind::Ctf, e)?;
        let CtfPayload::Created {
            name,
            config,
            challenges,
            files,
        } = &e.data
        else {
            return Err(FoldError::NotCreatedFirst {
                seq: e.seq,
                expected: "created",
                found: e.data.kind(),
            });
        };
        // Recorded as decided: the same checks hold on the fold.
        let ctf = Ctf {
            config: config.clone(),
            challenges: challenges.clone(),
        };
        Ok(CtfEventState {
            id: e.stream.id,
            name: name.clone(),
            ctf,
            state: CtfState::default(),
            created_by: e.actor.clone(),
            created_at: e.occurred_at,
            updated_at: e.recorded_at,
            last_seq: e.seq,
            files: files.clone(),
        })
    }

    fn apply(&mut self, e: &Event<CtfPayload>) -> Result<(), FoldError> {
        check_next(self.stream(), self.last_seq, e)?;
        match &e.data {
            CtfPayload::Created { .. } => {
                return Err(FoldError::CreatedAgain {
                    seq: e.seq,
                    what: "created",
                });
            }
            CtfPayload::Registered { account } => {
                self.state.apply(Change::Registered(account.clone()))
            }
            CtfPayload::Submitted { submission } => {
                self.state.apply(Change::Submitted(submission.clone()))
            }
            CtfPayload::HintUnlocked { unlock } => {
                self.state.apply(Change::Unlocked(unlock.clone()))
            }
            CtfPayload::FreezeSet { at } => self.ctf.config.freeze = *at,
        }
        self.last_seq = e.seq;
        self.updated_at = e.recorded_at;
        Ok(())
    }

    fn create_role(_: &CreateCtf) -> AccountRole {
        AccountRole::Admin
    }

    fn decide_create(
        actor: &Actor,
        c: &CreateCtf,
        _: &Context<'_, ()>,
    ) -> Result<Vec<CtfPayload>, Refusal> {
        organiser(actor, "set up CTF events")?;
        let (name, ctf) = c.check()?;
        Ok(vec![CtfPayload::Created {
            name,
            config: ctf.config,
            challenges: ctf.challenges,
            files: c.files.clone(),
        }])
    }

    /// Players may be viewer accounts: a CTF is where they learn.
    fn required_role(_: &CtfCommand) -> AccountRole {
        AccountRole::Viewer
    }

    /// Every account sees every event (what it shows depends on who asks: see the API).
    fn visible_to(&self, _: &Actor, _: Option<&CtfCommand>, _: Timestamp) -> bool {
        true
    }

    fn decide(
        &self,
        actor: &Actor,
        cmd: &CtfCommand,
        ctx: &Context<'_, ()>,
    ) -> Result<Vec<CtfPayload>, Refusal> {
        let now = ctx.now;
        let admin = actor.account_role == AccountRole::Admin;
        let member_of = |account: &str| -> Result<(), Refusal> {
            let a = self.state.account(account).ok_or_else(|| {
                Refusal::new(
                    rules::CTF_ACCOUNT,
                    format!("no account {account:?} in this event"),
                )
            })?;
            if !a.members.iter().any(|m| m == actor.user.as_str()) {
                return refuse(
                    rules::CTF_NOT_A_MEMBER,
                    format!("{} is not a member of {account:?}", actor.user),
                );
            }
            Ok(())
        };
        match cmd {
            CtfCommand::Register {
                id,
                name,
                members,
                hidden,
            } => {
                if !admin {
                    let alone = members.len() == 1 && members[0] == actor.user;
                    if !alone || *hidden {
                        return refuse(
                            rules::CTF_ORGANISERS,
                            "only admins register accounts for others, teams or hidden accounts; register yourself alone",
                        );
                    }
                    if self.ctf.config.mode == super::event::Mode::Individuals
                        && id != actor.user.as_str()
                    {
                        return refuse(
                            rules::CTF_ACCOUNT,
                            format!(
                                "in this event a player's account id is their user name, {}",
                                actor.user
                            ),
                        );
                    }
                    if !self.accounts_of(&actor.user).is_empty() {
                        return refuse(
                            rules::CTF_ACCOUNT,
                            format!("{} already plays in this event", actor.user),
                        );
                    }
                }
                if members.is_empty() {
                    return refuse(rules::CTF_ACCOUNT, "an account has at least one member");
                }
                if let Some(u) = members.iter().find(|u| !self.accounts_of(u).is_empty()) {
                    return refuse(
                        rules::CTF_ACCOUNT,
                        format!("{u} already plays for another account of this event"),
                    );
                }
                let account = Account {
                    id: id.clone(),
                    name: name.trim().to_string(),
                    members: members.iter().map(|m| m.to_string()).collect(),
                    hidden: *hidden,
                };
                self.ctf
                    .register(&self.state, account, now)
                    .map(|c| vec![payload(c)])
                    .map_err(refusal)
            }
            CtfCommand::Submit {
                account,
                challenge,
                flag,
            } => {
                member_of(account)?;
                self.ctf
                    .submit(
                        &self.state,
                        account,
                        actor.user.as_str(),
                        challenge,
                        flag,
                        now,
                    )
                    .map(|c| vec![payload(c)])
                    .map_err(refusal)
            }
            CtfCommand::UnlockHint {
                account,
                challenge,
                hint,
            } => {
                member_of(account)?;
                self.ctf
                    .unlock_hint(
                        &self.state,
                        account,
                        actor.user.as_str(),
                        challenge,
                        *hint,
                        now,
                    )
                    .map(|c| vec![payload(c)])
                    .map_err(refusal)
            }
            CtfCommand::Freeze { at, unfreeze } => {
                organiser(actor, "freeze the scoreboard")?;
                let at = if *unfreeze {
                    None
                } else {
                    Some(at.unwrap_or(now))
                };
                if let Some(t) = at
                    && (t < self.ctf.config.start || t > self.ctf.config.end)
                {
                    return refuse(
                        rules::CTF_FREEZE,
                        format!(
                            "{t} is outside the event ({} to {})",
                            self.ctf.config.start, self.ctf.config.end
                        ),
                    );
                }
                Ok(vec![CtfPayload::FreezeSet { at }])
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ctf::challenge::{Flag, Scoring, hash_flag};
    use crate::ctf::event::{Mode, RateLimit};
    use crate::ctf::scoreboard::View;
    use crate::duration::Dur;

    fn t(s: &str) -> Timestamp {
        Timestamp::parse(s).unwrap()
    }
    fn actor(name: &str, role: AccountRole) -> Actor {
        Actor {
            user: UserName::parse(name).unwrap(),
            account_role: role,
        }
    }
    fn ev(
        stream: StreamId,
        seq: u64,
        who: &Actor,
        at: Timestamp,
        data: CtfPayload,
    ) -> Event<CtfPayload> {
        Event {
            format: palisade_core::event::EVENT_FORMAT,
            stream,
            seq,
            recorded_at: at,
            occurred_at: at,
            actor: who.user.clone(),
            data,
        }
    }
    fn challenge(id: &str, flag: &str, value: u32) -> Challenge {
        Challenge {
            id: id.into(),
            name: id.into(),
            category: "web".into(),
            description: String::new(),
            scoring: Scoring::Static { value },
            attachments: vec![],
            hints: vec![],
            prerequisites: vec![],
            max_attempts: None,
            flags: vec![Flag::Hashed {
                salt: "5a17".into(),
                sha256: hash_flag(&[0x5a, 0x17], flag, true),
                case_sensitive: true,
            }],
        }
    }
    fn event() -> CtfEventState {
        let admin = actor("organiser", AccountRole::Admin);
        let create = CreateCtf {
            config: EventConfig {
                name: "spring-ctf".into(),
                start: t("2026-05-01T09:00:00Z"),
                end: t("2026-05-01T17:00:00Z"),
                freeze: None,
                mode: Mode::Teams,
                rate_limit: RateLimit {
                    max_wrong: 2,
                    per: Dur::minutes(1),
                },
            },
            challenges: vec![challenge("web-1", "flag{one}", 100)],
            files: vec![],
        };
        let ctx = Context {
            now: t("2026-04-30T09:00:00Z"),
            policy: &(),
        };
        let payloads = CtfEventState::decide_create(&admin, &create, &ctx).unwrap();
        let stream = StreamId::new(StreamKind::Ctf, Uuid::now_v7());
        let events: Vec<Event<CtfPayload>> = payloads
            .into_iter()
            .enumerate()
            .map(|(i, p)| ev(stream, i as u64 + 1, &admin, ctx.now, p))
            .collect();
        CtfEventState::fold(&events).unwrap()
    }
    fn run(st: &mut CtfEventState, who: &Actor, at: &str, cmd: CtfCommand) -> Result<(), Refusal> {
        let ctx = Context {
            now: t(at),
            policy: &(),
        };
        for p in st.decide(who, &cmd, &ctx)? {
            let e = ev(st.stream(), st.last_seq + 1, who, ctx.now, p);
            st.apply(&e).unwrap();
        }
        Ok(())
    }
    fn team(id: &str, members: &[&str]) -> CtfCommand {
        CtfCommand::Register {
            id: id.into(),
            name: id.into(),
            members: members
                .iter()
                .map(|m| UserName::parse(m).unwrap())
                .collect(),
            hidden: false,
        }
    }
    fn submit(account: &str, flag: &str) -> CtfCommand {
        CtfCommand::Submit {
            account: account.into(),
            challenge: "web-1".into(),
            flag: flag.into(),
        }
    }

    #[test]
    fn two_teams_play_and_the_frozen_board_stops_moving() {
        let mut st = event();
        let admin = actor("organiser", AccountRole::Admin);
        let (ann, bob) = (
            actor("ann", AccountRole::Viewer),
            actor("bob", AccountRole::Viewer),
        );
        run(
            &mut st,
            &admin,
            "2026-05-01T08:00:00Z",
            team("red", &["ann"]),
        )
        .unwrap();
        run(
            &mut st,
            &admin,
            "2026-05-01T08:00:00Z",
            team("blue", &["bob"]),
        )
        .unwrap();
        // Before the start: refused, and says when it opens.
        let r = run(
            &mut st,
            &ann,
            "2026-05-01T08:30:00Z",
            submit("red", "flag{one}"),
        )
        .unwrap_err();
        assert_eq!(
            (r.rule, r.message.contains("opens at")),
            (rules::CTF_NOT_OPEN, true)
        );
        // Bob cannot play for red.
        let r = run(&mut st, &bob, "2026-05-01T10:00:00Z", submit("red", "x")).unwrap_err();
        assert_eq!(r.rule, rules::CTF_NOT_A_MEMBER);
        run(
            &mut st,
            &ann,
            "2026-05-01T10:00:00Z",
            submit("red", "flag{one}"),
        )
        .unwrap();
        run(
            &mut st,
            &admin,
            "2026-05-01T11:00:00Z",
            CtfCommand::Freeze {
                at: None,
                unfreeze: false,
            },
        )
        .unwrap();
        run(
            &mut st,
            &bob,
            "2026-05-01T12:00:00Z",
            submit("blue", "flag{one}"),
        )
        .unwrap();
        let now = t("2026-05-01T13:00:00Z");
        let public = st.ctf.scoreboard(&st.state, now, View::Public);
        assert_eq!(public.standing("red").map(|s| s.score), Some(100));
        assert_eq!(public.standing("blue").map(|s| s.score), Some(0));
        let live = st.ctf.scoreboard(&st.state, now, View::Admin);
        assert_eq!(live.standing("blue").map(|s| s.score), Some(100));
        // Solved once.
        let r = run(
            &mut st,
            &ann,
            "2026-05-01T13:00:00Z",
            submit("red", "flag{one}"),
        )
        .unwrap_err();
        assert_eq!(r.rule, rules::CTF_DONE);
    }

    #[test]
    fn wrong_answers_are_recorded_and_brute_force_waits() {
        let mut st = event();
        let admin = actor("organiser", AccountRole::Admin);
        let ann = actor("ann", AccountRole::Viewer);
        run(
            &mut st,
            &admin,
            "2026-05-01T08:00:00Z",
            team("red", &["ann"]),
        )
        .unwrap();
        run(&mut st, &ann, "2026-05-01T10:00:00Z", submit("red", "a")).unwrap();
        run(&mut st, &ann, "2026-05-01T10:00:10Z", submit("red", "b")).unwrap();
        assert_eq!(st.state.submissions.len(), 2);
        assert_eq!(st.state.submissions[0].provided.as_deref(), Some("a"));
        let r = run(
            &mut st,
            &ann,
            "2026-05-01T10:00:20Z",
            submit("red", "flag{one}"),
        )
        .unwrap_err();
        assert_eq!(r.rule, rules::CTF_RATE_LIMIT);
        assert!(
            r.message.contains("try again at 2026-05-01T10:01:00"),
            "{}",
            r.message
        );
        run(
            &mut st,
            &ann,
            "2026-05-01T10:01:01Z",
            submit("red", "flag{one}"),
        )
        .unwrap();
        assert!(st.state.submissions[2].correct);
        assert_eq!(st.state.submissions[2].provided, None);
    }

    #[test]
    fn only_organisers_set_up_register_others_and_freeze() {
        let mut st = event();
        let ann = actor("ann", AccountRole::Responder);
        let r = run(
            &mut st,
            &ann,
            "2026-05-01T08:00:00Z",
            team("red", &["ann", "bob"]),
        )
        .unwrap_err();
        assert_eq!(r.rule, rules::CTF_ORGANISERS);
        // Alone, herself: allowed.
        run(&mut st, &ann, "2026-05-01T08:00:00Z", team("red", &["ann"])).unwrap();
        let r = run(
            &mut st,
            &ann,
            "2026-05-01T08:00:00Z",
            team("red2", &["ann"]),
        )
        .unwrap_err();
        assert_eq!(r.rule, rules::CTF_ACCOUNT);
        let r = run(
            &mut st,
            &ann,
            "2026-05-01T10:00:00Z",
            CtfCommand::Freeze {
                at: None,
                unfreeze: false,
            },
        )
        .unwrap_err();
        assert_eq!(r.rule, rules::CTF_ORGANISERS);
        let admin = actor("organiser", AccountRole::Admin);
        let r = run(
            &mut st,
            &admin,
            "2026-05-01T10:00:00Z",
            CtfCommand::Freeze {
                at: Some(t("2026-06-01T00:00:00Z")),
                unfreeze: false,
            },
        )
        .unwrap_err();
        assert_eq!(r.rule, rules::CTF_FREEZE);
        let create = CreateCtf {
            config: st.ctf.config.clone(),
            challenges: vec![],
            files: vec![],
        };
        let ctx = Context {
            now: t("2026-04-01T00:00:00Z"),
            policy: &(),
        };
        assert_eq!(
            CtfEventState::decide_create(&ann, &create, &ctx)
                .unwrap_err()
                .rule,
            rules::CTF_ORGANISERS
        );
        assert_eq!(
            CtfEventState::decide_create(&admin, &create, &ctx)
                .unwrap_err()
                .rule,
            rules::CTF_SETUP
        );
        // A rate-limit period beyond 30 days would overflow the clock arithmetic: refused.
        let mut long = CreateCtf {
            config: st.ctf.config.clone(),
            challenges: st.ctf.challenges.clone(),
            files: vec![],
        };
        long.config.rate_limit.per = Dur(u64::MAX);
        let r = CtfEventState::decide_create(&admin, &long, &ctx).unwrap_err();
        assert_eq!(
            (r.rule, r.message.contains("30 days")),
            (rules::CTF_SETUP, true)
        );
    }

    #[test]
    fn every_listed_attachment_is_sent_once_within_the_limits() {
        let admin = actor("organiser", AccountRole::Admin);
        let st = event();
        let mut c = challenge("web-1", "flag{one}", 100);
        c.attachments = vec!["page.html".into(), "logs/a.log".into()];
        let file = |name: &str, size: u64| AttachmentFile {
            challenge: "web-1".into(),
            name: name.into(),
            size,
            sha256: "ab".repeat(32),
        };
        let create = |files: Vec<AttachmentFile>| CreateCtf {
            config: st.ctf.config.clone(),
            challenges: vec![c.clone()],
            files,
        };
        let ctx = Context {
            now: t("2026-04-01T00:00:00Z"),
            policy: &(),
        };
        let refused = |files: Vec<AttachmentFile>| {
            let r = CtfEventState::decide_create(&admin, &create(files), &ctx).unwrap_err();
            assert_eq!(r.rule, rules::CTF_SETUP, "{}", r.message);
            r.message
        };
        let ok = vec![file("page.html", 10), file("logs/a.log", 20)];
        let payloads = CtfEventState::decide_create(&admin, &create(ok.clone()), &ctx).unwrap();
        let CtfPayload::Created { files, .. } = &payloads[0] else {
            panic!("{payloads:?}")
        };
        assert_eq!(files, &ok);
        // One missing: players could not download it.
        assert!(
            refused(vec![file("page.html", 10)])
                .contains("\"logs/a.log\" of challenge \"web-1\" was not sent")
        );
        // One the challenge does not list, or another challenge's.
        let mut other = file("secret.txt", 1);
        assert!(
            refused([ok.clone(), vec![other.clone()]].concat()).contains("is not an attachment")
        );
        other.name = "page.html".into();
        other.challenge = "web-2".into();
        assert!(refused([ok.clone(), vec![other]].concat()).contains("is not an attachment"));
        // Twice.
        assert!(refused([ok.clone(), vec![file("page.html", 10)]].concat()).contains("sent twice"));
        // A digest that is not one.
        let mut bad = ok.clone();
        bad[0].sha256 = "AB".repeat(32);
        assert!(refused(bad).contains("64 lowercase hex"));
        // Too big, alone or together.
        assert!(
            refused(vec![
                file("page.html", MAX_ATTACHMENT_BYTES + 1),
                file("logs/a.log", 1)
            ])
            .contains("at most 8388608 bytes")
        );
        let mut many = c.clone();
        many.attachments = (0..5).map(|i| format!("f{i}")).collect();
        let files: Vec<AttachmentFile> = (0..5)
            .map(|i| file(&format!("f{i}"), MAX_ATTACHMENT_BYTES))
            .collect();
        let r = CtfEventState::decide_create(
            &admin,
            &CreateCtf {
                config: st.ctf.config.clone(),
                challenges: vec![many],
                files,
            },
            &ctx,
        )
        .unwrap_err();
        assert!(
            r.message.contains("an event's are at most"),
            "{}",
            r.message
        );
    }

    #[test]
    fn events_recorded_before_attachments_were_served_still_fold() {
        // A `created` event written without `files` reads back with none, and a new one
        // without attachments is written without the field: the ledger format is unchanged.
        let st = event();
        let v = serde_json::json!({"type": "created", "name": "old", "config": st.ctf.config,
            "challenges": st.ctf.challenges});
        let p: CtfPayload = serde_json::from_value(v.clone()).unwrap();
        assert!(matches!(&p, CtfPayload::Created { files, .. } if files.is_empty()));
        assert_eq!(serde_json::to_value(&p).unwrap(), v);
    }
}
