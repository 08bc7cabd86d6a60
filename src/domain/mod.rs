//! Pure rules, no I/O: time, usernames, ordering, attendance, recap texts, claim validation
//! and the claim portal's complaint triage.
pub mod attendance;
pub mod claim;
pub mod ordering;
pub mod recap;
pub mod time;
pub mod triage;
pub mod username;
