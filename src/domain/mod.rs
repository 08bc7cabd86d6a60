//! Pure rules, no I/O: time, usernames, ordering, attendance, recap texts, the dashboard's
//! recap report and complaint auto-solutions.
pub mod attendance;
pub mod claim;
pub mod complaint;
pub mod ordering;
pub mod recap;
pub mod recap_report;
pub mod time;
pub mod username;
