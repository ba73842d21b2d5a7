//! The `baoxue` command line, for county staff and automation. See `src/cli/`.

mod cli;

/// mimalloc rather than the system allocator: an import's rows are allocated on its reading
/// thread and freed on its writing thread, and glibc's malloc spent a fifth of a roll import's
/// CPU time on that (consolidating and unlinking chunks; docs/benchmarks.md).
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    tune_allocator();
    restore_default_sigpipe();
    std::process::exit(cli::run());
}

/// [`tune_allocator`] before `main` too, on Linux, as the loader runs `.init_array` (the
/// runtime allocates before `main`, and mimalloc sizes its first arena on the first allocation).
#[cfg(target_os = "linux")]
#[used]
#[link_section = ".init_array"]
static TUNE_ALLOCATOR_EARLY: extern "C" fn() = {
    extern "C" fn early() {
        tune_allocator();
    }
    early
};

/// mimalloc commits its arenas eagerly by default, which took a 200k-row roll import from 128
/// to 148 MiB at its peak (the limit is 150 MiB); committed as used, 131–136 MiB. (Giving freed
/// memory back at once as well, `purge_delay` 0, saved another 10 MiB but made the bundle merge
/// slower than with glibc's malloc, from page faults; docs/benchmarks.md, session 7.)
fn tune_allocator() {
    // mimalloc v3's `mi_option_e` (c_src/mimalloc/v3/include/mimalloc.h of libmimalloc-sys,
    // pinned in Cargo.lock); the crate leaves it out of its constants.
    const ARENA_EAGER_COMMIT: libmimalloc_sys::mi_option_t = 4;
    // SAFETY: a plain option setter of the allocator, called before any thread is started.
    unsafe {
        libmimalloc_sys::mi_option_set(ARENA_EAGER_COMMIT, 0);
    }
}

/// `baoxue … | head` must end quietly when `head` stops reading, as other command-line tools do,
/// instead of panicking on "Broken pipe": Rust ignores SIGPIPE by default, so it is set back.
#[cfg(unix)]
fn restore_default_sigpipe() {
    // SAFETY: called first thing in main, before any other thread exists; SIG_DFL is a valid
    // disposition for SIGPIPE.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

#[cfg(not(unix))]
fn restore_default_sigpipe() {}
