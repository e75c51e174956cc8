//! A threat model of 200 elements, end to end: read and validate the YAML, analyse it with the
//! built-in rules, draw the SVG diagram — and each part alone. The target is under 100 ms for the
//! whole. Run with `cargo bench -p palisade-threat --bench threat_model`; it prints the median and
//! the minimum of many runs of each.
//!
//! The model is `synthetic_model_yaml(200, 1)`: nested boundaries (a cloud account, a VPC and three
//! subnets, operations), users, partners, gateways, services, stores and queues, about 300 flows.
//! The rules are Palisade's built-in set; the analysis is also timed with the set twice over
//! (each rule again under another id), for a team that adds as many rules of its own.

use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use palisade_threat::{RuleSet, analyse, diagram, model, synthetic_model_yaml};

const TODAY: (i32, u8, u8) = (2026, 12, 7);
const ELEMENTS: usize = 200;

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Run `f` a few times to warm up, then `runs` times; print and return the median.
fn measure<T>(name: &str, runs: usize, mut f: impl FnMut() -> T) -> Duration {
    for _ in 0..3 {
        black_box(f());
    }
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            black_box(f());
            start.elapsed()
        })
        .collect();
    times.sort();
    let median = times[times.len() / 2];
    println!(
        "{name:<52} median {:>8.3} ms   min {:>8.3} ms   ({runs} runs)",
        ms(median),
        ms(times[0])
    );
    median
}

fn main() {
    let yaml = synthetic_model_yaml(ELEMENTS, 1);
    let dir = std::env::temp_dir().join(format!("palisade-threat-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    let file = dir.join("synthetic.yaml");
    std::fs::write(&file, &yaml).expect("the model written");

    let builtin = RuleSet::builtin();
    let mut many = builtin.clone();
    for r in &builtin.rules {
        let mut r = r.clone();
        r.id = format!("{}-again", r.id);
        many.rules.push(r);
    }
    let n_many = many.rules.len();

    let m = model::load(&file).unwrap_or_else(|e| panic!("the synthetic model loads: {}", e[0]));
    let a = analyse(&m, &builtin, TODAY);
    let svg = diagram::svg(&m, Some(&a));
    println!(
        "model: {} elements, {} flows, {} boundaries, {} KiB of YAML; built-in rules: {}, threats: {} ({} open); SVG {} KiB",
        m.elements.len(),
        m.flows.len(),
        m.boundaries.len(),
        yaml.len() / 1024,
        builtin.rules.len(),
        a.threats.len(),
        a.threats.iter().filter(|t| t.status.is_open()).count(),
        svg.len() / 1024
    );
    let with_many = analyse(&m, &many, TODAY);
    println!(
        "with {n_many} rules: {} threats ({} open)\n",
        with_many.threats.len(),
        with_many
            .threats
            .iter()
            .filter(|t| t.status.is_open())
            .count()
    );

    let runs = 200;
    let total = measure("end to end: load + analyse (built-in) + SVG", runs, || {
        let m = model::load(&file).expect("loads");
        let a = analyse(&m, &builtin, TODAY);
        diagram::svg(&m, Some(&a))
    });
    measure(&format!("end to end with {n_many} rules"), runs, || {
        let m = model::load(&file).expect("loads");
        let a = analyse(&m, &many, TODAY);
        diagram::svg(&m, Some(&a))
    });
    measure("load: read + parse + validate (model::load)", runs, || {
        model::load(&file).expect("loads")
    });
    measure("parse + validate from text (model::from_str)", runs, || {
        model::from_str(Path::new("synthetic.yaml"), &yaml).expect("loads")
    });
    measure("analyse, built-in rules", runs, || {
        analyse(&m, &builtin, TODAY)
    });
    measure(&format!("analyse, {n_many} rules"), runs, || {
        analyse(&m, &many, TODAY)
    });
    measure("SVG (layout, routing, labels, text)", runs, || {
        diagram::svg(&m, Some(&a))
    });
    measure("DOT", runs, || diagram::dot(&m, Some(&a)));

    let _ = std::fs::remove_dir_all(&dir);
    println!(
        "\ntarget: under 100 ms end to end for {ELEMENTS} elements — {}",
        if total < Duration::from_millis(100) {
            "met"
        } else {
            "NOT met"
        }
    );
}
