//! Pure rules, no I/O: time, usernames, ordering, attendance, recap texts, the dashboard's
//! recap report and complaint auto-solutions, claim validation and the claim portal's
//! complaint triage.
pub mod attendance;
pub mod claim;
pub mod complaint;
pub mod ordering;
pub mod recap;
pub mod recap_report;
pub mod time;
pub mod triage;
pub mod username;
