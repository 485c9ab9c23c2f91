//! Reusable view pieces.

pub mod forms;
pub mod layout;
pub mod push;
pub mod pwa;
