//! Generates the conversations of one slot from (seed, slot) alone: arrivals with daily and
//! weekly seasonality, then for each conversation its timeline (IVR, queue, alerts, talk, holds,
//! transfers, after-call work) written as sessions, segments and emissions at the instant each
//! metric happens.

use super::agents::Roster;
use super::codes::{Direction, Disconnect, Media, Metric, Purpose, SegmentType};
use super::ids::hash;
use super::model::{
    ConvRec, Emission, MAX_SPAN_MS, NEVER, NONE, SLOT_MS, SegRec, SessRec, SlotData,
    conversation_key,
};
use super::org::OrgModel;

/// Relative traffic per UTC hour: quiet nights, a morning ramp, busy office hours.
const HOURLY: [f64; 24] = [
    0.05, 0.03, 0.03, 0.03, 0.04, 0.08, 0.2, 0.5, 1.0, 1.5, 1.7, 1.7, 1.5, 1.6, 1.7, 1.6, 1.4, 1.1,
    0.8, 0.6, 0.4, 0.3, 0.15, 0.08,
];
/// Relative traffic per weekday, Monday first: Monday peak, weekend dip.
const WEEKLY: [f64; 7] = [1.3, 1.1, 1.05, 1.0, 0.95, 0.45, 0.3];
/// Abandons quicker than this are short abandons (tShortAbandon, outside the service level).
pub const SHORT_ABANDON_MS: i64 = 10_000;

/// Timing profile per media type (medians in ms).
struct Profile {
    queue_median: f64,
    patience_mean: f64,
    alert_timeout: i64,
    talk_median: f64,
    acw_median: f64,
}

fn profile(media: Media) -> Profile {
    match media {
        Media::Voice => Profile {
            queue_median: 10_000.0,
            patience_mean: 240_000.0,
            alert_timeout: 8_000,
            talk_median: 240_000.0,
            acw_median: 45_000.0,
        },
        Media::Callback => Profile {
            queue_median: 90_000.0,
            patience_mean: f64::INFINITY,
            alert_timeout: 8_000,
            talk_median: 300_000.0,
            acw_median: 60_000.0,
        },
        Media::Chat => Profile {
            queue_median: 25_000.0,
            patience_mean: 300_000.0,
            alert_timeout: 30_000,
            talk_median: 480_000.0,
            acw_median: 30_000.0,
        },
        Media::Message => Profile {
            queue_median: 120_000.0,
            patience_mean: 1_800_000.0,
            alert_timeout: 30_000,
            talk_median: 600_000.0,
            acw_median: 30_000.0,
        },
        Media::Email => Profile {
            queue_median: 1_800_000.0,
            patience_mean: f64::INFINITY,
            alert_timeout: 300_000,
            talk_median: 360_000.0,
            acw_median: 90_000.0,
        },
    }
}

/// Precomputed tables for fast generation.
pub struct Generator {
    seed: u64,
    per_slot_mean: f64,
    queue_cumulative: Vec<u32>,
    /// Per queue: other queues of the same division, for transfers.
    transfer_targets: Vec<Vec<u16>>,
    wrapups: u16,
    /// Percent of wrap-up codes known only 48–72 h after their wrap-up ends.
    late_wrapup_percent: u8,
    /// Who is on queue when: routing only reaches members the roster has on queue.
    pub(super) roster: Roster,
}

impl Generator {
    pub fn new(seed: u64, org: &OrgModel, shape: &super::OrgShape) -> Self {
        let conversations_per_day = shape.conversations_per_day;
        let season_mean = HOURLY.iter().sum::<f64>() / 24.0 * WEEKLY.iter().sum::<f64>() / 7.0;
        let per_slot_mean = conversations_per_day as f64 / 96.0 / season_mean;
        let mut total = 0;
        let queue_cumulative = org
            .queues
            .iter()
            .map(|q| {
                // A queue nobody staffs gets no traffic (small shapes may leave queues empty).
                total += if q.members.is_empty() { 0 } else { q.weight };
                total
            })
            .collect();
        let transfer_targets =
            org.queues
                .iter()
                .enumerate()
                .map(|(i, q)| {
                    let same_division = org.queues.iter().enumerate().filter(|(j, o)| {
                        *j != i && o.division == q.division && !o.members.is_empty()
                    });
                    same_division.map(|(j, _)| j as u16).collect()
                })
                .collect();
        Self {
            seed,
            per_slot_mean,
            queue_cumulative,
            transfer_targets,
            wrapups: org.wrapups.len() as u16,
            late_wrapup_percent: shape.late_wrapup_percent.min(100),
            roster: Roster::new(seed, org.queues.len()),
        }
    }

    /// How long after its wrap-up ends a session's code is known: at once, or for a share of
    /// them 48 to 72 h later, as Genesys' nightly reprocessing fills codes in on data at
    /// least 48 h old (genesys-users-and-details-api.md §6.3). From a hash, not the stream
    /// of draws, so a late share leaves every other value of the slot as it was.
    fn wrapup_delay(&self, conversation: u64, ordinal: u8) -> i64 {
        const HOUR: i64 = 3_600_000;
        let draw = super::ids::hash(&[self.seed, 0x1a7e_c0de, conversation, u64::from(ordinal)]);
        if draw % 100 >= u64::from(self.late_wrapup_percent) {
            return 0;
        }
        48 * HOUR + ((draw >> 8) % (24 * HOUR as u64)) as i64
    }

    fn expected_arrivals(&self, slot: i64) -> f64 {
        let day = slot.div_euclid(96);
        let hour = (slot.rem_euclid(96) / 4) as usize;
        // 1970-01-01 was a Thursday (index 3 with Monday = 0).
        let weekday = (day + 3).rem_euclid(7) as usize;
        self.per_slot_mean * HOURLY[hour] * WEEKLY[weekday]
    }

    /// Fills `out` with the conversations starting in `slot`.
    pub fn generate(&self, org: &OrgModel, slot: i64, out: &mut SlotData) {
        out.clear(slot);
        if self.queue_cumulative.last().is_none_or(|total| *total == 0) {
            return;
        }
        let mut rng = fastrand::Rng::with_seed(hash(&[self.seed, slot as u64]));
        let lambda = self.expected_arrivals(slot);
        let count = (lambda + lambda.sqrt() * normal(&mut rng)).round().max(0.0) as u32;
        let slot_start = slot * SLOT_MS;
        for index in 0..count {
            let start = slot_start + rng.i64(0..SLOT_MS);
            let mut b = ConvBuilder::begin(
                self,
                org,
                out,
                &mut rng,
                conversation_key(slot, index),
                start,
            );
            b.run();
            b.finish();
        }
    }

    fn pick_queue(&self, rng: &mut fastrand::Rng) -> usize {
        let total = *self.queue_cumulative.last().expect("queues exist");
        let x = rng.u32(0..total);
        self.queue_cumulative.partition_point(|c| *c <= x)
    }
}

/// Approximately standard normal (Irwin–Hall with four uniforms, variance-corrected).
fn normal(rng: &mut fastrand::Rng) -> f64 {
    (rng.f64() + rng.f64() + rng.f64() + rng.f64() - 2.0) * 1.732_050_8
}

fn lognormal(rng: &mut fastrand::Rng, median: f64, sigma: f64) -> f64 {
    median * (sigma * normal(rng)).exp()
}

fn exponential(rng: &mut fastrand::Rng, mean: f64) -> f64 {
    -mean * (1.0 - rng.f64()).ln()
}

fn clamp_ms(v: f64, lo: i64, hi: i64) -> i64 {
    (v as i64).clamp(lo, hi)
}

struct ConvBuilder<'a> {
    generator: &'a Generator,
    org: &'a OrgModel,
    out: &'a mut SlotData,
    rng: &'a mut fastrand::Rng,
    conv: u32,
    start: i64,
    end: i64,
    media: Media,
    queue: u16,
    next_ordinal: u8,
}

impl<'a> ConvBuilder<'a> {
    fn begin(
        generator: &'a Generator,
        org: &'a OrgModel,
        out: &'a mut SlotData,
        rng: &'a mut fastrand::Rng,
        key: u64,
        start: i64,
    ) -> Self {
        let queue = generator.pick_queue(rng);
        let q = &org.queues[queue];
        let media = pick_weighted(rng, &q.media_weights);
        let outbound = media == Media::Voice && rng.u32(0..1000) < q.outbound_per_mille;
        let conv = out.convs.len() as u32;
        let (s, g, e) = (
            out.sessions.len() as u32,
            out.segments.len() as u32,
            out.emissions.len() as u32,
        );
        out.convs.push(ConvRec {
            key,
            start_ms: start,
            end_ms: start,
            originating_direction: if outbound {
                Direction::Outbound
            } else {
                Direction::Inbound
            },
            initiator: if outbound {
                Purpose::Agent
            } else {
                Purpose::Customer
            },
            customer_participation: true,
            division: q.division,
            first_queue: queue as u16,
            first_queue_at: NEVER,
            customer_phone: 2_000_000_000 + hash(&[key, 0xC0]) % 7_999_999_999,
            sessions: (s, s),
            segments: (g, g),
            emissions: (e, e),
        });
        Self {
            generator,
            org,
            out,
            rng,
            conv,
            start,
            end: start,
            media,
            queue: queue as u16,
            next_ordinal: 0,
        }
    }

    fn run(&mut self) {
        if self.out.convs[self.conv as usize].originating_direction == Direction::Outbound {
            self.outbound();
        } else {
            self.inbound();
        }
    }

    fn finish(self) {
        debug_assert!(
            self.end - self.start <= MAX_SPAN_MS,
            "conversation longer than MAX_SPAN_MS"
        );
        let c = &mut self.out.convs[self.conv as usize];
        c.end_ms = self.end;
        c.sessions.1 = self.out.sessions.len() as u32;
        c.segments.1 = self.out.segments.len() as u32;
        c.emissions.1 = self.out.emissions.len() as u32;
    }

    fn session(&mut self, purpose: Purpose, direction: Direction, queue: u16, user: u16) -> u32 {
        let ordinal = self.next_ordinal;
        self.next_ordinal += 1;
        self.out.sessions.push(SessRec {
            conv: self.conv,
            ordinal,
            purpose,
            media: self.media,
            direction,
            queue,
            user,
            wrapup: NONE,
            wrapup_at: NEVER,
            disconnect: Disconnect::System,
            disconnect_at: NEVER,
            routed: false,
        });
        (self.out.sessions.len() - 1) as u32
    }

    fn segment(&mut self, session: u32, kind: SegmentType, start: i64, end: i64) {
        self.end = self.end.max(end);
        self.out.segments.push(SegRec {
            session,
            kind,
            start_ms: start,
            end_ms: end,
            disconnects: false,
        });
    }

    /// The last segment pushed for `session` ends it with `disconnect`.
    fn disconnect(&mut self, session: u32, disconnect: Disconnect) {
        let seg = self
            .out
            .segments
            .iter_mut()
            .rev()
            .find(|s| s.session == session)
            .expect("session has a segment");
        seg.disconnects = true;
        let at = seg.end_ms;
        let s = &mut self.out.sessions[session as usize];
        s.disconnect = disconnect;
        s.disconnect_at = at;
    }

    fn emit(&mut self, session: u32, metric: Metric, at: i64, value: i64) {
        let at_offset = (at - self.out.start_ms()) as u32;
        self.out.emissions.push(Emission {
            at_offset,
            value: value as u32,
            session,
            metric,
        });
    }

    fn inbound(&mut self) {
        let customer = self.session(Purpose::Customer, Direction::Inbound, NONE, NONE);
        self.emit(customer, Metric::NConversations, self.start, 1);
        let mut t = self.start;
        if self.media.has_ivr() {
            let ivr = self.session(Purpose::Ivr, Direction::Inbound, NONE, NONE);
            let ivr_ms = clamp_ms(lognormal(self.rng, 40_000.0, 0.5), 5_000, 300_000);
            self.segment(ivr, SegmentType::Ivr, t, t + ivr_ms);
            self.emit(ivr, Metric::TIvr, t + ivr_ms, ivr_ms);
            t += ivr_ms;
            if self.rng.u32(0..100) < 4 {
                // Self-served or hung up in the IVR.
                self.disconnect(ivr, Disconnect::Client);
                self.customer_segment(customer, t, Disconnect::Client);
                return;
            }
            self.disconnect(ivr, Disconnect::Transfer);
        }
        let end = self.queue_leg(self.queue, t, true);
        self.customer_segment(customer, end, Disconnect::Client);
    }

    fn customer_segment(&mut self, customer: u32, end: i64, disconnect: Disconnect) {
        self.segment(customer, SegmentType::Interact, self.start, end);
        self.disconnect(customer, disconnect);
    }

    /// Offers the conversation to a queue at `t`; returns when the customer's part ends (abandon,
    /// hang-up, or the end of the transferred leg).
    fn queue_leg(&mut self, queue: u16, t: i64, may_transfer: bool) -> i64 {
        let p = profile(self.media);
        let threshold = self.org.queues[queue as usize].service_level(self.media).1;
        let c = &mut self.out.convs[self.conv as usize];
        c.first_queue_at = c.first_queue_at.min(t);
        let acd = self.session(Purpose::Acd, Direction::Inbound, queue, NONE);
        self.out.sessions[acd as usize].routed = true;
        self.emit(acd, Metric::NOffered, t, 1);
        let queue_ms = clamp_ms(lognormal(self.rng, p.queue_median, 1.0), 500, 2 * 3_600_000);
        let patience = exponential(self.rng, p.patience_mean);
        if patience < queue_ms as f64 {
            let waited = (patience as i64).max(200);
            let left = t + waited;
            self.segment(acd, SegmentType::Interact, t, left);
            self.disconnect(acd, Disconnect::Client);
            self.emit(acd, Metric::TAcd, left, waited);
            self.emit(acd, Metric::TWait, left, waited);
            self.emit(acd, Metric::TAbandon, left, waited);
            if waited < SHORT_ABANDON_MS {
                self.emit(acd, Metric::TShortAbandon, left, waited);
            } else {
                self.emit(acd, Metric::OServiceLevel, left, 0);
            }
            return left;
        }
        let members = &self.org.queues[queue as usize].members;
        let mut alert_start = t + queue_ms;
        let draw = self.rng.usize(..members.len());
        let first_agent = self.on_queue_member(queue, draw, alert_start, None);
        let mut agent = first_agent;
        if self.rng.u32(0..100) < 7 {
            alert_start = self.missed_alert(queue, first_agent, alert_start, p.alert_timeout);
            // Routing offers the conversation to another member when there is one.
            let others = members.len() - 1;
            let position = members.iter().position(|m| *m == first_agent).unwrap_or(0);
            agent = if others == 0 {
                first_agent
            } else {
                let draw = (position + 1 + self.rng.usize(..others)) % members.len();
                self.on_queue_member(queue, draw, alert_start, Some(first_agent))
            };
        }
        let alert_ms = clamp_ms(
            lognormal(self.rng, 3_000.0, 0.5),
            500,
            p.alert_timeout - 100,
        );
        let answered = alert_start + alert_ms;
        let waited = answered - t;
        self.segment(acd, SegmentType::Interact, t, answered);
        self.disconnect(acd, Disconnect::Transfer);
        self.emit(acd, Metric::TAcd, answered, waited);
        self.emit(acd, Metric::TWait, answered, waited);
        self.emit(
            acd,
            Metric::OServiceLevel,
            answered,
            i64::from(waited <= threshold),
        );
        if waited > threshold {
            self.emit(acd, Metric::NOverSla, answered, 1);
        }
        let s = self.session(Purpose::Agent, Direction::Inbound, queue, agent);
        self.out.sessions[s as usize].routed = true;
        self.segment(s, SegmentType::Alert, alert_start, answered);
        self.emit(s, Metric::TAlert, answered, alert_ms);
        self.emit(s, Metric::TAnswered, answered, waited);
        self.emit(s, Metric::NConnected, answered, 1);
        let Connected {
            end: talk_end,
            talk_and_held,
        } = self.conversation_with_agent(s, answered, p.talk_median);
        let transfer_to = if may_transfer {
            self.transfer_target(queue)
        } else {
            None
        };
        match transfer_to {
            Some(target) => {
                let consult = self.rng.bool();
                self.emit(s, Metric::NTransferred, talk_end, 1);
                if consult {
                    self.emit(s, Metric::NConsult, talk_end, 1);
                    self.emit(s, Metric::NConsultTransferred, talk_end, 1);
                    self.disconnect(s, Disconnect::ConsultTransfer);
                } else {
                    self.emit(s, Metric::NBlindTransferred, talk_end, 1);
                    self.disconnect(s, Disconnect::Transfer);
                }
                self.after_call_work(s, talk_end, talk_and_held, p.acw_median);
                self.queue_leg(target, talk_end, false)
            }
            None => {
                let by_customer = self.rng.u32(0..100) < 60;
                self.disconnect(
                    s,
                    if by_customer {
                        Disconnect::Peer
                    } else {
                        Disconnect::Client
                    },
                );
                self.after_call_work(s, talk_end, talk_and_held, p.acw_median);
                talk_end
            }
        }
    }

    /// The member routing reaches at `t`: the drawn one if the roster has it on queue, else the
    /// next one on queue in member order (never `except`). When no member is on queue the drawn
    /// one is called in: its day then shows it going on queue for this conversation.
    fn on_queue_member(&self, queue: u16, draw: usize, t: i64, except: Option<u16>) -> u16 {
        let members = &self.org.queues[queue as usize].members;
        (0..members.len())
            .map(|k| members[(draw + k) % members.len()])
            .find(|m| Some(*m) != except && self.generator.roster.on_queue_at(*m, t))
            .unwrap_or(members[draw])
    }

    /// An agent is alerted and does not answer (timeout) or declines; returns when it ends.
    fn missed_alert(&mut self, queue: u16, agent: u16, start: i64, timeout: i64) -> i64 {
        let s = self.session(Purpose::Agent, Direction::Inbound, queue, agent);
        self.out.sessions[s as usize].routed = true;
        let declined = self.rng.u32(0..100) < 30;
        let end = if declined {
            start + self.rng.i64(1_000..timeout)
        } else {
            start + timeout
        };
        self.segment(s, SegmentType::Alert, start, end);
        if declined {
            self.emit(s, Metric::NAgentDeclined, end, 1);
            self.disconnect(s, Disconnect::Endpoint);
        } else {
            self.emit(s, Metric::NAlertExpired, end, 1);
            self.emit(s, Metric::TNotResponding, end, end - start);
            self.disconnect(s, Disconnect::NoAnswerTransfer);
        }
        end
    }

    /// Talk with optional holds, from `from`; emits talk/hold metrics as each segment ends.
    fn conversation_with_agent(&mut self, s: u32, from: i64, talk_median: f64) -> Connected {
        let talk = clamp_ms(lognormal(self.rng, talk_median, 0.6), 5_000, 3_600_000);
        let holds = if self.media.can_hold() {
            match self.rng.u32(0..100) {
                0..70 => 0,
                70..92 => 1,
                _ => 2,
            }
        } else {
            0
        };
        let mut t = from;
        let mut held_total = 0;
        let part = talk / (holds + 1);
        for k in 0..=holds {
            let talk_part = if k == holds {
                talk - part * holds
            } else {
                part
            };
            self.segment(s, SegmentType::Interact, t, t + talk_part);
            self.emit(s, Metric::TTalk, t + talk_part, talk_part);
            t += talk_part;
            if k < holds {
                let held = clamp_ms(lognormal(self.rng, 40_000.0, 0.7), 2_000, 600_000);
                self.segment(s, SegmentType::Hold, t, t + held);
                self.emit(s, Metric::THeld, t + held, held);
                t += held;
                held_total += held;
            }
        }
        self.emit(s, Metric::TTalkComplete, t, talk);
        if held_total > 0 {
            self.emit(s, Metric::THeldComplete, t, held_total);
        }
        self.emit(s, Metric::TConnected, t, talk + held_total);
        Connected {
            end: t,
            talk_and_held: talk + held_total,
        }
    }

    /// After-call work from `from`; emits tAcw and tHandle (talk + held + acw) when it ends.
    fn after_call_work(&mut self, s: u32, from: i64, connected: i64, acw_median: f64) {
        let acw = clamp_ms(lognormal(self.rng, acw_median, 0.6), 2_000, 900_000);
        let end = from + acw;
        self.segment(s, SegmentType::Wrapup, from, end);
        self.emit(s, Metric::TAcw, end, acw);
        self.emit(s, Metric::THandle, end, connected + acw);
        let code = if self.generator.wrapups == 0 {
            NONE
        } else {
            self.rng.u16(0..self.generator.wrapups)
        };
        let conversation = self.out.convs[self.conv as usize].key;
        let session = &mut self.out.sessions[s as usize];
        let delay = self.generator.wrapup_delay(conversation, session.ordinal);
        session.wrapup = code;
        session.wrapup_at = if code == NONE { NEVER } else { end + delay };
    }

    fn transfer_target(&mut self, queue: u16) -> Option<u16> {
        if self.media == Media::Email || self.rng.u32(0..100) >= 7 {
            return None;
        }
        let media = self.media;
        let targets: Vec<u16> = self.generator.transfer_targets[queue as usize]
            .iter()
            .copied()
            .filter(|q| self.org.queues[*q as usize].handles(media))
            .collect();
        (!targets.is_empty()).then(|| targets[self.rng.usize(..targets.len())])
    }

    /// An agent dials a customer on behalf of a queue.
    fn outbound(&mut self) {
        let members = &self.org.queues[self.queue as usize].members;
        let draw = self.rng.usize(..members.len());
        let agent = self.on_queue_member(self.queue, draw, self.start, None);
        let s = self.session(Purpose::Agent, Direction::Outbound, self.queue, agent);
        let start = self.start;
        self.out.convs[self.conv as usize].first_queue_at = start;
        self.emit(s, Metric::NConversations, start, 1);
        self.emit(s, Metric::NOutbound, start, 1);
        self.emit(s, Metric::NOutboundAttempted, start, 1);
        let dialing = self.rng.i64(1_000..5_000);
        self.segment(s, SegmentType::Dialing, start, start + dialing);
        self.emit(s, Metric::TDialing, start + dialing, dialing);
        let contacting = clamp_ms(lognormal(self.rng, 12_000.0, 0.5), 2_000, 45_000);
        let connect = start + dialing + contacting;
        self.segment(s, SegmentType::Contacting, start + dialing, connect);
        self.emit(s, Metric::TContacting, connect, contacting);
        let external = self.session(Purpose::External, Direction::Outbound, NONE, NONE);
        let p = profile(self.media);
        if self.rng.u32(0..100) < 35 {
            self.segment(external, SegmentType::Contacting, start + dialing, connect);
            self.disconnect(external, Disconnect::Endpoint);
            self.disconnect(s, Disconnect::Peer);
            self.out.convs[self.conv as usize].customer_participation = false;
            self.after_call_work(s, connect, 0, p.acw_median / 3.0);
            return;
        }
        self.emit(s, Metric::NOutboundConnected, connect, 1);
        self.emit(s, Metric::NConnected, connect, 1);
        let Connected {
            end: talk_end,
            talk_and_held,
        } = self.conversation_with_agent(s, connect, p.talk_median);
        self.segment(external, SegmentType::Interact, connect, talk_end);
        let by_customer = self.rng.u32(0..100) < 50;
        self.disconnect(
            external,
            if by_customer {
                Disconnect::Client
            } else {
                Disconnect::Peer
            },
        );
        self.disconnect(
            s,
            if by_customer {
                Disconnect::Peer
            } else {
                Disconnect::Client
            },
        );
        self.after_call_work(s, talk_end, talk_and_held, p.acw_median);
    }
}

struct Connected {
    end: i64,
    talk_and_held: i64,
}

fn pick_weighted<T: Copy>(rng: &mut fastrand::Rng, items: &[(T, u32)]) -> T {
    let total: u32 = items.iter().map(|(_, w)| w).sum();
    let mut x = rng.u32(0..total.max(1));
    for (item, w) in items {
        if x < *w {
            return *item;
        }
        x -= w;
    }
    items[0].0
}
