//! Counting payloads: exact size percentiles in bounded memory, and the
//! file identifiers seen.

/// Sizes below this are counted in a table; larger ones are kept one by
/// one (a file holds at most `len / SMALL` of them).
const SMALL: usize = 1 << 16;

/// Payload sizes: count, total, and exact percentiles.
///
/// Memory is bounded by the file, not the frame count: sizes under 64 KiB
/// go to a table of counters, larger ones into a list (at most one entry
/// per 64 KiB of file).
#[derive(Debug, Clone)]
pub struct SizeStats {
    count: u64,
    total: u64,
    /// `small[len]`: how many payloads of `len` bytes (`SMALL` counters).
    small: Vec<u64>,
    large: Vec<u64>,
}

impl Default for SizeStats {
    fn default() -> Self {
        SizeStats {
            count: 0,
            total: 0,
            small: vec![0; SMALL],
            large: Vec::new(),
        }
    }
}

/// Minimum, median, 99th percentile and maximum of the payload sizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Summary {
    /// The smallest payload, in bytes.
    pub min: u64,
    /// The median payload (the lower one for an even count).
    pub median: u64,
    /// The 99th percentile (nearest rank).
    pub p99: u64,
    /// The largest payload.
    pub max: u64,
}

impl SizeStats {
    /// No payloads yet.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Counts one payload of `len` bytes.
    #[inline]
    pub fn add(&mut self, len: usize) {
        self.count += 1;
        self.total += len as u64;
        match self.small.get_mut(len) {
            Some(slot) => *slot += 1,
            None => self.large.push(len as u64),
        }
    }

    /// Payloads counted.
    #[must_use]
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Their bytes in all.
    #[must_use]
    pub fn total(&self) -> u64 {
        self.total
    }

    /// The size with (1-based) rank `rank` in ascending order.
    fn nth(&self, rank: u64, large_sorted: &[u64]) -> u64 {
        let mut seen = 0u64;
        for (len, &n) in self.small.iter().enumerate() {
            seen += n;
            if seen >= rank {
                return len as u64;
            }
        }
        let index = usize::try_from(rank - seen - 1).unwrap_or(usize::MAX);
        large_sorted
            .get(index)
            .or(large_sorted.last())
            .copied()
            .unwrap_or(0)
    }

    /// Min, median, p99 and max, or `None` when no payload was counted.
    #[must_use]
    pub fn summary(&self) -> Option<Summary> {
        if self.count == 0 {
            return None;
        }
        let mut large = self.large.clone();
        large.sort_unstable();
        // Nearest rank: the smallest size with at least p% of the sizes at
        // or below it.
        let rank = |percent: u64| (self.count * percent).div_ceil(100).max(1);
        Some(Summary {
            min: self.nth(1, &large),
            median: self.nth(rank(50), &large),
            p99: self.nth(rank(99), &large),
            max: self.nth(self.count, &large),
        })
    }
}

/// The file identifiers seen at bytes 4..8 of payloads, with counts.
///
/// The hot path is one comparison: payloads of a stream mostly carry the
/// identifier of the payload before them.
#[derive(Debug, Clone, Default)]
pub struct Identifiers {
    /// The identifier of the latest payload, if it had one, and how many
    /// payloads in a row carried it (not yet added to `seen`).
    current: Option<[u8; 4]>,
    run: u64,
    /// Counts added so far, in the order first seen; a stream rarely has
    /// more than a handful.
    seen: Vec<([u8; 4], u64)>,
    /// Payloads with no identifier-like bytes there.
    none: u64,
}

/// One identifier and how many payloads carry it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct IdentifierCount {
    /// The four characters.
    pub identifier: String,
    /// Payloads that carry it.
    pub count: u64,
}

/// The most distinct identifiers tracked; more are counted as none (a
/// stream of payloads without identifiers can have many identifier-like
/// byte patterns).
const MAX_IDENTIFIERS: usize = 64;

impl Identifiers {
    /// None seen yet.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Counts the identifier of `payload`, if it has one: bytes 4..8 that
    /// are ASCII letters, digits or `_` (what flatc's `file_identifier`
    /// conventionally holds).
    #[inline]
    pub fn add(&mut self, payload: &[u8]) {
        if let (Some(current), Some(id)) = (self.current, payload.get(4..8))
            && id == current
        {
            self.run += 1;
            return;
        }
        self.add_slow(identifier(payload));
    }

    #[cold]
    #[inline(never)]
    fn add_slow(&mut self, id: Option<[u8; 4]>) {
        self.flush();
        match id {
            Some(id) => {
                self.current = Some(id);
                self.run = 1;
            }
            None => self.none += 1,
        }
    }

    /// Adds the current run to `seen`.
    fn flush(&mut self) {
        let Some(current) = self.current.take() else {
            return;
        };
        let run = core::mem::take(&mut self.run);
        if let Some((_, n)) = self.seen.iter_mut().find(|(seen, _)| *seen == current) {
            *n += run;
        } else if self.seen.len() < MAX_IDENTIFIERS {
            self.seen.push((current, run));
        } else {
            self.none += run;
        }
    }

    /// Payloads without an identifier.
    #[must_use]
    pub fn without(&self) -> u64 {
        let mut copy = self.clone();
        copy.flush();
        copy.none
    }

    /// The identifiers seen, most frequent first.
    #[must_use]
    pub fn counts(&self) -> Vec<IdentifierCount> {
        let mut copy = self.clone();
        copy.flush();
        let mut counts: Vec<IdentifierCount> = copy
            .seen
            .iter()
            .map(|(id, count)| IdentifierCount {
                identifier: String::from_utf8_lossy(id).into_owned(),
                count: *count,
            })
            .collect();
        counts.sort_by(|a, b| b.count.cmp(&a.count).then(a.identifier.cmp(&b.identifier)));
        counts
    }
}

/// Bytes 4..8 of `payload`, if they look like a file identifier.
#[inline]
#[must_use]
pub fn identifier(payload: &[u8]) -> Option<[u8; 4]> {
    let id: [u8; 4] = payload.get(4..8)?.try_into().ok()?;
    id.iter()
        .all(|&b| b.is_ascii_alphanumeric() || b == b'_')
        .then_some(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_exact() {
        let mut stats = SizeStats::new();
        assert_eq!(stats.summary(), None);
        for len in 1..=100 {
            stats.add(len);
        }
        assert_eq!(
            stats.summary(),
            Some(Summary {
                min: 1,
                median: 50,
                p99: 99,
                max: 100
            })
        );
        assert_eq!((stats.count(), stats.total()), (100, 5050));
    }

    #[test]
    fn large_sizes_are_ranked_with_small_ones() {
        let mut stats = SizeStats::new();
        for len in [10, 200_000, 100_000, 20, 300_000] {
            stats.add(len);
        }
        let summary = stats.summary().unwrap();
        assert_eq!(summary.min, 10);
        assert_eq!(summary.median, 100_000);
        assert_eq!(summary.p99, 300_000);
        assert_eq!(summary.max, 300_000);
    }

    #[test]
    fn one_payload() {
        let mut stats = SizeStats::new();
        stats.add(0);
        let summary = stats.summary().unwrap();
        assert_eq!(
            (summary.min, summary.median, summary.p99, summary.max),
            (0, 0, 0, 0)
        );
    }

    #[test]
    fn identifiers_are_counted() {
        let mut ids = Identifiers::new();
        let tlm = b"\x0c\0\0\0TLM1rest";
        let log = b"\x0c\0\0\0LOG1rest";
        for _ in 0..3 {
            ids.add(tlm);
        }
        ids.add(log);
        ids.add(b"\x0c\0\0\0\x01\x02\x03\x04");
        ids.add(b"short");
        let counts = ids.counts();
        assert_eq!(counts[0].identifier, "TLM1");
        assert_eq!(counts[0].count, 3);
        assert_eq!(counts[1].identifier, "LOG1");
        assert_eq!(ids.without(), 2);
    }
}
