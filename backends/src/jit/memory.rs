//! Executable memory mapped by hand. Machine code is written into a [`CodeBuffer`]: a reserved
//! read-write anonymous mapping filled from its start, whose untouched pages cost no memory, so a code
//! generator needs neither a growing vector nor a second copy. [`CodeBuffer::finish`] unmaps the
//! unused tail and switches the code's pages to read-execute before anything runs: the pages are never
//! writable and executable at once, and they are unmapped when the owner is dropped. This module is
//! the one place that maps, protects and unmaps code pages.

pub use crate::error::MemoryError;

/// The size of the system's pages.
#[cfg(unix)]
fn page_size() -> usize {
    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if page > 0 {
        page as usize
    } else {
        4096
    }
}

/// Machine code being written: up to `reserved` bytes of read-write pages, filled from the start.
/// Bytes pushed beyond the reservation are dropped and the buffer marked [`overflowed`](Self::overflowed).
pub struct CodeBuffer {
    base: *mut u8,
    reserved: usize,
    len: usize,
    overflowed: bool,
}

// SAFETY: the mapping is owned by this value alone and only reached through `&self`/`&mut self`.
unsafe impl Send for CodeBuffer {}

impl CodeBuffer {
    /// Reserves room for `reserved` bytes of code (address space only: a page costs memory once it
    /// is written).
    #[cfg(unix)]
    pub fn new(reserved: usize) -> Result<CodeBuffer, MemoryError> {
        let reserved = reserved.max(1).div_ceil(page_size()) * page_size();
        // SAFETY: an anonymous private mapping at an address of the kernel's choosing; it aliases no
        // Rust object. The result is checked against MAP_FAILED before use.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                reserved,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if base == libc::MAP_FAILED {
            return Err(MemoryError::Map(std::io::Error::last_os_error().into()));
        }
        Ok(CodeBuffer {
            base: base as *mut u8,
            reserved,
            len: 0,
            overflowed: false,
        })
    }

    /// Hand-mapped executable memory is only implemented on Unix.
    #[cfg(not(unix))]
    pub fn new(_reserved: usize) -> Result<CodeBuffer, MemoryError> {
        Err(MemoryError::Unsupported)
    }

    /// The number of bytes written (the offset of the next byte).
    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing has been written.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether some bytes did not fit in the reservation (and were dropped).
    pub fn overflowed(&self) -> bool {
        self.overflowed
    }

    /// Appends one byte.
    #[inline]
    pub fn push(&mut self, byte: u8) {
        self.extend_from_slice(&[byte]);
    }

    /// Appends `bytes`.
    #[inline]
    pub fn extend_from_slice(&mut self, bytes: &[u8]) {
        if bytes.len() > self.reserved - self.len {
            self.overflowed = true;
            return;
        }
        // SAFETY: `base + len .. base + len + bytes.len()` lies within the read-write mapping this
        // value owns (checked just above), which no Rust reference aliases, and `bytes` cannot
        // overlap it (every reference into it borrows `self`).
        unsafe {
            std::ptr::copy_nonoverlapping(bytes.as_ptr(), self.base.add(self.len), bytes.len())
        };
        self.len += bytes.len();
    }

    /// Makes the written bytes read-execute, unmapping the rest of the reservation.
    #[cfg(unix)]
    pub fn finish(self) -> Result<ExecutableMemory, MemoryError> {
        if self.len == 0 {
            return Err(MemoryError::Empty);
        }
        let mapped = self.len.div_ceil(page_size()) * page_size();
        let (base, reserved, len) = (self.base, self.reserved, self.len);
        std::mem::forget(self);
        let unmap = |from: usize| {
            if from < reserved {
                // SAFETY: `base + from .. base + reserved` is the unused tail of the mapping made in
                // `new`, page-aligned, and nothing references it.
                unsafe { libc::munmap(base.add(from) as *mut libc::c_void, reserved - from) };
            }
        };
        unmap(mapped);
        // SAFETY: `base..base + mapped` is the part of the mapping kept above.
        let rc = unsafe {
            libc::mprotect(
                base as *mut libc::c_void,
                mapped,
                libc::PROT_READ | libc::PROT_EXEC,
            )
        };
        if rc != 0 {
            let err = std::io::Error::last_os_error();
            unmap(0);
            return Err(MemoryError::Protect(err.into()));
        }
        Ok(ExecutableMemory { base, mapped, len })
    }

    /// Hand-mapped executable memory is only implemented on Unix.
    #[cfg(not(unix))]
    pub fn finish(self) -> Result<ExecutableMemory, MemoryError> {
        Err(MemoryError::Unsupported)
    }
}

impl std::ops::Deref for CodeBuffer {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        if self.len == 0 {
            return &[];
        }
        // SAFETY: `base` points to `len` initialized bytes of the mapping this value owns, which live
        // as long as `self`.
        unsafe { std::slice::from_raw_parts(self.base, self.len) }
    }
}

impl std::ops::DerefMut for CodeBuffer {
    fn deref_mut(&mut self) -> &mut [u8] {
        if self.len == 0 {
            return &mut [];
        }
        // SAFETY: as for `deref`; the pages are writable and `&mut self` makes the slice unique.
        unsafe { std::slice::from_raw_parts_mut(self.base, self.len) }
    }
}

impl Drop for CodeBuffer {
    fn drop(&mut self) {
        #[cfg(unix)]
        // SAFETY: `base..base + reserved` is the mapping this value owns; nothing references it.
        unsafe {
            libc::munmap(self.base as *mut libc::c_void, self.reserved);
        }
    }
}

/// Read-execute pages holding some machine code; unmapped on drop.
pub struct ExecutableMemory {
    base: *mut u8,
    mapped: usize,
    len: usize,
}

// SAFETY: the pages are immutable (read-execute) after construction and owned by this value alone, so
// sharing or moving the handle across threads cannot race on them.
unsafe impl Send for ExecutableMemory {}
// SAFETY: as above: no method mutates the pages.
unsafe impl Sync for ExecutableMemory {}

impl ExecutableMemory {
    /// Maps a copy of `code` into new pages and makes them read-execute (never writable and
    /// executable at once).
    pub fn new(code: &[u8]) -> Result<ExecutableMemory, MemoryError> {
        if code.is_empty() {
            return Err(MemoryError::Empty);
        }
        let mut buffer = CodeBuffer::new(code.len())?;
        buffer.extend_from_slice(code);
        buffer.finish()
    }

    /// The address of the first code byte.
    pub fn as_ptr(&self) -> *const u8 {
        self.base
    }

    /// The number of code bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there are no code bytes (never true for a constructed value).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The code bytes, readable (the pages are read-execute).
    pub fn bytes(&self) -> &[u8] {
        // SAFETY: `base` points to `len` initialized, readable bytes that live as long as `self` and are
        // never written again.
        unsafe { std::slice::from_raw_parts(self.base, self.len) }
    }
}

impl Drop for ExecutableMemory {
    fn drop(&mut self) {
        #[cfg(unix)]
        // SAFETY: `base..base + mapped` is a mapping this value owns; no code in it runs after the owner
        // is dropped (executables hold their memory for as long as they can be run).
        unsafe {
            libc::munmap(self.base as *mut libc::c_void, self.mapped);
        }
        #[cfg(not(unix))]
        let _ = self.mapped;
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn code_is_copied_and_readable() {
        let code: Vec<u8> = (0..5000u32).map(|i| i as u8).collect();
        let mem = ExecutableMemory::new(&code).unwrap();
        assert_eq!(mem.bytes(), &code[..]);
        assert_eq!(mem.len(), 5000);
        assert!(!mem.is_empty());
    }

    #[test]
    fn a_code_buffer_is_written_in_place_and_refuses_what_does_not_fit() {
        let mut buffer = CodeBuffer::new(5000).unwrap();
        assert!(buffer.is_empty());
        let code: Vec<u8> = (0..5000u32).map(|i| (i * 7) as u8).collect();
        buffer.extend_from_slice(&code[..4000]);
        buffer.push(code[4000]);
        buffer.extend_from_slice(&code[4001..]);
        buffer[0] = 0xc3;
        assert_eq!(buffer.len(), 5000);
        assert!(!buffer.overflowed());
        // The reservation is whole pages: fill it, then one byte more is refused.
        let reserved = 5000usize.div_ceil(page_size()) * page_size();
        let room = reserved - 5000;
        buffer.extend_from_slice(&vec![0; room]);
        assert!(!buffer.overflowed());
        buffer.push(0);
        assert!(buffer.overflowed());
        assert_eq!(buffer.len(), reserved);
        let mem = buffer.finish().unwrap();
        assert_eq!(mem.bytes()[0], 0xc3);
        assert_eq!(mem.bytes()[1..5000], code[1..]);
    }

    #[test]
    fn empty_code_is_an_error() {
        assert!(matches!(
            CodeBuffer::new(100).unwrap().finish(),
            Err(MemoryError::Empty)
        ));
        assert!(matches!(
            ExecutableMemory::new(&[]),
            Err(MemoryError::Empty)
        ));
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn mapped_code_runs() {
        // mov eax, 42 ; ret
        let mem = ExecutableMemory::new(&[0xb8, 42, 0, 0, 0, 0xc3]).unwrap();
        // SAFETY: the bytes are a complete x86-64 function `extern "C" fn() -> u32`.
        let f: extern "C" fn() -> u32 = unsafe { std::mem::transmute(mem.as_ptr()) };
        assert_eq!(f(), 42);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn pages_are_not_writable() {
        let mem = ExecutableMemory::new(&[0xc3]).unwrap();
        // The kernel's view of the mapping's permissions.
        let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
        let addr = mem.as_ptr() as usize;
        let line = maps
            .lines()
            .find(|l| {
                let range = l.split_whitespace().next().unwrap_or("");
                let mut it = range.split('-');
                let lo = usize::from_str_radix(it.next().unwrap_or("0"), 16).unwrap_or(0);
                let hi = usize::from_str_radix(it.next().unwrap_or("0"), 16).unwrap_or(0);
                lo <= addr && addr < hi
            })
            .expect("the mapping is listed");
        let perms = line.split_whitespace().nth(1).unwrap();
        assert_eq!(&perms[..3], "r-x", "{line}");
    }
}
