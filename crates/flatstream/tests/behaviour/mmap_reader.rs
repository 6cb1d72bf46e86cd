//! `MmapStream` (feature `mmap`), for every framer pair of this build: a file
//! written with `StreamWriter` through a `BufWriter`, mapped and read back in
//! place.
//!
//! - Every payload comes back, at its position, borrowed from the map.
//! - An empty file maps to an empty slice: no frames, a clean recovery.
//! - A torn tail reads as the complete frames and one `UnexpectedEof` at the
//!   partial frame; recovery through the map says what recovery through the
//!   file says (torn, zero-filled, corrupt).
//! - The map keeps the length the file had when it was mapped: frames
//!   appended later are seen only by a new map.

use std::fs::{self, File, OpenOptions};
use std::io::{BufWriter, Seek, SeekFrom, Write};
use std::path::Path;

use flatstream::{
    Deframer, ErrorKind, Framer, MmapStream, Position, RecoverOptions, Result, StreamWriter,
    recover,
};

use crate::support::framers;
use crate::support::streams::{Ending, TempPath, summary};

/// Maps the file at `path`. Every file these tests map is private to the
/// test and only ever appended to while mapped.
#[allow(unsafe_code)]
fn open_map(path: impl AsRef<Path>) -> Result<MmapStream> {
    // SAFETY: no one truncates or rewrites the test's own file while mapped.
    unsafe { MmapStream::open(path) }
}

/// Maps an open file, as [`open_map`].
#[allow(unsafe_code)]
fn map_file(file: &File) -> Result<MmapStream> {
    // SAFETY: as in `open_map`.
    unsafe { MmapStream::from_file(file) }
}

/// Payloads with an empty one and one larger than a page and than
/// `StreamReader`'s 64 KiB read chunk.
fn payloads() -> Vec<Vec<u8>> {
    vec![
        b"alpha".to_vec(),
        Vec::new(),
        vec![0x5A; 256],
        (0..=250u8).cycle().take(70_000).collect(),
        b"last".to_vec(),
    ]
}

/// Writes `payloads` to the file at `path` with a default `F` through a
/// `BufWriter`; returns where each frame starts (the last entry is the
/// length).
fn write_file<F: Framer + Default>(path: &Path, payloads: &[Vec<u8>]) -> Vec<usize> {
    let file = BufWriter::new(File::create(path).expect("create"));
    let mut writer = StreamWriter::new(file, F::default()).allow_empty_payloads(true);
    let mut starts = vec![0];
    for payload in payloads {
        writer.write_payload(payload).expect("write_payload");
        starts.push(usize::try_from(writer.bytes_written()).expect("fits"));
    }
    writer.flush().expect("flush");
    let file = writer.into_inner().into_inner().expect("into_inner");
    file.sync_all().expect("sync_all");
    starts
}

fn header_len<F: Framer + Default>() -> usize {
    F::default().header_len()
}

fn reads_every_payload_in_place<F: Framer + Default, D: Deframer + Default>() {
    let tmp = TempPath::new("mmap-read");
    let payloads = payloads();
    let starts = write_file::<F>(tmp.path(), &payloads);

    let map = open_map(tmp.path()).expect("open");
    assert_eq!(map.as_bytes(), fs::read(tmp.path()).expect("read"));
    assert_eq!(map.len(), *starts.last().expect("length"));
    assert!(!map.is_empty());
    assert_eq!(map.as_ref(), map.as_bytes());

    let got: Vec<&[u8]> = map
        .frames(D::default())
        .collect::<Result<_>>()
        .expect("frames");
    assert_eq!(got, payloads);

    let base = map.as_bytes().as_ptr() as usize;
    let header_len = header_len::<F>();
    for (i, frame) in map.frames(D::default()).positioned().enumerate() {
        let (position, payload) = frame.expect("frame");
        assert_eq!(
            position,
            Position {
                offset: starts[i] as u64,
                frame: i as u64
            }
        );
        assert_eq!(payload.as_ptr() as usize - base, starts[i] + header_len);
        assert_eq!(payload, payloads[i]);
    }

    let mut frames = map.frames(D::default());
    assert_eq!(frames.by_ref().count(), payloads.len());
    assert_eq!(frames.offset(), map.len());
    assert!(frames.next().is_none());

    // The same map through an open file, whatever its seek position.
    let mut file = File::open(tmp.path()).expect("open");
    file.seek(SeekFrom::Start(7)).expect("seek");
    let again = map_file(&file).expect("from_file");
    drop(file);
    assert_eq!(again.as_bytes(), map.as_bytes());

    let recovery = map.recover(D::default(), RecoverOptions::new());
    assert_eq!(
        summary(&recovery),
        (payloads.len() as u64, map.len() as u64, Ending::Clean)
    );
}

fn empty_file_is_an_empty_slice<F: Framer + Default, D: Deframer + Default>() {
    let tmp = TempPath::new("mmap-empty");
    write_file::<F>(tmp.path(), &[]);
    assert_eq!(fs::metadata(tmp.path()).expect("metadata").len(), 0);

    let map = open_map(tmp.path()).expect("open an empty file");
    assert!(map.is_empty());
    assert_eq!(map.len(), 0);
    assert_eq!(map.as_bytes(), b"");
    assert!(map.frames(D::default()).next().is_none());
    assert!(map.frames(D::default()).positioned().next().is_none());
    let recovery = map.recover(D::default(), RecoverOptions::new());
    assert_eq!(summary(&recovery), (0, 0, Ending::Clean));

    let file = File::open(tmp.path()).expect("open");
    let map = map_file(&file).expect("from_file");
    assert!(map.is_empty());
}

fn torn_tail_reads_and_recovers_as_the_file<F: Framer + Default, D: Deframer + Default>() {
    let tmp = TempPath::new("mmap-torn");
    let payloads = payloads();
    let starts = write_file::<F>(tmp.path(), &payloads);
    let last = payloads.len() - 1;
    let header_len = header_len::<F>();

    // Cut inside the last header, then inside the last payload.
    for cut in [starts[last] + 2, starts[last] + header_len + 1] {
        let file = OpenOptions::new()
            .write(true)
            .open(tmp.path())
            .expect("open");
        file.set_len(cut as u64).expect("set_len");
        drop(file);

        let map = open_map(tmp.path()).expect("open");
        assert_eq!(map.len(), cut);
        let mut frames = map.frames(D::default());
        for payload in &payloads[..last] {
            assert_eq!(frames.next().expect("a frame").expect("intact"), payload);
        }
        let err = frames.next().expect("an error").expect_err("torn");
        let available = (cut - starts[last]) as u64;
        let required = if cut - starts[last] < header_len {
            header_len
        } else {
            starts[last + 1] - starts[last]
        } as u64;
        assert!(
            matches!(
                *err.kind(),
                ErrorKind::UnexpectedEof { available: a, required: r } if (a, r) == (available, required)
            ),
            "{err:?}"
        );
        let at = Position {
            offset: starts[last] as u64,
            frame: last as u64,
        };
        assert_eq!(err.position(), Some(at));
        assert!(frames.next().is_none());

        let via_map = summary(&map.recover(D::default(), RecoverOptions::new()));
        let via_file = summary(
            &recover(File::open(tmp.path()).expect("open"), D::default()).expect("recover"),
        );
        assert_eq!(via_map, via_file);
        assert_eq!(
            via_map,
            (
                last as u64,
                at.offset,
                Ending::Torn {
                    offset: at.offset,
                    len: available
                }
            )
        );
    }
}

fn recover_through_the_map<F: Framer + Default, D: Deframer + Default>() {
    let tmp = TempPath::new("mmap-recover");
    let payloads = payloads();
    let starts = write_file::<F>(tmp.path(), &payloads);
    let end = *starts.last().expect("length") as u64;
    let recover_both = || {
        let map = open_map(tmp.path()).expect("open");
        let via_map = summary(&map.recover(D::default(), RecoverOptions::new()));
        let via_file = summary(
            &recover(File::open(tmp.path()).expect("open"), D::default()).expect("recover"),
        );
        assert_eq!(via_map, via_file);
        via_map
    };

    // Zeros that a file system left after a crash.
    let mut file = OpenOptions::new()
        .append(true)
        .open(tmp.path())
        .expect("open");
    file.write_all(&[0; 24]).expect("write zeros");
    drop(file);
    assert_eq!(
        recover_both(),
        (
            payloads.len() as u64,
            end,
            Ending::ZeroFilled {
                offset: end,
                len: 24
            }
        )
    );

    // A flipped payload byte in frame 2: corrupt there with a checksum.
    let mut bytes = fs::read(tmp.path()).expect("read");
    bytes[starts[2] + header_len::<F>() + 10] ^= 0x01;
    fs::write(tmp.path(), &bytes).expect("write");
    let recovered = recover_both();
    if header_len::<F>() > flatstream::wire::LENGTH_PREFIX_LEN {
        let at = Position {
            offset: starts[2] as u64,
            frame: 2,
        };
        assert_eq!(recovered, (2, at.offset, Ending::Corrupt(Some(at))));
    } else {
        assert_eq!(recovered.0, payloads.len() as u64);
    }
}

fn map_keeps_its_length_while_the_file_grows<F: Framer + Default, D: Deframer + Default>() {
    let tmp = TempPath::new("mmap-append");
    let payloads = payloads();
    write_file::<F>(tmp.path(), &payloads[..2]);
    let map = open_map(tmp.path()).expect("open");
    let before = map.len();

    // Another writer appends frames while the file is mapped.
    let file = OpenOptions::new()
        .append(true)
        .open(tmp.path())
        .expect("open");
    let mut writer =
        StreamWriter::new(BufWriter::new(file), F::default()).allow_empty_payloads(true);
    for payload in &payloads[2..] {
        writer.write_payload(payload).expect("write_payload");
    }
    writer.flush().expect("flush");
    drop(writer);

    assert_eq!(map.len(), before);
    let seen: Vec<&[u8]> = map
        .frames(D::default())
        .collect::<Result<_>>()
        .expect("frames");
    assert_eq!(seen, payloads[..2]);

    let remapped = open_map(tmp.path()).expect("open");
    let seen: Vec<&[u8]> = remapped
        .frames(D::default())
        .collect::<Result<_>>()
        .expect("frames");
    assert_eq!(seen, payloads);
}

/// On Unix the map outlives the file's name: it is a view of the inode.
#[cfg(unix)]
fn map_outlives_the_removed_file<F: Framer + Default, D: Deframer + Default>() {
    let tmp = TempPath::new("mmap-unlink");
    let payloads = payloads();
    write_file::<F>(tmp.path(), &payloads);
    let map = open_map(tmp.path()).expect("open");
    fs::remove_file(tmp.path()).expect("remove");
    let seen: Vec<&[u8]> = map
        .frames(D::default())
        .collect::<Result<_>>()
        .expect("frames");
    assert_eq!(seen, payloads);
}

#[test]
fn missing_file_is_an_io_error() {
    let tmp = TempPath::new("mmap-missing");
    let err = open_map(tmp.path()).expect_err("no such file");
    assert!(
        matches!(err.kind(), ErrorKind::Io(io) if io.kind() == std::io::ErrorKind::NotFound),
        "{err:?}"
    );
}

#[test]
fn mmap_stream_is_send_and_sync() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<MmapStream>();
}

#[test]
fn a_directory_is_not_mapped() {
    let err = open_map(std::env::temp_dir()).expect_err("a directory");
    assert!(
        matches!(
            err.kind(),
            ErrorKind::NotRegularFile {
                file_type: "directory"
            }
        ),
        "{err:?}"
    );
}

/// A FIFO would block `open` until a writer comes (and never end); it is
/// refused before it is opened. The test would hang on the old code.
#[cfg(unix)]
#[test]
fn a_fifo_is_refused_without_blocking() {
    let tmp = TempPath::new("mmap-fifo");
    let status = {
        let _spawning = crate::support::spawning::spawning();
        std::process::Command::new("mkfifo")
            .arg(tmp.path())
            .status()
            .expect("mkfifo runs")
    };
    assert!(status.success());
    let err = open_map(tmp.path()).expect_err("a FIFO");
    assert!(
        matches!(err.kind(), ErrorKind::NotRegularFile { file_type: "FIFO" }),
        "{err:?}"
    );
    let err = flatstream::recover_file_for_append(tmp.path(), flatstream::DefaultDeframer)
        .expect_err("a FIFO");
    assert!(
        matches!(err.kind(), ErrorKind::NotRegularFile { file_type: "FIFO" }),
        "{err:?}"
    );
}

macro_rules! mmap_tests {
    ($name:ident, $framer:ty, $deframer:ty) => {
        mod $name {
            type F = $framer;
            type D = $deframer;

            #[test]
            fn written_file_reads_every_payload_in_place() {
                super::reads_every_payload_in_place::<F, D>();
            }

            #[test]
            fn empty_file_is_an_empty_slice() {
                super::empty_file_is_an_empty_slice::<F, D>();
            }

            #[test]
            fn torn_tail_reads_and_recovers_as_through_the_file() {
                super::torn_tail_reads_and_recovers_as_the_file::<F, D>();
            }

            #[test]
            fn zero_filled_and_corrupt_tails_recover_as_through_the_file() {
                super::recover_through_the_map::<F, D>();
            }

            #[test]
            fn map_keeps_its_length_while_the_file_grows() {
                super::map_keeps_its_length_while_the_file_grows::<F, D>();
            }

            #[cfg(unix)]
            #[test]
            fn map_outlives_the_removed_file() {
                super::map_outlives_the_removed_file::<F, D>();
            }
        }
    };
}

framers::for_each_framer_pair!(mmap_tests);
