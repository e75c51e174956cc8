//! OpenAPI schemas of the core's types (feature `openapi`) that a derive cannot express, so the
//! HTTP API documents the values it accepts and returns: the canonical spellings as enums
//! (aliases such as `ic` or `sev1` are accepted too, and documented in the descriptions), times
//! as RFC 3339 date-times, names by their patterns, and the event envelope (its `Serialize` is
//! hand-written: format 1 names an `incident`, format 2 a `stream`). The core's plain data types
//! derive `ToSchema` where they are declared.

use crate::event::{Event, Payload, Timestamp};
use crate::service::{ServiceName, ServicePayload};
use crate::stream::StreamId;
use crate::types::{AccountRole, Kind, ResourceName, Role, Severity, Status, UserName};
use std::borrow::Cow;
use utoipa::openapi::schema::{
    AdditionalProperties, KnownFormat, ObjectBuilder, OneOfBuilder, Schema, SchemaFormat, Type,
};
use utoipa::openapi::{Ref, RefOr};
use utoipa::{PartialSchema, ToSchema};

fn string_enum(values: &[&str], description: &str) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(values.iter().copied()))
        .description(Some(description))
        .into()
}

macro_rules! enum_schema {
    ($t:ty, $values:expr, $desc:literal) => {
        impl PartialSchema for $t {
            fn schema() -> RefOr<Schema> {
                string_enum(&$values, $desc)
            }
        }
        impl ToSchema for $t {}
    };
}

fn names<T: Copy>(all: &[T], f: impl Fn(T) -> &'static str) -> Vec<&'static str> {
    all.iter().map(|v| f(*v)).collect()
}

impl PartialSchema for Severity {
    fn schema() -> RefOr<Schema> {
        string_enum(
            &["SEV-1", "SEV-2", "SEV-3", "SEV-4", "SEV-5"],
            "SEV-1 (most urgent) … SEV-5; SEV-1 and SEV-2 are major. When unsure, pick the higher.",
        )
    }
}
impl ToSchema for Severity {}

enum_schema!(
    Kind,
    names(Kind::ALL, Kind::as_str),
    "security (restricted by default, the 14-step playbook) or operational. When unsure whether it is a security incident, declare it as one."
);
enum_schema!(
    Status,
    names(Status::ALL, Status::as_str),
    "The incident lifecycle: declared → investigating → contained → resolved → closed."
);
enum_schema!(
    Role,
    names(Role::ALL, Role::as_str),
    "A role in one incident (aliases: ic, commander, sme)."
);
enum_schema!(
    AccountRole,
    names(AccountRole::ALL, AccountRole::as_str),
    "What an account may do: admin, responder or viewer (read only)."
);

fn pattern(p: &str, description: &str, example: &str) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(p))
        .min_length(Some(1))
        .max_length(Some(64))
        .description(Some(description))
        .examples([example])
        .into()
}

impl PartialSchema for UserName {
    fn schema() -> RefOr<Schema> {
        pattern(
            "^[a-z0-9][a-z0-9._-]{0,63}$",
            "A user name: 1–64 characters of a-z, 0-9, '.', '_', '-', starting with a letter or digit.",
            "dana",
        )
    }
}
impl ToSchema for UserName {}

impl PartialSchema for ServiceName {
    fn schema() -> RefOr<Schema> {
        pattern(
            "^[a-z0-9][a-z0-9._-]{0,63}$",
            "A service name: 1–64 characters of a-z, 0-9, '.', '_', '-', starting with a letter or digit.",
            "payments-api",
        )
    }
}
impl ToSchema for ServiceName {}

impl PartialSchema for ResourceName {
    fn schema() -> RefOr<Schema> {
        pattern(
            "^[a-z0-9][a-z0-9._-]{0,63}$",
            "A schedule's, escalation policy's or team's name: 1–64 characters of a-z, 0-9, '.', '_', '-', starting with a letter or digit; unique among its kind.",
            "payments-primary",
        )
    }
}
impl ToSchema for ResourceName {}

/// An RFC 3339 date-time.
fn date_time(description: &str) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime)))
        .description(Some(description))
}

impl PartialSchema for Timestamp {
    fn schema() -> RefOr<Schema> {
        date_time("RFC 3339 with its offset, e.g. 2026-11-26T03:12:00+01:00 (the offset is kept).")
            .into()
    }
}
impl ToSchema for Timestamp {}

impl PartialSchema for StreamId {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .pattern(Some(
                "^(incident|service)/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$",
            ))
            .description(Some(
                "A stream (aggregate instance): its kind and UUID, `kind/uuid`.",
            ))
            .examples(["incident/0193f6a2-7c4e-7b1a-9d2e-4f5a6b7c8d9e"])
            .into()
    }
}
impl ToSchema for StreamId {}

/// One format of the event envelope: `format` is `version`, the stream is named by `stream_key`.
fn envelope_format<P: ToSchema>(
    version: u32,
    stream_key: &str,
    stream_schema: RefOr<Schema>,
    description: &str,
) -> RefOr<Schema> {
    let format = ObjectBuilder::new()
        .schema_type(Type::Integer)
        .enum_values(Some([version]))
        .description(Some("Body format version (see docs/ledger-format.md)."));
    let seq = ObjectBuilder::new()
        .schema_type(Type::Integer)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
        .minimum(Some(1))
        .description(Some(
            "Position in the stream's ledger, from 1, without gaps.",
        ));
    let recorded_at = date_time("When the server recorded it (server clock, UTC).");
    let occurred_at = date_time(
        "When it happened, as reported (offset kept); equals `recorded_at` when not given.",
    );
    ObjectBuilder::new()
        .description(Some(description))
        .property("format", format)
        .required("format")
        .property(stream_key, stream_schema)
        .required(stream_key)
        .property("seq", seq)
        .required("seq")
        .property("recorded_at", recorded_at)
        .required("recorded_at")
        .property("occurred_at", occurred_at)
        .required("occurred_at")
        .property("actor", UserName::schema())
        .required("actor")
        .property("data", Ref::from_schema_name(P::name()))
        .required("data")
        .additional_properties(Some(AdditionalProperties::FreeForm(false)))
        .into()
}

/// The event envelope around payload `P`: format 2 names its stream (`kind/uuid`); format 1
/// (incidents only, recorded before streams existed) names its `incident`.
fn envelope<P: ToSchema>(what: &str) -> RefOr<Schema> {
    let incident_id = ObjectBuilder::new()
        .schema_type(Type::String)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Uuid)))
        .description(Some("The incident's id (format 1)."));
    OneOfBuilder::new()
        .description(Some(format!(
            "One ledger event of {what}, as hashed: the envelope every event shares, and what \
             happened (`data`, tagged by its `type`)."
        )))
        .item(envelope_format::<P>(
            crate::event::EVENT_FORMAT,
            "stream",
            StreamId::schema(),
            "Format 2: the stream is named `kind/uuid`.",
        ))
        .item(envelope_format::<P>(
            1,
            "incident",
            incident_id.into(),
            "Format 1 (incidents only, recorded before streams existed).",
        ))
        .into()
}

impl PartialSchema for Event<Payload> {
    fn schema() -> RefOr<Schema> {
        envelope::<Payload>("an incident")
    }
}
impl ToSchema for Event<Payload> {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("IncidentEvent")
    }
    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        schemas.push((Payload::name().into(), Payload::schema()));
        Payload::schemas(schemas);
    }
}

impl PartialSchema for Event<ServicePayload> {
    fn schema() -> RefOr<Schema> {
        envelope::<ServicePayload>("a service")
    }
}
impl ToSchema for Event<ServicePayload> {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("ServiceEvent")
    }
    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        schemas.push((ServicePayload::name().into(), ServicePayload::schema()));
        ServicePayload::schemas(schemas);
    }
}

/// `CustodyEntry::action`: what the step in the chain of custody was.
pub(crate) fn custody_action() -> RefOr<Schema> {
    string_enum(
        &[
            "acquired",
            "transferred",
            "accessed",
            "exported",
            "integrity_failed",
        ],
        "What happened in this step of the chain of custody.",
    )
}
