//! `palisade person …`: how a user is reached when paged — contact methods and notification
//! rules. Only the user themself or an admin changes them. A thin client of the HTTP API.

use crate::client::{Client, ClientArgs, seg};
use crate::output::{json, table};
use crate::schedule_cmd::text;
use crate::{Format, Outcome};
use clap::Subcommand;
use palisade_server::routes::people::PersonView;
use serde_json::json;

#[derive(Subcommand, Debug)]
pub enum PersonCmd {
    /// Show a user's contact methods and notification rules.
    Show {
        /// The user (their name).
        user: String,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Add or remove a contact method.
    #[command(subcommand)]
    Contact(ContactCmd),
    /// Add or remove a notification rule.
    #[command(subcommand)]
    Rule(RuleCmd),
}

#[derive(Subcommand, Debug)]
pub enum ContactCmd {
    /// Add a contact method: an https webhook, a Slack-compatible webhook, or an email address.
    Add {
        /// The user (their name).
        user: String,
        /// webhook, slack or email.
        #[arg(long = "type")]
        kind: String,
        /// An https URL (webhook, slack) or an email address.
        address: String,
        /// A label to tell it apart.
        #[arg(long)]
        label: Option<String>,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Remove a contact method (by number) that no rule uses.
    Remove {
        /// The user (their name).
        user: String,
        /// Its number (as `show` lists them).
        n: u32,
        #[command(flatten)]
        client: ClientArgs,
    },
}

#[derive(Subcommand, Debug)]
pub enum RuleCmd {
    /// Use contact method `--contact` this many minutes after a page.
    Add {
        /// The user (their name).
        user: String,
        /// The contact method's number.
        #[arg(long)]
        contact: u32,
        /// Minutes after the page (0–1440).
        #[arg(long, default_value_t = 0)]
        after: u32,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Remove a notification rule (by number).
    Remove {
        /// The user (their name).
        user: String,
        /// Its number (as `show` lists them).
        n: u32,
        #[command(flatten)]
        client: ClientArgs,
    },
}

fn print_person(v: &PersonView, format: Format) {
    match format {
        Format::Json => outln!("{}", json(v)),
        Format::Table => {
            outln!("{} ({} events)", v.user, v.events);
            let rows: Vec<Vec<String>> = v
                .contact_methods
                .iter()
                .map(|c| {
                    vec![
                        c.n.to_string(),
                        text(&c.kind),
                        c.address.clone(),
                        c.label.clone().unwrap_or_default(),
                    ]
                })
                .collect();
            outln!();
            out!("{}", table(&["CONTACT", "TYPE", "ADDRESS", "LABEL"], &rows));
            let rows: Vec<Vec<String>> = v
                .notification_rules
                .iter()
                .map(|r| {
                    vec![
                        r.n.to_string(),
                        r.contact.to_string(),
                        r.after_minutes.to_string(),
                    ]
                })
                .collect();
            outln!();
            out!("{}", table(&["RULE", "CONTACT", "AFTER (MIN)"], &rows));
        }
    }
}

pub async fn run(cmd: PersonCmd) -> anyhow::Result<Outcome> {
    let (client, user, sub, body) = match cmd {
        PersonCmd::Show { user, client } => {
            let c = Client::new(&client)?;
            let v: PersonView = c.get(&format!("/api/v1/people/{}", seg(&user))).await?;
            print_person(&v, client.format);
            return Ok(Outcome::Ok);
        }
        PersonCmd::Contact(ContactCmd::Add {
            user,
            kind,
            address,
            label,
            client,
        }) => (
            client,
            user,
            "contact-methods",
            json!({"type": kind, "address": address, "label": label}),
        ),
        PersonCmd::Contact(ContactCmd::Remove { user, n, client }) => {
            (client, user, "contact-methods/remove", json!({"n": n}))
        }
        PersonCmd::Rule(RuleCmd::Add {
            user,
            contact,
            after,
            client,
        }) => (
            client,
            user,
            "notification-rules",
            json!({"contact": contact, "after_minutes": after}),
        ),
        PersonCmd::Rule(RuleCmd::Remove { user, n, client }) => {
            (client, user, "notification-rules/remove", json!({"n": n}))
        }
    };
    let c = Client::new(&client)?;
    let v: PersonView = c
        .post(&format!("/api/v1/people/{}/{sub}", seg(&user)), &body)
        .await?;
    print_person(&v, client.format);
    Ok(Outcome::Ok)
}
