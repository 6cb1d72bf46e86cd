//! The background writer: producers on any thread hand payloads to an I/O
//! thread that frames, writes and syncs them.
//!
//! # How a message travels
//!
//! Each [`Producer`] owns a slot: a batch being filled (payload bytes and
//! where each payload ends) and a queue of full batches, behind a mutex that
//! only its producer and the I/O thread ever take, each briefly. `submit`
//! reserves room in the bounded queue (one atomic add), copies the payload
//! into the batch, and hands the batch over once it holds
//! [`batch_bytes`](CaptureOptions::batch_bytes). The I/O thread takes full
//! batches from every slot, and a batch still filling once its first message
//! has waited [`max_batch_delay`](CaptureOptions::max_batch_delay), so a slow
//! producer's messages are not held back. Batches go back to a pool once
//! written: in the steady state nothing is allocated per message.
//!
//! Messages of one producer are written in the order submitted; messages of
//! different producers interleave by batch.

use core::panic::AssertUnwindSafe;
use core::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use core::time::Duration;
use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, mpsc};
use std::thread::{self, JoinHandle, Thread};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use flatbuffers::{Allocator, FlatBufferBuilder};
use flatstream_core::{encode_header_checked, finished_payload};

use crate::error::{Error, Result};
use crate::gap::GapMarker;
use crate::policy::{Backpressure, SyncPolicy};
use crate::sink::{CapturePosition, CaptureSink, ChecksOnly};

/// The default queue capacity, in messages.
pub const DEFAULT_QUEUE_CAPACITY: usize = 65_536;
/// The default size at which a producer's batch is handed to the I/O
/// thread.
pub const DEFAULT_BATCH_BYTES: usize = 64 * 1024;
/// How long a message may wait in a producer's batch, by default.
pub const DEFAULT_MAX_BATCH_DELAY: Duration = Duration::from_millis(1);
/// How long written bytes may wait in the writer's buffer before they are
/// handed to the operating system, by default.
pub const DEFAULT_FLUSH_INTERVAL: Duration = Duration::from_millis(5);
/// How often an idle writer lets its sink act on time (rotation by age).
const TICK_INTERVAL: Duration = Duration::from_millis(100);

/// How a [`BackgroundWriter`] queues, writes and syncs.
///
/// # Examples
///
/// ```
/// use core::time::Duration;
/// use flatstream_capture::{Backpressure, CaptureOptions, SyncPolicy};
///
/// let options = CaptureOptions::new()
///     .queue_capacity(100_000)
///     .backpressure(Backpressure::DropNewest)
///     .gap_markers(true)
///     .sync_policy(SyncPolicy::every(Duration::from_millis(100)));
/// assert_eq!(options.capacity(), 100_000);
/// ```
#[derive(Debug, Clone)]
pub struct CaptureOptions {
    capacity: usize,
    backpressure: Backpressure,
    sync: SyncPolicy,
    flush_interval: Duration,
    max_batch_delay: Duration,
    batch_bytes: usize,
    gap_markers: bool,
    max_frame_len: usize,
}

impl Default for CaptureOptions {
    fn default() -> Self {
        CaptureOptions {
            capacity: DEFAULT_QUEUE_CAPACITY,
            backpressure: Backpressure::Block,
            sync: SyncPolicy::never(),
            flush_interval: DEFAULT_FLUSH_INTERVAL,
            max_batch_delay: DEFAULT_MAX_BATCH_DELAY,
            batch_bytes: DEFAULT_BATCH_BYTES,
            gap_markers: false,
            max_frame_len: flatstream_core::wire::DEFAULT_MAX_FRAME_LEN,
        }
    }
}

impl CaptureOptions {
    /// The defaults: a queue of [`DEFAULT_QUEUE_CAPACITY`] messages that
    /// blocks producers when full, no sync policy, a flush every
    /// [`DEFAULT_FLUSH_INTERVAL`], no gap markers.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// How many messages may be queued (submitted and not yet written) at
    /// once, across all producers (at least 1). Memory held by the queue is
    /// at most this many messages (each at most
    /// [`max_frame_len`](CaptureOptions::max_frame_len)) plus one batch per
    /// producer.
    #[must_use]
    pub fn queue_capacity(mut self, messages: usize) -> Self {
        self.capacity = messages.max(1);
        self
    }

    /// What `submit` does when the queue is full.
    #[must_use]
    pub fn backpressure(mut self, backpressure: Backpressure) -> Self {
        self.backpressure = backpressure;
        self
    }

    /// When written frames are made durable.
    #[must_use]
    pub fn sync_policy(mut self, sync: SyncPolicy) -> Self {
        self.sync = sync;
        self
    }

    /// How long written bytes may stay in the writer's buffer before they
    /// are handed to the operating system (a crash of the process loses
    /// nothing handed over).
    #[must_use]
    pub fn flush_interval(mut self, interval: Duration) -> Self {
        self.flush_interval = interval;
        self
    }

    /// How long a message may wait in its producer's batch before the I/O
    /// thread takes the batch although it is not full. Zero takes every
    /// message at once (and wakes the I/O thread for each).
    #[must_use]
    pub fn max_batch_delay(mut self, delay: Duration) -> Self {
        self.max_batch_delay = delay;
        self
    }

    /// The size at which a producer hands its batch to the I/O thread.
    #[must_use]
    pub fn batch_bytes(mut self, bytes: usize) -> Self {
        self.batch_bytes = bytes.max(1);
        self
    }

    /// Whether a producer that dropped messages
    /// ([`Backpressure::DropNewest`]) writes a [`GapMarker`] frame before
    /// its next message. Off by default: a reader must know to recognise
    /// the markers (their file identifier is `"FSGP"`).
    #[must_use]
    pub fn gap_markers(mut self, on: bool) -> Self {
        self.gap_markers = on;
        self
    }

    /// The largest payload `submit` accepts (it refuses larger ones before
    /// queueing them, with [`flatstream_core::ErrorKind::FrameTooLarge`]).
    /// The sink's own limit ([`CaptureSink::max_payload_len`]) applies too,
    /// whichever is smaller: a payload the sink would refuse never reaches
    /// the I/O thread.
    #[must_use]
    pub fn max_frame_len(mut self, max_frame_len: usize) -> Self {
        self.max_frame_len = max_frame_len;
        self
    }

    /// The queue capacity, in messages.
    #[must_use]
    pub fn capacity(&self) -> usize {
        self.capacity
    }
}

/// Counters of a capture. Taken while producers run they are a close
/// snapshot; after [`BackgroundWriter::close`] they are exact, and
/// `submitted == queued + dropped + refused` and
/// `queued == written + discarded`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Messages handed to `submit` (refusals of bad payloads not counted).
    pub submitted: u64,
    /// Messages accepted into the queue.
    pub queued: u64,
    /// Messages dropped because the queue was full
    /// ([`Backpressure::DropNewest`]).
    pub dropped: u64,
    /// Messages refused because the queue was full
    /// ([`Backpressure::Error`]).
    pub refused: u64,
    /// Messages written to the sink.
    pub written: u64,
    /// Messages queued but never written, because the writer stopped after
    /// an error.
    pub discarded: u64,
    /// Gap markers written.
    pub gap_markers: u64,
    /// Frames (messages and gap markers) made durable by a sync.
    pub synced: u64,
    /// Syncs done.
    pub syncs: u64,
    /// Payload bytes written.
    pub bytes_written: u64,
    /// Time the I/O thread spent framing and writing (handing frames to
    /// the sink).
    pub write_time: Duration,
    /// Time the I/O thread spent in syncs (including the flush before
    /// each, and the sink's `finish` when closing).
    pub sync_time: Duration,
    /// Where the next frame goes.
    pub position: CapturePosition,
    /// The durable position: every frame before it survives a power loss.
    pub durable: CapturePosition,
}

/// A batch of payloads: their bytes back to back and where each ends.
#[derive(Debug, Default)]
struct Batch {
    data: Vec<u8>,
    ends: Vec<usize>,
    /// The indices of the payloads that are gap markers (not messages).
    gaps: Vec<usize>,
}

impl Batch {
    fn messages(&self) -> u64 {
        (self.ends.len() - self.gaps.len()) as u64
    }

    fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    fn push(&mut self, payload: &[u8]) {
        self.data.extend_from_slice(payload);
        self.ends.push(self.data.len());
    }

    /// Adds `gap` as a marker frame, built in `builder` (made on first
    /// use: markers are rare).
    fn push_gap(&mut self, gap: &GapMarker, builder: &mut Option<FlatBufferBuilder<'static>>) {
        let builder = builder.get_or_insert_with(|| FlatBufferBuilder::with_capacity(64));
        gap.encode_into(builder);
        self.gaps.push(self.ends.len());
        self.push(builder.finished_data());
    }

    fn payloads(&self) -> impl Iterator<Item = &[u8]> {
        let starts = core::iter::once(0).chain(self.ends.iter().copied());
        starts
            .zip(self.ends.iter().copied())
            .map(|(start, end)| &self.data[start..end])
    }

    fn clear(&mut self, keep_bytes: usize) {
        self.data.clear();
        self.ends.clear();
        self.gaps.clear();
        if self.data.capacity() > keep_bytes.saturating_mul(4) {
            self.data.shrink_to(keep_bytes.saturating_mul(2));
        }
    }
}

/// What a producer and the I/O thread share about that producer.
#[derive(Debug, Default)]
struct SlotState {
    /// The batch being filled.
    filling: Batch,
    /// When the first message of `filling` arrived.
    filling_since: Option<Instant>,
    /// Full batches, oldest first.
    full: VecDeque<Batch>,
    /// Counters of this producer.
    counters: ProducerCounters,
    /// Dropped since the last gap marker: how many, first and last (ns).
    gap: Option<GapMarker>,
    /// The producer is gone; the I/O thread forgets the slot once empty.
    closed: bool,
    /// The writer closed: nothing more is taken from this slot.
    sealed: bool,
}

/// What a producer counts, under its slot's lock.
#[derive(Debug, Default, Clone, Copy)]
struct ProducerCounters {
    submitted: u64,
    queued: u64,
    dropped: u64,
    refused: u64,
}

impl ProducerCounters {
    fn add(&mut self, state: &SlotState) {
        let c = &state.counters;
        self.submitted += c.submitted;
        self.queued += c.queued;
        self.dropped += c.dropped;
        self.refused += c.refused;
    }
}

#[derive(Debug)]
struct Slot {
    state: Mutex<SlotState>,
    id: u32,
}

/// A request to the I/O thread, answered through `reply`.
#[derive(Debug)]
enum Request {
    Flush(mpsc::Sender<Result<()>>),
    Sync(mpsc::Sender<Result<CapturePosition>>),
    Close(mpsc::Sender<Result<()>>),
}

/// What producers, the handle and the I/O thread share.
#[derive(Debug)]
struct Shared {
    options: CaptureOptions,
    /// Messages queued and not yet written (or discarded).
    in_flight: AtomicUsize,
    /// Producers waiting for room.
    waiting: AtomicUsize,
    space: Mutex<()>,
    space_freed: Condvar,
    slots: Mutex<Vec<Arc<Slot>>>,
    /// The counters of producers that are gone.
    retired: Mutex<ProducerCounters>,
    next_producer: AtomicU64,
    pool: Mutex<Vec<Batch>>,
    requests: Mutex<VecDeque<Request>>,
    /// Full batches waiting in slots, across producers.
    full_batches: AtomicUsize,
    /// The I/O thread is parked (or about to be) and wants a wake-up for
    /// new work.
    sleeping: AtomicBool,
    io_thread: OnceLock<Thread>,
    /// The error that stopped the writer.
    error: OnceLock<Arc<Error>>,
    stopped: AtomicBool,
    closed: AtomicBool,
    /// The I/O thread is gone after a panic.
    dead: AtomicBool,
    counters: IoCounters,
}

/// Counters only the I/O thread writes.
#[derive(Debug, Default)]
struct IoCounters {
    written: AtomicU64,
    discarded: AtomicU64,
    gap_markers: AtomicU64,
    synced: AtomicU64,
    syncs: AtomicU64,
    bytes: AtomicU64,
    write_ns: AtomicU64,
    sync_ns: AtomicU64,
    position: Mutex<CapturePosition>,
    durable: Mutex<CapturePosition>,
}

/// Locks a mutex, going on with its data if a thread panicked while holding
/// it: every structure behind these mutexes stays consistent at each step.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn nanos_since(start: Instant) -> u64 {
    u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX)
}

fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

impl Shared {
    /// Wakes the I/O thread if it is parked (or about to park).
    fn wake_io(&self) {
        if self.sleeping.swap(false, Ordering::SeqCst) {
            self.unpark_io();
        }
    }

    fn unpark_io(&self) {
        if let Some(thread) = self.io_thread.get() {
            thread.unpark();
        }
    }

    fn stopped_error(&self) -> Error {
        match self.error.get() {
            Some(error) => Error::Stopped(Arc::clone(error)),
            None => Error::Closed,
        }
    }

    fn take_batch(&self) -> Batch {
        lock(&self.pool).pop().unwrap_or_else(|| Batch {
            data: Vec::with_capacity(self.options.batch_bytes),
            ends: Vec::with_capacity(64),
            gaps: Vec::new(),
        })
    }

    /// Keeps a written batch for reuse. The pool holds at most as many
    /// batches as were ever in flight at once (each holds at least one
    /// queued message), each shrunk back near the batch size, so it never
    /// holds more memory than the queue did at its fullest.
    fn return_batch(&self, mut batch: Batch) {
        batch.clear(self.options.batch_bytes);
        lock(&self.pool).push(batch);
    }

    /// Gives back room for `messages` and wakes producers waiting for it.
    fn release(&self, messages: u64) {
        let messages = usize::try_from(messages).unwrap_or(usize::MAX);
        self.in_flight.fetch_sub(messages, Ordering::AcqRel);
        if self.waiting.load(Ordering::Acquire) > 0 {
            let _guard = lock(&self.space);
            self.space_freed.notify_all();
        }
    }

    fn request<T>(&self, make: impl FnOnce(mpsc::Sender<Result<T>>) -> Request) -> Result<T> {
        let (tx, rx) = mpsc::channel();
        lock(&self.requests).push_back(make(tx));
        self.unpark_io();
        // The I/O thread answers every request, even after an error; a
        // closed channel means it is gone. One that died (a panic in the
        // sink) answers nothing, so look now and then.
        loop {
            match rx.recv_timeout(Duration::from_millis(50)) {
                Ok(answer) => return answer,
                Err(mpsc::RecvTimeoutError::Disconnected) => return Err(self.stopped_error()),
                Err(mpsc::RecvTimeoutError::Timeout) if self.dead.load(Ordering::Acquire) => {
                    return Err(self.stopped_error());
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {}
            }
        }
    }

    /// The I/O thread panicked: the writer stops with that, and nobody
    /// waits for it any more.
    fn died(&self, panic: &(dyn core::any::Any + Send)) {
        let message = panic
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic without a message".to_owned());
        let _ = self.error.set(Arc::new(Error::Panicked { message }));
        self.stopped.store(true, Ordering::SeqCst);
        self.dead.store(true, Ordering::SeqCst);
        // Requesters get their channel closed, blocked producers a wake-up.
        lock(&self.requests).clear();
        let _guard = lock(&self.space);
        self.space_freed.notify_all();
    }
}

/// A capture's writer: frames, writes and syncs payloads on its own I/O
/// thread, fed by [`Producer`]s on any thread through a bounded queue.
///
/// # Examples
///
/// ```
/// use core::time::Duration;
/// use flatstream::{ChecksumDeframer, ChecksumFramer, Crc32, StreamReader};
/// use flatstream_capture::{BackgroundWriter, CaptureOptions, FileSink, SyncPolicy};
///
/// let path = std::env::temp_dir().join(format!("capture-bg-doc-{}.fstream", std::process::id()));
/// # let _ = std::fs::remove_file(&path);
/// let sink = FileSink::open(&path, ChecksumFramer::new(Crc32), ChecksumDeframer::new(Crc32), None)?;
/// let options = CaptureOptions::new().sync_policy(SyncPolicy::every(Duration::from_millis(100)));
/// let capture = BackgroundWriter::spawn(sink, options)?;
///
/// std::thread::scope(|s| {
///     for t in 0..2u8 {
///         let mut producer = capture.producer();
///         s.spawn(move || {
///             for i in 0..1000u32 {
///                 producer.submit(&[t + 1, (i % 251) as u8 + 1])?;
///             }
///             Ok::<(), flatstream_capture::Error>(())
///         });
///     }
/// });
/// let stats = capture.close()?;
/// assert_eq!((stats.queued, stats.written, stats.dropped), (2000, 2000, 0));
///
/// let mut reader = StreamReader::new(std::fs::File::open(&path)?, ChecksumDeframer::new(Crc32));
/// let mut read = 0;
/// reader.process_all(|_| { read += 1; Ok(()) })?;
/// assert_eq!(read, 2000);
/// # std::fs::remove_file(&path)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct BackgroundWriter {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl BackgroundWriter {
    /// Starts the I/O thread, writing into `sink`.
    ///
    /// # Errors
    ///
    /// [`Error::Options`] when gap markers are on and the sink's
    /// [`max_payload_len`](CaptureSink::max_payload_len) is below
    /// [`GapMarker::max_len`] (a marker it refused would stop the writer);
    /// [`Error::Io`] when the thread cannot be started.
    pub fn spawn<S: CaptureSink + 'static>(sink: S, mut options: CaptureOptions) -> Result<Self> {
        // What the sink would refuse is refused by `submit`: on the I/O
        // thread, a refusal would stop the writer. A gap marker is no
        // payload of `submit`'s: it must fit from the start.
        let sink_limit = sink.max_payload_len();
        options.max_frame_len = options.max_frame_len.min(sink_limit);
        let marker_len = GapMarker::max_len();
        if options.gap_markers && marker_len > sink_limit {
            return Err(Error::Options(format!(
                "gap markers take up to {marker_len} bytes, but the sink accepts payloads of at most {sink_limit}: \
                 raise its limit or turn gap markers off"
            )));
        }
        let shared = Arc::new(Shared {
            options,
            in_flight: AtomicUsize::new(0),
            waiting: AtomicUsize::new(0),
            space: Mutex::new(()),
            space_freed: Condvar::new(),
            slots: Mutex::new(Vec::new()),
            retired: Mutex::new(ProducerCounters::default()),
            next_producer: AtomicU64::new(0),
            pool: Mutex::new(Vec::new()),
            requests: Mutex::new(VecDeque::new()),
            full_batches: AtomicUsize::new(0),
            sleeping: AtomicBool::new(false),
            io_thread: OnceLock::new(),
            error: OnceLock::new(),
            stopped: AtomicBool::new(false),
            closed: AtomicBool::new(false),
            dead: AtomicBool::new(false),
            counters: IoCounters::default(),
        });
        {
            let mut position = lock(&shared.counters.position);
            *position = sink.position();
            *lock(&shared.counters.durable) = *position;
        }
        let io_shared = Arc::clone(&shared);
        let thread = thread::Builder::new()
            .name("flatstream-capture".to_owned())
            .spawn(move || {
                let run = AssertUnwindSafe(|| IoThread::new(Arc::clone(&io_shared), sink).run());
                if let Err(panic) = std::panic::catch_unwind(run) {
                    io_shared.died(&panic);
                }
            })
            .map_err(|e| Error::io("flatstream-capture I/O thread", e))?;
        let _ = shared.io_thread.set(thread.thread().clone());
        Ok(BackgroundWriter {
            shared,
            thread: Some(thread),
        })
    }

    /// A new producer, for one thread (it is `Send`; clone it for another).
    #[must_use]
    pub fn producer(&self) -> Producer {
        Producer::new(Arc::clone(&self.shared))
    }

    /// Returns once every message submitted before the call (by any
    /// producer) is written and handed to the operating system.
    ///
    /// # Errors
    ///
    /// [`Error::Stopped`] with the error that stopped the writer, or the
    /// flush's own error.
    pub fn flush(&self) -> Result<()> {
        self.shared.request(Request::Flush)
    }

    /// Returns once every message submitted before the call is durable
    /// (`sync_data`), with the durable position.
    ///
    /// # Errors
    ///
    /// As [`flush`](BackgroundWriter::flush).
    pub fn sync(&self) -> Result<CapturePosition> {
        self.shared.request(Request::Sync)
    }

    /// What is durable now: every frame before this position survives a
    /// power loss.
    #[must_use]
    pub fn durable_position(&self) -> CapturePosition {
        *lock(&self.shared.counters.durable)
    }

    /// The counters so far.
    #[must_use]
    pub fn stats(&self) -> Stats {
        let shared = &self.shared;
        let mut counters = *lock(&shared.retired);
        for slot in lock(&shared.slots).iter() {
            counters.add(&lock(&slot.state));
        }
        let mut stats = Stats {
            submitted: counters.submitted,
            queued: counters.queued,
            dropped: counters.dropped,
            refused: counters.refused,
            ..Stats::default()
        };
        let c = &shared.counters;
        stats.written = c.written.load(Ordering::Acquire);
        stats.discarded = c.discarded.load(Ordering::Acquire);
        stats.gap_markers = c.gap_markers.load(Ordering::Acquire);
        stats.synced = c.synced.load(Ordering::Acquire);
        stats.syncs = c.syncs.load(Ordering::Acquire);
        stats.bytes_written = c.bytes.load(Ordering::Acquire);
        stats.write_time = Duration::from_nanos(c.write_ns.load(Ordering::Acquire));
        stats.sync_time = Duration::from_nanos(c.sync_ns.load(Ordering::Acquire));
        stats.position = *lock(&c.position);
        stats.durable = *lock(&c.durable);
        stats
    }

    /// Writes everything queued (including messages still in producers'
    /// batches), finishes the sink (sync; a segment writer closes its
    /// segment), stops the I/O thread and returns the final counters.
    /// Producers still alive get [`Error::Closed`] from then on.
    ///
    /// # Errors
    ///
    /// [`Error::Stopped`] with the error that stopped the writer earlier,
    /// or the error of finishing the sink. The final counters are lost
    /// then; [`close_with_stats`](Self::close_with_stats) keeps them.
    pub fn close(self) -> Result<Stats> {
        let (stats, result) = self.close_with_stats();
        result.map(|()| stats)
    }

    /// [`close`](Self::close), returning the final counters whatever the
    /// outcome: after a failure they say how many messages reached the sink
    /// (`written`, `position`, `durable`) and how many were lost with the
    /// writer (`discarded`).
    ///
    /// # Errors
    ///
    /// As [`close`](Self::close), beside the counters.
    pub fn close_with_stats(mut self) -> (Stats, Result<()>) {
        let result = self.shutdown();
        (self.stats(), result)
    }

    fn shutdown(&mut self) -> Result<()> {
        let Some(thread) = self.thread.take() else {
            return Ok(());
        };
        let result = self.shared.request(Request::Close);
        let _ = thread.join();
        result
    }
}

impl Drop for BackgroundWriter {
    /// Closes the writer as [`close`](BackgroundWriter::close) does,
    /// ignoring errors: call `close` to see them.
    fn drop(&mut self) {
        let _ = self.shutdown();
    }
}

/// One thread's way into a [`BackgroundWriter`]: `submit` copies a payload
/// into this producer's batch. Messages of one producer are written in the
/// order submitted.
///
/// Dropping a producer hands its last batch to the writer: nothing
/// submitted is lost.
pub struct Producer {
    shared: Arc<Shared>,
    slot: Arc<Slot>,
    /// Builds gap markers; allocated on the first one.
    gap_builder: Option<FlatBufferBuilder<'static>>,
}

impl core::fmt::Debug for Producer {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Producer")
            .field("id", &self.slot.id)
            .finish_non_exhaustive()
    }
}

impl Clone for Producer {
    /// A new producer for another thread, with its own batch.
    fn clone(&self) -> Self {
        Producer::new(Arc::clone(&self.shared))
    }
}

impl Producer {
    fn new(shared: Arc<Shared>) -> Self {
        let id =
            u32::try_from(shared.next_producer.fetch_add(1, Ordering::Relaxed)).unwrap_or(u32::MAX);
        let slot = Arc::new(Slot {
            state: Mutex::new(SlotState::default()),
            id,
        });
        if shared.closed.load(Ordering::SeqCst) {
            // Closed: a producer that can only answer `Closed`, which the
            // writer never has to look at (or forget).
            lock(&slot.state).sealed = true;
        } else {
            lock(&shared.slots).push(Arc::clone(&slot));
            // A writer closing now either sealed this slot with the others
            // or set `closed` before we look.
            if shared.closed.load(Ordering::SeqCst) {
                lock(&slot.state).sealed = true;
            }
        }
        Producer {
            shared,
            slot,
            gap_builder: None,
        }
    }

    /// Queues a finished FlatBuffer.
    ///
    /// # Errors
    ///
    /// [`flatstream_core::ErrorKind::UnfinishedBuilder`] for a builder that
    /// was not finished; otherwise as [`submit`](Producer::submit).
    pub fn submit_finished<A: Allocator>(
        &mut self,
        builder: &FlatBufferBuilder<'_, A>,
    ) -> Result<()> {
        let payload = finished_payload(builder)?;
        self.submit(payload)
    }

    /// Queues `payload` as one frame (copying it), or, when the queue is
    /// full, does what the [`Backpressure`] policy says.
    ///
    /// # Errors
    ///
    /// - [`flatstream_core::ErrorKind::FrameTooLarge`] or
    ///   [`EmptyPayload`](flatstream_core::ErrorKind::EmptyPayload): the
    ///   payload is refused as every FlatStream writer refuses it (not
    ///   counted as submitted);
    /// - [`Error::QueueFull`] with [`Backpressure::Error`] when the queue is
    ///   full;
    /// - [`Error::Stopped`] once the writer stopped after an error, and
    ///   [`Error::Closed`] once it was closed.
    pub fn submit(&mut self, payload: &[u8]) -> Result<()> {
        let shared = &*self.shared;
        // Once a close has begun, nothing more is taken: `Closed` is for
        // ever, whatever the queue's state.
        if shared.stopped.load(Ordering::Acquire) || shared.closed.load(Ordering::Acquire) {
            return Err(shared.stopped_error());
        }
        encode_header_checked(
            &mut ChecksOnly,
            payload,
            shared.options.max_frame_len,
            false,
            &mut [],
        )?;
        if shared.in_flight.fetch_add(1, Ordering::AcqRel) >= shared.options.capacity {
            shared.in_flight.fetch_sub(1, Ordering::AcqRel);
            match shared.options.backpressure {
                Backpressure::Block => self.wait_for_room()?,
                Backpressure::DropNewest => {
                    let mut state = lock(&self.slot.state);
                    state.counters.submitted += 1;
                    state.counters.dropped += 1;
                    let now = now_ns();
                    let gap = state.gap.get_or_insert(GapMarker {
                        dropped: 0,
                        first_dropped_ns: now,
                        last_dropped_ns: now,
                        producer: self.slot.id,
                    });
                    gap.dropped += 1;
                    gap.last_dropped_ns = now;
                    return Ok(());
                }
                Backpressure::Error => {
                    let mut state = lock(&self.slot.state);
                    state.counters.submitted += 1;
                    state.counters.refused += 1;
                    return Err(Error::QueueFull {
                        capacity: shared.options.capacity,
                    });
                }
            }
        }
        let mut state = lock(&self.slot.state);
        if state.sealed {
            drop(state);
            shared.release(1);
            return Err(shared.stopped_error());
        }
        if let Some(gap) = state.gap.take()
            && shared.options.gap_markers
        {
            state.filling.push_gap(&gap, &mut self.gap_builder);
        }
        state.filling.push(payload);
        state.counters.submitted += 1;
        state.counters.queued += 1;
        if state.filling_since.is_none() {
            state.filling_since = Some(Instant::now());
            if shared.options.max_batch_delay.is_zero() {
                self.hand_over(&mut state);
                return Ok(());
            }
            // A parked I/O thread may not know that a batch is filling.
            shared.wake_io();
        }
        if state.filling.data.len() >= shared.options.batch_bytes {
            self.hand_over(&mut state);
        }
        Ok(())
    }

    /// Hands the batch being filled to the I/O thread now, without waiting
    /// for it to fill or for the batch delay (it returns at once; see
    /// [`BackgroundWriter::flush`] to wait for the write).
    pub fn flush(&mut self) {
        self.hand_over_filling();
    }

    fn hand_over_filling(&self) {
        let mut state = lock(&self.slot.state);
        if !state.filling.is_empty() {
            self.hand_over(&mut state);
        }
    }

    /// Moves the filling batch to the full ones and tells the I/O thread.
    fn hand_over(&self, state: &mut SlotState) {
        let fresh = self.shared.take_batch();
        let full = core::mem::replace(&mut state.filling, fresh);
        state.full.push_back(full);
        state.filling_since = None;
        self.shared.full_batches.fetch_add(1, Ordering::AcqRel);
        self.shared.wake_io();
    }

    /// Waits until the queue has room for one message and takes it.
    fn wait_for_room(&self) -> Result<()> {
        // Our own unsent batch may be what fills the queue.
        self.hand_over_filling();
        let shared = &*self.shared;
        shared.waiting.fetch_add(1, Ordering::AcqRel);
        // The writer takes every filling batch while someone waits: an idle
        // producer's messages must not hold the queue for its batch delay.
        shared.wake_io();
        let result = loop {
            if shared.stopped.load(Ordering::Acquire) || shared.closed.load(Ordering::Acquire) {
                break Err(shared.stopped_error());
            }
            if shared.in_flight.fetch_add(1, Ordering::AcqRel) < shared.options.capacity {
                break Ok(());
            }
            shared.in_flight.fetch_sub(1, Ordering::AcqRel);
            let guard = lock(&shared.space);
            // A timeout, not only the notification: a release between the
            // check above and this wait must not be missed for long.
            let _ = shared
                .space_freed
                .wait_timeout(guard, Duration::from_millis(10));
        };
        shared.waiting.fetch_sub(1, Ordering::AcqRel);
        result
    }
}

impl Drop for Producer {
    fn drop(&mut self) {
        let mut state = lock(&self.slot.state);
        if !state.sealed {
            // Drops after this producer's last message still leave their
            // mark.
            if let Some(gap) = state.gap.take()
                && self.shared.options.gap_markers
            {
                state.filling.push_gap(&gap, &mut self.gap_builder);
            }
            if !state.filling.is_empty() {
                self.hand_over(&mut state);
            }
        }
        state.closed = true;
    }
}

/// The I/O thread's state.
struct IoThread<S> {
    shared: Arc<Shared>,
    sink: S,
    /// Frames written since the last sync, their bytes, and when the first
    /// of them was written.
    unsynced_frames: u64,
    unsynced_bytes: u64,
    unsynced_since: Option<Instant>,
    /// Frames written since the last flush, and when the first was.
    unflushed_since: Option<Instant>,
    last_tick: Instant,
    /// The producers' slots, copied out of the shared list for a pass, so
    /// that the list's lock is never held while the sink writes (reused:
    /// no allocation per pass).
    snapshot: Vec<Arc<Slot>>,
    /// Batches taken from one slot at once (reused).
    taken: Vec<Batch>,
    /// Builds the gap markers of producers that end with drops.
    gap_builder: Option<FlatBufferBuilder<'static>>,
}

impl<S: CaptureSink> IoThread<S> {
    fn new(shared: Arc<Shared>, sink: S) -> Self {
        IoThread {
            shared,
            sink,
            unsynced_frames: 0,
            unsynced_bytes: 0,
            unsynced_since: None,
            unflushed_since: None,
            last_tick: Instant::now(),
            snapshot: Vec::new(),
            taken: Vec::new(),
            gap_builder: None,
        }
    }

    /// The I/O thread's loop. Each pass is bounded (the full batches there
    /// were when it started, one per producer in turn), and requests,
    /// batch delays and housekeeping are looked at between passes, so a
    /// producer that keeps pace with the sink cannot starve the others, a
    /// flush or a close.
    fn run(mut self) {
        loop {
            let wrote = self.write_pass();
            loop {
                let request = lock(&self.shared.requests).pop_front();
                let Some(request) = request else { break };
                if self.answer(request) {
                    return;
                }
            }
            let now = Instant::now();
            // A producer waiting for room may be waiting for messages that
            // sit in batches still filling (its own, or an idle producer's).
            let stole = if self.shared.waiting.load(Ordering::Acquire) > 0 {
                self.steal(|_| true)
            } else {
                self.steal_due_batches(now)
            };
            self.housekeeping(now);
            if !wrote && !stole {
                self.sleep(now);
            }
        }
    }

    /// Answers a request; true when the thread must end.
    fn answer(&mut self, request: Request) -> bool {
        self.steal_all();
        match request {
            Request::Flush(reply) => {
                let result = self.checked().and_then(|()| self.flush());
                let _ = reply.send(result);
                false
            }
            Request::Sync(reply) => {
                let result = self.checked().and_then(|()| self.sync());
                let _ = reply.send(result.map(|()| *lock(&self.shared.counters.durable)));
                false
            }
            Request::Close(reply) => {
                self.shared.closed.store(true, Ordering::SeqCst);
                // Producers may still submit until they see `closed`; take
                // what they queued in the meantime, too.
                self.steal_all();
                self.seal_slots();
                let result = self.checked().and_then(|()| {
                    let started = Instant::now();
                    let finished = self.sink.finish();
                    self.shared
                        .counters
                        .sync_ns
                        .fetch_add(nanos_since(started), Ordering::AcqRel);
                    self.fail_on(finished)?;
                    self.after_sync();
                    Ok(())
                });
                self.shared.stopped.store(true, Ordering::Release);
                {
                    let _guard = lock(&self.shared.space);
                    self.shared.space_freed.notify_all();
                }
                let _ = reply.send(result);
                true
            }
        }
    }

    /// Seals every slot: after this no producer adds to one, so what the
    /// final writes took is everything queued.
    fn seal_slots(&mut self) {
        self.take_snapshot();
        let slots = core::mem::take(&mut self.snapshot);
        for slot in &slots {
            let mut state = lock(&slot.state);
            state.sealed = true;
            self.take_all(&mut state);
            let gap = state.gap.take();
            drop(state);
            self.write_taken();
            // Drops after a producer's last message still leave their mark.
            if let Some(gap) = gap
                && self.shared.options.gap_markers
            {
                let mut batch = self.shared.take_batch();
                batch.push_gap(&gap, &mut self.gap_builder);
                self.write_batch(batch);
            }
        }
        self.snapshot = slots;
        self.snapshot.clear();
    }

    /// Copies the list of slots into `snapshot`.
    fn take_snapshot(&mut self) {
        self.snapshot.clear();
        self.snapshot
            .extend(lock(&self.shared.slots).iter().map(Arc::clone));
    }

    /// Moves every batch of `state`, full ones first, then the filling one,
    /// into `taken`.
    fn take_all(&mut self, state: &mut SlotState) {
        let taken = state.full.len();
        self.taken.extend(state.full.drain(..));
        self.shared.full_batches.fetch_sub(taken, Ordering::AcqRel);
        if !state.filling.is_empty() {
            let fresh = self.shared.take_batch();
            self.taken
                .push(core::mem::replace(&mut state.filling, fresh));
            state.filling_since = None;
        }
    }

    /// Writes the batches in `taken`, in order.
    fn write_taken(&mut self) {
        let mut taken = core::mem::take(&mut self.taken);
        for batch in taken.drain(..) {
            self.write_batch(batch);
        }
        self.taken = taken;
    }

    fn checked(&self) -> Result<()> {
        match self.shared.error.get() {
            Some(error) => Err(Error::Stopped(Arc::clone(error))),
            None => Ok(()),
        }
    }

    /// Writes as many full batches as there were when it started, one per
    /// producer in turn; true if it wrote any.
    fn write_pass(&mut self) -> bool {
        let mut budget = self.shared.full_batches.load(Ordering::Acquire);
        if budget == 0 {
            return false;
        }
        self.take_snapshot();
        let slots = core::mem::take(&mut self.snapshot);
        let mut wrote = false;
        while budget > 0 {
            let mut round = false;
            for slot in &slots {
                let batch = lock(&slot.state).full.pop_front();
                let Some(batch) = batch else { continue };
                self.shared.full_batches.fetch_sub(1, Ordering::AcqRel);
                self.write_batch(batch);
                (round, wrote) = (true, true);
                budget -= 1;
                if budget == 0 {
                    break;
                }
            }
            if !round {
                break;
            }
        }
        self.snapshot = slots;
        self.snapshot.clear();
        wrote
    }

    /// Takes the filling batches whose first message has waited the batch
    /// delay; true if it took any.
    fn steal_due_batches(&mut self, now: Instant) -> bool {
        let delay = self.shared.options.max_batch_delay;
        self.steal(|since| now.duration_since(since) >= delay)
    }

    /// Takes every batch there is now, full or filling (what a flush, a
    /// sync or a close must write): bounded by what was submitted before.
    fn steal_all(&mut self) {
        self.steal(|_| true);
    }

    /// Takes, from every producer, its full batches and, if `due` says so
    /// of its first message's arrival, its filling batch; then forgets
    /// producers that are gone and have nothing left. True if it took any.
    fn steal(&mut self, due: impl Fn(Instant) -> bool) -> bool {
        self.take_snapshot();
        let slots = core::mem::take(&mut self.snapshot);
        let mut took = false;
        for slot in &slots {
            let mut state = lock(&slot.state);
            let filling_due = state.filling_since.is_some_and(&due);
            if filling_due {
                self.take_all(&mut state);
            } else {
                let taken = state.full.len();
                self.taken.extend(state.full.drain(..));
                self.shared.full_batches.fetch_sub(taken, Ordering::AcqRel);
            }
            drop(state);
            took |= !self.taken.is_empty();
            self.write_taken();
        }
        self.snapshot = slots;
        self.snapshot.clear();
        // Forget producers that are gone and have nothing left, keeping
        // their counters.
        let shared = Arc::clone(&self.shared);
        lock(&shared.slots).retain(|slot| {
            let state = lock(&slot.state);
            let gone = state.closed && state.full.is_empty() && state.filling.is_empty();
            if gone {
                lock(&shared.retired).add(&state);
            }
            !gone
        });
        took
    }

    fn write_batch(&mut self, batch: Batch) {
        let messages = batch.messages();
        if self.shared.error.get().is_some() {
            self.shared
                .counters
                .discarded
                .fetch_add(messages, Ordering::AcqRel);
            self.shared.release(messages);
            self.shared.return_batch(batch);
            return;
        }
        let started = Instant::now();
        let mut written = 0;
        let mut gaps = 0;
        let mut bytes = 0;
        let mut failed = None;
        for (i, payload) in batch.payloads().enumerate() {
            if let Err(e) = self.sink.write_payload(payload) {
                failed = Some(e);
                break;
            }
            if batch.gaps.get(gaps) == Some(&i) {
                gaps += 1;
            } else {
                written += 1;
            }
            bytes += payload.len() as u64;
        }
        let gaps = gaps as u64;
        let frames = written + gaps;
        self.unsynced_frames += frames;
        self.unsynced_bytes += bytes;
        if frames > 0 {
            let now = Instant::now();
            self.unsynced_since.get_or_insert(now);
            self.unflushed_since.get_or_insert(now);
        }
        let c = &self.shared.counters;
        c.write_ns.fetch_add(nanos_since(started), Ordering::AcqRel);
        c.written.fetch_add(written, Ordering::AcqRel);
        c.gap_markers.fetch_add(gaps, Ordering::AcqRel);
        c.bytes.fetch_add(bytes, Ordering::AcqRel);
        *lock(&c.position) = self.sink.position();
        self.shared.release(messages);
        self.shared.return_batch(batch);
        if let Some(error) = failed {
            let discarded = messages - written;
            c.discarded.fetch_add(discarded, Ordering::AcqRel);
            self.stop_with(Some(error));
            return;
        }
        // Frame and byte thresholds are judged per batch (time ones when
        // idle), so a sync is never more than one batch late.
        let policy = self.shared.options.sync;
        if policy.is_due(self.unsynced_frames, self.unsynced_bytes, Duration::ZERO) {
            let _ = self.sync();
        }
    }

    fn stop_with(&mut self, error: Option<Error>) {
        if let Some(error) = error {
            let _ = self.shared.error.set(Arc::new(error));
        }
        self.shared.stopped.store(true, Ordering::Release);
        let _guard = lock(&self.shared.space);
        self.shared.space_freed.notify_all();
    }

    fn flush(&mut self) -> Result<()> {
        self.unflushed_since = None;
        let result = self.sink.flush();
        self.fail_on(result)
    }

    /// A failed flush or sync leaves the sink in an unknown state (a
    /// failed `sync_data` may have dropped the dirty pages it was to write):
    /// the writer stops with that error.
    fn fail_on(&mut self, result: Result<()>) -> Result<()> {
        result.map_err(|error| {
            self.stop_with(Some(error));
            self.shared.stopped_error()
        })
    }

    fn sync(&mut self) -> Result<()> {
        self.unflushed_since = None;
        let started = Instant::now();
        let result = self.sink.sync();
        self.shared
            .counters
            .sync_ns
            .fetch_add(nanos_since(started), Ordering::AcqRel);
        self.fail_on(result)?;
        self.after_sync();
        Ok(())
    }

    fn after_sync(&mut self) {
        let c = &self.shared.counters;
        c.synced.fetch_add(self.unsynced_frames, Ordering::AcqRel);
        c.syncs.fetch_add(1, Ordering::AcqRel);
        let position = self.sink.position();
        *lock(&c.durable) = position;
        *lock(&c.position) = position;
        self.unsynced_frames = 0;
        self.unsynced_bytes = 0;
        self.unsynced_since = None;
    }

    /// Syncs, flushes and ticks as due.
    fn housekeeping(&mut self, now: Instant) {
        if self.shared.error.get().is_some() {
            return;
        }
        let policy: SyncPolicy = self.shared.options.sync;
        let age = self
            .unsynced_since
            .map_or(Duration::ZERO, |since| now.duration_since(since));
        let result = if policy.is_due(self.unsynced_frames, self.unsynced_bytes, age) {
            self.sync()
        } else if self
            .unflushed_since
            .is_some_and(|since| now.duration_since(since) >= self.shared.options.flush_interval)
        {
            self.flush()
        } else {
            Ok(())
        };
        let result = result.and_then(|()| {
            if now.duration_since(self.last_tick) >= TICK_INTERVAL {
                self.last_tick = now;
                self.sink.tick(SystemTime::now())?;
                *lock(&self.shared.counters.position) = self.sink.position();
            }
            Ok(())
        });
        if let Err(error) = result
            && self.shared.error.get().is_none()
        {
            self.stop_with(Some(error));
        }
    }

    /// Parks until new work or the next deadline.
    fn sleep(&mut self, now: Instant) {
        // Set first: a producer that starts a batch after this sees the flag
        // and unparks us, one that started before is seen below.
        self.shared.sleeping.store(true, Ordering::SeqCst);
        let options = &self.shared.options;
        let mut wait = TICK_INTERVAL;
        // A deadline past what an `Instant` can hold is no deadline.
        let until = |since: Instant, after: Duration| {
            since
                .checked_add(after)
                .map_or(Duration::MAX, |t| t.saturating_duration_since(now))
        };
        if let Some(since) = self.unflushed_since {
            wait = wait.min(until(since, options.flush_interval));
        }
        if let (Some(interval), Some(since)) = (options.sync.interval(), self.unsynced_since) {
            wait = wait.min(until(since, interval));
        }
        if self.any_filling() {
            wait = wait.min(options.max_batch_delay);
        }
        if self.shared.full_batches.load(Ordering::SeqCst) > 0
            || !lock(&self.shared.requests).is_empty()
        {
            self.shared.sleeping.store(false, Ordering::Release);
            return;
        }
        thread::park_timeout(wait);
        self.shared.sleeping.store(false, Ordering::Release);
    }

    fn any_filling(&self) -> bool {
        lock(&self.shared.slots)
            .iter()
            .any(|slot| lock(&slot.state).filling_since.is_some())
    }
}
