//! A challenge's value after a number of solves, as CTFd's dynamic challenges compute it
//! (CTFd `CTFd/plugins/dynamic_challenges/decay.py`; see `docs/training.md`):
//!
//! - the first solve keeps the initial value: with `n` solves, `s = max(n − 1, 0)`;
//! - linear: `initial − decay × s`;
//! - logarithmic (CTFd's name; the curve is a parabola): `initial + (minimum − initial) / decay² × s²`,
//!   a decay of 0 taken as 1;
//! - rounded up (`ceil`), and never below `minimum`.
//!
//! CTFd evaluates the parabola in floating point; here it is exact integer arithmetic
//! (`initial − floor((initial − minimum) × s² / decay²)`, which is the same `ceil`), so no value
//! is off by one where a float lands a hair below a whole number. Every solver of a challenge
//! is credited its current value (a solve lowers the score of those who solved it before), as
//! in CTFd.

use super::challenge::{Decay, Scoring};

/// The value of a challenge solved `solves` times.
pub fn value(scoring: &Scoring, solves: u64) -> u32 {
    match *scoring {
        Scoring::Static { value } => value,
        Scoring::Dynamic {
            initial,
            minimum,
            decay,
            function,
        } => {
            let s = solves.saturating_sub(1) as u128;
            let (initial, minimum, decay) = (initial as u128, minimum as u128, decay as u128);
            let drop = match function {
                Decay::Linear => decay.saturating_mul(s),
                Decay::Logarithmic => {
                    let d = decay.max(1);
                    (initial.saturating_sub(minimum)).saturating_mul(s.saturating_mul(s)) / (d * d)
                }
            };
            initial.saturating_sub(drop).max(minimum) as u32
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn static_values_do_not_move() {
        assert_eq!(value(&Scoring::Static { value: 100 }, 0), 100);
        assert_eq!(value(&Scoring::Static { value: 100 }, 1000), 100);
    }
}
