//! Innocuous adjective-noun codenames for incidents ("amber-falcon"), from the project's own word
//! lists. The randomness is passed in, so this module stays free of I/O and is deterministic in
//! tests; uniqueness is enforced by the store, which asks again with the next attempt number.

const ADJECTIVES: &str = include_str!("data/adjectives.txt");
const NOUNS: &str = include_str!("data/nouns.txt");

fn words(list: &'static str) -> impl Iterator<Item = &'static str> + Clone {
    list.lines().map(str::trim).filter(|w| !w.is_empty())
}

/// Number of distinct two-word codenames.
pub fn space() -> usize {
    words(ADJECTIVES).count() * words(NOUNS).count()
}

/// The codename for a random value. After a few collisions (`attempt` ≥ 8) a numeric suffix is
/// appended so generation always terminates, even when the two-word space is crowded.
pub fn codename(random: u64, attempt: u32) -> String {
    let adjectives = words(ADJECTIVES);
    let nouns = words(NOUNS);
    let na = adjectives.clone().count() as u64;
    let nn = nouns.clone().count() as u64;
    let a = adjectives
        .clone()
        .nth((random % na) as usize)
        .unwrap_or("quiet");
    let n = nouns
        .clone()
        .nth(((random / na) % nn) as usize)
        .unwrap_or("harbor");
    if attempt < 8 {
        format!("{a}-{n}")
    } else {
        format!("{a}-{n}-{}", (random >> 32) % 10_000)
    }
}

/// Whether `s` looks like a codename (so a lookup can tell codenames from ids).
pub fn looks_like_codename(s: &str) -> bool {
    let mut parts = s.split('-');
    let ok_word = |w: Option<&str>| {
        w.is_some_and(|w| !w.is_empty() && w.bytes().all(|b| b.is_ascii_lowercase()))
    };
    ok_word(parts.next())
        && ok_word(parts.next())
        && parts.all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn word_lists_are_clean_and_large_enough() {
        for list in [ADJECTIVES, NOUNS] {
            let all: Vec<_> = words(list).collect();
            let unique: HashSet<_> = all.iter().collect();
            assert_eq!(all.len(), unique.len(), "duplicate words");
            assert!(
                all.iter()
                    .all(|w| w.bytes().all(|b| b.is_ascii_lowercase()))
            );
        }
        assert!(space() >= 20_000, "codename space {}", space());
    }

    #[test]
    fn codenames_are_adjective_noun_and_deterministic() {
        let c = codename(12345, 0);
        assert_eq!(c, codename(12345, 0));
        assert!(looks_like_codename(&c), "{c}");
        assert_eq!(c.split('-').count(), 2);
        assert_eq!(codename(12345, 9).split('-').count(), 3);
        assert!(looks_like_codename(&codename(12345, 9)));
        assert!(!looks_like_codename("0b3c2a6e-1d2f-4b7a-9a55-3f1a2b3c4d5e"));
    }
}
