//! The aggregates engine: generates the slots a query needs (in parallel over slot chunks),
//! buckets every emission by its emit instant, groups by small integer tuples and only writes
//! strings when the response is built.

use std::collections::BTreeMap;

use super::World;
use super::codes::Metric;
use super::dims::ABSENT;
use super::fxhash::FxHashMap;
use super::model::{MAX_SPAN_MS, SlotData, slot_of};
use super::query::{NOT_REQUESTED, Plan};
use super::table::{AggregateTable, Cell, TableGroup};

/// Below this many slots a second thread costs more than it saves.
const PARALLEL_SLOTS: i64 = 96;

const UNSET: u32 = u32::MAX;
const FILTERED: u32 = u32::MAX - 1;

/// Dense (group, bucket) → cell tables are used while they stay under this many entries
/// (64 MiB); beyond it (e.g. grouping a long interval by conversationId) a hash map takes over.
const DENSE_LIMIT: usize = 16 << 20;
const NO_CELL: u32 = u32::MAX;

/// Where the cells of each (group, bucket) live.
enum CellIndex {
    /// Per group, per bucket: index of its first cell (NO_CELL if none).
    Dense(Vec<Vec<u32>>),
    /// (group << 32 | bucket) → index of its first cell.
    Sparse(FxHashMap<u64, u32>),
}

/// What one worker accumulated over its slots.
struct Partial {
    buckets: usize,
    group_ids: FxHashMap<Box<[u64]>, u32>,
    group_keys: Vec<Box<[u64]>>,
    index: CellIndex,
    cells: Vec<Cell>,
}

impl Partial {
    fn new(buckets: usize) -> Self {
        Partial {
            buckets,
            group_ids: FxHashMap::default(),
            group_keys: Vec::new(),
            index: CellIndex::Dense(Vec::new()),
            cells: Vec::new(),
        }
    }

    fn intern(&mut self, key: &[u64]) -> u32 {
        if let Some(id) = self.group_ids.get(key) {
            return *id;
        }
        let id = self.group_keys.len() as u32;
        self.group_keys.push(key.into());
        self.group_ids.insert(key.into(), id);
        if let CellIndex::Dense(tables) = &mut self.index {
            if (tables.len() + 1) * self.buckets > DENSE_LIMIT {
                self.index = CellIndex::Sparse(
                    self.entries()
                        .map(|(g, b, base)| (key_of(g, b), base))
                        .collect(),
                );
            } else {
                tables.push(vec![NO_CELL; self.buckets]);
            }
        }
        id
    }

    #[inline]
    fn cells_of(&mut self, group: u32, bucket: u32, width: usize) -> usize {
        let next = self.cells.len() as u32;
        let slot = match &mut self.index {
            CellIndex::Dense(tables) => &mut tables[group as usize][bucket as usize],
            CellIndex::Sparse(map) => map.entry(key_of(group, bucket)).or_insert(NO_CELL),
        };
        if *slot == NO_CELL {
            *slot = next;
            self.cells.resize(self.cells.len() + width, Cell::EMPTY);
        }
        *slot as usize
    }

    /// Every (group, bucket, first cell) held.
    fn entries(&self) -> Box<dyn Iterator<Item = (u32, u32, u32)> + '_> {
        match &self.index {
            CellIndex::Dense(tables) => Box::new(tables.iter().enumerate().flat_map(|(g, t)| {
                t.iter()
                    .enumerate()
                    .filter(|(_, c)| **c != NO_CELL)
                    .map(move |(b, c)| (g as u32, b as u32, *c))
            })),
            CellIndex::Sparse(map) => {
                Box::new(map.iter().map(|(k, c)| ((k >> 32) as u32, *k as u32, *c)))
            }
        }
    }

    fn merge(&mut self, other: Partial, width: usize) {
        for (group, bucket, base) in other.entries() {
            let group = self.intern(&other.group_keys[group as usize]);
            let mine = self.cells_of(group, bucket, width);
            for k in 0..width {
                let theirs = other.cells[base as usize + k];
                self.cells[mine + k].merge(&theirs);
            }
        }
    }
}

#[inline]
fn key_of(group: u32, bucket: u32) -> u64 {
    ((group as u64) << 32) | bucket as u64
}

/// Per-worker scratch: the slot buffer and each session's group (computed once per session).
struct Worker<'a> {
    world: &'a World,
    plan: &'a Plan,
    now: i64,
    slot: SlotData,
    session_group: Vec<u32>,
    key: Vec<u64>,
    partial: Partial,
}

impl<'a> Worker<'a> {
    fn new(world: &'a World, plan: &'a Plan, now: i64) -> Self {
        Worker {
            world,
            plan,
            now,
            slot: SlotData::default(),
            session_group: Vec::new(),
            key: Vec::with_capacity(plan.group_by.len()),
            partial: Partial::new(plan.buckets.len()),
        }
    }

    fn run(mut self, slots: std::ops::Range<i64>) -> Partial {
        for slot in slots {
            self.world
                .generator
                .generate(&self.world.model, slot, &mut self.slot);
            self.add_slot();
        }
        self.partial
    }

    fn add_slot(&mut self) {
        self.session_group.clear();
        self.session_group.resize(self.slot.sessions.len(), UNSET);
        let width = self.plan.cells();
        let start = self.slot.start_ms();
        let target_index = self.plan.metric_index[Metric::OServiceTarget as usize];
        for i in 0..self.slot.emissions.len() {
            let e = self.slot.emissions[i];
            let metric_index = self.plan.metric_index[e.metric as usize];
            let views = self.plan.view_mask[e.metric as usize];
            // Real orgs answer oServiceTarget `{current}` for a queue's groups; here each
            // offer observes its queue's target in the offer's bucket.
            let observes_target = e.metric == Metric::NOffered && target_index != NOT_REQUESTED;
            if metric_index == NOT_REQUESTED && views == 0 && !observes_target {
                continue;
            }
            let at = start + e.at_offset as i64;
            if at > self.now {
                continue;
            }
            let Some(bucket) = self.plan.buckets.index_of(at) else {
                continue;
            };
            let group = self.group_of(e.session);
            if group == FILTERED {
                continue;
            }
            let base = self.partial.cells_of(group, bucket as u32, width);
            let (low, high) = self.bounds(&e);
            if metric_index != NOT_REQUESTED {
                self.partial.cells[base + metric_index as usize].add(e.value, low, high);
            }
            if observes_target {
                let ppm = self.target_ppm(&e);
                self.partial.cells[base + target_index as usize].add(0, ppm, ppm);
            }
            if views != 0 {
                self.add_views(base, views, e.value);
            }
        }
    }

    /// min/max inputs: the value itself, or for oServiceLevel the queue's target (ppm).
    #[inline]
    fn bounds(&self, e: &super::model::Emission) -> (u32, u32) {
        if e.metric != Metric::OServiceLevel {
            return (e.value, e.value);
        }
        let ppm = self.target_ppm(e);
        (ppm, ppm)
    }

    /// The service level target (ppm) of the queue and media of the emission's session.
    #[inline]
    fn target_ppm(&self, e: &super::model::Emission) -> u32 {
        let s = &self.slot.sessions[e.session as usize];
        self.world.target_ppm(s.queue, s.media)
    }

    fn add_views(&mut self, base: usize, mut mask: u64, value: u32) {
        let offset = self.plan.metrics.len();
        while mask != 0 {
            let v = mask.trailing_zeros() as usize;
            mask &= mask - 1;
            if self.plan.views[v].range.contains(value as f64) {
                self.partial.cells[base + offset + v].add(value, value, value);
            }
        }
    }

    fn group_of(&mut self, session: u32) -> u32 {
        let cached = self.session_group[session as usize];
        if cached != UNSET {
            return cached;
        }
        let s = &self.slot.sessions[session as usize];
        let c = &self.slot.convs[s.conv as usize];
        let vocab = &self.world.vocab;
        let group = if self
            .plan
            .filter
            .as_ref()
            .is_some_and(|f| !f.matches(vocab, c, s, self.now))
        {
            FILTERED
        } else {
            self.key.clear();
            for (_, dim) in &self.plan.group_by {
                self.key
                    .push(dim.map_or(ABSENT, |d| vocab.value(d, c, s, self.now)));
            }
            let key = std::mem::take(&mut self.key);
            let id = self.partial.intern(&key);
            self.key = key;
            id
        };
        self.session_group[session as usize] = group;
        group
    }
}

/// Runs a validated plan as of `now_ms`.
pub fn run(world: &World, plan: &Plan, now_ms: i64) -> AggregateTable {
    let start_ms = plan.interval.start.as_millisecond();
    let last_ms = (plan.interval.end.as_millisecond() - 1).min(now_ms);
    let first_slot = slot_of(start_ms - MAX_SPAN_MS);
    let end_slot = slot_of(last_ms) + 1;
    if end_slot <= first_slot {
        return AggregateTable::new(plan, Vec::new(), Vec::new());
    }
    let partial = accumulate(world, plan, now_ms, first_slot..end_slot);
    respond(world, plan, partial)
}

fn accumulate(world: &World, plan: &Plan, now_ms: i64, slots: std::ops::Range<i64>) -> Partial {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(8);
    let total = slots.end - slots.start;
    if threads < 2 || total < PARALLEL_SLOTS {
        return Worker::new(world, plan, now_ms).run(slots);
    }
    let chunk = (total + threads as i64 - 1) / threads as i64;
    let partials: Vec<Partial> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads as i64)
            .map(|k| {
                let from = slots.start + k * chunk;
                let to = (from + chunk).min(slots.end);
                scope.spawn(move || Worker::new(world, plan, now_ms).run(from..to))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("aggregation worker panicked"))
            .collect()
    });
    let width = plan.cells();
    let mut partials = partials.into_iter();
    let mut merged = partials
        .next()
        .unwrap_or_else(|| Partial::new(plan.buckets.len()));
    for p in partials {
        merged.merge(p, width);
    }
    merged
}

/// Groups the accumulated cells into the table a response is written from.
fn respond(world: &World, plan: &Plan, partial: Partial) -> AggregateTable {
    let mut per_group: Vec<Vec<(u32, u32)>> = vec![Vec::new(); partial.group_keys.len()];
    let width = plan.cells();
    for (group, bucket, base) in partial.entries() {
        let cells = &partial.cells[base as usize..base as usize + width];
        if cells.iter().any(|c| c.count > 0) {
            per_group[group as usize].push((bucket, base));
        }
    }
    let mut groups: Vec<TableGroup> = per_group
        .into_iter()
        .enumerate()
        .filter(|(_, rows)| !rows.is_empty())
        .map(|(g, mut rows)| {
            rows.sort_unstable_by_key(|(bucket, _)| *bucket);
            let group = plan
                .group_by
                .iter()
                .zip(partial.group_keys[g].iter())
                .filter_map(|((name, dim), code)| {
                    let dim = (*code != ABSENT).then_some(*dim)??;
                    Some((name.clone(), world.vocab.render(dim, *code)))
                })
                .collect::<BTreeMap<_, _>>();
            TableGroup { group, rows }
        })
        .collect();
    groups.sort_by(|a, b| a.group.cmp(&b.group));
    AggregateTable::new(plan, groups, partial.cells)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dense_index_turns_sparse_past_its_limit_and_keeps_every_cell() {
        let buckets = DENSE_LIMIT / 2;
        let mut p = Partial::new(buckets);
        for g in 0..4u64 {
            let group = p.intern(&[g]);
            let base = p.cells_of(group, (g * 7) as u32, 2);
            p.cells[base + 1].add(g as u32, g as u32, g as u32);
        }
        assert!(matches!(p.index, CellIndex::Sparse(_)));
        let mut entries: Vec<_> = p.entries().collect();
        entries.sort();
        assert_eq!(entries.len(), 4);
        for (g, b, base) in entries {
            assert_eq!(b, g * 7);
            assert_eq!(p.cells[base as usize + 1].sum, g as u64);
            assert_eq!(
                p.cells_of(g, b, 2),
                base as usize,
                "lookups find the same cells"
            );
        }
    }
}
