//! The `baoxue` command line, for county staff and automation. See `src/cli/`.

mod cli;

fn main() {
    std::process::exit(cli::run());
}
