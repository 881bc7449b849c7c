//! The server's long-poll slots: how many it holds at once (`--max-long-polls`), at most
//! [`LONG_POLLS_PER_READER`] per reader, and a fair share between clinics when they run out.
//!
//! The fair share is max-min fairness by preemption: when every slot is taken, a long-poll from
//! a clinic holding at least two slots fewer than the clinic holding the most takes that
//! clinic's oldest slot (its poll answers `304` at once, which a reader answers by polling
//! again). Otherwise it is refused (`503`). Repeated, this levels the clinics that want slots to
//! within one of each other, so a clinic with many readers cannot starve one with few, and it
//! never moves a slot between clinics that are already level (no ping-pong).
//!
//! One mutex over one table; every operation is a few hash-map and b-tree steps (O(log n)) and
//! touches no database.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use tokio::sync::oneshot;

/// Long-polls one reader may hold at once. A correct reader holds one; a second covers a
/// reconnect while the old connection has not noticed it is gone. Beyond that the oldest is
/// answered (304) when a newer one arrives: the newest is the one a live reader is waiting on,
/// and one token can never take more than this many of the server's slots.
pub const LONG_POLLS_PER_READER: usize = 2;

/// Why a held long-poll was ended before its wait ran out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ended {
    /// A newer long-poll of the same reader took its place.
    Superseded,
    /// Another clinic, holding fewer slots, took its slot (fair share).
    Preempted,
}

/// Every slot is taken and the asking clinic already holds its fair share.
#[derive(Debug, PartialEq, Eq)]
pub struct Full;

pub struct LongPolls {
    table: Mutex<Table>,
}

struct Table {
    max: usize,
    held: usize,
    next_id: u64,
    /// Each clinic's held polls by id; ids only grow, so the first is the oldest.
    clinics: HashMap<i64, BTreeMap<u64, Slot>>,
    /// Each reader's held polls, oldest first (at most [`LONG_POLLS_PER_READER`]).
    readers: HashMap<i64, VecDeque<u64>>,
    /// (slots held, clinic) for every clinic holding any: the last is the clinic holding most.
    by_count: BTreeSet<(usize, i64)>,
}

struct Slot {
    reader: i64,
    end: oneshot::Sender<Ended>,
}

/// One held long-poll; gives its slot back when dropped.
pub struct Hold {
    slots: Arc<LongPolls>,
    id: u64,
    clinic: i64,
    /// Fires when the poll must answer now: see [`Ended`].
    pub ended: oneshot::Receiver<Ended>,
}

impl Drop for Hold {
    fn drop(&mut self) {
        // Already gone when it was superseded or preempted.
        self.slots.lock().remove(self.clinic, self.id);
    }
}

impl LongPolls {
    pub fn new(max: usize) -> Self {
        Self {
            table: Mutex::new(Table {
                max,
                held: 0,
                next_id: 0,
                clinics: HashMap::new(),
                readers: HashMap::new(),
                by_count: BTreeSet::new(),
            }),
        }
    }

    /// Takes a slot for a long-poll of `reader` (of `clinic`). A reader at its own cap gives
    /// back its oldest first, so its newest poll is never refused; a clinic below its fair share
    /// takes the oldest slot of the clinic holding the most.
    pub fn try_hold(self: &Arc<Self>, clinic: i64, reader: i64) -> Result<Hold, Full> {
        let mut table = self.lock();
        let own = table.readers.get(&reader).map_or(0, VecDeque::len);
        if own >= LONG_POLLS_PER_READER {
            let oldest = table.readers.get(&reader).and_then(|ids| ids.front().copied());
            if let Some(oldest) = oldest {
                table.end(clinic, oldest, Ended::Superseded);
            }
        }
        if table.held >= table.max {
            let asking = table.count(clinic);
            let &(most, richest) = table.by_count.last().ok_or(Full)?;
            if most < asking + 2 {
                return Err(Full);
            }
            let oldest = table
                .clinics
                .get(&richest)
                .and_then(|polls| polls.keys().next().copied())
                .ok_or(Full)?;
            table.end(richest, oldest, Ended::Preempted);
        }
        let id = table.next_id;
        table.next_id += 1;
        let (end, ended) = oneshot::channel();
        table.insert(clinic, reader, id, end);
        drop(table);
        Ok(Hold {
            slots: Arc::clone(self),
            id,
            clinic,
            ended,
        })
    }

    /// Slots held now.
    pub fn held(&self) -> usize {
        self.lock().held
    }

    /// Slots the server has.
    pub fn max(&self) -> usize {
        self.lock().max
    }

    /// Slots one clinic holds now.
    pub fn held_by_clinic(&self, clinic: i64) -> usize {
        self.lock().count(clinic)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Table> {
        // Never held across an await; after a panic elsewhere the table is still consistent.
        self.table.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Table {
    fn count(&self, clinic: i64) -> usize {
        self.clinics.get(&clinic).map_or(0, BTreeMap::len)
    }

    fn insert(&mut self, clinic: i64, reader: i64, id: u64, end: oneshot::Sender<Ended>) {
        let before = self.count(clinic);
        self.clinics.entry(clinic).or_default().insert(id, Slot { reader, end });
        self.readers.entry(reader).or_default().push_back(id);
        self.held += 1;
        self.recount(clinic, before);
    }

    /// Removes a held poll; `None` when it was already removed.
    fn remove(&mut self, clinic: i64, id: u64) -> Option<Slot> {
        let polls = self.clinics.get_mut(&clinic)?;
        let before = polls.len();
        let slot = polls.remove(&id)?;
        if polls.is_empty() {
            self.clinics.remove(&clinic);
        }
        if let Some(ids) = self.readers.get_mut(&slot.reader) {
            ids.retain(|held| *held != id);
            if ids.is_empty() {
                self.readers.remove(&slot.reader);
            }
        }
        self.held -= 1;
        self.recount(clinic, before);
        Some(slot)
    }

    /// Removes a held poll and tells it to answer now.
    fn end(&mut self, clinic: i64, id: u64, why: Ended) {
        if let Some(slot) = self.remove(clinic, id) {
            // The poll may have finished this instant; then there is nobody to tell.
            let _ = slot.end.send(why);
        }
    }

    fn recount(&mut self, clinic: i64, before: usize) {
        if before > 0 {
            self.by_count.remove(&(before, clinic));
        }
        let now = self.count(clinic);
        if now > 0 {
            self.by_count.insert((now, clinic));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: i64 = 1;
    const B: i64 = 2;
    const C: i64 = 3;

    /// Reader ids: clinic * 1000 + n, so every call below uses a distinct reader.
    fn fill(slots: &Arc<LongPolls>, clinic: i64, n: i64) -> Vec<Hold> {
        (0..n)
            .map(|r| slots.try_hold(clinic, clinic * 1000 + r).expect("a free slot"))
            .collect()
    }

    #[test]
    fn a_clinic_below_its_share_takes_the_oldest_slot_of_the_clinic_holding_most() {
        let slots = Arc::new(LongPolls::new(10));
        let mut a = fill(&slots, A, 10);
        let b = slots.try_hold(B, 2000).expect("clinic B is below its share");
        assert_eq!(a[0].ended.try_recv(), Ok(Ended::Preempted), "A's oldest answers now");
        assert!(a[1].ended.try_recv().is_err(), "A's others are still held");
        assert_eq!(
            (slots.held(), slots.held_by_clinic(A), slots.held_by_clinic(B)),
            (10, 9, 1)
        );
        drop(a);
        drop(b);
        assert_eq!(
            slots.held(),
            0,
            "a preempted hold dropped later gives nothing back twice"
        );
    }

    #[test]
    fn clinics_that_want_slots_level_out_within_one_and_then_are_refused() {
        let slots = Arc::new(LongPolls::new(10));
        let mut holds = fill(&slots, A, 10);
        for r in 0..20 {
            if let Ok(hold) = slots.try_hold(B, 2000 + r) {
                holds.push(hold);
            }
        }
        assert_eq!((slots.held_by_clinic(A), slots.held_by_clinic(B)), (5, 5));
        // Level: a re-poll from A (whose oldest went to B) is refused, not swapped back.
        assert_eq!(slots.try_hold(A, 1999).err(), Some(Full));
        assert_eq!(slots.try_hold(B, 2999).err(), Some(Full));
        // A third clinic still gets in, from whichever holds most.
        holds.push(slots.try_hold(C, 3000).expect("clinic C holds none"));
        assert_eq!(slots.held(), 10);
        assert_eq!(slots.held_by_clinic(C), 1);
    }

    #[test]
    fn a_reader_at_its_cap_trades_its_oldest_slot_for_its_newest_even_when_full() {
        let slots = Arc::new(LongPolls::new(3));
        let mut first = slots.try_hold(A, 7).unwrap();
        let _second = slots.try_hold(A, 7).unwrap();
        let _other = slots.try_hold(A, 8).unwrap();
        let _third = slots.try_hold(A, 7).expect("the reader's own oldest makes room");
        assert_eq!(first.ended.try_recv(), Ok(Ended::Superseded));
        assert_eq!(slots.held(), 3);
        assert_eq!(
            slots.try_hold(A, 9).err(),
            Some(Full),
            "a new reader of the same clinic waits"
        );
    }

    #[test]
    fn no_slots_at_all_refuses_everyone() {
        let slots = Arc::new(LongPolls::new(0));
        assert_eq!(slots.try_hold(A, 1).err(), Some(Full));
    }

    #[test]
    fn the_table_never_holds_more_than_its_slots_and_every_drop_gives_back() {
        let slots = Arc::new(LongPolls::new(7));
        let mut holds = Vec::new();
        // A made-up sequence of polls from three clinics' readers, with some ending on their own.
        for step in 0..500_i64 {
            let clinic = [A, A, A, B, C][(step % 5) as usize];
            let reader = clinic * 1000 + step % 11;
            if let Ok(hold) = slots.try_hold(clinic, reader) {
                holds.push(hold);
            }
            if step % 3 == 0 && !holds.is_empty() {
                holds.swap_remove((step as usize * 7) % holds.len());
            }
            assert!(slots.held() <= 7);
            assert!(slots.held_by_clinic(A) + slots.held_by_clinic(B) + slots.held_by_clinic(C) == slots.held());
        }
        drop(holds);
        assert_eq!(slots.held(), 0);
    }
}
