//! Little-endian reads that return `None` instead of panicking.

macro_rules! reader {
    ($name:ident, $ty:ty) => {
        #[doc = concat!("The `", stringify!($ty), "` at `pos`, if it is in `buf`.")]
        #[inline]
        pub(crate) fn $name(buf: &[u8], pos: usize) -> Option<$ty> {
            const N: usize = core::mem::size_of::<$ty>();
            let bytes = buf.get(pos..pos.checked_add(N)?)?;
            Some(<$ty>::from_le_bytes(bytes.try_into().ok()?))
        }
    };
}

reader!(u8_at, u8);
reader!(u16_at, u16);
reader!(u32_at, u32);
reader!(i32_at, i32);
reader!(u64_at, u64);
