//! The deployment's own record: what operators did to the deployment itself, outside any
//! incident or service — today, recovering admin access with access to the data directory or
//! the database only (`palisade admin recover`). One stream per deployment, at a fixed id, on
//! the same signed ledger as everything else.

use crate::Actor;
use crate::aggregate::{Aggregate, Context, FoldError, check_first, check_next};
use crate::event::{Event, Timestamp};
use crate::rule::{Refusal, refuse};
use crate::stream::{StreamId, StreamKind};
use crate::types::{AccountRole, UserName};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The deployment stream's id (there is one per deployment).
pub const DEPLOYMENT_ID: Uuid = Uuid::from_u128(1);

/// Rules of the deployment's record and of accounts.
pub mod rules {
    use crate::rule::{RefusalKind::*, Rule};

    /// What an operator records needs a written reason.
    pub const DEPLOYMENT_REASON: Rule = Rule::new(
        "deployment-reason",
        InvalidInput,
        "an operator's action on the deployment is recorded with a written reason",
    );
    /// Only admins record on the deployment's log.
    pub const DEPLOYMENT_ADMIN_ONLY: Rule = Rule::new(
        "deployment-admin-only",
        Permission,
        "only admins record on the deployment's log",
    );
    /// The last live admin token cannot be revoked: nobody could administer the deployment.
    pub const LAST_ADMIN: Rule = Rule::new(
        "last-admin",
        Precondition,
        "the last live admin token is never revoked; create another admin token first",
    );

    /// Every deployment rule.
    pub const ALL: &[Rule] = &[DEPLOYMENT_REASON, DEPLOYMENT_ADMIN_ONLY, LAST_ADMIN];
}

/// Refuse revoking a token when it is an admin's and no other admin token would be left.
pub fn check_revoke(token_is_admins: bool, live_admin_tokens: u64) -> Result<(), Refusal> {
    if token_is_admins && live_admin_tokens <= 1 {
        return refuse(
            rules::LAST_ADMIN,
            "this is the last live admin token; revoking it would lock every admin out. Create another admin token first (palisade token create --user … --role admin), or recover access offline with palisade admin recover",
        );
    }
    Ok(())
}

/// What the deployment's log records.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum DeploymentPayload {
    /// The log's first event.
    LogOpened {},
    /// Admin access was recovered offline: a new token (by id; never the secret) for `user`.
    AdminRecovered {
        user: UserName,
        token_id: String,
        reason: String,
    },
}

impl DeploymentPayload {
    pub fn kind(&self) -> &'static str {
        match self {
            DeploymentPayload::LogOpened {} => "log_opened",
            DeploymentPayload::AdminRecovered { .. } => "admin_recovered",
        }
    }
}

/// What an operator records.
#[derive(Debug, Clone, PartialEq)]
pub enum DeploymentCommand {
    RecordRecovery {
        user: UserName,
        token_id: String,
        reason: String,
    },
}

/// One recovery, as the log holds it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Recovery {
    pub seq: u64,
    pub by: UserName,
    pub at: Timestamp,
    pub user: UserName,
    pub token_id: String,
    pub reason: String,
}

/// The deployment's log, folded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeploymentState {
    pub id: Uuid,
    pub recoveries: Vec<Recovery>,
    pub last_seq: u64,
}

fn admin(actor: &Actor) -> Result<(), Refusal> {
    if actor.account_role != AccountRole::Admin {
        return refuse(
            rules::DEPLOYMENT_ADMIN_ONLY,
            "only admins record on the deployment's log",
        );
    }
    Ok(())
}

fn decide_recovery(cmd: &DeploymentCommand) -> Result<Vec<DeploymentPayload>, Refusal> {
    let DeploymentCommand::RecordRecovery {
        user,
        token_id,
        reason,
    } = cmd;
    let reason = reason.trim();
    if reason.split_whitespace().count() < 3 || reason.chars().count() > 2_000 {
        return refuse(
            rules::DEPLOYMENT_REASON,
            "say why access is recovered, in a sentence (at most 2,000 characters)",
        );
    }
    Ok(vec![DeploymentPayload::AdminRecovered {
        user: user.clone(),
        token_id: token_id.clone(),
        reason: reason.to_string(),
    }])
}

impl Aggregate for DeploymentState {
    const KIND: StreamKind = StreamKind::Deployment;
    type Payload = DeploymentPayload;
    type Command = DeploymentCommand;
    /// The log starts with its first record.
    type Create = DeploymentCommand;
    type Policy = ();

    fn stream(&self) -> StreamId {
        StreamId::new(StreamKind::Deployment, self.id)
    }
    fn last_seq(&self) -> u64 {
        self.last_seq
    }
    fn from_first(e: &Event<DeploymentPayload>) -> Result<Self, FoldError> {
        check_first(StreamKind::Deployment, e)?;
        if !matches!(e.data, DeploymentPayload::LogOpened {}) {
            return Err(FoldError::NotCreatedFirst {
                seq: e.seq,
                expected: "log_opened",
                found: e.data.kind(),
            });
        }
        Ok(DeploymentState {
            id: e.stream.id,
            recoveries: Vec::new(),
            last_seq: 1,
        })
    }
    fn apply(&mut self, e: &Event<DeploymentPayload>) -> Result<(), FoldError> {
        check_next(self.stream(), self.last_seq, e)?;
        match &e.data {
            DeploymentPayload::LogOpened {} => {
                return Err(FoldError::CreatedAgain {
                    seq: e.seq,
                    what: "log_opened",
                });
            }
            DeploymentPayload::AdminRecovered {
                user,
                token_id,
                reason,
            } => self.recoveries.push(Recovery {
                seq: e.seq,
                by: e.actor.clone(),
                at: e.recorded_at,
                user: user.clone(),
                token_id: token_id.clone(),
                reason: reason.clone(),
            }),
        }
        self.last_seq = e.seq;
        Ok(())
    }
    fn create_role(_: &DeploymentCommand) -> AccountRole {
        AccountRole::Admin
    }
    fn decide_create(
        actor: &Actor,
        cmd: &DeploymentCommand,
        _: &Context<'_, ()>,
    ) -> Result<Vec<DeploymentPayload>, Refusal> {
        admin(actor)?;
        let mut out = vec![DeploymentPayload::LogOpened {}];
        out.extend(decide_recovery(cmd)?);
        Ok(out)
    }
    fn required_role(_: &DeploymentCommand) -> AccountRole {
        AccountRole::Admin
    }
    fn visible_to(&self, actor: &Actor, _: Option<&DeploymentCommand>, _: Timestamp) -> bool {
        actor.account_role == AccountRole::Admin
    }
    fn decide(
        &self,
        actor: &Actor,
        cmd: &DeploymentCommand,
        _: &Context<'_, ()>,
    ) -> Result<Vec<DeploymentPayload>, Refusal> {
        admin(actor)?;
        decide_recovery(cmd)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::numbered;

    #[test]
    fn the_last_admin_token_is_kept_and_recoveries_need_a_reason() {
        assert_eq!(check_revoke(true, 2), Ok(()));
        assert_eq!(check_revoke(false, 1), Ok(()));
        assert_eq!(check_revoke(true, 1).unwrap_err().rule, rules::LAST_ADMIN);
        let op = Actor {
            user: UserName::parse("operator").unwrap(),
            account_role: AccountRole::Admin,
        };
        let ctx = Context {
            now: Timestamp::parse("2026-12-06T10:00:00Z").unwrap(),
            policy: &(),
        };
        let cmd = |reason: &str| DeploymentCommand::RecordRecovery {
            user: UserName::parse("admin").unwrap(),
            token_id: "tok_0011223344aa".into(), // palisade:allow (an identifier, not a secret)
            reason: reason.into(),
        };
        let short = DeploymentState::decide_create(&op, &cmd("lost"), &ctx).unwrap_err();
        assert_eq!(short.rule, rules::DEPLOYMENT_REASON);
        let payloads =
            DeploymentState::decide_create(&op, &cmd("the only admin token was revoked"), &ctx)
                .unwrap();
        let events = numbered(
            StreamId::new(StreamKind::Deployment, DEPLOYMENT_ID),
            0,
            &op.user,
            ctx.now,
            None,
            payloads,
        );
        let st = DeploymentState::fold(&events).unwrap();
        assert_eq!(st.recoveries.len(), 1);
        assert_eq!(st.recoveries[0].token_id, "tok_0011223344aa");
        let viewer = Actor {
            user: op.user.clone(),
            account_role: AccountRole::Responder,
        };
        assert_eq!(
            st.decide(&viewer, &cmd("a good long reason"), &ctx)
                .unwrap_err()
                .rule,
            rules::DEPLOYMENT_ADMIN_ONLY
        );
    }
}
