//! Executable memory mapped by hand: machine code is copied into fresh read-write pages, which are then
//! switched to read-execute before anything runs. The pages are never writable and executable at once,
//! and they are unmapped when the owner is dropped.

pub use crate::error::MemoryError;

/// Read-execute pages holding a copy of some machine code; unmapped on drop.
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
    /// Maps `code` into new pages and makes them read-execute (never writable and executable at once).
    #[cfg(unix)]
    pub fn new(code: &[u8]) -> Result<ExecutableMemory, MemoryError> {
        if code.is_empty() {
            return Err(MemoryError::Empty);
        }
        // SAFETY: sysconf has no preconditions.
        let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
        let page = if page > 0 { page as usize } else { 4096 };
        let mapped = code.len().div_ceil(page) * page;
        // SAFETY: an anonymous private mapping at an address of the kernel's choosing; it aliases no Rust
        // object. The result is checked against MAP_FAILED before use.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                mapped,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if base == libc::MAP_FAILED {
            return Err(MemoryError::Map(std::io::Error::last_os_error().into()));
        }
        let base = base as *mut u8;
        // SAFETY: `base` points to `mapped >= code.len()` writable bytes that nothing else references, and
        // `code` cannot overlap a mapping made just now.
        unsafe { std::ptr::copy_nonoverlapping(code.as_ptr(), base, code.len()) };
        // SAFETY: `base..base + mapped` is exactly the mapping made above.
        let rc = unsafe {
            libc::mprotect(
                base as *mut libc::c_void,
                mapped,
                libc::PROT_READ | libc::PROT_EXEC,
            )
        };
        if rc != 0 {
            let err = std::io::Error::last_os_error();
            // SAFETY: unmapping the mapping made above, which nothing references.
            unsafe { libc::munmap(base as *mut libc::c_void, mapped) };
            return Err(MemoryError::Protect(err.into()));
        }
        Ok(ExecutableMemory {
            base,
            mapped,
            len: code.len(),
        })
    }

    /// Hand-mapped executable memory is only implemented on Unix.
    #[cfg(not(unix))]
    pub fn new(_code: &[u8]) -> Result<ExecutableMemory, MemoryError> {
        Err(MemoryError::Unsupported)
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
    fn empty_code_is_an_error() {
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
