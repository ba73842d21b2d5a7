//! The `baoxue` command line, for county staff and automation. See `src/cli/`.

mod cli;

fn main() {
    restore_default_sigpipe();
    std::process::exit(cli::run());
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
