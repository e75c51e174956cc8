//! The team aggregate: the people who own services, each a `member` or a `manager`. One stream
//! per team, unique by name (a rename moves the name). Members must be users of the deployment.

use crate::Actor;
use crate::aggregate::{Aggregate, Context, FoldError, HistoryEntry, check_first, check_next};
use crate::event::{Event, Timestamp};
use crate::rule::{Refusal, refuse};
use crate::stream::{StreamId, StreamKind};
use crate::types::{AccountRole, ResourceName, UserName};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use uuid::Uuid;

/// The team's rules.
pub mod rules {
    use crate::rule::{RefusalKind::*, Rule};

    /// A team name is 1–64 characters of `a-z 0-9 . _ -`, starting with a letter or digit.
    pub const TEAM_NAME: Rule = Rule::new(
        "team-name",
        InvalidInput,
        "a team name is 1–64 characters of a-z, 0-9, '.', '_', '-', starting with a letter or digit",
    );
    /// A team's fields are within their limits.
    pub const TEAM_INPUT: Rule = Rule::new(
        "team-input",
        InvalidInput,
        "a team's description is at most 2,000 characters and it has at most 500 members",
    );
    /// Only a member can be removed.
    pub const TEAM_NOT_A_MEMBER: Rule = Rule::new(
        "team-not-a-member",
        InvalidInput,
        "only a member of the team can be removed",
    );
    /// The command would change nothing.
    pub const TEAM_UNCHANGED: Rule = Rule::new(
        "team-unchanged",
        Conflict,
        "a change to a team must change something",
    );
    /// Viewers read teams but do not change them.
    pub const TEAM_READ_ONLY: Rule = Rule::new(
        "team-read-only",
        Permission,
        "viewer accounts read teams but do not change them",
    );

    /// Every team rule.
    pub const ALL: &[Rule] = &[
        TEAM_NAME,
        TEAM_INPUT,
        TEAM_NOT_A_MEMBER,
        TEAM_UNCHANGED,
        TEAM_READ_ONLY,
    ];
}

/// The namespace of team names among stream keys.
pub const TEAM_NAME_KEY: &str = "team-name";
/// Most members of a team.
pub const MAX_MEMBERS: usize = 500;
const MAX_DESCRIPTION: usize = 2_000;

/// What a member is in the team.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum TeamRole {
    Member,
    Manager,
}

impl TeamRole {
    pub fn as_str(self) -> &'static str {
        match self {
            TeamRole::Member => "member",
            TeamRole::Manager => "manager",
        }
    }
}

/// What happened to a team.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum TeamPayload {
    Created {
        name: ResourceName,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        description: Option<String>,
    },
    /// A user joined with a role, or a member's role changed.
    MemberSet {
        user: UserName,
        role: TeamRole,
    },
    MemberRemoved {
        user: UserName,
    },
    Renamed {
        from: ResourceName,
        to: ResourceName,
    },
}

impl TeamPayload {
    pub fn kind(&self) -> &'static str {
        match self {
            TeamPayload::Created { .. } => "created",
            TeamPayload::MemberSet { .. } => "member_set",
            TeamPayload::MemberRemoved { .. } => "member_removed",
            TeamPayload::Renamed { .. } => "renamed",
        }
    }
    pub fn describe(&self) -> String {
        match self {
            TeamPayload::Created { name, .. } => format!("Team {name} created"),
            TeamPayload::MemberSet { user, role } => format!("{user} is a {}", role.as_str()),
            TeamPayload::MemberRemoved { user } => format!("{user} left the team"),
            TeamPayload::Renamed { from, to } => format!("Renamed from {from} to {to}"),
        }
    }
}

/// Starting a team.
#[derive(Debug, Clone, PartialEq)]
pub struct CreateTeam {
    pub name: String,
    pub description: Option<String>,
}

/// A change to a team.
#[derive(Debug, Clone, PartialEq)]
pub enum TeamCommand {
    /// Add a member, or change a member's role.
    SetMember {
        user: UserName,
        role: TeamRole,
    },
    RemoveMember {
        user: UserName,
    },
    Rename {
        name: String,
    },
}

/// A team: a fold of its stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TeamState {
    pub id: Uuid,
    pub name: ResourceName,
    pub description: Option<String>,
    /// Members by name.
    pub members: BTreeMap<UserName, TeamRole>,
    pub created_by: UserName,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub history: Vec<HistoryEntry>,
    pub last_seq: u64,
}

fn writer(actor: &Actor) -> Result<(), Refusal> {
    if actor.account_role == AccountRole::Viewer {
        return refuse(
            rules::TEAM_READ_ONLY,
            "viewer accounts may read teams but not change them",
        );
    }
    Ok(())
}

fn name(s: &str) -> Result<ResourceName, Refusal> {
    ResourceName::parse(s.trim()).map_err(|e| Refusal::new(rules::TEAM_NAME, e.to_string()))
}

impl TeamState {
    fn record(&mut self, e: &Event<TeamPayload>) {
        self.history
            .push(HistoryEntry::of(e, e.data.kind(), e.data.describe()));
        self.last_seq = e.seq;
        self.updated_at = e.recorded_at;
    }
}

impl Aggregate for TeamState {
    const KIND: StreamKind = StreamKind::Team;
    type Payload = TeamPayload;
    type Command = TeamCommand;
    type Create = CreateTeam;
    type Policy = ();

    fn stream(&self) -> StreamId {
        StreamId::new(StreamKind::Team, self.id)
    }
    fn last_seq(&self) -> u64 {
        self.last_seq
    }

    fn from_first(e: &Event<TeamPayload>) -> Result<Self, FoldError> {
        check_first(StreamKind::Team, e)?;
        let TeamPayload::Created { name, description } = &e.data else {
            return Err(FoldError::NotCreatedFirst {
                seq: e.seq,
                expected: "created",
                found: e.data.kind(),
            });
        };
        let mut st = TeamState {
            id: e.stream.id,
            name: name.clone(),
            description: description.clone(),
            members: BTreeMap::new(),
            created_by: e.actor.clone(),
            created_at: e.occurred_at,
            updated_at: e.recorded_at,
            history: Vec::new(),
            last_seq: 0,
        };
        st.record(e);
        Ok(st)
    }

    fn apply(&mut self, e: &Event<TeamPayload>) -> Result<(), FoldError> {
        check_next(self.stream(), self.last_seq, e)?;
        match &e.data {
            TeamPayload::Created { .. } => {
                return Err(FoldError::CreatedAgain {
                    seq: e.seq,
                    what: "created",
                });
            }
            TeamPayload::MemberSet { user, role } => {
                self.members.insert(user.clone(), *role);
            }
            TeamPayload::MemberRemoved { user } => {
                self.members.remove(user);
            }
            TeamPayload::Renamed { to, .. } => self.name = to.clone(),
        }
        self.record(e);
        Ok(())
    }

    fn create_role(_: &CreateTeam) -> AccountRole {
        AccountRole::Responder
    }

    fn decide_create(
        actor: &Actor,
        c: &CreateTeam,
        _: &Context<'_, ()>,
    ) -> Result<Vec<TeamPayload>, Refusal> {
        writer(actor)?;
        let name = name(&c.name)?;
        let description = c
            .description
            .as_deref()
            .map(str::trim)
            .filter(|d| !d.is_empty());
        if description.is_some_and(|d| d.chars().count() > MAX_DESCRIPTION) {
            return refuse(
                rules::TEAM_INPUT,
                format!("the description is longer than {MAX_DESCRIPTION} characters"),
            );
        }
        Ok(vec![TeamPayload::Created {
            name,
            description: description.map(str::to_string),
        }])
    }

    fn required_role(_: &TeamCommand) -> AccountRole {
        AccountRole::Responder
    }

    /// Every account sees every team.
    fn visible_to(&self, _: &Actor, _: Option<&TeamCommand>, _: Timestamp) -> bool {
        true
    }

    fn decide(
        &self,
        actor: &Actor,
        cmd: &TeamCommand,
        _: &Context<'_, ()>,
    ) -> Result<Vec<TeamPayload>, Refusal> {
        writer(actor)?;
        match cmd {
            TeamCommand::SetMember { user, role } => {
                match self.members.get(user) {
                    Some(r) if r == role => {
                        return refuse(
                            rules::TEAM_UNCHANGED,
                            format!("{user} already is a {} of {}", role.as_str(), self.name),
                        );
                    }
                    None if self.members.len() >= MAX_MEMBERS => {
                        return refuse(
                            rules::TEAM_INPUT,
                            format!(
                                "{} has {MAX_MEMBERS} members, the most a team has",
                                self.name
                            ),
                        );
                    }
                    _ => {}
                }
                Ok(vec![TeamPayload::MemberSet {
                    user: user.clone(),
                    role: *role,
                }])
            }
            TeamCommand::RemoveMember { user } => {
                if !self.members.contains_key(user) {
                    return refuse(
                        rules::TEAM_NOT_A_MEMBER,
                        format!("{user} is not a member of {}", self.name),
                    );
                }
                Ok(vec![TeamPayload::MemberRemoved { user: user.clone() }])
            }
            TeamCommand::Rename { name: new } => {
                let to = name(new)?;
                if to == self.name {
                    return refuse(
                        rules::TEAM_UNCHANGED,
                        format!("the team already is called {to}"),
                    );
                }
                Ok(vec![TeamPayload::Renamed {
                    from: self.name.clone(),
                    to,
                }])
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::numbered;

    fn actor(role: AccountRole) -> Actor {
        Actor {
            user: UserName::parse("sam").unwrap(),
            account_role: role,
        }
    }
    fn ctx() -> Context<'static, ()> {
        Context {
            now: Timestamp::parse("2026-12-06T10:00:00Z").unwrap(),
            policy: &(),
        }
    }
    fn u(n: &str) -> UserName {
        UserName::parse(n).unwrap()
    }
    fn run(st: &mut TeamState, cmd: TeamCommand) -> Result<(), Refusal> {
        let a = actor(AccountRole::Responder);
        let p = st.decide(&a, &cmd, &ctx())?;
        for e in numbered(st.stream(), st.last_seq, &a.user, ctx().now, None, p) {
            st.apply(&e).unwrap();
        }
        Ok(())
    }
    fn created() -> TeamState {
        let a = actor(AccountRole::Responder);
        let p = TeamState::decide_create(
            &a,
            &CreateTeam {
                name: "payments".into(),
                description: Some("Card payments".into()),
            },
            &ctx(),
        )
        .unwrap();
        TeamState::fold(&numbered(
            StreamId::new(StreamKind::Team, Uuid::nil()),
            0,
            &a.user,
            ctx().now,
            None,
            p,
        ))
        .unwrap()
    }

    #[test]
    fn members_join_change_role_and_leave() {
        let mut st = created();
        run(
            &mut st,
            TeamCommand::SetMember {
                user: u("ana"),
                role: TeamRole::Manager,
            },
        )
        .unwrap();
        run(
            &mut st,
            TeamCommand::SetMember {
                user: u("ben"),
                role: TeamRole::Member,
            },
        )
        .unwrap();
        run(
            &mut st,
            TeamCommand::SetMember {
                user: u("ben"),
                role: TeamRole::Manager,
            },
        )
        .unwrap();
        run(&mut st, TeamCommand::RemoveMember { user: u("ana") }).unwrap();
        assert_eq!(
            st.members.iter().collect::<Vec<_>>(),
            [(&u("ben"), &TeamRole::Manager)]
        );
        run(
            &mut st,
            TeamCommand::Rename {
                name: "payments-team".into(),
            },
        )
        .unwrap();
        assert_eq!(st.name.as_str(), "payments-team");
        assert_eq!(st.history[3].description, "ben is a manager");
        assert_eq!(st.last_seq, 6);
    }

    #[test]
    fn no_op_changes_non_members_bad_names_and_viewers_are_refused() {
        let mut st = created();
        run(
            &mut st,
            TeamCommand::SetMember {
                user: u("ana"),
                role: TeamRole::Member,
            },
        )
        .unwrap();
        let r = run(
            &mut st,
            TeamCommand::SetMember {
                user: u("ana"),
                role: TeamRole::Member,
            },
        )
        .unwrap_err();
        assert_eq!(r.rule, rules::TEAM_UNCHANGED);
        let r = run(&mut st, TeamCommand::RemoveMember { user: u("zed") }).unwrap_err();
        assert_eq!(r.rule, rules::TEAM_NOT_A_MEMBER);
        let r = run(
            &mut st,
            TeamCommand::Rename {
                name: "Pay Ments".into(),
            },
        )
        .unwrap_err();
        assert_eq!(r.rule, rules::TEAM_NAME);
        let r = st
            .decide(
                &actor(AccountRole::Viewer),
                &TeamCommand::RemoveMember { user: u("ana") },
                &ctx(),
            )
            .unwrap_err();
        assert_eq!(r.rule, rules::TEAM_READ_ONLY);
        for i in 1..MAX_MEMBERS {
            st.members.insert(u(&format!("u{i}")), TeamRole::Member);
        }
        let r = run(
            &mut st,
            TeamCommand::SetMember {
                user: u("one-too-many"),
                role: TeamRole::Member,
            },
        )
        .unwrap_err();
        assert_eq!(r.rule, rules::TEAM_INPUT);
    }
}
