//! The fake upstream's own tests.
//! One test binary for the crate (a binary per file costs a link each); each file below
//! is a module.

mod upstream;
