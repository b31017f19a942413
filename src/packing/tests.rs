//! Properties of [`pack`] across algorithms and groupings, checked against an exhaustive search
//! written here independently of the packer (its own cost arithmetic, no pruning).

use proptest::prelude::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::*;

/// LPT's known worst case for two shards: items 3, 3, 2, 2, 2 (LPT 7, optimum 6), with
/// `overhead` per shard and no groups. Shared by the algorithms' unit tests.
pub(crate) fn lpt_worst_case(overhead: f64) -> Problem {
    let items = [3.0, 3.0, 2.0, 2.0, 2.0]
        .iter()
        .enumerate()
        .map(|(i, &e)| Item::new(format!("t{i}"), e))
        .collect();
    Problem::new(items, &GroupCosts::default(), overhead).unwrap()
}

/// A generated instance kept in raw form, so the oracle does not share the packer's code.
#[derive(Debug, Clone)]
struct Raw {
    estimates: Vec<f64>,
    /// (file, class within file) labels per item.
    labels: Vec<(Option<u8>, Option<u8>)>,
    file_setup: [f64; 3],
    class_setup: [f64; 2],
    overhead: f64,
}

impl Raw {
    fn file_label(f: u8) -> String {
        format!("tests/test_{f}.py")
    }

    fn class_label(f: u8, c: u8) -> String {
        format!("tests/test_{f}.py::Test{c}")
    }

    fn problem(&self) -> Problem {
        let (items, costs) = self.items_and_costs();
        Problem::new(items, &costs, self.overhead).unwrap()
    }

    fn items_and_costs(&self) -> (Vec<Item>, GroupCosts) {
        let mut costs = GroupCosts::default();
        for f in 0..3u8 {
            costs
                .file
                .insert(Raw::file_label(f), self.file_setup[f as usize]);
            for c in 0..2u8 {
                costs
                    .class
                    .insert(Raw::class_label(f, c), self.class_setup[c as usize]);
            }
        }
        let items = self
            .estimates
            .iter()
            .zip(&self.labels)
            .enumerate()
            .map(|(i, (&e, &(f, c)))| {
                let mut item = Item::new(format!("t{i:03}"), e);
                if let Some(f) = f {
                    item = item.with_file(Raw::file_label(f));
                    if let Some(c) = c {
                        item = item.with_class(Raw::class_label(f, c));
                    }
                }
                item
            })
            .collect();
        (items, costs)
    }

    /// Group keys an item pays for: files 0..3, classes 3 + 2f + c.
    fn groups(&self, i: usize) -> Vec<(usize, f64)> {
        let mut out = Vec::new();
        if let (Some(f), c) = self.labels[i] {
            out.push((f as usize, self.file_setup[f as usize]));
            if let Some(c) = c {
                out.push((
                    3 + 2 * f as usize + c as usize,
                    self.class_setup[c as usize],
                ));
            }
        }
        out
    }

    /// Optimal makespan over every assignment to exactly `shards` non-empty shards.
    fn optimum(&self, shards: usize) -> f64 {
        let n = self.estimates.len();
        let groups: Vec<_> = (0..n).map(|i| self.groups(i)).collect();
        let mut counts = vec![[0u32; 9]; shards];
        let mut loads = vec![self.overhead; shards];
        let mut best = f64::INFINITY;
        #[allow(clippy::too_many_arguments)]
        fn go(
            i: usize,
            used: usize,
            raw: &Raw,
            groups: &[Vec<(usize, f64)>],
            counts: &mut [[u32; 9]],
            loads: &mut [f64],
            shards: usize,
            best: &mut f64,
        ) {
            if i == raw.estimates.len() {
                if used == shards {
                    *best = best.min(loads.iter().copied().fold(0.0, f64::max));
                }
                return;
            }
            // Restricted growth: each item joins a used shard or opens the next one.
            for s in 0..(used + 1).min(shards) {
                let mut add = raw.estimates[i];
                for &(g, cost) in &groups[i] {
                    if counts[s][g] == 0 {
                        add += cost;
                    }
                    counts[s][g] += 1;
                }
                loads[s] += add;
                go(
                    i + 1,
                    used.max(s + 1),
                    raw,
                    groups,
                    counts,
                    loads,
                    shards,
                    best,
                );
                loads[s] -= add;
                for &(g, _) in &groups[i] {
                    counts[s][g] -= 1;
                }
            }
        }
        go(
            0,
            0,
            self,
            &groups,
            &mut counts,
            &mut loads,
            shards,
            &mut best,
        );
        best
    }
}

fn raw_strategy(max_items: usize, grouped: bool) -> impl Strategy<Value = Raw> {
    let label = if grouped {
        (proptest::option::of(0u8..3), proptest::option::of(0u8..2)).boxed()
    } else {
        Just((None, None)).boxed()
    };
    let setup = if grouped {
        0.0..30.0
    } else {
        0.0..f64::MIN_POSITIVE
    };
    raws(max_items, 50.0, label, setup.clone(), setup, 20.0)
}

/// Raw instances: up to `max_items` items of up to `longest` seconds with the given labels,
/// three file and two class setups from the given ranges, an overhead up to `overhead`.
fn raws(
    max_items: usize,
    longest: f64,
    label: impl Strategy<Value = (Option<u8>, Option<u8>)>,
    file_setup: std::ops::Range<f64>,
    class_setup: std::ops::Range<f64>,
    overhead: f64,
) -> impl Strategy<Value = Raw> {
    (
        proptest::collection::vec((0.0f64..longest, label), 1..=max_items),
        [file_setup.clone(), file_setup.clone(), file_setup],
        [class_setup.clone(), class_setup],
        0.0f64..overhead,
    )
        .prop_map(|(items, file_setup, class_setup, overhead)| Raw {
            estimates: items.iter().map(|(e, _)| *e).collect(),
            labels: items.iter().map(|(_, l)| *l).collect(),
            file_setup,
            class_setup,
            overhead,
        })
}

fn group_by() -> impl Strategy<Value = GroupBy> {
    prop_oneof![
        Just(GroupBy::Auto),
        Just(GroupBy::None),
        Just(GroupBy::File),
        Just(GroupBy::Class)
    ]
}

fn opts(algorithm: Algorithm, group_by: GroupBy) -> PackOptions {
    PackOptions {
        algorithm,
        group_by,
        ..PackOptions::default()
    }
}

proptest! {
    #[test]
    fn every_item_once_and_no_empty_shard(
        raw in raw_strategy(120, true), shards in 1usize..20, group_by in group_by(),
        algorithm in prop_oneof![Just(Algorithm::Lpt), Just(Algorithm::Best)],
    ) {
        let problem = raw.problem();
        let plan = pack(&problem, shards, &opts(algorithm, group_by)).unwrap();
        prop_assert_eq!(plan.shards.len(), shards.min(raw.estimates.len()));
        prop_assert!(plan.shards.iter().all(|s| !s.tests.is_empty()));
        let mut ids: Vec<_> = plan.shards.iter().flat_map(|s| s.tests.iter().cloned()).collect();
        ids.sort();
        let mut expected: Vec<_> = (0..raw.estimates.len()).map(|i| format!("t{i:03}")).collect();
        expected.sort();
        prop_assert_eq!(ids, expected);
        for s in &plan.shards {
            prop_assert!(s.tests.windows(2).all(|w| w[0] < w[1]), "tests sorted by id");
        }
        prop_assert!(plan.lower_bound <= plan.makespan + 1e-9);
        prop_assert!(plan.efficiency > 0.0 && plan.efficiency <= 1.0);
        let longest = plan.shards.iter().map(|s| s.seconds).fold(0.0, f64::max);
        prop_assert_eq!(plan.makespan, longest);
    }

    #[test]
    fn never_worse_than_lpt(
        raw in raw_strategy(150, true), shards in 1usize..24, group_by in group_by(),
    ) {
        let problem = raw.problem();
        let best = pack(&problem, shards, &opts(Algorithm::Best, group_by)).unwrap();
        let lpt = pack(&problem, shards, &opts(Algorithm::Lpt, group_by)).unwrap();
        prop_assert!(best.makespan <= lpt.makespan + 1e-9, "{} > {}", best.makespan, lpt.makespan);
    }

    #[test]
    fn same_plan_whatever_the_input_order(raw in raw_strategy(60, true), shards in 1usize..8, turn in 0usize..60) {
        let (items, costs) = raw.items_and_costs();
        let mut shuffled = items.clone();
        shuffled.reverse();
        let turn = turn % shuffled.len();
        shuffled.rotate_left(turn);
        let a = pack(&Problem::new(items, &costs, raw.overhead).unwrap(), shards, &PackOptions::default()).unwrap();
        let b = pack(&Problem::new(shuffled, &costs, raw.overhead).unwrap(), shards, &PackOptions::default()).unwrap();
        prop_assert_eq!(a, b);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn optimal_on_small_independent_instances(raw in raw_strategy(12, false), shards in 1usize..=4) {
        let problem = raw.problem();
        let k = shards.min(raw.estimates.len());
        let plan = pack(&problem, shards, &PackOptions::default()).unwrap();
        let opt = raw.optimum(k);
        prop_assert!((plan.makespan - opt).abs() <= 1e-9 * opt.max(1.0), "{} vs {}", plan.makespan, opt);
    }

    #[test]
    fn optimal_on_small_grouped_instances(
        raw in raw_strategy(12, true), shards in 1usize..=4,
        group_by in prop_oneof![Just(GroupBy::Auto), Just(GroupBy::None)],
    ) {
        let problem = raw.problem();
        let k = shards.min(raw.estimates.len());
        let plan = pack(&problem, shards, &opts(Algorithm::Best, group_by)).unwrap();
        let opt = raw.optimum(k);
        prop_assert!((plan.makespan - opt).abs() <= 1e-9 * opt.max(1.0), "{} vs {}", plan.makespan, opt);
    }
}

/// Instances where groups often outgrow a shard: few shards' worth of items, large setups.
fn split_prone_strategy() -> impl Strategy<Value = Raw> {
    let label = (proptest::option::of(0u8..2), proptest::option::of(0u8..2));
    raws(9, 20.0, label, 0.0..40.0, 0.0..20.0, 5.0)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn lower_bound_never_exceeds_the_optimum(
        raw in prop_oneof![split_prone_strategy(), raw_strategy(9, true)], shards in 1usize..=5,
    ) {
        let k = shards.min(raw.estimates.len());
        let bound = raw.problem().lower_bound(shards);
        let opt = raw.optimum(k);
        prop_assert!(bound <= opt + 1e-9 * opt.max(1.0), "bound {} > optimum {}", bound, opt);
    }
}

/// `count` log-normal estimates (ln ~ Normal(0, sigma)), seeded.
fn lognormal_suite(count: usize, sigma: f64, seed: u64) -> Problem {
    let mut rng = StdRng::seed_from_u64(seed);
    let items = (0..count)
        .map(|i| {
            let u1: f64 = 1.0 - rng.r#gen::<f64>();
            let u2: f64 = rng.r#gen::<f64>();
            let z = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
            Item::new(format!("tests/test_{:05}.py::test", i), (sigma * z).exp())
        })
        .collect();
    Problem::new(items, &GroupCosts::default(), 0.0).unwrap()
}

#[test]
fn lognormal_suites_reach_995_efficiency() {
    let problem = lognormal_suite(10_000, 1.5, 42);
    for shards in [2, 8, 64] {
        let plan = pack(&problem, shards, &PackOptions::default()).unwrap();
        assert!(
            plan.efficiency >= 0.995,
            "N={shards}: efficiency {} ({})",
            plan.efficiency,
            plan.strategy
        );
    }
}

#[test]
fn identical_input_gives_identical_plan() {
    let problem = lognormal_suite(2_000, 1.5, 7);
    let a = pack(&problem, 16, &PackOptions::default()).unwrap();
    let b = pack(&problem.clone(), 16, &PackOptions::default()).unwrap();
    assert_eq!(
        serde_json::to_string(&a).unwrap(),
        serde_json::to_string(&b).unwrap()
    );
}

#[test]
fn input_order_does_not_matter() {
    let items: Vec<Item> = (0..50)
        .map(|i| {
            Item::new(format!("t{i:02}"), (i % 7) as f64 + 0.5).with_file(format!("f{}", i % 4))
        })
        .collect();
    let mut costs = GroupCosts::default();
    costs.file.insert("f1".into(), 5.0);
    let mut shuffled = items.clone();
    shuffled.reverse();
    shuffled.rotate_left(13);
    let a = pack(
        &Problem::new(items, &costs, 3.0).unwrap(),
        5,
        &PackOptions::default(),
    )
    .unwrap();
    let b = pack(
        &Problem::new(shuffled, &costs, 3.0).unwrap(),
        5,
        &PackOptions::default(),
    )
    .unwrap();
    assert_eq!(a, b);
}

#[test]
fn shard_count_is_clamped_and_errors_are_typed() {
    let problem = lognormal_suite(3, 1.0, 1);
    let plan = pack(&problem, 10, &PackOptions::default()).unwrap();
    assert_eq!(plan.shards.len(), 3);
    assert_eq!(
        pack(&problem, 0, &PackOptions::default()),
        Err(PackError::NoShards)
    );
    let empty = Problem::new(vec![], &GroupCosts::default(), 1.0).unwrap();
    assert_eq!(
        pack(&empty, 4, &PackOptions::default()),
        Err(PackError::NoItems)
    );
}

#[test]
fn expensive_fixtures_keep_files_whole() {
    // Four files of 10 tests x 1 s, each file's fixture costs 20 s; 4 shards.
    // Keeping files whole: 30 s per shard. Spreading every file (LPT): each shard pays all setups.
    let mut costs = GroupCosts::default();
    let items: Vec<Item> = (0..40)
        .map(|i| Item::new(format!("t{i:02}"), 1.0).with_file(format!("f{}", i / 10)))
        .collect();
    for f in 0..4 {
        costs.file.insert(format!("f{f}"), 20.0);
    }
    let problem = Problem::new(items, &costs, 0.0).unwrap();
    let best = pack(&problem, 4, &PackOptions::default()).unwrap();
    let lpt = pack(&problem, 4, &opts(Algorithm::Lpt, GroupBy::None)).unwrap();
    assert_eq!(best.makespan, 30.0);
    assert_eq!(best.efficiency, 1.0);
    assert!(lpt.makespan > 60.0, "LPT spreads files: {}", lpt.makespan);
}

#[test]
fn few_long_tests_among_many_short() {
    // 3 tests of 100 s and 300 of 1 s into 4 shards: optimum 150 s.
    let mut items: Vec<Item> = (0..3)
        .map(|i| Item::new(format!("long{i}"), 100.0))
        .collect();
    items.extend((0..300).map(|i| Item::new(format!("short{i:03}"), 1.0)));
    let problem = Problem::new(items, &GroupCosts::default(), 0.0).unwrap();
    let plan = pack(&problem, 4, &PackOptions::default()).unwrap();
    assert_eq!(plan.makespan, 150.0);
}

#[test]
fn oracle_knows_small_answers() {
    let raw = Raw {
        estimates: vec![3.0, 3.0, 2.0, 2.0, 2.0],
        labels: vec![(None, None); 5],
        file_setup: [0.0; 3],
        class_setup: [0.0; 2],
        overhead: 1.0,
    };
    assert_eq!(raw.optimum(2), 7.0);
    let grouped = Raw {
        estimates: vec![1.0; 4],
        labels: vec![(Some(0), None); 4],
        file_setup: [100.0, 0.0, 0.0],
        ..raw.clone()
    };
    // Both shards must pay the setup: 1 + 100 + 2 each.
    assert_eq!(grouped.optimum(2), 103.0);
    // Twelve items into four shards is within the exhaustive search's reach.
    let twelve = Raw {
        estimates: (1..=12).map(f64::from).collect(),
        labels: vec![(None, None); 12],
        ..raw
    };
    assert_eq!(twelve.optimum(4), 1.0 + 78.0 / 4.0 + 0.5);
    let plan = pack(&twelve.problem(), 4, &PackOptions::default()).unwrap();
    assert_eq!(plan.makespan, twelve.optimum(4));
    assert_eq!(plan.strategy, "exact/items");
}

/// A problem from `tests/fixtures/packing/measured_fixtures*.json`: test seconds, module and class
/// setups, overhead.
fn measured_problem(json: &str) -> Problem {
    let data: serde_json::Value = serde_json::from_str(json).unwrap();
    let mut costs = GroupCosts::default();
    for (group, seconds) in data["module_setup"].as_object().unwrap() {
        costs.file.insert(group.clone(), seconds.as_f64().unwrap());
    }
    for (group, seconds) in data["class_setup"].as_object().unwrap() {
        costs.class.insert(group.clone(), seconds.as_f64().unwrap());
    }
    let items: Vec<Item> = data["tests"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(id, seconds)| {
            let parts: Vec<&str> = id.split("::").collect();
            let mut item = Item::new(id.clone(), seconds.as_f64().unwrap()).with_file(parts[0]);
            if parts.len() == 3 {
                item = item.with_class(format!("{}::{}", parts[0], parts[1]));
            }
            item
        })
        .collect();
    Problem::new(items, &costs, data["overhead"].as_f64().unwrap()).unwrap()
}

/// The measured benchmark's suite with fixtures (`benchmarks/measured/`), on 16 shards: a quarter
/// of its time is module and class setups, and one-step moves get stuck where a split module's
/// tests should move as a block. The perturbed search must find a clearly shorter plan.
#[test]
fn perturbed_search_balances_split_fixture_modules() {
    let problem = measured_problem(include_str!(
        "../../tests/fixtures/packing/measured_fixtures.json"
    ));
    let without = PackOptions {
        perturb_rounds: 0,
        ..PackOptions::default()
    };
    let stuck = pack(&problem, 16, &without).unwrap();
    let best = pack(&problem, 16, &PackOptions::default()).unwrap();
    assert!(
        best.makespan < stuck.makespan * 0.97,
        "perturbed {:.3} s ({}), one-step search {:.3} s",
        best.makespan,
        best.strategy,
        stuck.makespan
    );
    assert_eq!(
        best,
        pack(&problem, 16, &PackOptions::default()).unwrap(),
        "deterministic"
    );
}

/// The same suite with covshard's own estimates (one reportlog run), as `covshard plan` packs it.
/// The lower bound proves no plan can predict below 4.63 s at N = 16; the perturbed search alone
/// stopped at 4.88 s, the annealing reaches 4.70 s.
#[test]
fn annealing_packs_the_estimated_fixtures_suite_near_its_bound() {
    let problem = measured_problem(include_str!(
        "../../tests/fixtures/packing/measured_fixtures_estimated.json"
    ));
    let plan = pack(&problem, 16, &PackOptions::default()).unwrap();
    assert!(plan.lower_bound > 4.62, "{}", plan.lower_bound);
    assert!(
        plan.makespan <= 4.75,
        "{:.3} s ({})",
        plan.makespan,
        plan.strategy
    );
    let again = pack(&problem, 16, &PackOptions::default()).unwrap();
    assert_eq!(
        serde_json::to_string(&plan).unwrap(),
        serde_json::to_string(&again).unwrap()
    );
}
