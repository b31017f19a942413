//! Packing units (an item, or a file or class group kept whole) and the incremental shard state
//! that every construction and the local search share: loads and per-shard group counts, with
//! exact deltas for moving or exchanging units.
//!
//! Only groups with a positive setup cost are tracked, so independent tests pay no hashing.
//! Loads are updated incrementally; the final plan recomputes them from scratch.

use std::cmp::Ordering;
use std::collections::{BTreeSet, HashMap};

use super::GroupBy;
use super::model::Problem;

/// Items placed together; `groups` holds (costly group, how many of the unit's items are in it),
/// sorted by group.
#[derive(Debug, Clone)]
pub(crate) struct Unit {
    pub items: Vec<u32>,
    pub estimate: f64,
    pub groups: Vec<(u32, u32)>,
    /// Seconds when alone in a shard, excluding overhead; the sort key.
    pub standalone: f64,
}

impl Unit {
    fn from_items(problem: &Problem, items: Vec<u32>) -> Unit {
        let mut counts: Vec<(u32, u32)> = Vec::new();
        let mut estimate = 0.0;
        for &i in &items {
            estimate += problem.items[i as usize].estimate;
            for g in problem.costly_groups(i as usize) {
                match counts.binary_search_by_key(&g, |&(k, _)| k) {
                    Ok(pos) => counts[pos].1 += 1,
                    Err(pos) => counts.insert(pos, (g, 1)),
                }
            }
        }
        let standalone = estimate
            + counts
                .iter()
                .map(|&(g, _)| problem.setup[g as usize])
                .sum::<f64>();
        Unit {
            items,
            estimate,
            groups: counts,
            standalone,
        }
    }
}

/// Which labels form units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Granularity {
    Items,
    Classes,
    Files,
}

impl Granularity {
    pub fn name(self) -> &'static str {
        match self {
            Granularity::Items => "items",
            Granularity::Classes => "classes",
            Granularity::Files => "files",
        }
    }

    pub fn for_group_by(group_by: GroupBy) -> &'static [Granularity] {
        match group_by {
            GroupBy::None => &[Granularity::Items],
            GroupBy::File => &[Granularity::Files],
            GroupBy::Class => &[Granularity::Classes],
            GroupBy::Auto => &[Granularity::Items, Granularity::Classes, Granularity::Files],
        }
    }
}

/// Build units, sorted by standalone seconds desc then first item (items are pre-sorted, so the
/// first item index is a deterministic tiebreak). If there are fewer units than shards, the
/// largest multi-item units are split into items until every shard can get one.
pub(crate) fn build_units(problem: &Problem, granularity: Granularity, shards: usize) -> Vec<Unit> {
    let mut by_label: Vec<Vec<u32>> = Vec::new();
    let mut index: HashMap<u32, usize> = HashMap::new();
    for (i, item) in problem.items.iter().enumerate() {
        let label = match granularity {
            Granularity::Items => None,
            Granularity::Classes => item.class,
            Granularity::Files => item.file,
        };
        match label {
            Some(l) => {
                let slot = *index.entry(l).or_insert_with(|| {
                    by_label.push(Vec::new());
                    by_label.len() - 1
                });
                by_label[slot].push(i as u32);
            }
            None => by_label.push(vec![i as u32]),
        }
    }
    let mut units: Vec<Unit> = by_label
        .into_iter()
        .map(|items| Unit::from_items(problem, items))
        .collect();
    sort_units(&mut units);
    while units.len() < shards {
        let Some(pos) = units.iter().position(|u| u.items.len() > 1) else {
            break;
        };
        let big = units.remove(pos);
        units.extend(
            big.items
                .into_iter()
                .map(|i| Unit::from_items(problem, vec![i])),
        );
        sort_units(&mut units);
    }
    units
}

fn sort_units(units: &mut [Unit]) {
    units.sort_by(|a, b| {
        b.standalone
            .total_cmp(&a.standalone)
            .then_with(|| a.items[0].cmp(&b.items[0]))
    });
}

/// An f64 load ordered totally, for ordered sets of (load, shard).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Load(pub f64);

impl Eq for Load {}

impl PartialOrd for Load {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Load {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.total_cmp(&other.0)
    }
}

/// Units assigned to shards, with loads kept in an ordered set for O(log n) min/max.
pub(crate) struct State<'p> {
    pub problem: &'p Problem,
    pub units: Vec<Unit>,
    pub unit_shard: Vec<u32>,
    /// Units of each shard, with each unit's position for O(1) removal.
    pub members: Vec<Vec<u32>>,
    pos: Vec<u32>,
    pub loads: Vec<f64>,
    pub order: BTreeSet<(Load, u32)>,
    counts: HashMap<u64, u32>,
    /// Shards holding at least one item of each costly group, in the order they got it.
    holders: HashMap<u32, Vec<u32>>,
}

const UNASSIGNED: u32 = u32::MAX;

fn key(shard: u32, group: u32) -> u64 {
    (u64::from(shard) << 32) | u64::from(group)
}

impl<'p> State<'p> {
    pub fn new(problem: &'p Problem, units: Vec<Unit>, shards: usize) -> State<'p> {
        let n = units.len();
        State {
            problem,
            units,
            unit_shard: vec![UNASSIGNED; n],
            members: vec![Vec::new(); shards],
            pos: vec![0; n],
            loads: vec![problem.overhead; shards],
            order: (0..shards as u32)
                .map(|s| (Load(problem.overhead), s))
                .collect(),
            counts: HashMap::new(),
            holders: HashMap::new(),
        }
    }

    /// A state with every unit placed where `assign` (item -> shard) puts its first item.
    pub fn with_assignment(
        problem: &'p Problem,
        units: Vec<Unit>,
        shards: usize,
        assign: &[u32],
    ) -> State<'p> {
        let mut st = State::new(problem, units, shards);
        for u in 0..st.units.len() {
            let shard = assign[st.units[u].items[0] as usize];
            st.place(u as u32, shard);
        }
        st
    }

    pub fn shards(&self) -> usize {
        self.loads.len()
    }

    fn count(&self, shard: u32, group: u32) -> u32 {
        self.counts.get(&key(shard, group)).copied().unwrap_or(0)
    }

    /// Change in `shard`'s load if unit `out` leaves it and unit `inn` joins it (either optional).
    /// Exact even when both units share groups.
    pub fn exchange_delta(&self, shard: u32, out: Option<u32>, inn: Option<u32>) -> f64 {
        let empty: &[(u32, u32)] = &[];
        let (out_est, out_groups) = out.map_or((0.0, empty), |u| {
            let u = &self.units[u as usize];
            (u.estimate, u.groups.as_slice())
        });
        let (in_est, in_groups) = inn.map_or((0.0, empty), |u| {
            let u = &self.units[u as usize];
            (u.estimate, u.groups.as_slice())
        });
        let mut delta = in_est - out_est;
        let (mut a, mut b) = (0, 0);
        // Merge the two sorted group lists.
        while a < out_groups.len() || b < in_groups.len() {
            let (g, removed, added) = match (out_groups.get(a), in_groups.get(b)) {
                (Some(&(ga, ca)), Some(&(gb, cb))) if ga == gb => {
                    a += 1;
                    b += 1;
                    (ga, ca, cb)
                }
                (Some(&(ga, ca)), Some(&(gb, _))) if ga < gb => {
                    a += 1;
                    (ga, ca, 0)
                }
                (Some(&(ga, ca)), None) => {
                    a += 1;
                    (ga, ca, 0)
                }
                (_, Some(&(gb, cb))) => {
                    b += 1;
                    (gb, 0, cb)
                }
                (None, None) => break,
            };
            let before = self.count(shard, g);
            let after = before - removed + added;
            let setup = self.problem.setup[g as usize];
            if before == 0 && after > 0 {
                delta += setup;
            } else if before > 0 && after == 0 {
                delta -= setup;
            }
        }
        delta
    }

    fn set_load(&mut self, shard: u32, load: f64) {
        self.order
            .remove(&(Load(self.loads[shard as usize]), shard));
        self.loads[shard as usize] = load;
        self.order.insert((Load(load), shard));
    }

    pub fn place(&mut self, unit: u32, shard: u32) {
        let delta = self.exchange_delta(shard, None, Some(unit));
        let groups = std::mem::take(&mut self.units[unit as usize].groups);
        for &(g, c) in &groups {
            let count = self.counts.entry(key(shard, g)).or_insert(0);
            if *count == 0 {
                self.holders.entry(g).or_default().push(shard);
            }
            *count += c;
        }
        self.units[unit as usize].groups = groups;
        self.unit_shard[unit as usize] = shard;
        self.pos[unit as usize] = self.members[shard as usize].len() as u32;
        self.members[shard as usize].push(unit);
        let load = self.loads[shard as usize] + delta;
        self.set_load(shard, load);
    }

    pub fn unplace(&mut self, unit: u32) {
        let shard = self.unit_shard[unit as usize];
        let delta = self.exchange_delta(shard, Some(unit), None);
        let groups = std::mem::take(&mut self.units[unit as usize].groups);
        for &(g, c) in &groups {
            let k = key(shard, g);
            if let Some(v) = self.counts.get_mut(&k) {
                *v -= c;
                if *v == 0 {
                    self.counts.remove(&k);
                    if let Some(list) = self.holders.get_mut(&g) {
                        list.retain(|&s| s != shard);
                    }
                }
            }
        }
        self.units[unit as usize].groups = groups;
        let p = self.pos[unit as usize] as usize;
        let list = &mut self.members[shard as usize];
        list.swap_remove(p);
        if let Some(&moved) = list.get(p) {
            self.pos[moved as usize] = p as u32;
        }
        self.unit_shard[unit as usize] = UNASSIGNED;
        let load = self.loads[shard as usize] + delta;
        self.set_load(shard, load);
    }

    /// Shards that already pay `group`'s setup.
    pub fn holders(&self, group: u32) -> &[u32] {
        self.holders.get(&group).map_or(&[], |v| v.as_slice())
    }

    pub fn holds_group(&self, shard: u32, group: u32) -> bool {
        self.count(shard, group) > 0
    }

    #[cfg(test)]
    pub fn makespan(&self) -> f64 {
        self.order.last().map_or(0.0, |(l, _)| l.0)
    }

    /// Item-to-shard assignment for building a plan or refining at item level.
    pub fn item_assignment(&self) -> Vec<u32> {
        let mut out = vec![0; self.problem.items.len()];
        for (u, unit) in self.units.iter().enumerate() {
            for &i in &unit.items {
                out[i as usize] = self.unit_shard[u];
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packing::model::{GroupCosts, Item};

    fn problem() -> Problem {
        let mut costs = GroupCosts::default();
        costs.file.insert("f".into(), 10.0);
        Problem::new(
            vec![
                Item::new("a", 1.0).with_file("f").with_class("f::A"),
                Item::new("b", 2.0).with_file("f").with_class("f::A"),
                Item::new("c", 3.0).with_file("g"),
            ],
            &costs,
            1.0,
        )
        .unwrap()
    }

    #[test]
    fn units_follow_granularity() {
        let p = problem();
        assert_eq!(build_units(&p, Granularity::Items, 1).len(), 3);
        let files = build_units(&p, Granularity::Files, 1);
        assert_eq!(files.len(), 2);
        assert_eq!(files[0].standalone, 13.0);
        // Too few units for 3 shards: the file unit is split.
        assert_eq!(build_units(&p, Granularity::Files, 3).len(), 3);
    }

    #[test]
    fn deltas_match_recomputed_loads() {
        let p = problem();
        let units = build_units(&p, Granularity::Items, 2);
        let mut st = State::new(&p, units, 2);
        st.place(0, 0);
        st.place(1, 1);
        st.place(2, 1);
        let fresh = p.shard_seconds(&st.item_assignment(), 2);
        assert_eq!(st.loads, fresh);
        let d = st.exchange_delta(1, Some(1), Some(0));
        st.unplace(1);
        st.unplace(0);
        st.place(0, 1);
        st.place(1, 0);
        let fresh2 = p.shard_seconds(&st.item_assignment(), 2);
        assert_eq!(fresh2[1], fresh[1] + d);
        assert_eq!(st.loads, fresh2);
    }
}
