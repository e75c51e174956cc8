//! The reference of a rule set as Markdown: `docs/threat-rules.md` is this rendering of the
//! built-in rules, and a test fails when the file and the rules disagree.

use std::fmt::Write as _;

use crate::engine::describe_targets;
use crate::rules::{Impact, Rule, RuleSet, Stride, Target};

/// What each category is about, in a sentence.
fn summary(stride: Stride) -> &'static str {
    match stride {
        Stride::Spoofing => {
            "Pretending to be someone or something else: a user, a service, a partner, the server itself."
        }
        Stride::Tampering => {
            "Changing data or code without authority: on the wire, in a store, or through the input a process trusts."
        }
        Stride::Repudiation => {
            "Denying an action when nothing can prove it: missing, forgeable or untrustworthy records."
        }
        Stride::InformationDisclosure => {
            "Data read by someone not meant to read it: on the wire, at rest, in logs, errors and shared services."
        }
        Stride::DenialOfService => {
            "Making a service unavailable, or too costly to run: floods, exhaustion, single points of failure, lost data."
        }
        Stride::ElevationOfPrivilege => {
            "Gaining rights one was not given: missing authorization, code execution, over-privileged components."
        }
    }
}

/// Every target kind, in the order of [`Target`].
const TARGETS: [Target; 5] = [
    Target::ExternalEntity,
    Target::Process,
    Target::DataStore,
    Target::Element,
    Target::Flow,
];

/// `docs/threat-rules.md`: how to read the rules, counts per category and target, then every
/// rule of each category with its condition, rationale, mitigations and CWE and CAPEC links.
pub fn markdown(set: &RuleSet) -> String {
    let mut s = String::from(
        "# Built-in threat rules\n\n\
         Generated from `crates/palisade-threat/rules/*.toml` by `palisade_threat::docs::markdown`: \
         do not edit it by hand. `crates/palisade-threat/tests/rules.rs` fails when it is out of \
         date; regenerate it with\n\n\
         ```sh\nPALISADE_UPDATE_DOCS=1 cargo test -p palisade-threat --test rules\n```\n\n\
         Each rule is applied to every element or flow it targets, and raises a threat where its \
         condition holds. Conditions read the attributes written on elements and flows and those \
         the analysis derives (`exposed`, `inbound_from_external`, `crosses_boundary`, the \
         classification of the data involved, `flow.source.…` and `flow.target.…`). An attribute \
         that is not written is not set: a control the model does not state is not assumed, and \
         stating it (each mitigation says how) silences the rule. A threat's id is the rule's id \
         and the id of its element or flow (`PAL-TM-S01@web`); record what was decided about it \
         under `threats:` in the model. Rule ids are stable: a rule is never renumbered and an id \
         is never reused.\n\n\
         Severity is likelihood × impact, each from low (1) to critical (4): up to 2 is low, up \
         to 5 medium, up to 9 high, 12 and more critical. An impact *from the data* is the highest \
         classification of the data the element holds or the flow carries, for the properties the \
         category threatens (medium when none is classified).\n\n\
         ## Summary\n\n",
    );
    let used: Vec<Target> = TARGETS
        .into_iter()
        .filter(|t| set.rules.iter().any(|r| r.targets.contains(t)))
        .collect();
    s.push_str("| category | rules |");
    for t in &used {
        let _ = write!(s, " {} |", t.as_str());
    }
    s.push_str("\n|---|---:|");
    for _ in &used {
        s.push_str("---:|");
    }
    s.push('\n');
    let count =
        |rules: &[&Rule], t: Target| rules.iter().filter(|r| r.targets.contains(&t)).count();
    for stride in Stride::ALL {
        let rules: Vec<&Rule> = set.rules.iter().filter(|r| r.stride == stride).collect();
        let _ = write!(
            s,
            "| [{}](#{}) | {} |",
            stride.title(),
            anchor(stride.title()),
            rules.len()
        );
        for t in &used {
            let _ = write!(s, " {} |", count(&rules, *t));
        }
        s.push('\n');
    }
    let all: Vec<&Rule> = set.rules.iter().collect();
    let _ = write!(s, "| **all** | **{}** |", all.len());
    for t in &used {
        let _ = write!(s, " **{}** |", count(&all, *t));
    }
    s.push_str("\n\nA rule that targets several kinds of element is counted under each of them.\n");
    for stride in Stride::ALL {
        let rules: Vec<&Rule> = set.rules.iter().filter(|r| r.stride == stride).collect();
        if rules.is_empty() {
            continue;
        }
        let _ = write!(
            s,
            "\n## {}\n\n{} Rules whose impact comes from the data read its {}.\n\n\
             | id | title | target | likelihood | impact |\n|---|---|---|---|---|\n",
            stride.title(),
            summary(stride),
            join_words(stride.data_properties()),
        );
        for r in &rules {
            let _ = writeln!(
                s,
                "| [{}](#{}) | {} | {} | {} | {} |",
                r.id,
                anchor(&r.id),
                cell(&r.title),
                describe_targets(&r.targets),
                r.likelihood,
                impact(r.impact),
            );
        }
        for r in &rules {
            rule_section(&mut s, r);
        }
    }
    s
}

fn rule_section(s: &mut String, r: &Rule) {
    let _ = write!(
        s,
        "\n### {}\n\n**{}**\n\n- Target: {}\n- Likelihood: {} · impact: {}\n",
        r.id,
        r.title,
        describe_targets(&r.targets),
        r.likelihood,
        match r.impact {
            Impact::Fixed(l) => l.to_string(),
            Impact::Data => format!("from the data ({})", join_words(r.stride.data_properties())),
        },
    );
    if !r.cwe.is_empty() {
        let _ = writeln!(s, "- Weaknesses: {}", links("CWE", "cwe", &r.cwe));
    }
    if !r.capec.is_empty() {
        let _ = writeln!(
            s,
            "- Attack patterns: {}",
            links("CAPEC", "capec", &r.capec)
        );
    }
    let _ = write!(
        s,
        "\nCondition:\n\n```text\n{}\n```\n\n{}\n",
        r.when.trim(),
        prose(&r.rationale)
    );
    if !r.mitigations.is_empty() {
        s.push_str("\nMitigations:\n\n");
        for m in &r.mitigations {
            let _ = writeln!(s, "- {}", prose(m));
        }
    }
    if !r.references.is_empty() {
        s.push_str("\nReferences:\n\n");
        for link in &r.references {
            let _ = writeln!(s, "- <{link}>");
        }
    }
}

fn links(prefix: &str, site: &str, ids: &[u32]) -> String {
    ids.iter()
        .map(|n| format!("[{prefix}-{n}](https://{site}.mitre.org/data/definitions/{n}.html)"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn impact(i: Impact) -> String {
    match i {
        Impact::Fixed(l) => l.to_string(),
        Impact::Data => "from the data".into(),
    }
}

/// "a", "a and b", "a, b and c".
fn join_words(words: &[&str]) -> String {
    match words {
        [] => String::new(),
        [one] => (*one).to_string(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// Text on one line, its runs of white space made single spaces.
fn prose(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Text safe in a table cell.
fn cell(text: &str) -> String {
    prose(text).replace('|', "\\|")
}

/// The anchor GitHub gives a heading: lower case, spaces as dashes, punctuation dropped.
fn anchor(heading: &str) -> String {
    heading
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c.to_ascii_lowercase()),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anchors_follow_github_headings() {
        assert_eq!(anchor("PAL-TM-S01"), "pal-tm-s01");
        assert_eq!(anchor("Information disclosure"), "information-disclosure");
        assert_eq!(anchor("Denial of service"), "denial-of-service");
    }

    #[test]
    fn words_are_joined_as_a_sentence() {
        assert_eq!(join_words(&["integrity"]), "integrity");
        assert_eq!(
            join_words(&["confidentiality", "integrity"]),
            "confidentiality and integrity"
        );
        assert_eq!(join_words(&["a", "b", "c"]), "a, b and c");
    }

    #[test]
    fn a_pipe_in_a_title_does_not_break_the_table() {
        assert_eq!(cell("a | b\n  c"), "a \\| b c");
    }
}
