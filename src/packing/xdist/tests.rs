use super::*;
use crate::packing::model::{GroupCosts, Item};
use crate::packing::{MonteCarloOptions, simulate};
use clap::ValueEnum;

fn workers(count: usize, dist: Dist, startup: f64) -> Workers {
    Workers {
        count,
        dist,
        startup,
    }
}

/// Replays `items` in the given order (ids as written), with file setups.
fn replay_ids(items: Vec<Item>, file_setup: &[(&str, f64)], order: &[&str], w: Workers) -> Replay {
    let costs = GroupCosts {
        file: file_setup
            .iter()
            .map(|(f, s)| (f.to_string(), *s))
            .collect(),
        ..GroupCosts::default()
    };
    let problem = Problem::new(items, &costs, 0.0).unwrap();
    let index: Vec<u32> = order
        .iter()
        .map(|id| problem.items.iter().position(|i| i.id == *id).unwrap() as u32)
        .collect();
    let seconds: Vec<f64> = problem.items.iter().map(|i| i.estimate).collect();
    replay(&problem, &index, &seconds, &w)
}

fn file_tests(file: &str, n: usize, each: f64) -> Vec<Item> {
    (0..n)
        .map(|i| Item::new(format!("{file}::t{i}"), each).with_file(file))
        .collect()
}

fn ids(items: &[Item]) -> Vec<&str> {
    items.iter().map(|i| i.id.as_str()).collect()
}

#[test]
fn load_sends_chunks_and_refills() {
    // 8 tests of 1 s on 2 workers: chunks of 2, refilled, 4 tests each after a 0.5 s start.
    let items = file_tests("t.py", 8, 1.0);
    let order = ids(&items);
    let r = replay_ids(items.clone(), &[], &order, workers(2, Dist::Load, 0.5));
    assert_eq!(r.seconds, 4.5);
    assert_eq!(r.setup, 0.0);
}

#[test]
fn load_pays_a_module_fixture_in_every_worker_loadfile_once() {
    // One file, 2 s module fixture, 8 tests of 0.5 s: `load` spreads it over both workers,
    // each pays the fixture; `loadfile` keeps it on one worker, which pays it once.
    let items = file_tests("t.py", 8, 0.5);
    let order = ids(&items);
    let load = replay_ids(
        items.clone(),
        &[("t.py", 2.0)],
        &order,
        workers(2, Dist::Load, 0.0),
    );
    assert_eq!((load.seconds, load.setup), (4.0, 4.0));
    let file = replay_ids(
        items.clone(),
        &[("t.py", 2.0)],
        &order,
        workers(2, Dist::Loadfile, 0.0),
    );
    assert_eq!((file.seconds, file.setup), (6.0, 2.0));
}

#[test]
fn a_worker_pays_a_fixture_again_when_it_comes_back_to_the_file() {
    // One worker, a.py, b.py, a.py: pytest tears a.py's module fixture down in between.
    let mut items = file_tests("a.py", 2, 1.0);
    items.extend(file_tests("b.py", 1, 1.0));
    let r = replay_ids(
        items,
        &[("a.py", 3.0)],
        &["a.py::t0", "b.py::t0", "a.py::t1"],
        workers(2, Dist::Worksteal, 0.0),
    );
    // Worksteal splits 3 tests 1 + 2: worker 0 runs a.py::t0, worker 1 b.py::t0 then a.py::t1.
    assert_eq!(r.setup, 6.0);
    assert_eq!(r.seconds, 5.0);
}

#[test]
fn worksteal_steals_half_of_the_longest_queue() {
    // An even split of 8 tests, the first one 4 s: worker 1 runs dry at 3 s and steals two
    // tests from worker 0 (worked through by hand against xdist 3.8's scheduler).
    let mut items = vec![Item::new("t.py::t0", 4.0).with_file("t.py")];
    items.extend((1..8).map(|i| Item::new(format!("t.py::t{i}"), 1.0).with_file("t.py")));
    let order = ids(&items);
    let r = replay_ids(items.clone(), &[], &order, workers(2, Dist::Worksteal, 0.0));
    assert_eq!(r.seconds, 6.0);
    // `load` on the same list: chunks of 2, then refills: worker 0 stays on its long test.
    let load = replay_ids(items.clone(), &[], &order, workers(2, Dist::Load, 0.0));
    assert_eq!(load.seconds, 6.0);
}

#[test]
fn scopes_go_largest_first_and_the_next_is_sent_early() {
    // Scopes by test count: b (2), c (2), a (1, 4 s). Worker 0 gets b, worker 1 c; with two
    // tests left, worker 0 is sent a at once: 2 + 4 = 6 s, worker 1 ends at 2 s.
    let mut items = vec![Item::new("a.py::t0", 4.0).with_file("a.py")];
    items.extend(file_tests("b.py", 2, 1.0));
    items.extend(file_tests("c.py", 2, 1.0));
    let order = ["a.py::t0", "b.py::t0", "b.py::t1", "c.py::t0", "c.py::t1"];
    let r = replay_ids(items.clone(), &[], &order, workers(2, Dist::Loadfile, 0.0));
    assert_eq!(r.seconds, 6.0);
    // `loadscope` groups by module for tests outside classes: the same schedule.
    let r = replay_ids(items, &[], &order, workers(2, Dist::Loadscope, 0.0));
    assert_eq!(r.seconds, 6.0);
}

#[test]
fn loadscope_splits_classes_of_one_module() {
    let items: Vec<Item> = ["A", "B"]
        .iter()
        .flat_map(|c| {
            (0..2).map(move |i| {
                Item::new(format!("m.py::{c}::t{i}"), 1.0)
                    .with_file("m.py")
                    .with_class(format!("m.py::{c}"))
            })
        })
        .collect();
    let order = ids(&items);
    let scope = replay_ids(items.clone(), &[], &order, workers(2, Dist::Loadscope, 0.0));
    let file = replay_ids(items.clone(), &[], &order, workers(2, Dist::Loadfile, 0.0));
    assert_eq!((scope.seconds, file.seconds), (2.0, 4.0));
}

#[test]
fn loadgroup_keeps_a_marked_group_on_one_worker() {
    assert_eq!(Dist::Loadgroup.scope("t.py::test_a@db"), Some("db"));
    assert_eq!(
        Dist::Loadgroup.scope("t.py::test_a[x@y]"),
        Some("t.py::test_a[x@y]")
    );
    assert_eq!(Dist::Loadscope.scope("t.py::C::test_a[1]"), Some("t.py::C"));
    assert_eq!(Dist::Loadfile.scope("t.py::C::test_a"), Some("t.py"));
    assert_eq!(Dist::Load.scope("t.py::test_a"), None);
}

fn four_files() -> Problem {
    let items: Vec<Item> = ["a.py", "b.py", "c.py", "d.py"]
        .iter()
        .flat_map(|f| file_tests(f, 4, 1.0))
        .collect();
    let costs = GroupCosts {
        file: ["a.py", "b.py", "c.py", "d.py"]
            .iter()
            .map(|f| (f.to_string(), 1.0))
            .collect(),
        ..GroupCosts::default()
    };
    Problem::new(items, &costs, 10.0).unwrap()
}

#[test]
fn packs_one_file_per_worker_when_that_is_best() {
    let problem = four_files();
    let w = workers(2, Dist::Loadfile, 0.5);
    let plan = pack_workers(&problem, 2, &PackOptions::default(), &w).unwrap();
    // Overhead 10, start-up 0.5, one file each: 1 s setup + 4 s of tests.
    assert_eq!(plan.makespan, 15.5);
    assert_eq!(plan.lower_bound, 15.5);
    for shard in &plan.shards {
        assert_eq!(shard.seconds, 15.5);
        assert_eq!(shard.setup_seconds, 2.0);
        let files: std::collections::BTreeSet<&str> = shard
            .tests
            .iter()
            .map(|t| t.split("::").next().unwrap())
            .collect();
        assert_eq!(files.len(), 2, "{:?}", shard.tests);
    }
    assert!(
        plan.strategy.contains("xdist-loadfilex2"),
        "{}",
        plan.strategy
    );
    // The same input, the same plan.
    assert_eq!(
        plan,
        pack_workers(&problem, 2, &PackOptions::default(), &w).unwrap()
    );
}

#[test]
fn one_worker_is_the_plain_packer() {
    let problem = four_files();
    let options = PackOptions::default();
    assert_eq!(
        pack_workers(&problem, 3, &options, &Workers::ONE).unwrap(),
        pack(&problem, 3, &options).unwrap()
    );
    assert_eq!(
        lower_bound(&problem, 3, &Workers::ONE),
        problem.lower_bound(3)
    );
}

#[test]
fn the_prediction_is_the_replay_of_the_planned_order() {
    let problem = four_files();
    for &dist in Dist::value_variants() {
        let w = workers(3, dist, 0.25);
        let plan = pack_workers(&problem, 2, &PackOptions::default(), &w).unwrap();
        let seconds: Vec<f64> = problem.items.iter().map(|i| i.estimate).collect();
        for shard in &plan.shards {
            let r = replay(&problem, &shard.items, &seconds, &w);
            assert_eq!(shard.seconds, problem.overhead + r.seconds, "{dist:?}");
        }
        assert!(plan.makespan >= plan.lower_bound - 1e-9, "{dist:?}");
        // With no spread, every Monte Carlo draw is the prediction.
        let mc = MonteCarloOptions {
            runs: 5,
            default_sigma: 0.0,
            workers: w,
            ..MonteCarloOptions::default()
        };
        let dist_mc = simulate(&problem, &plan, &mc).unwrap();
        assert!(
            (dist_mc.p50 - plan.makespan).abs() < 1e-9,
            "{dist:?}: {dist_mc:?}"
        );
    }
}

#[test]
fn more_workers_than_tests_leave_workers_idle() {
    let items = file_tests("t.py", 3, 1.0);
    let order = ids(&items);
    for &dist in Dist::value_variants() {
        let r = replay_ids(items.clone(), &[], &order, workers(8, dist, 1.0));
        let want = if matches!(dist, Dist::Loadscope | Dist::Loadfile) {
            4.0
        } else {
            2.0
        };
        assert_eq!(r.seconds, want, "{dist:?}");
    }
}

#[test]
fn every_test_is_planned_exactly_once() {
    // Uneven files, classes and one long test, over shard and worker counts that leave shards
    // with fewer bins than workers and bins with nothing in them.
    let mut items: Vec<Item> = Vec::new();
    let mut file_setup: Vec<(String, f64)> = Vec::new();
    for f in 0..7 {
        let file = format!("tests/test_{f}.py");
        for t in 0..(1 + 3 * f) {
            let each = 0.1 + ((f * 7 + t * 3) % 11) as f64 * 0.2;
            let id = if t % 3 == 0 {
                format!("{file}::TestC::t{t}")
            } else {
                format!("{file}::t{t}")
            };
            items.push(Item::new(id, each).with_file(&file));
        }
        file_setup.push((file, 0.1 * f as f64));
    }
    items.push(Item::new("tests/test_long.py::slow", 9.0).with_file("tests/test_long.py"));
    let costs = GroupCosts {
        file: file_setup.into_iter().collect(),
        ..GroupCosts::default()
    };
    let problem = Problem::new(items, &costs, 1.0).unwrap();
    let mut all: Vec<&str> = problem.items.iter().map(|i| i.id.as_str()).collect();
    all.sort_unstable();
    for &dist in Dist::value_variants() {
        for shards in [1, 3, 13] {
            for count in [2, 3, 8] {
                let w = workers(count, dist, 0.3);
                let plan = pack_workers(&problem, shards, &PackOptions::default(), &w).unwrap();
                let mut planned: Vec<&str> = plan
                    .shards
                    .iter()
                    .flat_map(|s| s.tests.iter().map(String::as_str))
                    .collect();
                planned.sort_unstable();
                assert_eq!(planned, all, "{dist:?} {shards} shards x {count}");
                assert_eq!(plan.shards.len(), shards.min(problem.len()));
                assert!(plan.shards.iter().all(|s| !s.tests.is_empty()));
                assert!(plan.makespan >= plan.lower_bound - 1e-9);
            }
        }
    }
}

#[test]
fn whole_files_reach_the_bound_when_a_perfect_split_exists() {
    // Files of 5, 5, 4, 4, 3, 3, 2 and 2 one-second tests: four workers of 7 s each ({5, 2} and
    // {4, 3} twice), which `loadfile`, sending the largest file first, reaches only when each
    // shard holds one file of every size.
    let sizes = [5, 5, 4, 4, 3, 3, 2, 2];
    let items: Vec<Item> = sizes
        .iter()
        .enumerate()
        .flat_map(|(f, &n)| file_tests(&format!("f{f}.py"), n, 1.0))
        .collect();
    let problem = Problem::new(items, &GroupCosts::default(), 1.0).unwrap();
    for dist in [Dist::Loadfile, Dist::Loadscope] {
        let w = workers(2, dist, 0.5);
        let plan = pack_workers(&problem, 2, &PackOptions::default(), &w).unwrap();
        assert_eq!(plan.lower_bound, 8.5, "{dist:?}");
        assert_eq!(plan.makespan, 8.5, "{dist:?}: {:?}", plan.shards);
    }
}

#[test]
fn tests_of_no_cost_leave_no_shard_unplanned() {
    // Ties of zero estimates can leave bins empty, and so a shard with empty bins only.
    let mut items = vec![Item::new("a.py::slow", 1.0).with_file("a.py")];
    items.extend((0..4).map(|k| Item::new(format!("b.py::t{k}"), 0.0).with_file("b.py")));
    let problem = Problem::new(items, &GroupCosts::default(), 0.0).unwrap();
    for dist in [Dist::Load, Dist::Loadfile, Dist::Worksteal] {
        let plan =
            pack_workers(&problem, 4, &PackOptions::default(), &workers(2, dist, 0.0)).unwrap();
        let planned: usize = plan.shards.iter().map(|s| s.tests.len()).sum();
        assert_eq!(planned, 5, "{dist:?}");
        assert_eq!(plan.makespan, 1.0, "{dist:?}");
    }
}

#[test]
fn dealing_by_replay_keeps_pieces_of_one_file_on_different_shards() {
    // Four worker bins for 2 shards x 2 workers: a.py cut in two (5 s and 4.5 s), b.py and
    // c.py. By load, the second piece of a.py joins the first one's shard, where `loadfile`
    // gives the joined file to one worker; by replay it goes to the other shard.
    let mut items = file_tests("a.py", 10, 1.0);
    items[9].estimate = 0.5;
    items.extend(file_tests("b.py", 5, 1.0));
    items.extend(file_tests("c.py", 9, 0.5));
    let problem = Problem::new(items, &GroupCosts::default(), 0.0).unwrap();
    let w = workers(2, Dist::Loadfile, 0.0);
    let costs = Costs::new(&problem);
    let of = |file: &str, tests: std::ops::Range<usize>| -> Vec<u32> {
        tests
            .map(|k| {
                let id = format!("{file}::t{k}");
                problem.items.iter().position(|i| i.id == id).unwrap() as u32
            })
            .collect()
    };
    let bins = vec![
        (of("a.py", 0..5), 5.0),
        (of("b.py", 0..5), 5.0),
        (of("a.py", 5..10), 4.5),
        (of("c.py", 0..9), 4.5),
    ];
    let files = |p: &Placed| -> Vec<Vec<&str>> {
        p.bins
            .iter()
            .map(|bin| {
                let mut f: Vec<&str> = bin
                    .iter()
                    .map(|&i| problem.items[i as usize].id.split("::").next().unwrap())
                    .collect();
                f.dedup();
                f
            })
            .collect()
    };
    let by_load: Vec<Placed> = deal_by_load(&bins, 2, 2)
        .into_iter()
        .map(|b| best_order(&problem, b, &costs, &w))
        .collect();
    assert_eq!(files(&by_load[0]), [vec!["a.py"], vec!["a.py"]]);
    assert_eq!(by_load[0].replay.seconds, 9.5);

    let mut budget = REPLAY_BUDGET;
    let by_replay = deal_by_replay(&problem, &bins, 2, &costs, &w, &mut budget).unwrap();
    assert!(budget < REPLAY_BUDGET);
    for shard in &by_replay {
        assert_eq!(shard.bins.len(), 2);
        assert_eq!(shard.replay.seconds, 5.0, "{:?}", files(shard));
    }
    assert!(worse(&by_load, &by_replay));
    assert!(!worse(&by_replay, &by_load));
    // Too small a budget: no deal by replay.
    assert!(deal_by_replay(&problem, &bins, 2, &costs, &w, &mut 10).is_none());
}
