//! pytest-xdist inside a shard: `pytest -n N --dist MODE` runs the shard's tests on N worker
//! processes, and how long that takes depends on how the mode hands tests out, not only on their
//! sum. This module replays pytest-xdist's schedulers (3.x: `load`, `loadscope`, `loadfile`,
//! `loadgroup`, `worksteal`) on a shard's tests, in the order pytest collects them, so a plan
//! predicts the shard's wall time under the model the CI really runs.
//!
//! The model, per worker: it starts after `startup` seconds (a process, its imports and its own
//! collection of the shard, all workers at once), then runs the tests it is sent in the order it
//! receives them. A file's or a class's setup is paid whenever a worker moves onto it from
//! another file or class (pytest tears a module or class fixture down when the next test is
//! elsewhere), so a mode that spreads a module over every worker pays its fixture in every
//! worker. The scheduler reacts to each finished test at once (the messages cost nothing).
//!
//! [`pack_workers`] packs for that model: the shards' workers are packed as `shards x workers`
//! bins by the ordinary packer (so file and class groups stay together where it pays), the bins
//! are dealt to the shards twice (by load, and by replay, which sees that two bins holding
//! pieces of one file cost more together), each shard's tests are put in the best of a few
//! orders, and from each deal a bounded search improves the longest shard while that helps:
//! it moves a unit (what [`move_key`] keeps together) to the shortest shard, or swaps one with
//! another shard's. Each shard is judged by its score, the longest of three replays, of the
//! estimates and of two deterministic skews of them (see [`Costs`]): which worker a scope goes
//! to is a race between the workers' clocks, and a plan must not need the race to go its way.
//! The better of the two searches' ends is the plan; its prediction is the replay of the
//! estimates.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};

use super::model::{Assignment, Problem};
use super::{PackError, PackOptions, pack};

/// pytest-xdist's `--dist` modes that distribute tests (not `each`, which runs every test in
/// every worker and is no way to shard a suite).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Default,
    PartialOrd,
    Ord,
    serde::Serialize,
    serde::Deserialize,
    clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum Dist {
    /// Tests in batches to whichever worker runs low (xdist's default).
    #[default]
    Load,
    /// A module's tests (a class's, for tests in a class) to one worker.
    Loadscope,
    /// A file's tests to one worker.
    Loadfile,
    /// Tests marked with one `xdist_group` to one worker; other tests one by one.
    Loadgroup,
    /// An even split up front, then idle workers steal half of the longest queue.
    Worksteal,
}

impl Dist {
    pub fn name(self) -> &'static str {
        match self {
            Dist::Load => "load",
            Dist::Loadscope => "loadscope",
            Dist::Loadfile => "loadfile",
            Dist::Loadgroup => "loadgroup",
            Dist::Worksteal => "worksteal",
        }
    }

    /// The unit the mode never splits over workers, by node id; `None` for the modes that
    /// hand out single tests.
    fn scope(self, id: &str) -> Option<&str> {
        match self {
            Dist::Load | Dist::Worksteal => None,
            Dist::Loadscope => Some(id.rsplit_once("::").map_or(id, |(scope, _)| scope)),
            Dist::Loadfile => Some(id.split_once("::").map_or(id, |(file, _)| file)),
            // xdist names a marked test's group after an `@` it appends to the node id.
            Dist::Loadgroup => Some(match id.rfind('@') {
                Some(at) if id.rfind(']').is_none_or(|b| at > b) => &id[at + 1..],
                _ => id,
            }),
        }
    }
}

/// Worker processes per shard.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Workers {
    /// Processes per shard; 1 means plain pytest, no xdist.
    pub count: usize,
    pub dist: Dist,
    /// Seconds from the shard's pytest start until a worker runs its first test: the worker's
    /// interpreter, imports and collection.
    pub startup: f64,
}

impl Workers {
    /// One process per shard: the model without xdist.
    pub const ONE: Workers = Workers {
        count: 1,
        dist: Dist::Load,
        startup: 0.0,
    };

    pub fn is_parallel(&self) -> bool {
        self.count > 1
    }
}

impl Default for Workers {
    fn default() -> Self {
        Workers::ONE
    }
}

/// What the replay of one shard found.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Replay {
    /// Wall seconds from the shard's start to its last worker's end (the shard's overhead not
    /// included, the workers' start-up included).
    pub seconds: f64,
    /// Setup seconds paid, summed over the workers.
    pub setup: f64,
}

/// Replay xdist's scheduler on `order` (indexes into the problem's items, in collection order)
/// with the given durations (`seconds[i]` for item `i`).
pub(crate) fn replay(
    problem: &Problem,
    order: &[u32],
    seconds: &[f64],
    workers: &Workers,
) -> Replay {
    replay_with(problem, order, seconds, &problem.setup, workers)
}

/// [`replay`] with the groups' setup seconds given too (`setup[g]` for group `g`).
fn replay_with(
    problem: &Problem,
    order: &[u32],
    seconds: &[f64],
    setup: &[f64],
    workers: &Workers,
) -> Replay {
    let n_workers = workers.count.max(1);
    let sim = Sim::new(problem, order, seconds, setup, n_workers, workers.startup);
    match workers.dist {
        Dist::Load => sim.run(&mut LoadScheduler::new(order.len(), n_workers)),
        Dist::Worksteal => sim.run(&mut StealScheduler::new(order.len(), n_workers)),
        dist => sim.run(&mut ScopeScheduler::new(problem, order, dist, n_workers)),
    }
}

/// The workers' side of the replay: queues, clocks and the setups they pay.
struct Sim<'a> {
    problem: &'a Problem,
    order: &'a [u32],
    seconds: &'a [f64],
    /// Setup seconds of each group.
    group_setup: &'a [f64],
    /// Positions in `order` each worker holds, the running one first.
    queues: Vec<VecDeque<usize>>,
    /// When the running test ends (or the worker became free).
    clock: Vec<f64>,
    running: Vec<bool>,
    shut: Vec<bool>,
    /// (file, class) of the last test each worker ran: the fixtures it still holds.
    last: Vec<(Option<u32>, Option<u32>)>,
    setup: f64,
}

/// The scheduler's side: what to send when.
trait Scheduler {
    /// The first distribution, once every worker has collected.
    fn start(&mut self, sim: &mut Sim<'_>);
    /// `worker` finished a test that took `took` seconds.
    fn finished(&mut self, sim: &mut Sim<'_>, worker: usize, took: f64);
}

impl<'a> Sim<'a> {
    fn new(
        problem: &'a Problem,
        order: &'a [u32],
        seconds: &'a [f64],
        group_setup: &'a [f64],
        workers: usize,
        startup: f64,
    ) -> Self {
        Sim {
            problem,
            order,
            seconds,
            group_setup,
            queues: vec![VecDeque::new(); workers],
            clock: vec![startup; workers],
            running: vec![false; workers],
            shut: vec![false; workers],
            last: vec![(None, None); workers],
            setup: 0.0,
        }
    }

    fn send(&mut self, worker: usize, positions: impl IntoIterator<Item = usize>) {
        self.queues[worker].extend(positions);
    }

    /// Start the head of the queue of every idle worker that has one.
    fn start_idle(&mut self) {
        for w in 0..self.queues.len() {
            if self.running[w] {
                continue;
            }
            let Some(&pos) = self.queues[w].front() else {
                continue;
            };
            let item = &self.problem.items[self.order[pos] as usize];
            let (last_file, last_class) = self.last[w];
            let mut cost = self.seconds[self.order[pos] as usize];
            if item.file.is_some() && item.file != last_file {
                cost += item.file.map_or(0.0, |g| self.group_setup[g as usize]);
            }
            if item.class.is_some() && (item.class != last_class || item.file != last_file) {
                cost += item.class.map_or(0.0, |g| self.group_setup[g as usize]);
            }
            self.setup += cost - self.seconds[self.order[pos] as usize];
            self.last[w] = (item.file, item.class);
            self.clock[w] += cost;
            self.running[w] = true;
        }
    }

    fn run(mut self, scheduler: &mut dyn Scheduler) -> Replay {
        scheduler.start(&mut self);
        self.start_idle();
        // The next test to end: earliest clock among running workers, lowest index on ties.
        while let Some(w) = (0..self.queues.len())
            .filter(|&w| self.running[w])
            .min_by(|&a, &b| self.clock[a].total_cmp(&self.clock[b]).then(a.cmp(&b)))
        {
            let pos = self.queues[w]
                .pop_front()
                .expect("a running worker holds its test");
            self.running[w] = false;
            let took = self.seconds[self.order[pos] as usize];
            scheduler.finished(&mut self, w, took);
            // A worker with nothing left and nothing coming waits at its clock; others may
            // resume from there, so no idle worker is behind the one that just finished.
            let now = self.clock[w];
            for v in 0..self.queues.len() {
                if !self.running[v] && self.clock[v] < now && !self.queues[v].is_empty() {
                    self.clock[v] = now;
                }
            }
            self.start_idle();
        }
        Replay {
            seconds: self.clock.iter().copied().fold(0.0, f64::max),
            setup: self.setup,
        }
    }
}

/// `--dist load`: chunks of consecutive tests, refilled when a worker's queue runs low.
struct LoadScheduler {
    pending: VecDeque<usize>,
    workers: usize,
}

impl LoadScheduler {
    fn new(tests: usize, workers: usize) -> Self {
        LoadScheduler {
            pending: (0..tests).collect(),
            workers,
        }
    }

    fn send(&mut self, sim: &mut Sim<'_>, worker: usize, count: usize) {
        let count = count.min(self.pending.len());
        let batch: Vec<usize> = self.pending.drain(..count).collect();
        sim.send(worker, batch);
    }
}

impl Scheduler for LoadScheduler {
    fn start(&mut self, sim: &mut Sim<'_>) {
        let total = self.pending.len();
        if total < 2 * self.workers {
            // Round robin, one at a time.
            for w in (0..self.workers).cycle().take(total) {
                self.send(sim, w, 1);
            }
        } else {
            let chunk = (total / self.workers / 4).max(2);
            for w in 0..self.workers {
                self.send(sim, w, chunk);
            }
        }
        if self.pending.is_empty() {
            sim.shut.iter_mut().for_each(|s| *s = true);
        }
    }

    fn finished(&mut self, sim: &mut Sim<'_>, worker: usize, took: f64) {
        if sim.shut[worker] {
            return;
        }
        if self.pending.is_empty() {
            sim.shut[worker] = true;
            return;
        }
        let per_node = self.pending.len() / self.workers;
        let (min, max) = ((per_node / 4).max(2), (per_node / 2).max(2));
        let queued = sim.queues[worker].len();
        if queued < min {
            // A slow test with work still queued: xdist waits for the next one to finish.
            if took >= 0.1 && queued >= 2 {
                return;
            }
            self.send(sim, worker, max - queued);
        }
    }
}

/// `--dist worksteal`: an even split up front; a worker about to run dry steals half of the
/// longest queue.
struct StealScheduler {
    pending: VecDeque<usize>,
}

/// A worker with fewer queued tests than this asks for more.
const MIN_PENDING: usize = 2;

impl StealScheduler {
    fn new(tests: usize, _workers: usize) -> Self {
        StealScheduler {
            pending: (0..tests).collect(),
        }
    }

    fn check(&mut self, sim: &mut Sim<'_>) {
        loop {
            let up: Vec<usize> = (0..sim.queues.len()).filter(|&w| !sim.shut[w]).collect();
            let idle = |sim: &Sim<'_>| -> Vec<usize> {
                up.iter()
                    .copied()
                    .filter(|&w| sim.queues[w].len() < MIN_PENDING)
                    .collect()
            };
            let mut idle_now = idle(sim);
            if idle_now.is_empty() {
                return;
            }
            if !self.pending.is_empty() {
                let n = idle_now.len();
                for (i, &w) in idle_now.iter().enumerate() {
                    let count = self.pending.len() / (n - i);
                    let batch: Vec<usize> = self.pending.drain(..count).collect();
                    sim.send(w, batch);
                }
                idle_now = idle(sim);
                if idle_now.is_empty() {
                    return;
                }
            }
            // The first of the longest queues, as Python's `max` picks it.
            let from = up
                .iter()
                .copied()
                .fold(None, |best: Option<usize>, w| match best {
                    Some(b) if sim.queues[b].len() >= sim.queues[w].len() => Some(b),
                    _ => Some(w),
                });
            let steal = from.map_or(0, |f| {
                let len = sim.queues[f].len();
                (len / 2).min(len.saturating_sub(MIN_PENDING))
            });
            let Some(from) = from.filter(|_| steal > 0) else {
                for w in idle_now {
                    sim.shut[w] = true;
                }
                return;
            };
            // The stolen tests come back to the pending list, and the loop hands them out.
            let queue = &mut sim.queues[from];
            let stolen: Vec<usize> = queue.drain(queue.len() - steal..).collect();
            self.pending.extend(stolen);
        }
    }
}

impl Scheduler for StealScheduler {
    fn start(&mut self, sim: &mut Sim<'_>) {
        self.check(sim);
    }

    fn finished(&mut self, sim: &mut Sim<'_>, _worker: usize, _took: f64) {
        self.check(sim);
    }
}

/// `--dist loadscope`, `loadfile` and `loadgroup`: whole scopes, largest (by test count) first
/// (xdist's default `--loadscope-reorder`), the next one sent when a worker has two tests left.
struct ScopeScheduler {
    /// Scopes still to send: positions in `order`, in collection order within each.
    queue: VecDeque<Vec<usize>>,
}

impl ScopeScheduler {
    fn new(problem: &Problem, order: &[u32], dist: Dist, _workers: usize) -> Self {
        let mut index: HashMap<&str, usize> = HashMap::new();
        let mut scopes: Vec<Vec<usize>> = Vec::new();
        for (pos, &item) in order.iter().enumerate() {
            let id = problem.items[item as usize].id.as_str();
            let scope = dist.scope(id).unwrap_or(id);
            let k = *index.entry(scope).or_insert_with(|| {
                scopes.push(Vec::new());
                scopes.len() - 1
            });
            scopes[k].push(pos);
        }
        // A stable sort keeps collection order among scopes of one size.
        scopes.sort_by_key(|s| std::cmp::Reverse(s.len()));
        ScopeScheduler {
            queue: scopes.into(),
        }
    }

    fn assign(&mut self, sim: &mut Sim<'_>, worker: usize) {
        if let Some(scope) = self.queue.pop_front() {
            sim.send(worker, scope);
        }
    }

    fn reschedule(&mut self, sim: &mut Sim<'_>, worker: usize) {
        if sim.shut[worker] {
            return;
        }
        if self.queue.is_empty() {
            sim.shut[worker] = true;
            return;
        }
        if sim.queues[worker].len() > 2 {
            return;
        }
        self.assign(sim, worker);
    }
}

impl Scheduler for ScopeScheduler {
    fn start(&mut self, sim: &mut Sim<'_>) {
        let workers = sim.queues.len();
        // Workers beyond the number of scopes are shut down unused (the last ones).
        let used = workers.min(self.queue.len());
        for w in used..workers {
            sim.shut[w] = true;
        }
        for w in 0..used {
            self.assign(sim, w);
        }
        for w in 0..used {
            self.reschedule(sim, w);
        }
    }

    fn finished(&mut self, sim: &mut Sim<'_>, worker: usize, _took: f64) {
        self.reschedule(sim, worker);
    }
}

/// The unit of a shard's test list that moves between shards as a whole: the mode's scope, or
/// for the modes that hand out single tests, the file (its fixture is paid once per worker run).
fn move_key(problem: &Problem, item: u32, dist: Dist) -> &str {
    let id = problem.items[item as usize].id.as_str();
    match dist.scope(id) {
        Some(scope) => scope,
        None => id.split_once("::").map_or(id, |(file, _)| file),
    }
}

/// How much the skewed replays change each test's and setup's seconds, at most.
const SKEW: f64 = 0.2;
/// Skewed replays besides the one of the estimates.
const SKEWED_DRAWS: u64 = 2;

/// The seconds a shard is replayed with: the estimates first, then a few deterministic skews of
/// them. Which worker gets a scope is a race between workers' clocks, so a plan that is short
/// only if the race goes one way measures long when it goes the other; the packer judges a
/// shard by its longest replay and so keeps the plans whose races do not matter.
struct Costs {
    /// (seconds per item, setup seconds per group), the estimates first.
    draws: Vec<(Vec<f64>, Vec<f64>)>,
}

impl Costs {
    fn new(problem: &Problem) -> Self {
        let seconds: Vec<f64> = problem.items.iter().map(|i| i.estimate).collect();
        let mut draws = vec![(seconds, problem.setup.clone())];
        for draw in 1..=SKEWED_DRAWS {
            let skew = |k: usize, x: f64, salt: u64| x * (1.0 + SKEW * unit(draw, salt, k));
            let (seconds, setup) = &draws[0];
            let skewed = (
                seconds
                    .iter()
                    .enumerate()
                    .map(|(k, &x)| skew(k, x, 0))
                    .collect(),
                setup
                    .iter()
                    .enumerate()
                    .map(|(k, &x)| skew(k, x, 1))
                    .collect(),
            );
            draws.push(skewed);
        }
        Costs { draws }
    }
}

/// A number in [-1, 1] fixed by its arguments (SplitMix64), so that plans are reproducible.
fn unit(draw: u64, salt: u64, k: usize) -> f64 {
    let mut z = ((draw << 33) ^ (salt << 32) ^ (k as u64)).wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 52) as f64 - 1.0
}

/// One shard's tests in this order: its predicted seconds (overhead plus the replay of the
/// estimates) and its score, the longest of its replays.
fn shard_time(problem: &Problem, order: &[u32], costs: &Costs, workers: &Workers) -> (Replay, f64) {
    let ((seconds, setup), skewed) = costs.draws.split_first().expect("the estimates");
    let r = replay_with(problem, order, seconds, setup, workers);
    let nominal = Replay {
        seconds: problem.overhead + r.seconds,
        setup: r.setup,
    };
    let score = skewed
        .iter()
        .map(|(seconds, setup)| {
            problem.overhead + replay_with(problem, order, seconds, setup, workers).seconds
        })
        .fold(nominal.seconds, f64::max);
    (nominal, score)
}

/// Seconds of a bin of tests on one worker: its estimates and each costly group's setup once.
fn bin_load(problem: &Problem, bin: &[u32]) -> f64 {
    let mut groups: Vec<u32> = bin
        .iter()
        .flat_map(|&i| problem.costly_groups(i as usize))
        .collect();
    groups.sort_unstable();
    groups.dedup();
    bin.iter().map(|&i| problem.estimate_of(i)).sum::<f64>()
        + groups
            .iter()
            .map(|&g| problem.setup[g as usize])
            .sum::<f64>()
}

/// The bins made equal in test count (within one), smallest count first, by moving the tests
/// that cost least where they land: `worksteal` hands worker `k` the `k`-th equal slice of the
/// list (and `load` sends equal chunks first), so bins of equal counts in a row reach the
/// workers as the packer balanced them.
fn equal_counts(problem: &Problem, bins: &[Vec<u32>], workers: usize) -> Vec<Vec<u32>> {
    let mut bins: Vec<Vec<u32>> = bins.to_vec();
    bins.resize(workers.max(bins.len()), Vec::new());
    loop {
        let big = (0..bins.len()).max_by_key(|&b| (bins[b].len(), std::cmp::Reverse(b)));
        let small = (0..bins.len()).min_by_key(|&b| (bins[b].len(), b));
        let (Some(big), Some(small)) = (big, small) else {
            break;
        };
        if bins[big].len() <= bins[small].len() + 1 {
            break;
        }
        // Cheapest to move: the least it adds to the smaller bin (its estimate and any setup
        // that bin does not pay yet), then the id.
        let held: HashSet<u32> = bins[small]
            .iter()
            .flat_map(|&i| problem.costly_groups(i as usize))
            .collect();
        let cost = |i: u32| {
            problem.estimate_of(i)
                + problem
                    .costly_groups(i as usize)
                    .filter(|g| !held.contains(g))
                    .map(|g| problem.setup[g as usize])
                    .sum::<f64>()
        };
        let pick = bins[big]
            .iter()
            .enumerate()
            .map(|(k, &i)| (cost(i), i, k))
            .min_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)))
            .map(|(_, _, k)| k)
            .expect("the larger bin holds tests");
        let moved = bins[big].swap_remove(pick);
        bins[small].push(moved);
    }
    bins.sort_by_key(|b| b.len());
    bins
}

/// One shard: its worker bins, its tests in run order, and their replay.
#[derive(Debug, Clone)]
struct Placed {
    bins: Vec<Vec<u32>>,
    order: Vec<u32>,
    replay: Replay,
    /// The longest of its replays (see [`Costs`]): what the search minimises.
    score: f64,
}

/// The best of a few orders of a shard's tests, by score (then by the replay of the estimates,
/// then the earlier order): the worker bins one after another, for `load` and `worksteal` the
/// same bins made equal in count, the move units longest first, and plain id order.
fn best_order(problem: &Problem, bins: Vec<Vec<u32>>, costs: &Costs, workers: &Workers) -> Placed {
    let by_id = |items: &mut Vec<u32>| {
        items.sort_by(|&a, &b| {
            problem.items[a as usize]
                .id
                .cmp(&problem.items[b as usize].id)
        })
    };
    let in_a_row = |bins: &[Vec<u32>]| {
        let mut out: Vec<u32> = Vec::new();
        for bin in bins {
            let mut bin = bin.clone();
            by_id(&mut bin);
            out.extend(bin);
        }
        out
    };
    let binned = in_a_row(&bins);
    // Only the modes that split the list by count up front gain from equal counts.
    let aligned = match workers.dist {
        Dist::Worksteal | Dist::Load => {
            Some(in_a_row(&equal_counts(problem, &bins, workers.count)))
        }
        _ => None,
    };
    let mut plain = binned.clone();
    by_id(&mut plain);
    let mut units: BTreeMap<&str, (f64, Vec<u32>)> = BTreeMap::new();
    for &i in &plain {
        let unit = units.entry(move_key(problem, i, workers.dist)).or_default();
        unit.0 += problem.standalone(i as usize);
        unit.1.push(i);
    }
    let mut units: Vec<(f64, Vec<u32>)> = units.into_values().collect();
    units.sort_by(|a, b| b.0.total_cmp(&a.0));
    let longest_first: Vec<u32> = units.into_iter().flat_map(|(_, items)| items).collect();

    let mut best: Option<(Vec<u32>, Replay, f64)> = None;
    for order in [Some(binned), aligned, Some(longest_first), Some(plain)]
        .into_iter()
        .flatten()
    {
        let (r, score) = shard_time(problem, &order, costs, workers);
        let better = best.as_ref().is_none_or(|(_, b, best_score)| {
            score < *best_score || (score == *best_score && r.seconds < b.seconds)
        });
        if better {
            best = Some((order, r, score));
        }
    }
    let (order, replay, score) = best.expect("candidate orders");
    Placed {
        bins,
        order,
        replay,
        score,
    }
}

/// A true lower bound for `shards` shards of these workers: every test runs in one of
/// `shards x count` worker processes, each of which pays its start-up and the setups of the
/// groups it touches, inside a shard that pays its overhead. (A scope too large for one
/// worker is no bound: the plan may split it between shards.)
pub fn lower_bound(problem: &Problem, shards: usize, workers: &Workers) -> f64 {
    if !workers.is_parallel() {
        return problem.lower_bound(shards);
    }
    let shards = shards.clamp(1, problem.len().max(1));
    // The bound moves with the overhead one for one, so the workers' start-up adds to it.
    problem.lower_bound(shards * workers.count) + workers.startup
}

/// What the improving search may spend in all, counted as 24 per test of the two shards of
/// every evaluation (which replays up to 4 orders of each, each with the estimates and the
/// skewed draws of [`Costs`]): some 250,000 tests' worth of two-shard evaluations, enough for
/// a search over a few thousand tests, and a bound of a few seconds on large suites.
const REPLAY_BUDGET: usize = 6_000_000;
/// Move units of the longest shard tried per step, spread over its units by size.
const MOVE_CANDIDATES: usize = 12;

/// Pack `problem` into `shards` shards of `workers.count` xdist workers each; see the module
/// docs. With one worker this is [`pack`].
pub fn pack_workers(
    problem: &Problem,
    shards: usize,
    options: &PackOptions,
    workers: &Workers,
) -> Result<Assignment, PackError> {
    if !workers.is_parallel() {
        return pack(problem, shards, options);
    }
    if problem.is_empty() {
        return Err(PackError::NoItems);
    }
    if shards == 0 {
        return Err(PackError::NoShards);
    }
    let shards = shards.min(problem.len());
    let per_worker = problem.with_overhead(workers.startup);
    let binned = pack(&per_worker, shards * workers.count, options)?;

    let bins: Vec<(Vec<u32>, f64)> = binned
        .shards
        .iter()
        .map(|b| (b.items.clone(), b.seconds))
        .collect();
    let costs = Costs::new(problem);
    let mut budget = REPLAY_BUDGET;
    let by_load: Vec<Placed> = deal_by_load(&bins, shards, workers.count)
        .into_iter()
        .map(|bins| best_order(problem, bins, &costs, workers))
        .collect();
    // Both deals are searched from, each with half of what is left of the budget, and the
    // better end kept: which start leads lower is not known before the search.
    let mut placed = by_load;
    // The deal may spend at most half of the budget, and nothing when it gives up: the
    // search from the deal by load keeps what it had.
    let mut for_deal = budget / 2;
    let dealt = deal_by_replay(problem, &bins, shards, &costs, workers, &mut for_deal);
    if dealt.is_some() {
        budget -= budget / 2 - for_deal;
    }
    let moved = match dealt {
        Some(mut matched) => {
            let half = budget / 2;
            let moved_matched = improve(problem, &mut matched, &costs, workers, half);
            let moved = improve(problem, &mut placed, &costs, workers, half);
            if worse(&placed, &matched) {
                placed = matched;
                moved_matched
            } else {
                moved
            }
        }
        None => improve(problem, &mut placed, &costs, workers, budget),
    };

    let strategy = format!(
        "{}/xdist-{}x{}{}",
        binned.strategy,
        workers.dist.name(),
        workers.count,
        if moved { "+moves" } else { "" }
    );
    // The moves and swaps only ever carry tests from one shard to another; keep it checked.
    let mut seen = vec![false; problem.len()];
    for &i in placed.iter().flat_map(|p| &p.order) {
        assert!(!seen[i as usize], "a test planned twice");
        seen[i as usize] = true;
    }
    assert!(seen.iter().all(|&s| s), "a test left out of the plan");
    let lower_bound = lower_bound(problem, shards, workers);
    Ok(Assignment::from_ordered(
        problem,
        placed
            .into_iter()
            .map(|p| (p.order, p.replay.seconds, p.replay.setup))
            .collect(),
        lower_bound,
        strategy,
    ))
}

/// The bins dealt longest first to the shortest shard with room, every shard getting one.
fn deal_by_load(bins: &[(Vec<u32>, f64)], shards: usize, workers: usize) -> Vec<Vec<Vec<u32>>> {
    let mut shard_bins: Vec<Vec<Vec<u32>>> = vec![Vec::new(); shards];
    let mut loads = vec![0.0f64; shards];
    for (b, (bin, seconds)) in bins.iter().enumerate() {
        let target = if b < shards {
            b
        } else {
            (0..shards)
                .filter(|&s| shard_bins[s].len() < workers)
                .min_by(|&x, &y| loads[x].total_cmp(&loads[y]).then(x.cmp(&y)))
                .unwrap_or(b % shards)
        };
        loads[target] += seconds;
        shard_bins[target].push(bin.clone());
    }
    shard_bins
}

/// Bins tried for each place in a shard by [`deal_by_replay`].
const DEAL_CANDIDATES: usize = 8;

/// The bins dealt by replay: every shard starts from one of the longest bins, and then, in
/// turn, each shard takes whichever of the [`DEAL_CANDIDATES`] lightest bins left replays
/// shortest with it. Bins that hold pieces of one file or class cost more together (the mode
/// gives the joined scope to one worker), which dealing by load alone does not see. `None`
/// when the budget does not cover it.
fn deal_by_replay(
    problem: &Problem,
    bins: &[(Vec<u32>, f64)],
    shards: usize,
    costs: &Costs,
    workers: &Workers,
    budget: &mut usize,
) -> Option<Vec<Placed>> {
    if bins.len() < shards {
        return None;
    }
    let mut left: Vec<usize> = (0..bins.len()).collect();
    // Longest first, then the packer's order.
    left.sort_by(|&a, &b| bins[b].1.total_cmp(&bins[a].1).then(a.cmp(&b)));
    let seeds: Vec<usize> = left.drain(..shards.min(left.len())).collect();
    let mut placed: Vec<Placed> = seeds
        .iter()
        .map(|&b| best_order(problem, vec![bins[b].0.clone()], costs, workers))
        .collect();
    for _ in 1..workers.count {
        // The longest shards choose first.
        let mut turn: Vec<usize> = (0..placed.len()).collect();
        turn.sort_by(|&a, &b| placed[b].score.total_cmp(&placed[a].score).then(a.cmp(&b)));
        for s in turn {
            if left.is_empty() {
                break;
            }
            let mut best: Option<(usize, Placed)> = None;
            for k in (0..left.len()).rev().take(DEAL_CANDIDATES) {
                let mut grown = placed[s].bins.clone();
                grown.push(bins[left[k]].0.clone());
                let cost = 12 * grown.iter().map(Vec::len).sum::<usize>();
                *budget = budget.checked_sub(cost)?;
                let candidate = best_order(problem, grown, costs, workers);
                if best
                    .as_ref()
                    .is_none_or(|(_, b)| candidate.score < b.score - 1e-9)
                {
                    best = Some((k, candidate));
                }
            }
            let (k, grown) = best.expect("a bin left to try");
            left.remove(k);
            placed[s] = grown;
        }
    }
    // More bins than places (a bin per worker is what the packer made): the rest by load.
    for b in left {
        let s = (0..placed.len())
            .min_by(|&x, &y| placed[x].score.total_cmp(&placed[y].score).then(x.cmp(&y)))
            .expect("a shard");
        let mut grown = placed[s].bins.clone();
        grown.push(bins[b].0.clone());
        placed[s] = best_order(problem, grown, costs, workers);
    }
    Some(placed)
}

/// Whether `a` is a worse plan than `b`: more shards without tests (a CI job that runs
/// nothing), then a longer longest shard, then a larger sum.
fn worse(a: &[Placed], b: &[Placed]) -> bool {
    let empty = |p: &[Placed]| p.iter().filter(|x| x.order.is_empty()).count();
    if empty(a) != empty(b) {
        return empty(a) > empty(b);
    }
    let key = |p: &[Placed]| {
        (
            p.iter().map(|x| x.score).fold(0.0, f64::max),
            p.iter().map(|x| x.score).sum::<f64>(),
        )
    };
    let (ka, kb) = (key(a), key(b));
    ka.0 > kb.0 + 1e-9 || ((ka.0 - kb.0).abs() <= 1e-9 && ka.1 > kb.1 + 1e-9)
}

/// Lower the longest shard's score: move a whole unit (tests that share a [`move_key`]) from it
/// to the shortest shard, or, when no move helps, swap a unit of it with a unit of another
/// shard, trying the others shortest first. Every accepted step leaves both shards' scores
/// below the longest's, so the sorted scores fall and the search ends; a budget of replays
/// bounds it on large suites, and the best step found when it runs out is still taken.
/// Returns whether any step was taken.
fn improve(
    problem: &Problem,
    placed: &mut [Placed],
    costs: &Costs,
    workers: &Workers,
    mut budget: usize,
) -> bool {
    if placed.len() < 2 {
        return false;
    }
    let mut changed = false;
    loop {
        let mut by_time: Vec<usize> = (0..placed.len()).collect();
        by_time.sort_by(|&a, &b| placed[a].score.total_cmp(&placed[b].score).then(a.cmp(&b)));
        let long = *by_time.last().expect("two shards or more");
        let current = placed[long].score;
        let from_long = candidate_units(problem, &placed[long], workers.dist);
        if from_long.is_empty() {
            return changed;
        }
        let mut step: Option<(usize, Placed, Placed)> = None;
        // When the budget runs out, the best step found so far is still taken.
        let mut spent = false;

        // A move to the shortest shard: the best of the candidates.
        let short = by_time[0];
        let mut best: Option<(f64, Placed, Placed)> = None;
        for &key in &from_long {
            if !spend(&mut budget, &placed[long], &placed[short]) {
                spent = true;
                break;
            }
            let (stay, go) = take_unit(problem, &placed[long].bins, key, workers.dist);
            let grown = give(problem, placed[short].bins.clone(), go);
            let a = best_order(problem, stay, costs, workers);
            let b = best_order(problem, grown, costs, workers);
            let worst = a.score.max(b.score);
            if worst < current - 1e-9 && best.as_ref().is_none_or(|(w, _, _)| worst < *w) {
                best = Some((worst, a, b));
            }
        }
        if let Some((_, a, b)) = best {
            step = Some((short, a, b));
        }

        // Else swap with the first other shard, shortest first, for which a swap helps.
        if step.is_none() && !spent {
            for &other in &by_time[..by_time.len() - 1] {
                let from_other: Vec<(&str, Taken)> =
                    candidate_units(problem, &placed[other], workers.dist)
                        .into_iter()
                        .map(|k| (k, take_unit(problem, &placed[other].bins, k, workers.dist)))
                        .collect();
                let mut best: Option<(f64, Placed, Placed)> = None;
                'pairs: for &key in &from_long {
                    let (stay, go) = take_unit(problem, &placed[long].bins, key, workers.dist);
                    for (theirs, (kept, back)) in &from_other {
                        if *theirs == key {
                            continue;
                        }
                        if !spend(&mut budget, &placed[long], &placed[other]) {
                            spent = true;
                            break 'pairs;
                        }
                        let (kept, back) = (kept.clone(), back.clone());
                        let a =
                            best_order(problem, give(problem, stay.clone(), back), costs, workers);
                        let b =
                            best_order(problem, give(problem, kept, go.clone()), costs, workers);
                        let worst = a.score.max(b.score);
                        if worst < current - 1e-9
                            && best.as_ref().is_none_or(|(w, _, _)| worst < *w)
                        {
                            best = Some((worst, a, b));
                        }
                    }
                }
                if let Some((_, a, b)) = best {
                    step = Some((other, a, b));
                }
                if step.is_some() || spent {
                    break;
                }
            }
        }

        let Some((other, a, b)) = step else {
            return changed;
        };
        placed[long] = a;
        placed[other] = b;
        changed = true;
        if spent {
            return changed;
        }
    }
}

/// Takes one evaluation of two shards out of the budget; false when it is spent.
fn spend(budget: &mut usize, a: &Placed, b: &Placed) -> bool {
    let cost = 24 * (a.order.len() + b.order.len());
    if *budget < cost {
        return false;
    }
    *budget -= cost;
    true
}

/// A shard's units worth trying to move: at most [`MOVE_CANDIDATES`], spread over its units
/// from the smallest to the largest. A shard of one unit offers none.
fn candidate_units<'p>(problem: &'p Problem, shard: &Placed, dist: Dist) -> Vec<&'p str> {
    let mut units: Vec<(&str, f64)> = Vec::new();
    let mut index: HashMap<&str, usize> = HashMap::new();
    for &i in &shard.order {
        let key = move_key(problem, i, dist);
        let k = *index.entry(key).or_insert_with(|| {
            units.push((key, 0.0));
            units.len() - 1
        });
        units[k].1 += problem.standalone(i as usize);
    }
    if units.len() < 2 {
        return Vec::new();
    }
    units.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(b.0)));
    let step = units.len().div_ceil(MOVE_CANDIDATES).max(1);
    units.iter().step_by(step).map(|(k, _)| *k).collect()
}

/// A shard's bins with a unit taken out, and the unit's tests.
type Taken = (Vec<Vec<u32>>, Vec<u32>);

/// A unit's tests taken out of every bin of a shard: the bins left, and the tests taken.
fn take_unit(problem: &Problem, bins: &[Vec<u32>], key: &str, dist: Dist) -> Taken {
    let mut taken: Vec<u32> = Vec::new();
    let left = bins
        .iter()
        .map(|bin| {
            let (keep, leave): (Vec<u32>, Vec<u32>) = bin
                .iter()
                .partition(|&&i| move_key(problem, i, dist) != key);
            taken.extend(leave);
            keep
        })
        .collect();
    (left, taken)
}

/// Tests given to a shard: they join its lightest bin (a new bin when it has none).
fn give(problem: &Problem, mut bins: Vec<Vec<u32>>, tests: Vec<u32>) -> Vec<Vec<u32>> {
    let lightest = (0..bins.len()).min_by(|&x, &y| {
        bin_load(problem, &bins[x])
            .total_cmp(&bin_load(problem, &bins[y]))
            .then(x.cmp(&y))
    });
    match lightest {
        Some(b) => bins[b].extend(tests),
        None => bins.push(tests),
    }
    bins
}

#[cfg(test)]
mod tests;
