//! Pure rules, no I/O. Later issues add attendance, recap texts and ordering here.
pub mod time;
