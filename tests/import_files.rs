//! fixture-based tests come next
