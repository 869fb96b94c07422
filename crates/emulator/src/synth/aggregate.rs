//! The aggregates engine: generates the slots a query needs (in parallel over slot chunks),
//! buckets every emission by its emit instant, groups by small integer tuples and only writes
//! strings when the response is built.

use std::collections::BTreeMap;

use genesys::aggregates::{
    AggregateDataContainer, AggregateMetricData, AggregateQueryResponse, AggregateViewData,
    StatisticalResponse, StatisticalSummary,
};
use genesys::catalog::MetricKind;

use super::World;
use super::codes::Metric;
use super::dims::ABSENT;
use super::fxhash::FxHashMap;
use super::model::{MAX_SPAN_MS, SlotData, slot_of};
use super::query::{NOT_REQUESTED, Plan};

/// Statistics of one metric (or view) in one (group, bucket). For oServiceLevel `sum` is the
/// numerator, `count` the denominator and `min`/`max` the targets seen, in parts per million.
#[derive(Debug, Clone, Copy)]
struct Cell {
    count: u32,
    min: u32,
    max: u32,
    sum: u64,
}

impl Cell {
    const EMPTY: Cell = Cell {
        count: 0,
        min: u32::MAX,
        max: 0,
        sum: 0,
    };

    #[inline]
    fn add(&mut self, value: u32, low: u32, high: u32) {
        self.count += 1;
        self.sum += value as u64;
        self.min = self.min.min(low);
        self.max = self.max.max(high);
    }

    fn merge(&mut self, other: &Cell) {
        self.count += other.count;
        self.sum += other.sum;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
    }
}

const UNSET: u32 = u32::MAX;
const FILTERED: u32 = u32::MAX - 1;

/// What one worker accumulated over its slots.
#[derive(Default)]
struct Partial {
    group_ids: FxHashMap<Box<[u64]>, u32>,
    group_keys: Vec<Box<[u64]>>,
    /// (group << 32 | bucket) → index of its first cell.
    index: FxHashMap<u64, u32>,
    cells: Vec<Cell>,
}

impl Partial {
    fn intern(&mut self, key: &[u64]) -> u32 {
        if let Some(id) = self.group_ids.get(key) {
            return *id;
        }
        let id = self.group_keys.len() as u32;
        self.group_keys.push(key.into());
        self.group_ids.insert(key.into(), id);
        id
    }

    #[inline]
    fn cells_of(&mut self, group: u32, bucket: u32, width: usize) -> usize {
        let key = ((group as u64) << 32) | bucket as u64;
        let next = self.cells.len() as u32;
        let base = *self.index.entry(key).or_insert(next);
        if base == next {
            self.cells.resize(self.cells.len() + width, Cell::EMPTY);
        }
        base as usize
    }

    fn merge(&mut self, other: Partial, width: usize) {
        for (key, base) in other.index {
            let group = self.intern(&other.group_keys[(key >> 32) as usize]);
            let mine = self.cells_of(group, key as u32, width);
            for k in 0..width {
                let theirs = other.cells[base as usize + k];
                self.cells[mine + k].merge(&theirs);
            }
        }
    }
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
            partial: Partial::default(),
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
        for i in 0..self.slot.emissions.len() {
            let e = self.slot.emissions[i];
            let metric_index = self.plan.metric_index[e.metric as usize];
            let views = self.plan.view_mask[e.metric as usize];
            if metric_index == NOT_REQUESTED && views == 0 {
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
        let s = &self.slot.sessions[e.session as usize];
        let ppm = self.world.target_ppm(s.queue, s.media);
        (ppm, ppm)
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
pub fn run(world: &World, plan: &Plan, now_ms: i64) -> AggregateQueryResponse {
    let start_ms = plan.interval.start.as_millisecond();
    let last_ms = (plan.interval.end.as_millisecond() - 1).min(now_ms);
    let first_slot = slot_of(start_ms - MAX_SPAN_MS);
    let end_slot = slot_of(last_ms) + 1;
    if end_slot <= first_slot {
        return AggregateQueryResponse::default();
    }
    let partial = accumulate(world, plan, now_ms, first_slot..end_slot);
    respond(world, plan, partial)
}

fn accumulate(world: &World, plan: &Plan, now_ms: i64, slots: std::ops::Range<i64>) -> Partial {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(8);
    let total = slots.end - slots.start;
    if threads < 2 || total < 4 * 96 {
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
    let mut merged = partials.next().unwrap_or_default();
    for p in partials {
        merged.merge(p, width);
    }
    merged
}

fn respond(world: &World, plan: &Plan, partial: Partial) -> AggregateQueryResponse {
    let mut per_group: Vec<Vec<(u32, u32)>> = vec![Vec::new(); partial.group_keys.len()];
    for (key, base) in &partial.index {
        per_group[(key >> 32) as usize].push((*key as u32, *base));
    }
    let mut results: Vec<AggregateDataContainer> = Vec::new();
    for (group, mut entries) in per_group.into_iter().enumerate() {
        entries.sort_unstable_by_key(|(bucket, _)| *bucket);
        let data: Vec<StatisticalResponse> = entries
            .into_iter()
            .filter_map(|(bucket, base)| statistics(plan, bucket, &partial.cells[base as usize..]))
            .collect();
        if data.is_empty() {
            continue;
        }
        let values = &partial.group_keys[group];
        let group = plan
            .group_by
            .iter()
            .zip(values.iter())
            .filter_map(|((name, dim), code)| {
                let dim = (*code != ABSENT).then_some(*dim)??;
                Some((name.clone(), world.vocab.render(dim, *code)))
            })
            .collect::<BTreeMap<_, _>>();
        results.push(AggregateDataContainer { group, data });
    }
    results.sort_by(|a, b| a.group.cmp(&b.group));
    AggregateQueryResponse { results }
}

fn statistics(plan: &Plan, bucket: u32, cells: &[Cell]) -> Option<StatisticalResponse> {
    let metrics: Vec<AggregateMetricData> = plan
        .metrics
        .iter()
        .zip(cells)
        .filter(|(_, cell)| cell.count > 0)
        .map(|(m, cell)| AggregateMetricData {
            metric: m.name.clone(),
            qualifier: None,
            stats: summary(&m.name, cell),
        })
        .collect();
    let views: Vec<AggregateViewData> = plan
        .views
        .iter()
        .zip(&cells[plan.metrics.len()..])
        .filter(|(_, cell)| cell.count > 0)
        .map(|(v, cell)| AggregateViewData {
            name: v.name.clone(),
            stats: StatisticalSummary {
                count: Some(cell.count as i64),
                ..StatisticalSummary::default()
            },
        })
        .collect();
    if metrics.is_empty() && views.is_empty() {
        return None;
    }
    Some(StatisticalResponse {
        interval: plan.buckets.interval(bucket as usize).to_string(),
        metrics,
        views,
    })
}

fn summary(name: &str, cell: &Cell) -> StatisticalSummary {
    let count = Some(cell.count as i64);
    if name == Metric::OServiceLevel.as_str() {
        let target = (cell.min == cell.max).then(|| cell.min as f64 / 1e6);
        return StatisticalSummary {
            ratio: Some(cell.sum as f64 / cell.count as f64),
            numerator: Some(cell.sum as f64),
            denominator: Some(cell.count as f64),
            target,
            ..StatisticalSummary::default()
        };
    }
    match MetricKind::of(name) {
        Some(MetricKind::Count) => StatisticalSummary {
            count,
            ..StatisticalSummary::default()
        },
        _ => StatisticalSummary {
            max: Some(cell.max as f64),
            min: Some(cell.min as f64),
            count,
            sum: Some(cell.sum as f64),
            ..StatisticalSummary::default()
        },
    }
}
