# Shared environment of scripts/run and scripts/test (sourced, not run).
# The cargo target directory lives in the user's cache so that later runs (and CI runs on the same
# machine) reuse it; without debug info the build is faster and much smaller.
export PATH="$HOME/.cargo/bin:$PATH"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/baoxue/target}"
export CARGO_PROFILE_DEV_DEBUG="${CARGO_PROFILE_DEV_DEBUG:-0}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
APP_BIN="$CARGO_TARGET_DIR/debug/baoxue-app"
