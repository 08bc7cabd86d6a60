//! Pure rules, no I/O: time, usernames, ordering, attendance and recap texts.
pub mod attendance;
pub mod claim;
pub mod ordering;
pub mod recap;
pub mod time;
pub mod username;
