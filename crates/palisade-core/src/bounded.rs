//! A map that keeps what was used recently and forgets the rest, in bounded memory.
//!
//! Two generations: entries go into the newer; when it is full it becomes the older and the
//! older is dropped. An entry found in the older is moved back into the newer, so what is used
//! often stays however many entries pass through. A generation is full at a number of entries
//! and, for values whose size varies (a folded state carrying a 500 KB payload), at a total
//! weight the caller gives each entry; at most two generations are held. This is what the
//! server's caches use (states folded from the ledger, the writer's stream heads, open alert
//! keys): clearing everything at a bound made a cache of N useless for a working set of N + 1,
//! an unbounded one grew with every stream ever written, and a count alone let a few hostile
//! payloads multiply a cache's memory.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::Hash;

#[derive(Debug, Clone)]
pub struct Generations<K, V> {
    new: HashMap<K, (V, usize)>,
    old: HashMap<K, (V, usize)>,
    new_weight: usize,
    per_generation: usize,
    weight_per_generation: usize,
}

impl<K: Hash + Eq, V> Generations<K, V> {
    /// A map of at most `per_generation` entries (at least one) per generation.
    pub fn new(per_generation: usize) -> Self {
        Generations {
            new: HashMap::new(),
            old: HashMap::new(),
            new_weight: 0,
            per_generation: per_generation.max(1),
            weight_per_generation: usize::MAX,
        }
    }

    /// The same, a generation also full once its entries' weights reach `weight` (an entry
    /// heavier than that still goes in, alone in its generation).
    pub fn with_weight(per_generation: usize, weight: usize) -> Self {
        Generations {
            weight_per_generation: weight.max(1),
            ..Generations::new(per_generation)
        }
    }

    /// The entry for `key`, kept for longer for having been used.
    pub fn get<Q>(&mut self, key: &Q) -> Option<&V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        if !self.new.contains_key(key) {
            let (k, (v, w)) = self.old.remove_entry(key)?;
            self.insert_weighted(k, v, w);
        }
        self.new.get(key).map(|(v, _)| v)
    }

    /// Set the entry for `key` (replacing any other for it), of weight 1.
    pub fn insert(&mut self, key: K, value: V) {
        self.insert_weighted(key, value, 1);
    }

    /// Set the entry for `key` with its weight (for [`Generations::with_weight`]).
    pub fn insert_weighted(&mut self, key: K, value: V, weight: usize) {
        self.old.remove(&key);
        if let Some((_, w)) = self.new.remove(&key) {
            self.new_weight -= w;
        }
        if !self.new.is_empty()
            && (self.new.len() >= self.per_generation
                || self.new_weight.saturating_add(weight) > self.weight_per_generation)
        {
            self.old = std::mem::take(&mut self.new);
            self.new_weight = 0;
        }
        self.new_weight += weight;
        self.new.insert(key, (value, weight));
    }

    pub fn remove<Q>(&mut self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        if let Some((v, w)) = self.new.remove(key) {
            self.new_weight -= w;
            return Some(v);
        }
        self.old.remove(key).map(|(v, _)| v)
    }

    /// Keep only the entries `keep` says to.
    pub fn retain(&mut self, mut keep: impl FnMut(&K, &V) -> bool) {
        self.old.retain(|k, (v, _)| keep(k, v));
        let mut dropped = 0;
        self.new.retain(|k, (v, w)| {
            let kept = keep(k, v);
            if !kept {
                dropped += *w;
            }
            kept
        });
        self.new_weight -= dropped;
    }

    pub fn clear(&mut self) {
        self.new.clear();
        self.old.clear();
        self.new_weight = 0;
    }

    pub fn len(&self) -> usize {
        self.new.len() + self.old.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The weight of every entry held.
    pub fn weight(&self) -> usize {
        self.new_weight + self.old.values().map(|(_, w)| w).sum::<usize>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_recent_entries_and_stays_bounded() {
        const N: usize = 100;
        let mut m = Generations::new(N);
        for i in 0..3 * N {
            m.insert(i, i * 10);
            assert!(m.len() <= 2 * N, "{} entries after {i}", m.len());
        }
        // The last generation's worth is always there; the first ones are gone.
        for i in 2 * N + 1..3 * N {
            assert_eq!(m.get(&i), Some(&(i * 10)), "{i}");
        }
        assert_eq!(m.get(&0), None);
    }

    #[test]
    fn an_entry_in_use_survives_any_number_of_others() {
        const N: usize = 10;
        let mut m = Generations::new(N);
        m.insert("hot".to_string(), 1);
        for i in 0..50 * N {
            m.insert(format!("cold {i}"), i);
            assert_eq!(m.get("hot"), Some(&1), "after {i} others");
        }
        assert!(m.len() <= 2 * N);
    }

    #[test]
    fn a_working_set_one_larger_than_a_generation_is_still_held() {
        // Clearing everything at the bound would miss on every access of this cycle.
        const N: usize = 64;
        let mut m = Generations::new(N);
        for i in 0..=N {
            m.insert(i, i);
        }
        for _ in 0..5 {
            for i in 0..=N {
                assert_eq!(m.get(&i), Some(&i));
            }
        }
    }

    #[test]
    fn heavy_entries_fill_a_generation_before_its_count() {
        // 1,000 entries allowed, but a weight of 100 per generation: ten entries of 10 fill it.
        let mut m = Generations::with_weight(1_000, 100);
        for i in 0..1_000 {
            m.insert_weighted(i, i, 10);
            assert!(m.weight() <= 200, "weight {} after {i}", m.weight());
            assert!(m.len() <= 20);
        }
        assert_eq!(m.get(&999), Some(&999));
        // One heavier than a whole generation still goes in, alone, and then gives way.
        m.insert_weighted(-1, -1, 1_000);
        assert_eq!(m.get(&-1), Some(&-1));
        m.insert_weighted(-2, -2, 1);
        assert_eq!(m.get(&-2), Some(&-2));
        assert!(m.weight() <= 1_001);
        // Replacing an entry replaces its weight.
        m.insert_weighted(-2, -2, 50);
        m.insert_weighted(-2, -2, 5);
        assert_eq!(m.weight(), 1_000 + 5);
    }

    #[test]
    fn insert_replaces_remove_and_retain_reach_either_generation() {
        let mut m = Generations::new(2);
        m.insert(1, "a");
        m.insert(2, "b");
        m.insert(3, "c"); // 1 and 2 move to the older generation
        m.insert(1, "A"); // replaces the older entry; no stale copy remains
        assert_eq!(m.remove(&1), Some("A"));
        assert_eq!(m.get(&1), None);
        assert_eq!(m.remove(&2), Some("b"));
        assert_eq!(m.remove(&2), None);
        m.insert(4, "d");
        m.insert(5, "e");
        m.retain(|k, _| k % 2 == 1);
        assert_eq!(m.get(&3), Some(&"c"));
        assert_eq!(m.get(&4), None);
        assert_eq!(m.get(&5), Some(&"e"));
        assert_eq!(m.weight(), m.len());
        m.clear();
        assert!(m.is_empty());
        assert_eq!(m.get(&3), None);
    }
}
